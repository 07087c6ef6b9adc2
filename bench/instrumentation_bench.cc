// What the instrumentation adds to each request, measured alone: the HTTP
// metrics of one answered request, the sequencer's counts for one command
// (and for one batch write, shared by the batch; and the lifecycle figures of
// a fund batch and of a settlement), one access log line, and
// one scrape of /metrics' service families. docs/performance.md compares
// these with the CPU one funding costs.
//
//   build/bench/instrumentation_bench --benchmark_repetitions=5
#include <array>
#include <chrono>
#include <optional>

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include "api/service_metrics.h"
#include "commands/sequencer_metrics.h"
#include "commands/settlement_schedule.h"
#include "common/log.h"
#include "http/metrics.h"

namespace ledger::bench {
namespace {

void BM_HttpMetricsObserve(benchmark::State& state) {
  http::HttpMetrics metrics;
  for (auto _ : state) {
    metrics.Observe("POST", "/api/posts/{id}/fundings", 201, 0.004);
  }
}
BENCHMARK(BM_HttpMetricsObserve)->ThreadRange(1, 2);

void BM_SequencerCountCommand(benchmark::State& state) {
  commands::SequencerCounters counters;
  for (auto _ : state) {
    counters.CountCommand(commands::CommandKind::kFundPost, commands::kSlotAccepted);
  }
}
BENCHMARK(BM_SequencerCountCommand);

// Once per group commit (batches of tens to hundreds of commands under load).
void BM_SequencerCountBatchWrite(benchmark::State& state) {
  commands::SequencerCounters counters;
  std::array<uint64_t, events::kEventTypeCount> by_type{};
  by_type[static_cast<size_t>(events::EventType::kPostFunded)] = 64;
  for (auto _ : state) {
    counters.CountBatch(64);
    counters.CountWrite(by_type, 0.0021);
  }
}
BENCHMARK(BM_SequencerCountBatchWrite);

// What a batch of fundings pays for the campaign lifecycle metrics (issue
// 14): an empty tally in its scratch, the test that finds nothing to count,
// and the two publications of the earliest unsettled deadline (when due
// posts are taken, and after the write) from a schedule of 1 000 posts.
void BM_LifecycleOfAFundBatch(benchmark::State& state) {
  commands::SettlementSchedule schedule;
  const Timestamp first = Timestamp(std::chrono::seconds(1'800'000'000));
  for (int64_t id = 1; id <= 1'000; ++id) schedule.Add(id, first + std::chrono::hours(id));
  for (auto _ : state) {
    commands::LifecycleTally tally;
    benchmark::DoNotOptimize(tally);
    schedule.PublishPending(std::nullopt);
    if (!tally.empty()) state.SkipWithError("a fund batch has lifecycle figures");
    schedule.PublishPending(std::nullopt);
  }
}
BENCHMARK(BM_LifecycleOfAFundBatch);

// The same for a batch that settled a post, refunding 100 backers: the
// tally of its PostSettled and counting it (three counters, one histogram).
void BM_LifecycleOfASettlementBatch(benchmark::State& state) {
  commands::SequencerCounters counters;
  const Timestamp closes = Timestamp(std::chrono::seconds(1'800'000'000));
  const events::EventData settled =
      events::PostSettled{events::SettlementOutcome::kFailed, 100'000, 100, 100'000, 100};
  for (auto _ : state) {
    commands::LifecycleTally tally;
    tally.Add(settled, closes, closes + std::chrono::milliseconds(2));
    counters.CountLifecycle(tally);
  }
}
BENCHMARK(BM_LifecycleOfASettlementBatch);

// The access line of a funding, as server.cc writes it, into a file.
void BM_AccessLogLine(benchmark::State& state) {
  char path[] = "/tmp/instrumentation-bench-log-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) {
    state.SkipWithError("mkstemp failed");
    return;
  }
  unlink(path);
  const int previous = SetLogSinkForTest(fd);
  for (auto _ : state) {
    LEDGER_LOG(LogLevel::kInfo, "http", "request")
        .Str("request_id", "3f2a9c1e-51d4-4c8e-9a57-2b1f0d6e7c11")
        .Str("method", "POST")
        .Str("route", "/api/posts/{id}/fundings")
        .Str("path", "/api/posts/417/fundings")
        .Int("status", 201)
        .Double("duration_ms", 4.125);
  }
  SetLogSinkForTest(previous);
  close(fd);
}
BENCHMARK(BM_AccessLogLine);

// Serializing the write side's families (done once per scrape).
void BM_WriteSideFamilies(benchmark::State& state) {
  commands::SequencerCounters counters;
  counters.CountCommand(commands::CommandKind::kFundPost, commands::kSlotAccepted);
  const commands::SequencerMetrics m = counters.Snapshot();
  for (auto _ : state) {
    benchmark::DoNotOptimize(api::WriteSideFamilies(m));
  }
}
BENCHMARK(BM_WriteSideFamilies);

}  // namespace
}  // namespace ledger::bench

BENCHMARK_MAIN();
