#include "events/rocks_log.h"

#include <limits>
#include <memory>

#include <gtest/gtest.h>

#include "event_fixtures.h"
#include "events/codec.h"
#include "events/keys.h"
#include "events/record.h"
#include "support/raw_log.h"
#include "support/status_matchers.h"
#include "support/temp_dir.h"

// The EventLog contract that every backend keeps (idempotency records and
// state written with the batch, streams, reopening) is tested on RocksDB and
// PostgreSQL alike in tests/projections/event_log_conformance_test.cc; these
// are RocksDB's own cases.

namespace ledger::events {
namespace {

class RocksLogTest : public ::testing::Test {
 protected:
  std::unique_ptr<RocksEventLog> OpenLog(RocksLogOptions options = {}) {
    auto log = RocksEventLog::Open(dir_.Sub("log"), options);
    EXPECT_OK(log);
    return log.ok() ? std::move(log).value() : nullptr;
  }

  // A secondary instance of the log (RocksLogOptions::secondary_dir).
  std::unique_ptr<RocksEventLog> OpenSecondary() {
    RocksLogOptions options;
    options.secondary_dir = dir_.Sub("secondary");
    return OpenLog(options);
  }

  // Appends `count` fundings and returns the events as written.
  std::vector<Event> AppendFundings(RocksEventLog& log, int64_t count) {
    LogHead head = log.Head();
    std::vector<Event> events;
    const auto encoded = testing::NextFundings(head, count, &events);
    EXPECT_OK(log.Append(encoded, {}));
    EXPECT_EQ(log.Head(), head);
    return events;
  }

  // Rewrites one stored value behind the log's back.
  void Overwrite(std::string_view family, const std::string& key,
                 const std::function<void(std::string&)>& change) {
    ledger::testing::OverwriteRawValue(dir_.Sub("log"), family, key, change);
  }

  ledger::testing::TempDir dir_;
};

TEST_F(RocksLogTest, NewLogIsEmpty) {
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->Head(), LogHead{});
  std::vector<Event> out;
  ASSERT_OK(ReadEvents(*log, 1, 100, 100, &out));
  EXPECT_TRUE(out.empty());
}

TEST_F(RocksLogTest, AppendsReadsAndSurvivesReopen) {
  std::vector<Event> written;
  LogHead head;
  {
    auto log = OpenLog();
    written = AppendFundings(*log, 5);
    auto more = AppendFundings(*log, 3);
    written.insert(written.end(), more.begin(), more.end());
    head = log->Head();
  }
  auto log = OpenLog();
  EXPECT_EQ(log->Head(), head);
  EXPECT_EQ(head.position, 8);
  std::vector<Event> read;
  ASSERT_OK(ReadEvents(*log, 1, 100, 100, &read));
  EXPECT_EQ(read, written);
  read.clear();
  ASSERT_OK(ReadEvents(*log, 3, 5, 100, &read));
  ASSERT_EQ(read.size(), 3u);
  EXPECT_EQ(read.front().position, 3);
  read.clear();
  ASSERT_OK(ReadEvents(*log, 2, 8, 2, &read));
  EXPECT_EQ(read.size(), 2u);
  auto chain = VerifyLogChain(*log, 1, head.position);
  ASSERT_OK(chain);
  EXPECT_TRUE(chain->ok) << chain->problem;
  EXPECT_EQ(chain->events_checked, 8);
}

TEST_F(RocksLogTest, ReadsOneEventByPosition) {
  auto log = OpenLog();
  const std::vector<Event> written = AppendFundings(*log, 3);
  const Result<Event> second = ReadEvent(*log, 2);
  ASSERT_OK(second);
  EXPECT_EQ(*second, written[1]);
  // Past the head is outside the contract; a hole inside it is corruption.
  const Result<Event> missing = ReadEvent(*log, 4);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Status::Code::kCorruption);
  EXPECT_EQ(missing.status().message(), "event at position 4: event missing");
}

TEST_F(RocksLogTest, ReadStopsAtTheByteBound) {
  auto log = OpenLog();
  AppendFundings(*log, 6);
  std::string first;
  ASSERT_OK(log->ScanRecords(1, 1, [&](int64_t, std::string_view record) {
    first = record;
    return true;
  }));
  std::vector<Event> read;
  // Any bound still reads one event.
  ASSERT_OK(ReadEvents(*log, 1, 6, 100, 1, &read));
  EXPECT_EQ(read.size(), 1u);
  read.clear();
  // The record that reaches the bound is the last one read.
  ASSERT_OK(ReadEvents(*log, 1, 6, 100, first.size() + 1, &read));
  EXPECT_EQ(read.size(), 2u);
  read.clear();
  // The count bound still applies.
  ASSERT_OK(ReadEvents(*log, 1, 6, 3, SIZE_MAX, &read));
  EXPECT_EQ(read.size(), 3u);
}

TEST_F(RocksLogTest, ReadsAStreamInVersionOrder) {
  auto log = OpenLog();
  LogHead head;
  std::vector<Event> events = {testing::Funded(1, 1, 1), testing::Funded(2, 2, 1),
                               testing::Funded(3, 1, 2), testing::Funded(4, 2, 2),
                               testing::Funded(5, 1, 3)};
  ASSERT_OK(log->Append(testing::SealAll(events, head), {}));
  std::vector<Event> stream;
  ASSERT_OK(ReadStream(*log, 1, 1, 100, &stream));
  ASSERT_EQ(stream.size(), 3u);
  EXPECT_EQ(stream[0].position, 1);
  EXPECT_EQ(stream[1].position, 3);
  EXPECT_EQ(stream[2].position, 5);
  stream.clear();
  ASSERT_OK(ReadStream(*log, 2, 2, 100, &stream));
  ASSERT_EQ(stream.size(), 1u);
  EXPECT_EQ(stream[0].position, 4);
  stream.clear();
  ASSERT_OK(ReadStream(*log, 3, 1, 100, &stream));
  EXPECT_TRUE(stream.empty());
}

// The largest id a path can name: the stream's range must not be bounded by
// id + 1 (a signed overflow).
TEST_F(RocksLogTest, ReadsTheStreamOfTheLargestId) {
  auto log = OpenLog();
  constexpr int64_t kLast = std::numeric_limits<int64_t>::max();
  LogHead head;
  std::vector<Event> events = {testing::Funded(1, kLast - 1, 1), testing::Funded(2, kLast, 1),
                               testing::Funded(3, kLast, 2)};
  ASSERT_OK(log->Append(testing::SealAll(events, head), {}));
  std::vector<Event> stream;
  ASSERT_OK(ReadStream(*log, kLast, 1, 100, &stream));
  ASSERT_EQ(stream.size(), 2u);
  EXPECT_EQ(stream[0].position, 2);
  EXPECT_EQ(stream[1].position, 3);
  stream.clear();
  ASSERT_OK(ReadStream(*log, kLast - 1, 1, 100, &stream));
  ASSERT_EQ(stream.size(), 1u);
  EXPECT_EQ(stream[0].position, 1);
}

TEST_F(RocksLogTest, VerifyNamesTheFirstPositionWhoseBytesWereFlipped) {
  {
    auto log = OpenLog();
    AppendFundings(*log, 50);
  }
  Overwrite(kEventsFamily, PositionKey(17), [](std::string& v) { v[v.size() / 2] ^= 0x01; });
  RocksLogOptions options;
  options.verify_tail_events = 10;  // position 17 lies before the checked tail
  auto log = OpenLog(options);
  ASSERT_NE(log, nullptr);
  auto chain = VerifyLogChain(*log, 1, log->Head().position);
  ASSERT_OK(chain);
  EXPECT_FALSE(chain->ok);
  EXPECT_EQ(chain->first_bad_position, 17);
  EXPECT_EQ(chain->last_position, 16);
  std::vector<Event> read;
  const Status s = ReadEvents(*log, 1, 50, 100, &read);
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_NE(s.message().find("position 17"), std::string::npos) << s.ToString();
}

TEST_F(RocksLogTest, RefusesToOpenWhenTheNewestEventsAreGarbled) {
  {
    auto log = OpenLog();
    AppendFundings(*log, 20);
  }
  Overwrite(kEventsFamily, PositionKey(19), [](std::string& v) { v = "garbage"; });
  auto log = RocksEventLog::Open(dir_.Sub("log"));
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), Status::Code::kCorruption);
  EXPECT_NE(log.status().message().find("position 19"), std::string::npos)
      << log.status().ToString();
}

TEST_F(RocksLogTest, RefusesToOpenWhenTheHeadRecordDisagrees) {
  {
    auto log = OpenLog();
    AppendFundings(*log, 5);
  }
  Overwrite(kMetaFamily, std::string(kHeadKey), [](std::string& v) { v[40 - 1] ^= 0x01; });
  auto wrong_hash = RocksEventLog::Open(dir_.Sub("log"));
  ASSERT_FALSE(wrong_hash.ok());
  EXPECT_NE(wrong_hash.status().message().find("head hash"), std::string::npos)
      << wrong_hash.status().ToString();

  Overwrite(kMetaFamily, std::string(kHeadKey), [](std::string& v) { v[7] = 4; });
  auto wrong_position = RocksEventLog::Open(dir_.Sub("log"));
  ASSERT_FALSE(wrong_position.ok());
  EXPECT_NE(wrong_position.status().message().find("newest stored event is at 5"),
            std::string::npos)
      << wrong_position.status().ToString();
}

TEST_F(RocksLogTest, ReadOnlyOpenSeesTheLogWithoutWriting) {
  auto writer = OpenLog();
  AppendFundings(*writer, 3);
  RocksLogOptions ro;
  ro.read_only = true;
  auto reader = OpenLog(ro);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->Head().position, 3);
  LogHead head = reader->Head();
  const auto more = testing::NextFundings(head, 1);
  EXPECT_EQ(reader->Append(more, {}).code(), Status::Code::kFailedPrecondition);
}

TEST_F(RocksLogTest, SecondaryFollowsThePrimaryWithCatchUp) {
  auto primary = OpenLog();
  AppendFundings(*primary, 3);
  auto secondary = OpenSecondary();
  ASSERT_NE(secondary, nullptr);
  EXPECT_EQ(secondary->Head(), primary->Head());
  LogHead head = secondary->Head();
  EXPECT_EQ(secondary->Append(testing::NextFundings(head, 1), {}).code(),
            Status::Code::kFailedPrecondition);

  const std::vector<Event> later = AppendFundings(*primary, 4);
  EXPECT_EQ(secondary->Head().position, 3);  // until it catches up
  const auto caught = secondary->CatchUp();
  ASSERT_OK(caught);
  EXPECT_EQ(*caught, primary->Head());
  EXPECT_EQ(secondary->Head(), primary->Head());
  std::vector<Event> read;
  ASSERT_OK(ReadEvents(*secondary, 4, 7, 10, &read));
  EXPECT_EQ(read, later);
  // Nothing new: the same head.
  ASSERT_OK(secondary->CatchUp());
  EXPECT_EQ(secondary->Head().position, 7);
}

TEST_F(RocksLogTest, SecondaryOpensALogThatIsNotRunning) {
  { AppendFundings(*OpenLog(), 2); }
  auto secondary = OpenSecondary();
  ASSERT_NE(secondary, nullptr);
  EXPECT_EQ(secondary->Head().position, 2);
  ASSERT_OK(secondary->CatchUp());
  EXPECT_EQ(secondary->Head().position, 2);
}

TEST_F(RocksLogTest, CheckpointOfASecondaryIsAWholeLog) {
  auto primary = OpenLog();
  const std::vector<Event> written = AppendFundings(*primary, 20);
  auto secondary = OpenSecondary();
  ASSERT_NE(secondary, nullptr);
  ASSERT_OK(secondary->Checkpoint(dir_.Sub("copy")));
  // The target must not exist.
  EXPECT_FALSE(secondary->Checkpoint(dir_.Sub("copy")).ok());
  auto copy = RocksEventLog::Open(dir_.Sub("copy"));
  ASSERT_OK(copy);
  EXPECT_EQ((*copy)->Head(), primary->Head());
  std::vector<Event> read;
  ASSERT_OK(ReadEvents(**copy, 1, 20, 100, &read));
  EXPECT_EQ(read, written);
}

// The index and filter of every table file are read through the block
// cache in pieces, so what the open files hold outside that cache stays a
// couple of KiB each, however many keys they hold, and the cache keeps to
// its bound. (RocksDB's default holds each file's whole index and filter
// outside the cache: measured here, 510 KiB for these 16 files against
// 29 KiB, most of it the state files' filters of 40 000 keys each.)
TEST_F(RocksLogTest, TableFilesKeepTheirIndexesInTheBoundedCache) {
  RocksLogOptions options;
  options.block_cache_bytes = kMinBlockCacheBytes;
  constexpr int kRounds = 4;
  constexpr int kBatches = 40;
  constexpr int kPerBatch = 1'000;
  for (int round = 0; round < kRounds; ++round) {
    // Each open writes what the previous one left in its write-ahead log
    // into table files.
    auto log = OpenLog(options);
    ASSERT_NE(log, nullptr);
    for (int batch = 0; batch < kBatches; ++batch) {
      AppendFundings(*log, kPerBatch);
      std::vector<StateWrite> writes;
      for (int i = 0; i < kPerBatch; ++i) {
        writes.push_back(
            StateWrite{"k" + std::to_string(((round * kBatches) + batch) * kPerBatch + i), "v"});
      }
      ASSERT_OK(log->WriteState(writes, false));
    }
  }
  auto log = OpenLog(options);
  ASSERT_NE(log, nullptr);
  std::vector<Event> out;
  ASSERT_OK(ReadEvents(*log, 12'345, 12'354, 100, &out));  // reads through the cache
  ASSERT_EQ(out.size(), 10u);
  const LogStats stats = log->Stats();
  EXPECT_GE(stats.table_files, static_cast<uint64_t>(kRounds));
  EXPECT_EQ(stats.block_cache_capacity_bytes, kMinBlockCacheBytes);
  EXPECT_GT(stats.block_cache_bytes, 0u);
  EXPECT_LE(stats.block_cache_bytes, kMinBlockCacheBytes);
  EXPECT_LT(stats.table_readers_bytes, stats.table_files * 4 * 1024)
      << stats.table_files << " table files";
}

// A block cache smaller than 1 MiB is refused.
TEST_F(RocksLogTest, RefusesABlockCacheUnderOneMiB) {
  RocksLogOptions options;
  options.block_cache_bytes = kMinBlockCacheBytes - 1;
  EXPECT_EQ(RocksEventLog::Open(dir_.Sub("log"), options).status().code(),
            Status::Code::kInvalidArgument);
}

TEST_F(RocksLogTest, RefusesAnotherFormat) {
  { auto log = OpenLog(); }
  Overwrite(kMetaFamily, std::string(kFormatKey), [](std::string& v) { v = "other/9"; });
  auto log = RocksEventLog::Open(dir_.Sub("log"));
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), Status::Code::kFailedPrecondition);
}

}  // namespace
}  // namespace ledger::events
