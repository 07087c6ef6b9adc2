#include "api/service_metrics.h"

#include <array>
#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "http/metrics.h"

namespace ledger::api {

using http::ExposeFamilies;
using http::MetricFamily;

namespace {

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string Text(const std::vector<MetricFamily>& families) { return ExposeFamilies(families); }

TEST(ServiceMetricsTest, WriteSideLabelsEveryCommandOutcomeAndEventType) {
  commands::SequencerCounters counters;
  counters.CountCommand(commands::CommandKind::kFundPost, commands::kSlotAccepted);
  counters.CountCommand(commands::CommandKind::kFundPost, commands::kSlotAccepted);
  counters.CountCommand(commands::CommandKind::kFundPost,
                        static_cast<size_t>(commands::RejectReason::kFundingClosed));
  counters.CountCommand(commands::CommandKind::kEditPost, commands::kSlotKeyReused);
  counters.CountReplay(commands::CommandKind::kDeletePost);
  counters.CountBatch(3);
  std::array<uint64_t, events::kEventTypeCount> by_type{};
  by_type[static_cast<size_t>(events::EventType::kPostFunded)] = 2;
  counters.CountWrite(by_type, 0.002);
  counters.CountFailedWrite(0.2);
  commands::SequencerMetrics m = counters.Snapshot();
  m.queue_depth = 7;
  m.queue_capacity = 100;

  const std::string text = Text(WriteSideFamilies(m));
  const auto has = [&text](const std::string& line) {
    EXPECT_TRUE(Contains(text, line + "\n")) << line << "\n" << text;
  };
  has(R"(ledger_commands_total{command="fund_post",outcome="accepted",reason="none"} 2)");
  has(R"(ledger_commands_total{command="fund_post",outcome="rejected",reason="funding_closed"} 1)");
  has(R"(ledger_commands_total{command="edit_post",outcome="conflict",)"
      R"(reason="idempotency_key_reused"} 1)");
  // Accepted series exist before anything happened; other pairs only once seen.
  has(R"(ledger_commands_total{command="create_posts",outcome="accepted",reason="none"} 0)");
  EXPECT_FALSE(Contains(text, R"(command="create_posts",outcome="rejected")")) << text;
  has(R"(ledger_idempotency_hits_total{command="delete_post"} 1)");
  has(R"(ledger_idempotency_hits_total{command="fund_post"} 0)");
  has(R"(ledger_events_appended_total{type="PostFunded"} 2)");
  has(R"(ledger_events_appended_total{type="FundingRefunded"} 0)");
  has("ledger_group_commit_commands_count 1");
  has("ledger_group_commit_commands_sum 3");
  has("ledger_group_commit_events_sum 2");
  has(R"(ledger_log_fsync_duration_seconds_bucket{le="0.0025"} 1)");
  has("ledger_log_fsync_duration_seconds_count 2");  // the failed write took time too
  has("ledger_log_append_failures_total 1");
  has("ledger_sequencer_queue_depth 7");
  has("ledger_sequencer_queue_capacity 100");
  EXPECT_TRUE(Contains(text, "# TYPE ledger_commands_total counter")) << text;
  EXPECT_TRUE(Contains(text, "# TYPE ledger_sequencer_queue_depth gauge")) << text;
}

TEST(ServiceMetricsTest, LogFamiliesSayWhetherTheLogCanBeWrittenAndWhyNot) {
  events::LogStats stats;
  stats.write_failures[static_cast<size_t>(events::WriteFailureCause::kNoSpace)] = 2;
  stats.resume_attempts = 3;
  stats.idempotency_purged = 40;
  stats.idempotency_records_estimate = 5;
  stats.block_cache_bytes = 6;
  stats.block_cache_capacity_bytes = 7;
  stats.table_readers_bytes = 8;
  stats.memtables_bytes = 9;
  stats.table_files = 10;
  const std::string text = Text(LogFamilies(false, stats));
  for (const std::string line : {
           "ledger_log_writable 0",
           R"(ledger_log_write_failures_total{cause="no_space"} 2)",
           R"(ledger_log_write_failures_total{cause="io_error"} 0)",
           R"(ledger_log_write_failures_total{cause="waiting"} 0)",
           "ledger_log_resume_attempts_total 3",
           "ledger_idempotency_records_purged_total 40",
           "ledger_idempotency_records 5",
           R"(ledger_log_memory_bytes{part="block_cache"} 6)",
           R"(ledger_log_memory_bytes{part="table_readers"} 8)",
           R"(ledger_log_memory_bytes{part="memtables"} 9)",
           "ledger_log_block_cache_capacity_bytes 7",
           "ledger_log_table_files 10",
       }) {
    EXPECT_TRUE(Contains(text, line + "\n")) << line << "\n" << text;
  }
  EXPECT_TRUE(Contains(Text(LogFamilies(true, {})), "ledger_log_writable 1\n"));
}

TEST(ServiceMetricsTest, LifecycleSeriesExistAtZeroBeforeAnythingCloses) {
  commands::SequencerCounters counters;
  const std::string text = Text(WriteSideFamilies(counters.Snapshot()));
  for (const std::string line : {
           R"(ledger_settlements_total{outcome="successful"} 0)",
           R"(ledger_settlements_total{outcome="failed"} 0)",
           R"(ledger_refunds_total{cause="settlement"} 0)",
           R"(ledger_refunds_total{cause="deletion"} 0)",
           R"(ledger_refunded_amount_total{cause="settlement"} 0)",
           R"(ledger_refunded_amount_total{cause="deletion"} 0)",
           "ledger_cancellations_total 0",
           "ledger_cancelled_amount_total 0",
           "ledger_settlement_lag_seconds_count 0",
           "ledger_settlement_overdue_seconds 0",
       }) {
    EXPECT_TRUE(Contains(text, line + "\n")) << line << "\n" << text;
  }
}

TEST(ServiceMetricsTest, LifecycleCountsSettlementsRefundsCancellationsAndLag) {
  commands::SequencerCounters counters;
  commands::LifecycleTally settled;  // a failed all_or_nothing post and a success
  const Timestamp closes = Timestamp(std::chrono::seconds(1'800'000'000));
  settled.Add(events::PostSettled{events::SettlementOutcome::kFailed, 7'000, 2, 7'000, 2}, closes,
              closes + std::chrono::milliseconds(2));
  settled.Add(events::PostSettled{events::SettlementOutcome::kSuccessful, 9'000, 3, 0, 0}, closes,
              closes + std::chrono::seconds(40));
  counters.CountLifecycle(settled);
  commands::LifecycleTally deleted;
  deleted.Add(events::PostDeleted{5'000, 1}, closes, closes);
  deleted.Add(events::FundingCancelled{"bob", 12, 2, 2'000}, closes, closes);
  counters.CountLifecycle(deleted);
  std::array<uint64_t, events::kEventTypeCount> by_type{};
  by_type[static_cast<size_t>(events::EventType::kFundingCancelled)] = 1;
  counters.CountWrite(by_type, 0.001);
  commands::SequencerMetrics m = counters.Snapshot();
  m.settlement_overdue_seconds = 75.5;

  const std::string text = Text(WriteSideFamilies(m));
  const auto has = [&text](const std::string& line) {
    EXPECT_TRUE(Contains(text, line + "\n")) << line << "\n" << text;
  };
  has(R"(ledger_settlements_total{outcome="successful"} 1)");
  has(R"(ledger_settlements_total{outcome="failed"} 1)");
  has(R"(ledger_refunds_total{cause="settlement"} 2)");
  has(R"(ledger_refunds_total{cause="deletion"} 1)");
  has(R"(ledger_refunded_amount_total{cause="settlement"} 7000)");
  has(R"(ledger_refunded_amount_total{cause="deletion"} 5000)");
  has("ledger_cancellations_total 1");
  has("ledger_cancelled_amount_total 2000");
  has(R"(ledger_settlement_lag_seconds_bucket{le="0.001"} 0)");
  has(R"(ledger_settlement_lag_seconds_bucket{le="0.0025"} 1)");
  has(R"(ledger_settlement_lag_seconds_bucket{le="30"} 1)");
  has(R"(ledger_settlement_lag_seconds_bucket{le="60"} 2)");
  has(R"(ledger_settlement_lag_seconds_bucket{le="+Inf"} 2)");
  has("ledger_settlement_lag_seconds_count 2");
  has("ledger_settlement_overdue_seconds 75.5");
  EXPECT_TRUE(Contains(text, "# TYPE ledger_settlement_lag_seconds histogram")) << text;
  EXPECT_TRUE(Contains(text, "# TYPE ledger_settlement_overdue_seconds gauge")) << text;
}

TEST(ServiceMetricsTest, BuildInfoIsOneWithVersionAndRevision) {
  const std::string text = Text({BuildInfoFamily("1.2.3", "abc123")});
  EXPECT_TRUE(Contains(text, R"(ledger_build_info{revision="abc123",version="1.2.3"} 1)")) << text;
  EXPECT_FALSE(BuildVersion().empty());
  EXPECT_FALSE(BuildRevision().empty());
}

}  // namespace
}  // namespace ledger::api
