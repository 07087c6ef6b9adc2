// The log on a disk that fills up and frees again: writes fail with
// kUnavailable and nothing of them is visible or durable, reads go on,
// WriteHealth says why, and writes resume without reopening the log.
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/clock.h"
#include "event_fixtures.h"
#include "events/event_log.h"
#include "events/rocks_log.h"
#include "support/fault_file_system.h"
#include "support/status_matchers.h"
#include "support/temp_dir.h"

namespace ledger::events {
namespace {

using ledger::testing::DiskFull;
using ledger::testing::DiskFullFileSystem;

// RocksDB retries a full disk on its own every 5 s; a recovery must come
// within two of those.
constexpr auto kRecoveryDeadline = std::chrono::seconds(12);

bool Contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

struct DiskFullCase {
  DiskFull fault;
  // Reopen before the disk fills: RocksDB flushes what it recovered, so every
  // memtable is empty when the write fails (see kKeepaliveKey in
  // rocks_log.cc).
  bool memtables_empty;
};

class RocksLogDiskFullTest : public ::testing::TestWithParam<DiskFullCase> {
 protected:
  std::unique_ptr<RocksEventLog> OpenLog(bool on_faulty_disk = true) {
    RocksLogOptions options;
    options.clock = &clock_;
    if (on_faulty_disk) options.env = ledger::testing::NewDiskFullEnv(fs_);
    auto log = RocksEventLog::Open(dir_.Sub("log"), options);
    EXPECT_OK(log);
    return log.ok() ? std::move(log).value() : nullptr;
  }

  // `count` fundings by `backer` after the log's head, and one idempotency
  // record under `key`.
  struct Batch {
    std::vector<Event> events;
    std::vector<EncodedEvent> encoded;
    std::vector<IdempotencyWrite> idempotency;
  };
  static Batch NextBatch(const RocksEventLog& log, int64_t count, const std::string& backer,
                         const std::string& key) {
    Batch b;
    LogHead head = log.Head();
    for (int64_t i = 1; i <= count; ++i) {
      b.events.push_back(testing::Funded(head.position + i, 1, head.position + i, backer));
    }
    b.encoded = testing::SealAll(b.events, head);
    b.idempotency.push_back(
        IdempotencyWrite{backer, key, IdempotencyRecord{Sha256(key), testing::At(7), "outcome"}});
    return b;
  }
  static Status Append(RocksEventLog& log, const Batch& b) {
    return log.Append(b.encoded, b.idempotency);
  }

  // Appends `b` once a second of the log's clock until it is written or the
  // deadline passes; every failure on the way must be kUnavailable.
  Status AppendUntilWritten(RocksEventLog& log, const Batch& b) {
    const auto deadline = std::chrono::steady_clock::now() + kRecoveryDeadline;
    while (true) {
      clock_.Advance(std::chrono::seconds(1));
      const Status s = Append(log, b);
      if (s.ok() || std::chrono::steady_clock::now() > deadline) return s;
      EXPECT_EQ(s.code(), Status::Code::kUnavailable) << s.ToString();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  static bool HasKey(const RocksEventLog& log, const std::string& actor, const std::string& key) {
    auto found = log.FindIdempotency(actor, key);
    EXPECT_OK(found);
    return found.ok() && found->has_value();
  }

  ledger::testing::TempDir dir_;
  ManualClock clock_{testing::At(1'790'000'000'000'000)};
  std::shared_ptr<DiskFullFileSystem> fs_ = std::make_shared<DiskFullFileSystem>();
};

TEST_P(RocksLogDiskFullTest, RefusesWritesWhileFullAndResumesWithoutReopening) {
  auto log = OpenLog();
  ASSERT_OK(Append(*log, NextBatch(*log, 3, "bob", "k-before")));
  if (GetParam().memtables_empty) {
    log.reset();
    log = OpenLog();
  }
  const LogHead before = log->Head();
  ASSERT_EQ(before.position, 3);

  fs_->Set(GetParam().fault);
  const Batch failed = NextBatch(*log, 2, "mallory", "k-failed");
  const Status refused = Append(*log, failed);
  EXPECT_EQ(refused.code(), Status::Code::kUnavailable) << refused.ToString();
  EXPECT_TRUE(Contains(refused.message(), "disk full")) << refused.ToString();
  EXPECT_EQ(log->Stats().write_failures[static_cast<size_t>(WriteFailureCause::kNoSpace)], 1u);

  // Nothing of it is visible; what was written before still reads.
  EXPECT_EQ(log->Head(), before);
  EXPECT_FALSE(HasKey(*log, "mallory", "k-failed"));
  EXPECT_TRUE(HasKey(*log, "bob", "k-before"));
  std::vector<Event> read;
  ASSERT_OK(ReadEvents(*log, 1, 10, 10, &read));
  EXPECT_EQ(read.size(), 3u);
  const Result<ChainCheck> chain = VerifyLogChain(*log, 1, 3);
  ASSERT_OK(chain);
  EXPECT_TRUE(chain->ok);

  // WriteHealth names the cause until the log is written again.
  const Status health = log->WriteHealth();
  EXPECT_EQ(health.code(), Status::Code::kUnavailable);
  EXPECT_TRUE(Contains(health.message(), "disk full")) << health.ToString();

  // Within resume_interval the next append fails at once, without trying.
  const Status waiting = Append(*log, failed);
  EXPECT_EQ(waiting.code(), Status::Code::kUnavailable);
  EXPECT_EQ(log->Stats().resume_attempts, 0u);
  EXPECT_EQ(log->Stats().write_failures[static_cast<size_t>(WriteFailureCause::kWaiting)], 1u);
  // A second later it asks RocksDB to resume, which cannot while full.
  clock_.Advance(std::chrono::seconds(1));
  EXPECT_EQ(Append(*log, failed).code(), Status::Code::kUnavailable);
  EXPECT_EQ(log->Stats().resume_attempts, 1u);
  EXPECT_EQ(log->Head(), before);

  // Space comes back: writes resume on the same instance.
  fs_->Set(DiskFull::kNo);
  const Batch retried = NextBatch(*log, 1, "carol", "k-after");
  ASSERT_OK(AppendUntilWritten(*log, retried));
  EXPECT_EQ(log->Head().position, 4);
  EXPECT_OK(log->WriteHealth());
  const Batch next = NextBatch(*log, 1, "dave", "k-next");
  ASSERT_OK(Append(*log, next));

  // Reopened: exactly the acknowledged events and records, chained.
  log.reset();
  log = OpenLog(/*on_faulty_disk=*/false);
  ASSERT_EQ(log->Head().position, 5);
  EXPECT_EQ(log->Head().hash, next.events.back().hash);
  read.clear();
  ASSERT_OK(ReadEvents(*log, 1, 10, 10, &read));
  ASSERT_EQ(read.size(), 5u);
  EXPECT_EQ(read[3].actor, "carol");
  EXPECT_EQ(read[4].actor, "dave");
  const Result<ChainCheck> reopened_chain = VerifyLogChain(*log, 1, 5);
  ASSERT_OK(reopened_chain);
  EXPECT_TRUE(reopened_chain->ok) << reopened_chain->problem;
  EXPECT_FALSE(HasKey(*log, "mallory", "k-failed"));
  EXPECT_TRUE(HasKey(*log, "carol", "k-after"));
  EXPECT_TRUE(HasKey(*log, "dave", "k-next"));
}

INSTANTIATE_TEST_SUITE_P(Faults, RocksLogDiskFullTest,
                         ::testing::Values(DiskFullCase{DiskFull::kEverything, false},
                                           DiskFullCase{DiskFull::kEverything, true},
                                           DiskFullCase{DiskFull::kSyncOnly, false},
                                           DiskFullCase{DiskFull::kSyncOnly, true}),
                         [](const ::testing::TestParamInfo<DiskFullCase>& test) {
                           return std::string(test.param.fault == DiskFull::kEverything
                                                  ? "WritesFail"
                                                  : "SyncFails") +
                                  (test.param.memtables_empty ? "AfterReopen" : "WithMemtables");
                         });

TEST_P(RocksLogDiskFullTest, RecoversOnItsOwnWhenNoWritesArrive) {
  // A node that is not ready gets no traffic: recovery must not wait for
  // the next append.
  auto log = OpenLog();
  ASSERT_OK(Append(*log, NextBatch(*log, 1, "bob", "k-before")));
  if (GetParam().memtables_empty) {
    log.reset();
    log = OpenLog();
  }
  fs_->Set(GetParam().fault);
  EXPECT_EQ(Append(*log, NextBatch(*log, 1, "mallory", "k-failed")).code(),
            Status::Code::kUnavailable);
  fs_->Set(DiskFull::kNo);
  const auto deadline = std::chrono::steady_clock::now() + kRecoveryDeadline;
  while (!log->WriteHealth().ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_OK(log->WriteHealth());
  EXPECT_EQ(log->Stats().resume_attempts, 0u);
  ASSERT_OK(Append(*log, NextBatch(*log, 1, "carol", "k-after")));
  EXPECT_EQ(log->Head().position, 2);
}

// A batch whose fsync failed is in the write-ahead log file but in no
// memtable. Recovering from that flushes the memtables; if the process dies
// between the flushes of two column families, the next open replays the
// failed batch into the families not yet flushed only — an event without its
// head record, or an idempotency record without its event — unless all
// families are flushed as one (atomic_flush). Whole or absent, the reopened
// log must be consistent.
//
// The recovery flushes, in family order, the default family (the keepalive
// key), the events, the stream index, ...: the process dies as the third
// table file is created, the events flushed and the stream index not. The
// child runs in a fresh process ("threadsafe" death test): a fork of this
// one would lack RocksDB's background threads, which earlier tests started,
// and never flush. It finds the directory through the environment.
TEST_F(RocksLogDiskFullTest, ACrashWhileRecoveringLeavesAFailedBatchWholeOrAbsent) {
  constexpr const char* kDirVariable = "LEDGER_TEST_CRASH_IN_RECOVERY_DIR";
  const char* inherited = std::getenv(kDirVariable);
  const std::string path = inherited != nullptr ? inherited : dir_.Sub("log");
  ASSERT_EQ(setenv(kDirVariable, path.c_str(), 1), 0);
  const auto open = [&](bool on_faulty_disk) {
    RocksLogOptions options;
    options.clock = &clock_;
    if (on_faulty_disk) options.env = ledger::testing::NewDiskFullEnv(fs_);
    auto log = RocksEventLog::Open(path, options);
    return log.ok() ? std::move(log).value() : nullptr;
  };
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        // The child's own fixture directory: it works on the parent's log,
        // and its _exit skips the destructor that would remove it.
        std::filesystem::remove(dir_.path());
        auto log = open(true);
        if (!log || !Append(*log, NextBatch(*log, 3, "bob", "k-before")).ok()) _exit(2);
        fs_->Set(DiskFull::kSyncOnly);
        if (Append(*log, NextBatch(*log, 2, "mallory", "k-failed")).ok()) _exit(3);
        fs_->ExitAtTableFile(3);
        fs_->Set(DiskFull::kNo);
        (void)AppendUntilWritten(*log, NextBatch(*log, 1, "carol", "k-after"));
        _exit(4);  // recovered without a third table file: no crash to test
      },
      ::testing::ExitedWithCode(0), "");
  unsetenv(kDirVariable);
  auto log = open(false);
  ASSERT_NE(log, nullptr) << RocksEventLog::Open(path).status().ToString();
  const LogHead head = log->Head();
  ASSERT_TRUE(head.position == 3 || head.position == 5) << head.position;
  std::vector<Event> read;
  ASSERT_OK(ReadEvents(*log, 1, 10, 10, &read));
  EXPECT_EQ(read.size(), static_cast<size_t>(head.position));
  const Result<ChainCheck> chain = VerifyLogChain(*log, 1, head.position);
  ASSERT_OK(chain);
  EXPECT_TRUE(chain->ok) << chain->problem;
  EXPECT_TRUE(HasKey(*log, "bob", "k-before"));
  EXPECT_EQ(HasKey(*log, "mallory", "k-failed"), head.position == 5);
  EXPECT_FALSE(HasKey(*log, "carol", "k-after"));
}

TEST(RocksLogWriteHealthTest, AReadOnlyLogIsNeverReportedUnwritable) {
  ledger::testing::TempDir dir;
  { ASSERT_OK(RocksEventLog::Open(dir.Sub("log"))); }
  RocksLogOptions options;
  options.read_only = true;
  auto log = RocksEventLog::Open(dir.Sub("log"), options);
  ASSERT_OK(log);
  EXPECT_OK((*log)->WriteHealth());
  EXPECT_EQ((*log)->Append({}, {}).code(), Status::Code::kFailedPrecondition);
}

}  // namespace
}  // namespace ledger::events
