// The read side over a realistic log: 1 000 000 fund events spread over
// 10 000 posts (100 000 distinct backers), projected into a durable embedded
// PostgreSQL.
//
//   build/bench/read_side_bench --benchmark_counters_tabular=true
//
// BM_ProjectorCatchUp: the incremental projector from an empty read schema to
// the head, in batches of `batch` events (the steady-state code path).
// BM_Replay: fold the log and bulk-load a fresh schema, then swap it in.
#include <chrono>
#include <memory>
#include <random>

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

// One log and one PostgreSQL server for every benchmark in the run.
struct World {
  BenchDir dir;
  std::unique_ptr<events::RocksEventLog> log;
  std::unique_ptr<projections::EmbeddedPostgres> server;
  int next_database = 0;

  World() {
    chmod(dir.path().c_str(), 0711);
    log = events::RocksEventLog::Open(dir.path() + "/log").value();
    WriteLog();
    projections::EmbeddedPostgresOptions options;
    options.data_dir = dir.path() + "/pg";
    options.durable = true;
    server = projections::EmbeddedPostgres::Start(options).value();
  }

  // Appends the posts, then the fundings, sealed exactly as the sequencer
  // does, in large synced batches.
  void WriteLog() {
    events::LogHead head = log->Head();
    std::vector<int64_t> versions(kPosts + 1, 0);
    std::vector<events::EncodedEvent> batch;
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
      batch.push_back(
          {e.position, e.stream, e.stream_version, e.prev_hash, e.hash, std::move(record)});
      head = {e.position, e.hash};
      if (batch.size() == kAppendBatch) {
        if (!log->Append(batch, {}).ok()) std::abort();
        batch.clear();
      }
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
    if (!batch.empty() && !log->Append(batch, {}).ok()) std::abort();
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
  }
}
BENCHMARK(BM_Replay)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace ledger::bench

BENCHMARK_MAIN();
