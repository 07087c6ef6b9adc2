// The settlement of one post with many backers (issue 14): the sequencer's
// SettlePost from submission to acknowledgement — decide, seal and encode
// its events, one durable write (WriteBatch, sync = true) — timed alone,
// after a fresh log was given a post and one funding by each backer.
//
//   build/bench/settlement_bench --benchmark_counters_tabular=true
//
// keep_it_all reaches its target: one PostSettled. all_or_nothing misses it:
// one FundingRefunded per backer and the PostSettled, in the same append.
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <benchmark/benchmark.h>

#include "bench_dir.h"
#include "commands/sequencer.h"
#include "events/rocks_log.h"

namespace ledger::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr int64_t kFundingUnit = 1'000;

// 2026-11-21T03:00:00Z; the post's end date is a month later.
Timestamp Start() {
  return Timestamp(std::chrono::sys_days(std::chrono::year_month_day(
             std::chrono::year(2026), std::chrono::month(11), std::chrono::day(21)))) +
         std::chrono::hours(3);
}

// A fresh log whose post 1 has `backers` backers of one unit each, and a
// sequencer that settles only when told (the benchmark submits SettlePost).
struct FundedPost {
  BenchDir dir;
  std::unique_ptr<events::RocksEventLog> log;
  ManualClock clock{Start()};
  TimeZone zone = TimeZone::Load("Asia/Seoul").value();
  std::unique_ptr<commands::Sequencer> sequencer;

  bool Build(events::FundingModel model, int64_t target_amount, int64_t backers) {
    log = events::RocksEventLog::Open(dir.path() + "/log").value();
    commands::SequencerOptions options;
    options.settle_posts = false;
    sequencer = commands::Sequencer::Start(log.get(), &clock, &zone, options).value();
    commands::PostDraft d;
    d.title = "bench post";
    d.uploader = "owner";
    d.target_amount = target_amount;
    d.funding_unit = kFundingUnit;
    d.end_date =
        CivilDate(std::chrono::sys_days(zone.LocalDate(clock.Now())) + std::chrono::days(30));
    d.funding_model = model;
    const auto created =
        sequencer->SubmitAndWait({commands::CreatePosts{{d}, false}, "owner", "", ""});
    if (created.status != commands::CommandStatus::kAccepted) return false;
    return FundAll(backers);
  }

  // Every backer's funding in flight at once: the group commit writes them
  // in a few hundred appends.
  bool FundAll(int64_t backers) {
    std::mutex mu;
    std::condition_variable cv;
    int64_t answered = 0;
    bool all_accepted = true;
    for (int64_t b = 0; b < backers; ++b) {
      sequencer->Submit({commands::FundPost{1, 1}, "backer-" + std::to_string(b), "", ""},
                        [&](commands::CommandResult r) {
                          std::lock_guard lock(mu);
                          all_accepted &= r.status == commands::CommandStatus::kAccepted;
                          ++answered;
                          cv.notify_one();
                        });
    }
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return answered == backers; });
    return all_accepted;
  }

  ~FundedPost() {
    sequencer.reset();
    log.reset();
  }
};

// One iteration: a fresh funded post (untimed), then its settlement (timed).
void Settle(benchmark::State& state, events::FundingModel model, int64_t target_amount) {
  const int64_t backers = state.range(0);
  double write_seconds = 0;
  double events_per_append = 0;
  for (auto _ : state) {
    auto post = std::make_unique<FundedPost>();
    if (!post->Build(model, target_amount, backers)) {
      state.SkipWithError("setup failed");
      return;
    }
    post->clock.Set(post->sequencer->FindPost(1)->closes_at + std::chrono::seconds(1));
    const commands::SequencerMetrics before = post->sequencer->metrics();

    const auto started = SteadyClock::now();
    const commands::CommandResult settled = post->sequencer->SubmitAndWait(
        {commands::SettlePost{1}, std::string(commands::kSystemActor), "", ""});
    const std::chrono::duration<double> elapsed = SteadyClock::now() - started;

    if (settled.status != commands::CommandStatus::kAccepted) {
      state.SkipWithError("the settlement was not accepted");
      return;
    }
    state.SetIterationTime(elapsed.count());
    const commands::SequencerMetrics after = post->sequencer->metrics();
    write_seconds += after.write_seconds.sum - before.write_seconds.sum;
    events_per_append +=
        static_cast<double>(settled.outcome.last_position - settled.outcome.first_position + 1);
  }
  const auto n = static_cast<double>(state.iterations());
  state.counters["events_per_append"] = events_per_append / n;
  state.counters["write_ms"] = write_seconds / n * 1e3;
}

// Target 1 000 000 against 10 000 000 funded: successful.
void BM_SettleKeepItAllSuccess(benchmark::State& state) {
  Settle(state, events::FundingModel::kKeepItAll, 1'000'000);
}
// Target above what every backer gave: failed, every backer refunded.
void BM_SettleAllOrNothingFailure(benchmark::State& state) {
  Settle(state, events::FundingModel::kAllOrNothing, 1'000'000'000);
}

BENCHMARK(BM_SettleKeepItAllSuccess)
    ->ArgName("backers")
    ->Arg(10'000)
    ->Iterations(5)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SettleAllOrNothingFailure)
    ->ArgName("backers")
    ->Arg(10'000)
    ->Iterations(5)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ledger::bench

BENCHMARK_MAIN();
