// The in-process write pipeline: submit → decide → group commit (one
// WriteBatch, sync = true) → acknowledge, with N concurrent submitters each
// waiting for its own acknowledgement before sending the next command.
// keyed:1 gives every command an Idempotency-Key of its own.
//
//   build/bench/sequencer_bench --benchmark_counters_tabular=true
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench_dir.h"
#include "commands/sequencer.h"
#include "common/malloc_tuning.h"
#include "events/rocks_log.h"

namespace ledger::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kPosts = 1000;

// A fresh log with kPosts open posts and a running sequencer.
struct Pipeline {
  BenchDir dir;
  std::unique_ptr<events::RocksEventLog> log;
  SystemClock clock;
  TimeZone zone = TimeZone::Load("Asia/Seoul").value();
  std::unique_ptr<commands::Sequencer> sequencer;

  bool Start() {
    log = events::RocksEventLog::Open(dir.path() + "/log").value();
    commands::SequencerOptions options;
    // LEDGER_BENCH_BATCH_WAIT_US tries other group-commit waits.
    if (const char* wait = std::getenv("LEDGER_BENCH_BATCH_WAIT_US")) {
      options.max_batch_wait = std::chrono::microseconds(std::atoll(wait));
    }
    sequencer = commands::Sequencer::Start(log.get(), &clock, &zone, options).value();
    for (int i = 0; i < kPosts; ++i) {
      commands::PostDraft d;
      d.title = "bench post " + std::to_string(i);
      d.uploader = "owner";
      d.target_amount = 1'000'000;
      d.funding_unit = 1'000;
      d.end_date =
          CivilDate(std::chrono::sys_days(zone.LocalDate(clock.Now())) + std::chrono::days(365));
      const auto r = sequencer->SubmitAndWait({commands::CreatePosts{{d}, false}, "owner", "", ""});
      if (r.status != commands::CommandStatus::kAccepted) return false;
    }
    return true;
  }
  ~Pipeline() {
    sequencer.reset();
    log.reset();
  }
};

// With `keyed`, the command carries an Idempotency-Key of its own, as a
// client that retries safely sends one with every funding: the sequencer then
// looks the key up (almost always in vain) and stores it with the events.
commands::Submission FundOf(size_t submitter, size_t i, bool keyed) {
  const auto post = static_cast<int64_t>((submitter * 7919 + i) % kPosts) + 1;
  std::string key;
  if (keyed) key = "fund-" + std::to_string(submitter) + "-" + std::to_string(i);
  return {commands::FundPost{post, 1}, "backer-" + std::to_string(submitter), "", std::move(key)};
}

void Report(benchmark::State& state, std::vector<int64_t>& latencies_ns, double seconds,
            const commands::SequencerMetrics& before, const commands::SequencerMetrics& after) {
  std::sort(latencies_ns.begin(), latencies_ns.end());
  const auto pct = [&latencies_ns](double p) {
    const auto at = static_cast<size_t>(p * static_cast<double>(latencies_ns.size() - 1));
    return static_cast<double>(latencies_ns[at]) / 1000.0;
  };
  const auto total = static_cast<double>(latencies_ns.size());
  state.counters["commands_per_s"] = total / seconds;
  state.counters["p50_us"] = pct(0.50);
  state.counters["p99_us"] = pct(0.99);
  state.counters["cmds_per_batch"] =
      total / static_cast<double>(after.batches_written() - before.batches_written());
}

using Latencies = std::vector<std::vector<int64_t>>;  // ns, per submitter

int64_t SinceNs(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
}

// One measured iteration per benchmark iteration: a fresh pipeline, then
// drive(pipeline, submitters, per_submitter) sends every command and returns
// the latencies.
template <typename Drive>
void Measure(benchmark::State& state, Drive drive) {
  const auto submitters = static_cast<size_t>(state.range(0));
  const auto per_submitter = static_cast<size_t>(state.range(1));
  const bool keyed = state.range(2) != 0;
  for (auto _ : state) {
    state.PauseTiming();
    Pipeline p;
    if (!p.Start()) {
      state.SkipWithError("setup failed");
      return;
    }
    const auto before = p.sequencer->metrics();
    state.ResumeTiming();

    const auto start = Clock::now();
    const Latencies latencies = drive(p, submitters, per_submitter, keyed);
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();

    state.PauseTiming();
    std::vector<int64_t> all;
    for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
    Report(state, all, seconds, before, p.sequencer->metrics());
    state.ResumeTiming();
  }
}

// N threads, each blocking on its own command before sending the next.
Latencies DriveThreads(Pipeline& p, size_t submitters, size_t per_submitter, bool keyed) {
  Latencies latencies(submitters);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < submitters; ++t) {
    threads.emplace_back([&, t] {
      auto& lat = latencies[t];
      lat.reserve(per_submitter);
      for (size_t i = 0; i < per_submitter; ++i) {
        const auto t0 = Clock::now();
        const auto r = p.sequencer->SubmitAndWait(FundOf(t, i, keyed));
        lat.push_back(SinceNs(t0));
        if (r.status != commands::CommandStatus::kAccepted) std::abort();
      }
    });
  }
  for (auto& th : threads) th.join();
  return latencies;
}

// N commands in flight without a thread each, the way the HTTP front submits:
// each completion sends that submitter's next command from the completion
// callback.
Latencies DriveAsync(Pipeline& p, size_t submitters, size_t per_submitter, bool keyed) {
  Latencies latencies(submitters);
  std::vector<Clock::time_point> sent_at(submitters);
  std::mutex mu;
  std::condition_variable cv;
  size_t finished = 0;
  std::function<void(size_t)> send = [&](size_t f) {
    sent_at[f] = Clock::now();
    p.sequencer->Submit(FundOf(f, latencies[f].size(), keyed),
                        [&, f](const commands::CommandResult& r) {
                          latencies[f].push_back(SinceNs(sent_at[f]));
                          if (r.status != commands::CommandStatus::kAccepted) std::abort();
                          if (latencies[f].size() < per_submitter) {
                            send(f);
                          } else {
                            std::lock_guard lock(mu);
                            ++finished;
                            cv.notify_one();
                          }
                        });
  };
  for (size_t f = 0; f < submitters; ++f) send(f);
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return finished == submitters; });
  return latencies;
}

void BM_FundPipeline(benchmark::State& state) { Measure(state, DriveThreads); }
void BM_FundPipelineAsync(benchmark::State& state) { Measure(state, DriveAsync); }

BENCHMARK(BM_FundPipeline)
    ->ArgNames({"submitters", "per_submitter", "keyed"})
    ->Args({1, 5'000, 0})
    ->Args({8, 10'000, 0})
    ->Args({64, 10'000, 0})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

BENCHMARK(BM_FundPipelineAsync)
    ->ArgNames({"in_flight", "per_submitter", "keyed"})
    ->Args({64, 10'000, 0})
    ->Args({64, 10'000, 1})
    ->Args({256, 2'500, 0})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace ledger::bench

// The allocator set as serve sets it (common/malloc_tuning.h), so that the
// pipeline is measured as it runs there.
int main(int argc, char** argv) {
  ledger::TuneMalloc();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
