// The floor under the pipeline: raw appends of sealed events to the RocksDB
// log, one synced WriteBatch per call, by batch size.
//
//   build/bench/rocks_append_bench
#include <benchmark/benchmark.h>

#include "bench_dir.h"
#include "events/codec.h"
#include "events/record.h"
#include "events/rocks_log.h"

namespace ledger::bench {
namespace {

void BM_SyncedAppend(benchmark::State& state) {
  const auto batch = state.range(0);
  BenchDir dir;
  auto log = events::RocksEventLog::Open(dir.path() + "/log").value();
  events::LogHead head = log->Head();
  std::vector<events::EncodedEvent> encoded;
  for (auto _ : state) {
    state.PauseTiming();
    encoded.clear();
    for (int64_t i = 0; i < batch; ++i) {
      events::Event e;
      e.position = head.position + 1;
      e.stream = 1 + (e.position % 1000);
      e.stream_version = e.position;
      e.actor = "backer";
      e.data = events::PostFunded{"backer", 1, 1000};
      e.prev_hash = head.hash;
      std::string record = events::SealRecord(e, events::EncodeCanonical(e));
      encoded.push_back(
          {e.position, e.stream, e.stream_version, e.prev_hash, e.hash, std::move(record)});
      head = {e.position, e.hash};
    }
    state.ResumeTiming();
    if (!log->Append(encoded, {}).ok()) state.SkipWithError("append failed");
  }
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_SyncedAppend)->Arg(1)->Arg(8)->Arg(64)->Arg(512)->UseRealTime();

void BM_EncodeAndSeal(benchmark::State& state) {
  events::Event e;
  e.position = 123456;
  e.stream = 42;
  e.stream_version = 77;
  e.actor = "backer-12";
  e.correlation_id = "0f8e2c1a-request";
  e.data = events::PostFunded{"backer-12", 1, 1000};
  for (auto _ : state) {
    std::string record = events::SealRecord(e, events::EncodeCanonical(e));
    benchmark::DoNotOptimize(record);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EncodeAndSeal);

}  // namespace
}  // namespace ledger::bench

BENCHMARK_MAIN();
