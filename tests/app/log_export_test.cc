// `backup` of a log in PostgreSQL: the export into a RocksDB log holds every
// record, idempotency record and state entry of one snapshot, and a log
// whose chain is broken is refused with nothing left behind.

#include "app/log_export.h"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "events/rocks_log.h"
#include "projections/pg_event_log.h"
#include "projections/pg_fixture.h"
#include "projections/pg_log_support.h"
#include "support/status_matchers.h"
#include "support/temp_dir.h"

namespace ledger::app {
namespace {

using events::LogHead;
using projections::testing::FundingsOf;
using projections::testing::LogConninfo;

class LogExportTest : public projections::testing::PgTest {
 protected:
  std::unique_ptr<projections::PgEventLog> OpenLog() {
    auto log = projections::PgEventLog::Open(LogConninfo(conninfo()));
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return log.ok() ? std::move(log).value() : nullptr;
  }
  ledger::testing::TempDir dir_;
};

TEST_F(LogExportTest, CopiesEveryRecordIdempotencyRecordAndStateEntry) {
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  LogHead head;
  const events::IdempotencyWrite keyed{"bob", "k1", events::IdempotencyRecord{{}, {}, "answer"}};
  const std::vector<events::StateWrite> state{{"a", "1"}, {"b", "2"}};
  // More than one page of records (4 096).
  for (int i = 0; i < 5; ++i) {
    ASSERT_OK(log->Append(FundingsOf(head, 1, 1 + i * 1000, 1000), std::span(&keyed, i == 0),
                          i == 4 ? std::span<const events::StateWrite>(state)
                                 : std::span<const events::StateWrite>()));
  }
  const std::string copy_dir = dir_.Sub("copy");
  const auto report = ExportLog(*log, copy_dir);
  ASSERT_OK(report);
  EXPECT_EQ(report->head, head);
  EXPECT_EQ(report->events_checked, 5000);

  events::RocksLogOptions read_only;
  read_only.read_only = true;
  auto copy = events::RocksEventLog::Open(copy_dir, read_only);
  ASSERT_OK(copy);
  EXPECT_EQ((*copy)->Head(), head);
  std::vector<std::string> original, copied;
  ASSERT_OK(log->ScanRecords(1, head.position, [&](int64_t, std::string_view r) {
    original.emplace_back(r);
    return true;
  }));
  ASSERT_OK((*copy)->ScanRecords(1, head.position, [&](int64_t, std::string_view r) {
    copied.emplace_back(r);
    return true;
  }));
  EXPECT_EQ(copied, original);
  const auto found = (*copy)->FindIdempotency("bob", "k1");
  ASSERT_OK(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->outcome, "answer");
  const auto b = (*copy)->ReadState("b");
  ASSERT_OK(b);
  EXPECT_EQ(b->value_or(""), "2");
}

TEST_F(LogExportTest, RefusesABrokenChainAndLeavesNothing) {
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  LogHead head;
  ASSERT_OK(log->Append(FundingsOf(head, 1, 1, 5), {}));
  // The record at position 3 replaced by the one at position 2.
  pqxx::nontransaction(db()).exec(
      "UPDATE ledger_log.events SET record = (SELECT record FROM ledger_log.events "
      "WHERE position = 2) WHERE position = 3");
  const std::string copy_dir = dir_.Sub("copy");
  const auto report = ExportLog(*log, copy_dir);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), Status::Code::kCorruption) << report.status().ToString();
  EXPECT_NE(report.status().message().find("position 3"), std::string::npos)
      << report.status().ToString();
  EXPECT_FALSE(std::filesystem::exists(copy_dir));
  EXPECT_TRUE(std::filesystem::is_empty(dir_.path()));
}

}  // namespace
}  // namespace ledger::app
