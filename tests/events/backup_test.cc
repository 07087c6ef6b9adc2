#include "events/backup.h"

#include <atomic>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "event_fixtures.h"
#include "events/keys.h"
#include "support/raw_log.h"
#include "support/status_matchers.h"
#include "support/temp_dir.h"

namespace ledger::events {
namespace {

namespace fs = std::filesystem;

class BackupTest : public ::testing::Test {
 protected:
  std::unique_ptr<RocksEventLog> Open(const std::string& dir, RocksLogOptions options = {}) {
    auto log = RocksEventLog::Open(dir, options);
    EXPECT_OK(log);
    return log.ok() ? std::move(log).value() : nullptr;
  }
  std::unique_ptr<RocksEventLog> Secondary() {
    RocksLogOptions options;
    options.secondary_dir = dir_.Sub("secondary");
    return Open(dir_.Sub("log"), options);
  }
  static void Append(RocksEventLog& log, int64_t count) {
    LogHead head = log.Head();
    ASSERT_OK(log.Append(testing::NextFundings(head, count), {}));
  }

  ledger::testing::TempDir dir_;
};

TEST_F(BackupTest, CopiesAndChecksTheWholeLog) {
  auto primary = Open(dir_.Sub("log"));
  Append(*primary, 50);
  auto secondary = Secondary();
  std::vector<std::pair<int64_t, int64_t>> progress;
  BackupOptions options;
  options.progress = [&](int64_t done, int64_t total) { progress.emplace_back(done, total); };
  const auto report = BackupLog(*secondary, dir_.Sub("backup"), options);
  ASSERT_OK(report);
  EXPECT_EQ(report->head, primary->Head());
  EXPECT_EQ(report->events_checked, 50);
  EXPECT_EQ(report->attempts, 1);
  // Nothing is left beside the copy.
  for (const auto& entry : fs::directory_iterator(dir_.path())) {
    EXPECT_EQ(entry.path().filename().string().find(".partial"), std::string::npos) << entry.path();
  }
  primary.reset();
  secondary.reset();
  auto copy = Open(dir_.Sub("backup"));
  ASSERT_NE(copy, nullptr);
  EXPECT_EQ(copy->Head(), report->head);
  const auto chain = VerifyLogChain(*copy, 1, copy->Head().position);
  ASSERT_OK(chain);
  EXPECT_TRUE(chain->ok);
  // A restored copy takes appends like the original.
  Append(*copy, 1);
  EXPECT_EQ(copy->Head().position, 51);
}

TEST_F(BackupTest, WhileThePrimaryAppendsTheCopyHoldsAtLeastWhatWasSeen) {
  auto primary = Open(dir_.Sub("log"));
  Append(*primary, 10);
  auto secondary = Secondary();
  std::atomic<bool> stop{false};
  std::atomic<int64_t> appended{10};
  std::thread writer([&] {
    while (!stop) {
      Append(*primary, 25);
      appended += 25;
    }
  });
  for (int i = 0; i < 5; ++i) {
    const int64_t before = appended.load();
    const auto report = BackupLog(*secondary, dir_.Sub("backup" + std::to_string(i)));
    ASSERT_OK(report);
    EXPECT_GE(report->head.position, before);
    EXPECT_EQ(report->events_checked, report->head.position);
  }
  stop = true;
  writer.join();
}

TEST_F(BackupTest, NeverWritesOverAnythingAndNeedsAParent) {
  auto primary = Open(dir_.Sub("log"));
  Append(*primary, 3);
  fs::create_directories(dir_.Sub("taken"));
  const auto taken = BackupLog(*primary, dir_.Sub("taken"));
  EXPECT_EQ(taken.status().code(), Status::Code::kInvalidArgument);
  const auto orphan = BackupLog(*primary, dir_.Sub("no/such/parent"));
  EXPECT_EQ(orphan.status().code(), Status::Code::kInvalidArgument);
}

TEST_F(BackupTest, ABrokenChainIsNamedAndNothingIsLeft) {
  { Append(*Open(dir_.Sub("log")), 8); }
  ledger::testing::OverwriteRawValue(dir_.Sub("log"), kEventsFamily, PositionKey(5),
                                     [](std::string& v) { v[v.size() - 3] ^= 1; });
  RocksLogOptions options;
  options.secondary_dir = dir_.Sub("secondary");
  options.verify_tail_events = 0;
  auto secondary = Open(dir_.Sub("log"), options);
  ASSERT_NE(secondary, nullptr);
  const auto report = BackupLog(*secondary, dir_.Sub("backup"));
  ASSERT_EQ(report.status().code(), Status::Code::kCorruption) << report.status().ToString();
  EXPECT_NE(report.status().message().find("position 5"), std::string::npos)
      << report.status().ToString();
  EXPECT_FALSE(fs::exists(dir_.Sub("backup")));
}

TEST_F(BackupTest, AStopLeavesNothing) {
  auto primary = Open(dir_.Sub("log"));
  Append(*primary, 3);
  BackupOptions options;
  options.stop = [] { return true; };
  const auto report = BackupLog(*primary, dir_.Sub("backup"), options);
  EXPECT_EQ(report.status().code(), Status::Code::kCancelled);
  EXPECT_FALSE(fs::exists(dir_.Sub("backup")));
}

}  // namespace
}  // namespace ledger::events
