// The chain walk of `verify` (events::VerifyLogChain): read every stored
// record in position order, check its prev_hash, recompute its SHA-256 and
// check the position it names. Goal (issue 5): >= 1 000 000 events/s. The
// log is 1 000 000 fundings with realistic envelopes (actor, correlation id,
// idempotency key), written once; the walks then read it from a primary and
// from a secondary instance (how the CLI opens it beside a running service).
//
//   build/bench/chain_bench
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench_dir.h"
#include "events/codec.h"
#include "events/event_log.h"
#include "events/record.h"
#include "events/rocks_log.h"

namespace ledger::bench {
namespace {

constexpr int64_t kEvents = 1'000'000;
constexpr int64_t kAppendBatch = 10'000;

// A log of kEvents fundings, built on first use and kept for every run.
class ChainLog {
 public:
  static ChainLog& Get() {
    static ChainLog log;
    return log;
  }
  const std::string& path() const { return path_; }

 private:
  ChainLog() : path_(dir_.path() + "/log") {
    auto log = events::RocksEventLog::Open(path_).value();
    events::LogHead head = log->Head();
    std::vector<events::EncodedEvent> batch;
    while (head.position < kEvents) {
      batch.clear();
      for (int64_t i = 0; i < kAppendBatch; ++i) {
        events::Event e;
        e.position = head.position + 1;
        e.stream = 1 + (e.position % 10'000);
        e.stream_version = 1 + e.position / 10'000;
        e.recorded_at = Timestamp(std::chrono::microseconds(1'795'000'000'000'000 + e.position));
        e.actor = "backer-" + std::to_string(e.position % 977);
        e.correlation_id = "c0ffee" + std::to_string(e.position);
        e.idempotency_key = "key-" + std::to_string(e.position);
        e.data = events::PostFunded{e.actor, 3, 30'000};
        e.prev_hash = head.hash;
        std::string record = events::SealRecord(e, events::EncodeCanonical(e));
        batch.push_back(
            {e.position, e.stream, e.stream_version, e.prev_hash, e.hash, std::move(record)});
        head = {e.position, e.hash};
      }
      if (!log->Append(batch, {}).ok()) std::abort();
    }
  }

  BenchDir dir_;
  std::string path_;
};

void Walk(benchmark::State& state, const events::EventLog& log) {
  for (auto _ : state) {
    const auto check = events::VerifyLogChain(log, 1, log.Head().position);
    if (!check.ok() || !check->ok || check->events_checked != kEvents) {
      state.SkipWithError("the chain walk failed");
      return;
    }
  }
  state.SetItemsProcessed(state.iterations() * kEvents);
}

void BM_ChainWalk(benchmark::State& state) {
  const auto log = events::RocksEventLog::Open(ChainLog::Get().path()).value();
  Walk(state, *log);
}
BENCHMARK(BM_ChainWalk)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ChainWalkFromASecondary(benchmark::State& state) {
  const BenchDir secondary;
  events::RocksLogOptions options;
  options.secondary_dir = secondary.path();
  const auto log = events::RocksEventLog::Open(ChainLog::Get().path(), options).value();
  Walk(state, *log);
}
BENCHMARK(BM_ChainWalkFromASecondary)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace ledger::bench

BENCHMARK_MAIN();
