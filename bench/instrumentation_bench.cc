// What the instrumentation adds to each request, measured alone: the HTTP
// metrics of one answered request, the sequencer's counts for one command
// (and for one batch write, shared by the batch), one access log line, and
// one scrape of /metrics' service families. docs/performance.md compares
// these with the CPU one funding costs.
//
//   build/bench/instrumentation_bench --benchmark_repetitions=5
#include <array>

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include "api/service_metrics.h"
#include "commands/sequencer_metrics.h"
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
