// The EventLog contract, run against both backends: RocksEventLog and
// PgEventLog (a fresh database on the test binary's throwaway cluster). What
// only one backend can do (a fenced second writer, a tampered head row) is
// tested below the shared cases.

#include <chrono>
#include <future>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "common/clock.h"
#include "events/codec.h"
#include "events/event_fixtures.h"
#include "events/event_log.h"
#include "events/rocks_log.h"
#include "projections/pg_event_log.h"
#include "projections/pg_fixture.h"
#include "projections/pg_log_support.h"
#include "support/status_matchers.h"
#include "support/temp_dir.h"

namespace ledger::projections {
namespace {

using events::Event;
using events::EventLog;
using events::IdempotencyRecord;
using events::IdempotencyWrite;
using events::LogHead;
using events::StateWrite;

using testing::FundingsOf;
using testing::LogConninfo;

class EventLogConformance : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (postgres()) database_.Create();
  }
  void TearDown() override {
    if (postgres()) database_.Drop();
  }

  bool postgres() const { return GetParam() == "postgres"; }

  // Opens the log under test (again: a reopen after the previous one closed).
  std::unique_ptr<EventLog> OpenLog() {
    if (postgres()) {
      auto log = PgEventLog::Open(LogConninfo(database_.conninfo()));
      EXPECT_TRUE(log.ok()) << log.status().ToString();
      return log.ok() ? std::move(log).value() : nullptr;
    }
    auto log = events::RocksEventLog::Open(dir_.Sub("log"));
    EXPECT_OK(log);
    return log.ok() ? std::move(log).value() : nullptr;
  }

  testing::TestDatabase database_;
  ledger::testing::TempDir dir_;
};

std::vector<std::pair<std::string, std::string>> AllState(const EventLog& log,
                                                          std::string_view from = "",
                                                          std::string_view to = "") {
  std::vector<std::pair<std::string, std::string>> out;
  EXPECT_OK(log.ScanState(from, to, [&](std::string_view key, std::string_view value) {
    out.emplace_back(key, value);
    return true;
  }));
  return out;
}

TEST_P(EventLogConformance, NewLogIsEmpty) {
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->Head(), LogHead{});
  std::vector<Event> out;
  ASSERT_OK(events::ReadEvents(*log, 1, 100, 100, &out));
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(AllState(*log).empty());
  auto found = log->FindIdempotency("alice", "k");
  ASSERT_OK(found);
  EXPECT_FALSE(found->has_value());
}

TEST_P(EventLogConformance, AppendsReadsAndSurvivesReopen) {
  LogHead head;
  std::vector<Event> written;
  {
    auto log = OpenLog();
    ASSERT_NE(log, nullptr);
    ASSERT_OK(log->Append(FundingsOf(head, 1, 1, 7, &written), {}));
    std::vector<Event> more;
    ASSERT_OK(log->Append(FundingsOf(head, 1, 8, 3, &more), {}));
    written.insert(written.end(), more.begin(), more.end());
    EXPECT_EQ(log->Head(), head);
  }
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->Head(), head);
  std::vector<Event> read;
  ASSERT_OK(events::ReadEvents(*log, 1, 100, 100, &read));
  ASSERT_EQ(read.size(), written.size());
  for (size_t i = 0; i < read.size(); ++i) {
    EXPECT_EQ(read[i].position, written[i].position);
    EXPECT_EQ(read[i].hash, written[i].hash);
    EXPECT_EQ(read[i].prev_hash, written[i].prev_hash);
  }
  // A range in the middle, and the whole chain.
  read.clear();
  ASSERT_OK(events::ReadEvents(*log, 4, 6, 100, &read));
  ASSERT_EQ(read.size(), 3U);
  EXPECT_EQ(read.front().position, 4);
  auto check = events::VerifyLogChain(*log, 1, head.position);
  ASSERT_OK(check);
  EXPECT_TRUE(check->ok) << check->problem;
  EXPECT_EQ(check->last_hash, head.hash);
}

TEST_P(EventLogConformance, ScansMoreRecordsThanOnePage) {
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  LogHead head;
  const auto count = static_cast<int64_t>(kLogScanPageRows) + 5;
  ASSERT_OK(log->Append(FundingsOf(head, 1, 1, count), {}));
  int64_t seen = 0;
  int64_t expected = 2;
  ASSERT_OK(log->ScanRecords(2, head.position, [&](int64_t position, std::string_view) {
    EXPECT_EQ(position, expected++);
    ++seen;
    return true;
  }));
  EXPECT_EQ(seen, count - 1);
  // fn returning false stops the scan.
  seen = 0;
  ASSERT_OK(
      log->ScanRecords(1, head.position, [&](int64_t, std::string_view) { return ++seen < 3; }));
  EXPECT_EQ(seen, 3);
}

TEST_P(EventLogConformance, ReadsAStreamInVersionOrder) {
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  LogHead head;
  // Streams 1 and 2 interleaved: 1 gets positions 1, 2, 5; 2 gets 3, 4.
  ASSERT_OK(log->Append(FundingsOf(head, 1, 1, 2), {}));
  ASSERT_OK(log->Append(FundingsOf(head, 2, 1, 2), {}));
  ASSERT_OK(log->Append(FundingsOf(head, 1, 3, 1), {}));
  std::vector<Event> stream;
  ASSERT_OK(events::ReadStream(*log, 1, 1, 100, &stream));
  ASSERT_EQ(stream.size(), 3U);
  EXPECT_EQ(stream[0].position, 1);
  EXPECT_EQ(stream[1].position, 2);
  EXPECT_EQ(stream[2].position, 5);
  stream.clear();
  ASSERT_OK(events::ReadStream(*log, 2, 2, 100, &stream));
  ASSERT_EQ(stream.size(), 1U);
  EXPECT_EQ(stream[0].position, 4);
  std::vector<int64_t> positions;
  ASSERT_OK(log->StreamPositions(1, 2, 1, &positions));
  EXPECT_EQ(positions, std::vector<int64_t>{2});
  // Appended to what the vector held.
  ASSERT_OK(log->StreamPositions(2, 1, 10, &positions));
  EXPECT_EQ(positions, (std::vector<int64_t>{2, 3, 4}));
  positions.clear();
  ASSERT_OK(log->StreamPositions(3, 1, 10, &positions));
  EXPECT_TRUE(positions.empty());
}

TEST_P(EventLogConformance, StoresIdempotencyRecordsWithTheBatch) {
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  LogHead head;
  const IdempotencyRecord record{events::Sha256("request"), events::testing::At(42),
                                 std::string("outcome\0x", 9)};
  const IdempotencyWrite write{"alice", "key-1", record};
  ASSERT_OK(log->Append(FundingsOf(head, 1, 1, 1), std::span(&write, 1)));
  auto found = log->FindIdempotency("alice", "key-1");
  ASSERT_OK(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ(**found, record);
  // Scoped per user.
  auto other = log->FindIdempotency("alicekey", "-1");
  ASSERT_OK(other);
  EXPECT_FALSE(other->has_value());
  // A batch of only idempotency records leaves the head alone; the last
  // write of a key in a batch is the one kept.
  IdempotencyRecord second = record;
  second.outcome = "second";
  const std::vector<IdempotencyWrite> only{{"bob", "k", record}, {"bob", "k", second}};
  ASSERT_OK(log->Append({}, only));
  EXPECT_EQ(log->Head(), head);
  found = log->FindIdempotency("bob", "k");
  ASSERT_OK(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->outcome, "second");
}

TEST_P(EventLogConformance, ReadsSeveralStateKeysAndIdempotencyRecordsAtOnce) {
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  LogHead head;
  const IdempotencyRecord record{events::Sha256("r"), events::testing::At(7), "kept"};
  const std::vector<IdempotencyWrite> keyed{{"alice", "k1", record}, {"bob", "k1", record}};
  const std::vector<StateWrite> state{{"a", std::string("1\0", 2)}, {"c", "3"}};
  ASSERT_OK(log->Append(FundingsOf(head, 1, 1, 1), keyed, state));

  // In the order asked, absent ones empty, one asked twice given twice.
  const std::vector<std::string> keys{"c", "b", "a", "c"};
  std::vector<std::optional<std::string>> values;
  ASSERT_OK(log->ReadStates(keys, &values));
  ASSERT_EQ(values.size(), 4U);
  EXPECT_EQ(values[0], std::optional<std::string>("3"));
  EXPECT_EQ(values[1], std::nullopt);
  EXPECT_EQ(values[2], std::optional<std::string>(std::string("1\0", 2)));
  EXPECT_EQ(values[3], std::optional<std::string>("3"));

  const std::vector<std::pair<std::string_view, std::string_view>> scopes{
      {"bob", "k1"}, {"carol", "k1"}, {"alice", "k1"}, {"bob", "k1"}, {"alicek", "1"}};
  std::vector<std::optional<IdempotencyRecord>> records;
  ASSERT_OK(log->FindIdempotencies(scopes, &records));
  ASSERT_EQ(records.size(), 5U);
  EXPECT_EQ(records[0], record);
  EXPECT_EQ(records[1], std::nullopt);
  EXPECT_EQ(records[2], record);
  EXPECT_EQ(records[3], record);
  EXPECT_EQ(records[4], std::nullopt);  // scoped per user, not by concatenation
}

TEST_P(EventLogConformance, StateMovesWithTheEventsAndScansInByteOrder) {
  LogHead head;
  {
    auto log = OpenLog();
    ASSERT_NE(log, nullptr);
    // Keys that sort differently as signed chars, with a NUL inside.
    const std::vector<StateWrite> writes{
        {"p\x01"
         "b",
         "one"},
        {std::string("p\x00"
                     "a",
                     3),
         "zero"},
        {"p\xff"
         "z",
         "high"},
        {"m", "head-1"},
        {"m", "head-2"},  // the batch's last write of a key wins
    };
    ASSERT_OK(log->Append(FundingsOf(head, 1, 1, 2), {}, writes));
  }
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  const auto all = AllState(*log);
  ASSERT_EQ(all.size(), 4U);
  EXPECT_EQ(all[0].first, "m");
  EXPECT_EQ(all[0].second, "head-2");
  EXPECT_EQ(all[1].first, std::string("p\x00"
                                      "a",
                                      3));
  EXPECT_EQ(all[2].first,
            "p\x01"
            "b");
  EXPECT_EQ(all[3].first,
            "p\xff"
            "z");
  // [from, to)
  const auto part = AllState(*log, std::string("p\x00", 2), "p\xff");
  ASSERT_EQ(part.size(), 2U);
  EXPECT_EQ(part[1].second, "one");
  auto value = log->ReadState(
      "p\xff"
      "z");
  ASSERT_OK(value);
  EXPECT_EQ(*value, std::optional<std::string>("high"));
  // A deletion with the next batch; a put of a key deleted in the same batch.
  const std::vector<StateWrite> next{{"p\xff"
                                      "z",
                                      std::nullopt},
                                     {"n", "x"},
                                     {"n", std::nullopt}};
  ASSERT_OK(log->Append(FundingsOf(head, 1, 3, 1), {}, next));
  value = log->ReadState(
      "p\xff"
      "z");
  ASSERT_OK(value);
  EXPECT_FALSE(value->has_value());
  value = log->ReadState("n");
  ASSERT_OK(value);
  EXPECT_FALSE(value->has_value());
  EXPECT_EQ(AllState(*log).size(), 3U);
}

TEST_P(EventLogConformance, ClearsAndRewritesTheState) {
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  const std::vector<StateWrite> writes{{"a", "1"}, {"b", "2"}};
  ASSERT_OK(log->WriteState(writes, /*sync=*/false));
  EXPECT_EQ(AllState(*log).size(), 2U);
  ASSERT_OK(log->ClearState());
  EXPECT_TRUE(AllState(*log).empty());
  ASSERT_OK(log->WriteState(std::vector<StateWrite>{{"c", "3"}}, /*sync=*/true));
  const auto all = AllState(*log);
  ASSERT_EQ(all.size(), 1U);
  EXPECT_EQ(all[0].second, "3");
  EXPECT_EQ(log->Head(), LogHead{});
}

INSTANTIATE_TEST_SUITE_P(Backends, EventLogConformance, ::testing::Values("rocksdb", "postgres"),
                         [](const auto& backend) { return backend.param; });

// PostgreSQL only: the log is shared by every node of a cluster, and the
// stored head is the fence between them.
class PgEventLogTest : public testing::PgTest {
 protected:
  std::unique_ptr<PgEventLog> OpenLog(PgLogOptions options = {}) {
    auto log = PgEventLog::Open(LogConninfo(conninfo()), options);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return log.ok() ? std::move(log).value() : nullptr;
  }

  // Appends three events, changes the tables behind the log's back with
  // `tamper`, and expects Open to refuse the log as corrupt, naming `names`.
  void ExpectOpenRefusedAfter(const std::string& tamper, std::string_view names) {
    {
      auto log = OpenLog();
      ASSERT_NE(log, nullptr);
      LogHead head;
      ASSERT_OK(log->Append(FundingsOf(head, 1, 1, 3), {}));
    }
    pqxx::nontransaction(db()).exec(tamper);
    auto opened = PgEventLog::Open(LogConninfo(conninfo()));
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.status().code(), Status::Code::kCorruption);
    EXPECT_NE(opened.status().message().find(names), std::string::npos)
        << opened.status().ToString();
  }
};

TEST_F(PgEventLogTest, AWriterWhoseHeadIsStaleIsRefusedAndWritesNothing) {
  auto first = OpenLog();
  auto second = OpenLog();
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  LogHead head;
  ASSERT_OK(first->Append(FundingsOf(head, 1, 1, 3), {}));
  // `second` still believes the log is empty: its events would fork the chain.
  LogHead stale;
  const IdempotencyWrite write{"mallory", "k", IdempotencyRecord{}};
  const std::vector<StateWrite> state{{"m", "forged"}};
  const Status refused = second->Append(FundingsOf(stale, 1, 1, 2), std::span(&write, 1), state);
  EXPECT_EQ(refused.code(), Status::Code::kFailedPrecondition) << refused.ToString();
  EXPECT_NE(refused.message().find("another writer appended"), std::string::npos)
      << refused.ToString();
  EXPECT_EQ(second->Head(), LogHead{});
  // Nothing of it is stored.
  auto reopened = OpenLog();
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->Head(), head);
  auto found = reopened->FindIdempotency("mallory", "k");
  ASSERT_OK(found);
  EXPECT_FALSE(found->has_value());
  auto value = reopened->ReadState("m");
  ASSERT_OK(value);
  EXPECT_FALSE(value->has_value());
  // The first writer goes on.
  ASSERT_OK(first->Append(FundingsOf(head, 1, 4, 1), {}));
  EXPECT_EQ(first->Head().position, 4);
}

TEST_F(PgEventLogTest, RefusesToOpenWhenTheHeadRowDisagreesWithTheEvents) {
  ExpectOpenRefusedAfter("UPDATE ledger_log.head SET position = 4", "newest stored event is at 3");
}

TEST_F(PgEventLogTest, RefusesToOpenWhenANewestRecordWasChanged) {
  // One byte flipped in the middle of the record at position 2.
  ExpectOpenRefusedAfter(
      "UPDATE ledger_log.events SET record = set_byte(record, length(record) / 2, "
      "get_byte(record, length(record) / 2) # 1) WHERE position = 2",
      "position 2");
}

TEST_F(PgEventLogTest, ReadOnlyFindsAnEmptyLogBeforeTheTablesExistThenFollowsTheWriter) {
  PgLogOptions read_only;
  read_only.read_only = true;
  auto reader = OpenLog(read_only);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->Head(), LogHead{});
  LogHead head;
  EXPECT_EQ(reader->Append(FundingsOf(head, 1, 1, 1), {}).code(),
            Status::Code::kFailedPrecondition);
  head = LogHead{};
  auto writer = OpenLog();
  ASSERT_NE(writer, nullptr);
  ASSERT_OK(writer->Append(FundingsOf(head, 1, 1, 5), {}));
  auto caught_up = reader->CatchUp();
  ASSERT_OK(caught_up);
  EXPECT_EQ(*caught_up, head);
  std::vector<Event> read;
  ASSERT_OK(events::ReadEvents(*reader, 1, 100, 100, &read));
  EXPECT_EQ(read.size(), 5U);
}

TEST_F(PgEventLogTest, AnAppendOnALostConnectionWritesNothingAndTheNextOneReconnects) {
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  LogHead head;
  ASSERT_OK(log->Append(FundingsOf(head, 1, 1, 2), {}));
  // Every session of the log ends, as in a failover.
  pqxx::nontransaction(db()).exec(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
      "WHERE datname = current_database() AND pid <> pg_backend_pid()");
  LogHead next = head;
  const auto events = FundingsOf(next, 1, 3, 2);
  const Status lost = log->Append(events, {});
  EXPECT_EQ(lost.code(), Status::Code::kUnavailable) << lost.ToString();
  EXPECT_EQ(log->Head(), head);
  EXPECT_EQ(log->WriteHealth().code(), Status::Code::kUnavailable);
  // The same events again, as the sequencer retries them.
  ASSERT_OK(log->Append(events, {}));
  EXPECT_EQ(log->Head(), next);
  EXPECT_OK(log->WriteHealth());
  // Reads find their pooled connections dead too, and open new ones.
  std::vector<Event> read;
  ASSERT_OK(events::ReadEvents(*log, 1, 100, 100, &read));
  EXPECT_EQ(read.size(), 4U);
}

TEST_F(PgEventLogTest, AnAppendCutOffInsideTheServerIsSettledByReadingTheHead) {
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  LogHead head;
  ASSERT_OK(log->Append(FundingsOf(head, 1, 1, 2), {}));
  // Another session holds the head row, so the append's statement waits
  // inside the server; its session is then ended there, as in a failover.
  pqxx::work blocker(db());
  blocker.exec("SELECT 1 FROM ledger_log.head FOR UPDATE");
  LogHead next = head;
  const auto events = FundingsOf(next, 1, 3, 2);
  std::future<Status> appending =
      std::async(std::launch::async, [&] { return log->Append(events, {}); });
  pqxx::connection admin(conninfo());
  bool ended = false;
  for (int i = 0; i < 500 && !ended; ++i) {
    pqxx::nontransaction tx(admin);
    ended = !tx.exec(
                   "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                   "WHERE datname = current_database() AND wait_event_type = 'Lock'")
                 .empty();
    if (!ended) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(ended);
  const Status cut = appending.get();
  blocker.abort();
  EXPECT_EQ(cut.code(), Status::Code::kUnavailable) << cut.ToString();
  EXPECT_NE(cut.message().find("nothing was written"), std::string::npos) << cut.ToString();
  EXPECT_EQ(log->Head(), head);
  ASSERT_OK(log->Append(events, {}));
  EXPECT_EQ(log->Head(), next);
}

TEST_F(PgEventLogTest, PurgesIdempotencyRecordsPastRetentionInBoundedRounds) {
  const Timestamp start = events::testing::At(1'790'000'000'000'000);
  ManualClock clock(start);
  PgLogOptions options;
  options.clock = &clock;
  options.idempotency_retention = std::chrono::hours(1);
  auto log = OpenLog(options);
  ASSERT_NE(log, nullptr);
  const auto records = [](std::string_view prefix, int64_t count, Timestamp at) {
    std::vector<IdempotencyWrite> out;
    for (int64_t i = 0; i < count; ++i) {
      out.push_back({"alice", std::string(prefix) + std::to_string(i),
                     IdempotencyRecord{events::Sha256("r"), at, "answer"}});
    }
    return out;
  };
  const auto stored = [&] {
    pqxx::nontransaction tx(db());
    return tx.exec1("SELECT count(*) FROM ledger_log.idempotency")[0].as<int64_t>();
  };
  // Past retention and its margin at `start`; the clock stays there, so no
  // append runs a round of its own yet.
  const Timestamp expired = start - std::chrono::hours(3);
  ASSERT_OK(log->Append({}, records("old-", kIdempotencyPurgeRows + 500, expired)));
  ASSERT_OK(log->Append({}, records("new-", 10, start)));

  auto purged = log->PurgeIdempotency();
  ASSERT_OK(purged);
  EXPECT_EQ(*purged, kIdempotencyPurgeRows);
  purged = log->PurgeIdempotency();
  ASSERT_OK(purged);
  EXPECT_EQ(*purged, 500);
  purged = log->PurgeIdempotency();
  ASSERT_OK(purged);
  EXPECT_EQ(*purged, 0);
  EXPECT_EQ(log->Stats().idempotency_purged, static_cast<uint64_t>(kIdempotencyPurgeRows + 500));
  auto found = log->FindIdempotency("alice", "old-7");
  ASSERT_OK(found);
  EXPECT_FALSE(found->has_value());
  found = log->FindIdempotency("alice", "new-7");
  ASSERT_OK(found);
  EXPECT_TRUE(found->has_value());

  // Appends run rounds on their own: once kIdempotencyPurgeInterval has
  // passed, and then after every append while the rounds find a full batch.
  ASSERT_OK(log->Append({}, records("burst-", 3 * kIdempotencyPurgeRows, expired)));
  EXPECT_EQ(stored(), 10 + 3 * kIdempotencyPurgeRows);
  clock.Advance(kIdempotencyPurgeInterval);
  std::vector<int64_t> after_each;
  for (int i = 0; i < 4; ++i) {
    ASSERT_OK(log->Append({}, records("later-" + std::to_string(i) + "-", 1, clock.Now())));
    after_each.push_back(stored());
  }
  EXPECT_EQ(after_each, (std::vector<int64_t>{10 + 1 + 2 * kIdempotencyPurgeRows,
                                              10 + 2 + kIdempotencyPurgeRows, 10 + 3, 10 + 4}));
  // The last round found nothing: the next one waits for the interval.
  ASSERT_OK(log->Append({}, records("quiet-", 1, expired)));
  EXPECT_EQ(stored(), 10 + 5);
}

TEST_F(PgEventLogTest, RefusesASessionWithoutSynchronousCommit) {
  // The test cluster's own default (off), and the settings that do not wait
  // for a synchronous standby's flush.
  for (const std::string setting : {"", "local", "remote_write"}) {
    const std::string conninfo_with =
        setting.empty() ? conninfo()
                        : conninfo() + " options='-c synchronous_commit=" + setting + "'";
    auto opened = PgEventLog::Open(conninfo_with);
    ASSERT_FALSE(opened.ok()) << setting;
    EXPECT_EQ(opened.status().code(), Status::Code::kFailedPrecondition);
    EXPECT_NE(opened.status().message().find("synchronous_commit = " +
                                             (setting.empty() ? "off" : setting)),
              std::string::npos)
        << opened.status().ToString();
  }
  auto applied = PgEventLog::Open(conninfo() + " options='-c synchronous_commit=remote_apply'");
  EXPECT_OK(applied);
}

}  // namespace
}  // namespace ledger::projections
