// The read side over a realistic log: 1 000 000 fund events spread over
// 10 000 posts (100 000 distinct backers), projected into a durable embedded
// PostgreSQL.
//
//   build/bench/read_side_bench --benchmark_counters_tabular=true
//
// BM_ProjectorCatchUp: the incremental projector from an empty read schema to
// the head of a full log, in batches of at most `batch` events.
// BM_ProjectorFollows: the steady state. A writer appends the same events at
// `rate` events/s (a synced append every 10 ms) while the projector follows
// on its own thread; lag is how far the projector is behind, sampled every
// 10 ms, in milliseconds of arrivals. It keeps up when the lag stays bounded.
// BM_Replay: fold the log and bulk-load a fresh schema, then swap it in.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>
#include <pqxx/nontransaction>
#include <sys/stat.h>

#include "bench_dir.h"
#include "events/codec.h"
#include "events/record.h"
#include "events/rocks_log.h"
#include "projections/database.h"
#include "projections/embedded_postgres.h"
#include "projections/projector.h"
#include "projections/replay.h"

namespace ledger::bench {
namespace {

constexpr int64_t kPosts = 10'000;
constexpr int64_t kFundings = 1'000'000;
constexpr int64_t kBackers = 100'000;
constexpr size_t kAppendBatch = 10'000;

// The records of the benchmark log, sealed exactly as the sequencer does:
// the posts, then the fundings, each of 1 unit on a random post from a random
// backer. Deterministic.
std::vector<events::EncodedEvent> MakeRecords() {
  std::vector<events::EncodedEvent> out;
  out.reserve(static_cast<size_t>(kPosts + kFundings));
  events::LogHead head;
  std::vector<int64_t> versions(kPosts + 1, 0);
  const Timestamp now = SystemClock().Now();
  const auto add = [&](int64_t stream, events::EventData data) {
    events::Event e;
    e.position = head.position + 1;
    e.stream = stream;
    e.stream_version = ++versions[static_cast<size_t>(stream)];
    e.recorded_at = now;
    e.actor = "bench";
    e.correlation_id = "bench";
    e.data = std::move(data);
    e.prev_hash = head.hash;
    std::string record = events::SealRecord(e, events::EncodeCanonical(e));
    out.push_back({e.position, e.stream, e.stream_version, e.prev_hash, e.hash, std::move(record)});
    head = {e.position, e.hash};
  };
  for (int64_t id = 1; id <= kPosts; ++id) {
    events::PostCreated c;
    c.title = "캠페인 " + std::to_string(id);
    c.uploader = "owner";
    c.owner = "owner";
    c.target_amount = 10'000'000;
    c.funding_unit = 1'000;
    c.end_date = *ParseDate("2027-12-31");
    c.closes_at = Timestamp(std::chrono::sys_days(c.end_date) + std::chrono::hours(15));
    add(id, c);
  }
  std::mt19937_64 rng(42);
  for (int64_t i = 0; i < kFundings; ++i) {
    const auto post = static_cast<int64_t>(rng() % kPosts) + 1;
    const std::string backer = "backer-" + std::to_string(rng() % kBackers);
    add(post, events::PostFunded{backer, 1, 1'000});
  }
  return out;
}

// Appends records[from, to) in synced appends of at most `chunk`.
void AppendRange(events::RocksEventLog& log, const std::vector<events::EncodedEvent>& records,
                 size_t from, size_t to, size_t chunk) {
  for (size_t i = from; i < to; i += chunk) {
    const size_t end = std::min(to, i + chunk);
    const std::vector<events::EncodedEvent> batch(records.begin() + static_cast<ptrdiff_t>(i),
                                                  records.begin() + static_cast<ptrdiff_t>(end));
    if (!log.Append(batch, {}).ok()) std::abort();
  }
}

// One full log and one PostgreSQL server for every benchmark in the run.
struct World {
  BenchDir dir;
  std::vector<events::EncodedEvent> records = MakeRecords();
  std::unique_ptr<events::RocksEventLog> log;
  std::unique_ptr<projections::EmbeddedPostgres> server;
  int next_database = 0;
  int next_log = 0;

  World() {
    chmod(dir.path().c_str(), 0711);
    log = events::RocksEventLog::Open(dir.path() + "/log").value();
    AppendRange(*log, records, 0, records.size(), kAppendBatch);
    projections::EmbeddedPostgresOptions options;
    options.data_dir = dir.path() + "/pg";
    options.durable = true;
    server = projections::EmbeddedPostgres::Start(options).value();
  }

  std::unique_ptr<events::RocksEventLog> FreshLog() {
    return events::RocksEventLog::Open(dir.path() + "/log" + std::to_string(++next_log)).value();
  }

  std::string FreshDatabase() {
    const std::string name = "bench_" + std::to_string(next_database++);
    auto admin = projections::Connect(server->ConnectionString("postgres")).value();
    pqxx::nontransaction(*admin).exec0("CREATE DATABASE " + name);
    return server->ConnectionString(name);
  }
};

World& TheWorld() {
  static World world;
  return world;
}

void BM_ProjectorCatchUp(benchmark::State& state) {
  World& w = TheWorld();
  const int64_t events = w.log->Head().position;
  for (auto _ : state) {
    state.PauseTiming();
    projections::ProjectorOptions options;
    options.conninfo = w.FreshDatabase();
    options.max_batch_events = static_cast<size_t>(state.range(0));
    projections::Projector projector(w.log.get(), options);
    if (!projector.Step().ok()) state.SkipWithError("first step failed");  // migrations
    state.ResumeTiming();
    const auto start = std::chrono::steady_clock::now();
    while (projector.position() != events) {
      auto r = projector.Step();
      if (!r.ok()) {
        state.SkipWithError(r.status().ToString().c_str());
        return;
      }
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    state.counters["events_per_s"] = static_cast<double>(events) / seconds;
  }
}
BENCHMARK(BM_ProjectorCatchUp)
    ->ArgName("batch")
    ->Arg(10'000)
    ->Arg(50'000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_ProjectorFollows(benchmark::State& state) {
  World& w = TheWorld();
  const auto rate = static_cast<double>(state.range(0));
  constexpr auto kTick = std::chrono::milliseconds(10);
  const auto per_tick = static_cast<size_t>(rate / 100);
  for (auto _ : state) {
    state.PauseTiming();
    auto log = w.FreshLog();
    // The posts exist before the clock starts; the fundings arrive live.
    AppendRange(*log, w.records, 0, kPosts, kAppendBatch);
    projections::ProjectorOptions options;
    options.conninfo = w.FreshDatabase();
    projections::Projector projector(log.get(), options);
    if (!projector.Step().ok() || !projector.Step().ok()) state.SkipWithError("setup failed");
    state.ResumeTiming();

    projector.Start();
    std::vector<double> lag_ms;
    const auto start = std::chrono::steady_clock::now();
    auto next = start;
    size_t appended = kPosts;
    while (appended < w.records.size()) {
      const size_t end = std::min(w.records.size(), appended + per_tick);
      AppendRange(*log, w.records, appended, end, end - appended);
      appended = end;
      projector.Wake();
      const int64_t behind = static_cast<int64_t>(appended) - projector.position();
      lag_ms.push_back(static_cast<double>(behind) * 1000.0 / rate);
      next += kTick;
      std::this_thread::sleep_until(next);
    }
    const auto writer_done = std::chrono::steady_clock::now();
    const double end_lag_ms =
        static_cast<double>(static_cast<int64_t>(appended) - projector.position()) * 1000.0 / rate;
    while (projector.position() < static_cast<int64_t>(appended)) {
      if (!projector.failure().ok()) {
        state.SkipWithError(projector.failure().ToString().c_str());
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    const auto drained = std::chrono::steady_clock::now();
    projector.Stop();
    std::sort(lag_ms.begin(), lag_ms.end());
    const auto at = [&](double q) {
      return lag_ms[std::min(lag_ms.size() - 1,
                             static_cast<size_t>(q * static_cast<double>(lag_ms.size())))];
    };
    const double writing = std::chrono::duration<double>(writer_done - start).count();
    state.counters["offered_per_s"] = static_cast<double>(kFundings) / writing;
    state.counters["lag_p50_ms"] = at(0.50);
    state.counters["lag_p99_ms"] = at(0.99);
    state.counters["lag_max_ms"] = lag_ms.back();
    state.counters["lag_end_ms"] = end_lag_ms;
    state.counters["drain_ms"] =
        std::chrono::duration<double, std::milli>(drained - writer_done).count();
  }
}
BENCHMARK(BM_ProjectorFollows)
    ->ArgName("rate")
    ->Arg(50'000)
    ->Arg(100'000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_Replay(benchmark::State& state) {
  World& w = TheWorld();
  const int64_t events = w.log->Head().position;
  for (auto _ : state) {
    state.PauseTiming();
    const std::string conninfo = w.FreshDatabase();
    state.ResumeTiming();
    const auto start = std::chrono::steady_clock::now();
    auto report = projections::Replay(*w.log, conninfo, {});
    if (!report.ok()) {
      state.SkipWithError(report.status().ToString().c_str());
      return;
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    state.counters["events_per_s"] = static_cast<double>(events) / seconds;
    state.counters["fold_s"] = report->fold_seconds;
    state.counters["build_s"] = report->build_seconds;
    state.counters["swap_s"] = report->swap_seconds;
  }
}
BENCHMARK(BM_Replay)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace ledger::bench

BENCHMARK_MAIN();
