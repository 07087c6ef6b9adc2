// Builds a big ledger in-process for the at-scale benchmark of issue 15:
// posts, then fundings by many distinct backers, through the real sequencer
// (decide, group commit with fsync, hash chain) into DATA_DIR/log, where
// `funding-ledger serve --data-dir DATA_DIR` finds it. bench/big_ledger.sh
// then times replay, verify, backup and restarts on it.
//
//   build/bench/big_ledger --data-dir DIR [--events 10000000] [--posts 100000]
//                          [--backers 1000000] [--in-flight 1024]
//                          [--state-cache-mib 128]
//
// The fill's sequencer keeps up to --state-cache-mib of post summaries and
// backers in memory, as the service does (its default is also 128). A post
// is never read whole for a funding, so the fill needs no more than that
// however many fundings its posts hold. The service started on the ledger
// afterwards runs with its own setting.
//
// Not a Google Benchmark program (ops/dev bench runs only *_bench): it writes
// a ledger for other tools to measure.
//
// The mix, decided per post id by a hash so that every run builds the same
// ledger shape:
// - the first min(1 000, posts / 10) posts are open keep_it_all campaigns that
//   a fifth of the fundings go to (popular campaigns; bench/http/fund.lua's
//   targets);
// - 10 % of the others close within the simulated month and are settled by
//   the sequencer as its clock passes their deadline: half keep_it_all, half
//   all_or_nothing with targets around their expected total, so that about
//   half of those fail and refund every backer;
// - the rest stay open for a year or more, 30 % of them all_or_nothing; 0.2 %
//   of them are deleted by their owner after 90 % of the events (refunds);
// - 3 % of fundings are cancelled by their backer right after the funding.
//
// Time: the sequencer runs on a manual clock that starts 40 days ago and
// moves forward with the fill (34 days over the whole of it), ending five days
// ago, so the ledger's recorded_at stay in the past of a service started on it
// later and no deadline passes between the fill and that start.
//
// Output: progress on stderr every 5 s; at the end, `key value` lines on
// stdout (events, posts, backers, fund_posts, seconds, events_per_s, counts by
// event type, rejections by reason, peak RSS).
#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "commands/sequencer.h"
#include "commands/sequencer_metrics.h"
#include "common/clock.h"
#include "common/time_zone.h"
#include "events/rocks_log.h"

namespace ledger::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;
using Days = std::chrono::days;

struct Options {
  std::string data_dir;
  int64_t events = 10'000'000;
  int64_t posts = 100'000;
  int64_t backers = 1'000'000;
  size_t in_flight = 1024;
  int64_t state_cache_mib = 128;
};

// How much of the fill happens before the clock stops moving, and where it
// starts: the closing posts' deadlines lie 1..29 days after the start.
constexpr Days kStartAgo{40};
constexpr Days kFillSpan{34};
constexpr Days kEndOffset{35};
constexpr int kClosingDaysMax = 28;
// A funding goes to a post only while its deadline is at least this far
// ahead of the clock, so that fundings racing a deadline stay rare.
constexpr std::chrono::hours kFundMargin{12};
constexpr size_t kPostsPerCreate = 100;  // commands::kMaxPostsPerCreate
constexpr int64_t kOwners = 1'000;
constexpr int kCancelPercent = 3;
constexpr double kDeleteFrom = 0.9;  // share of events after which deletes start

uint64_t Mix(uint64_t x) {  // splitmix64's finalizer
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// What the generator knows of a post, decided by its id.
struct PostPlan {
  Timestamp closes_at;
  bool closing = false;  // its deadline passes during the fill: settled
  bool hot = false;      // popular, always open
  bool deleted_late = false;
  events::FundingModel model = events::FundingModel::kKeepItAll;
};

std::string OwnerOf(int64_t post_id) {
  return "owner-" +
         std::to_string((post_id - 1) / static_cast<int64_t>(kPostsPerCreate) % kOwners + 1);
}

std::string BackerName(int64_t index) { return "backer-" + std::to_string(index + 1); }

class Generator {
 public:
  Generator(const Options& options, const TimeZone& zone, Timestamp start)
      : options_(options),
        zone_(zone),
        start_(start),
        clock_(start),
        hot_posts_(std::min<int64_t>(1'000, std::max<int64_t>(1, options.posts / 10))) {}

  int64_t hot_posts() const { return hot_posts_; }
  ManualClock& clock() { return clock_; }

  Status Run(commands::Sequencer& sequencer, std::ostream& err);
  const std::array<std::atomic<uint64_t>, size_t{commands::kMaxRejectReason} + 1>& rejections()
      const {
    return rejections_;
  }
  int64_t closing_posts() const { return closing_posts_; }

 private:
  struct Slot {
    uint64_t rng = 0;
    // A cancellation to send next: the slot's last funding.
    std::optional<commands::CancelFunding> cancel;
    std::string cancel_actor;
  };

  void PlanPosts();
  commands::PostDraft Draft(int64_t post_id) const;
  Status CreatePosts(commands::Sequencer& sequencer);
  void StartFundings(commands::Sequencer& sequencer);
  void Send(commands::Sequencer& sequencer, size_t slot);
  std::optional<commands::Submission> Next(size_t slot);
  int64_t PickPost(Slot& slot, Timestamp now) const;
  void OnResult(size_t slot, const commands::Submission& sent, const commands::CommandResult& r);
  double Progress() const;
  void Report(std::ostream& err, SteadyClock::time_point started) const;

  const Options options_;
  const TimeZone& zone_;
  const Timestamp start_;
  ManualClock clock_;
  const int64_t hot_posts_;
  std::vector<PostPlan> plans_;  // index = post id - 1
  std::vector<int64_t> late_deletes_;
  int64_t closing_posts_ = 0;
  std::vector<Slot> slots_;

  std::atomic<int64_t> acknowledged_{0};  // highest position acknowledged
  std::atomic<int64_t> fundings_{0};      // fundings sent
  std::atomic<size_t> next_delete_{0};
  std::atomic<bool> deleting_{false};
  std::atomic<bool> failed_{false};
  std::array<std::atomic<uint64_t>, size_t{commands::kMaxRejectReason} + 1> rejections_{};

  std::mutex done_mu_;
  std::condition_variable done_cv_;
  size_t active_ = 0;  // guarded by done_mu_
  Status failure_;     // guarded by done_mu_
};

void Generator::PlanPosts() {
  plans_.resize(static_cast<size_t>(options_.posts));
  const CivilDate first_day = zone_.LocalDate(start_);
  for (int64_t id = 1; id <= options_.posts; ++id) {
    const uint64_t h = Mix(static_cast<uint64_t>(id));
    PostPlan& plan = plans_[static_cast<size_t>(id - 1)];
    plan.hot = id <= hot_posts_;
    plan.closing = !plan.hot && h % 100 < 10;
    int64_t days = 0;
    if (plan.closing) {
      days = 1 + static_cast<int64_t>((h >> 24) % kClosingDaysMax);
      if ((h >> 8) % 2 == 1) plan.model = events::FundingModel::kAllOrNothing;
      ++closing_posts_;
    } else {
      days = 400 + static_cast<int64_t>((h >> 24) % 365);
      if (!plan.hot && (h >> 8) % 10 < 3) plan.model = events::FundingModel::kAllOrNothing;
      plan.deleted_late = !plan.hot && (h >> 16) % 1000 < 2;
      if (plan.deleted_late) late_deletes_.push_back(id);
    }
    plan.closes_at = zone_.ClosesAt(CivilDate(std::chrono::sys_days(first_day) + Days(days)));
  }
}

// Titles draw two of 40 words, as bench/http/run.sh seeds them, so that a
// one-word search matches about 5 % of the posts.
commands::PostDraft Generator::Draft(int64_t post_id) const {
  static constexpr std::array<std::string_view, 40> kWords = {
      "취미",   "모임",   "요리",  "여행",    "음악",   "사진",  "독서",   "운동",
      "그림",   "영화",   "게임",  "정원",    "커피",   "공예",  "캠핑",   "등산",
      "강아지", "고양이", "책방",  "공연",    "hobby",  "music", "travel", "photo",
      "garden", "coffee", "craft", "camping", "cinema", "books", "art",    "food",
      "design", "film",   "dance", "games",   "pets",   "tea",   "yoga",   "bench"};
  const uint64_t h = Mix(static_cast<uint64_t>(post_id));
  const PostPlan& plan = plans_[static_cast<size_t>(post_id - 1)];
  commands::PostDraft d;
  const auto word = static_cast<size_t>(post_id);
  d.title = "캠페인 " + std::to_string(post_id) + " " + std::string(kWords[word % 40]) + " " +
            std::string(kWords[(word / 40) % 40]);
  d.uploader = OwnerOf(post_id);
  d.description = "big ledger bench";
  d.funding_unit = 1'000 * static_cast<int64_t>(1 + (h >> 32) % 10);
  // Targets around what the post is expected to collect (2 units a funding
  // on average; a closing post only until its deadline), from half to one
  // and a half times it.
  const double per_post = static_cast<double>(options_.events) /
                          static_cast<double>(std::max<int64_t>(1, options_.posts)) * 0.8;
  double expected = per_post * 2.0 * static_cast<double>(d.funding_unit);
  if (plan.closing) {
    const auto open_days =
        std::chrono::duration<double, std::ratio<86400>>(plan.closes_at - start_);
    expected *= open_days.count() / static_cast<double>(kFillSpan.count());
  }
  const double factor = 0.5 + static_cast<double>((h >> 40) % 100) / 100.0;
  d.target_amount = std::max<int64_t>(d.funding_unit, static_cast<int64_t>(expected * factor));
  d.end_date = zone_.LocalDate(plan.closes_at - std::chrono::microseconds(1));
  d.funding_model = plan.model;
  return d;
}

Status Generator::CreatePosts(commands::Sequencer& sequencer) {
  for (int64_t first = 1; first <= options_.posts; first += static_cast<int64_t>(kPostsPerCreate)) {
    commands::CreatePosts create;
    create.as_array = true;
    const int64_t last =
        std::min(options_.posts, first + static_cast<int64_t>(kPostsPerCreate) - 1);
    for (int64_t id = first; id <= last; ++id) create.posts.push_back(Draft(id));
    const commands::CommandResult r =
        sequencer.SubmitAndWait({std::move(create), OwnerOf(first), "", ""});
    if (r.status != commands::CommandStatus::kAccepted) {
      return Status::Internal("creating posts " + std::to_string(first) + "..: status " +
                              std::to_string(static_cast<int>(r.status)) + " " +
                              std::string(commands::ReasonName(r.outcome.rejection.reason)));
    }
    if (r.outcome.post_id != first) {
      return Status::Internal("post ids do not start at 1: is DATA_DIR/log fresh?");
    }
    acknowledged_.store(r.outcome.last_position);
  }
  return Status::Ok();
}

double Generator::Progress() const {
  return std::min(1.0, static_cast<double>(acknowledged_.load(std::memory_order_relaxed)) /
                           static_cast<double>(options_.events));
}

int64_t Generator::PickPost(Slot& slot, Timestamp now) const {
  slot.rng = Mix(slot.rng);
  const uint64_t r = slot.rng;
  const bool deleting = deleting_.load(std::memory_order_relaxed);
  if (r % 5 != 0) {
    const auto id = static_cast<int64_t>((r >> 8) % static_cast<uint64_t>(options_.posts)) + 1;
    const PostPlan& plan = plans_[static_cast<size_t>(id - 1)];
    if (plan.closes_at > now + kFundMargin && !(deleting && plan.deleted_late)) return id;
  }
  return static_cast<int64_t>((r >> 40) % static_cast<uint64_t>(hot_posts_)) + 1;
}

std::optional<commands::Submission> Generator::Next(size_t slot_index) {
  Slot& slot = slots_[slot_index];
  if (slot.cancel) {
    commands::Submission s{*slot.cancel, std::move(slot.cancel_actor), "", ""};
    slot.cancel.reset();
    return s;
  }
  if (Progress() >= kDeleteFrom) {
    deleting_.store(true, std::memory_order_relaxed);
    const size_t d = next_delete_.fetch_add(1);
    if (d < late_deletes_.size()) {
      const int64_t id = late_deletes_[d];
      return commands::Submission{commands::DeletePost{id, std::nullopt}, OwnerOf(id), "", ""};
    }
  }
  const int64_t k = fundings_.fetch_add(1, std::memory_order_relaxed);
  const int64_t post = PickPost(slot, clock_.Now());
  const auto units = static_cast<int64_t>(1 + (slot.rng >> 20) % 3);
  return commands::Submission{commands::FundPost{post, units}, BackerName(k % options_.backers), "",
                              ""};
}

void Generator::OnResult(size_t slot_index, const commands::Submission& sent,
                         const commands::CommandResult& r) {
  if (r.status == commands::CommandStatus::kRejected) {
    rejections_[static_cast<size_t>(r.outcome.rejection.reason)].fetch_add(1);
    return;
  }
  if (r.status != commands::CommandStatus::kAccepted) {
    std::lock_guard lock(done_mu_);
    failure_ =
        Status::Internal("a command ended with status " +
                         std::to_string(static_cast<int>(r.status)) + ": " + r.error.ToString());
    failed_.store(true);
    return;
  }
  int64_t seen = acknowledged_.load(std::memory_order_relaxed);
  while (seen < r.outcome.last_position &&
         !acknowledged_.compare_exchange_weak(seen, r.outcome.last_position)) {
  }
  // The clock follows the fill (only this thread, the completion thread,
  // moves it once the fundings run).
  const auto target =
      start_ + std::chrono::duration_cast<std::chrono::microseconds>(kFillSpan * Progress());
  if (target > clock_.Now()) clock_.Set(target);
  const auto* fund = std::get_if<commands::FundPost>(&sent.command);
  Slot& slot = slots_[slot_index];
  if (fund != nullptr && (slot.rng >> 50) % 100 < kCancelPercent) {
    slot.cancel = commands::CancelFunding{fund->post_id, r.outcome.first_position};
    slot.cancel_actor = sent.actor;
  }
}

// Each slot keeps one command in flight; its completion sends the slot's
// next command, so `in_flight` commands are always queued or being decided,
// the way the HTTP front submits. A slot stops once the events acknowledged
// and in flight reach the target.
void Generator::Send(commands::Sequencer& sequencer, size_t slot) {
  const bool enough =
      acknowledged_.load() + static_cast<int64_t>(options_.in_flight) >= options_.events;
  std::optional<commands::Submission> next;
  if (!enough && !failed_.load()) next = Next(slot);
  if (!next) {
    std::lock_guard lock(done_mu_);
    if (--active_ == 0) done_cv_.notify_all();
    return;
  }
  auto sent = std::make_shared<commands::Submission>(*next);
  sequencer.Submit(std::move(*next), [this, &sequencer, slot, sent](commands::CommandResult r) {
    OnResult(slot, *sent, r);
    Send(sequencer, slot);
  });
}

void Generator::StartFundings(commands::Sequencer& sequencer) {
  slots_.resize(options_.in_flight);
  for (size_t i = 0; i < slots_.size(); ++i) slots_[i].rng = Mix(0x15'0000 + i);
  {
    std::lock_guard lock(done_mu_);
    active_ = slots_.size();
  }
  for (size_t i = 0; i < slots_.size(); ++i) Send(sequencer, i);
}

void Generator::Report(std::ostream& err, SteadyClock::time_point started) const {
  const double seconds = std::chrono::duration<double>(SteadyClock::now() - started).count();
  const int64_t at = acknowledged_.load();
  err << "big_ledger: " << at << " / " << options_.events << " events, "
      << static_cast<int64_t>(static_cast<double>(at) / std::max(seconds, 1e-3))
      << " events/s, clock " << FormatTimestamp(clock_.Now()) << "\n";
}

Status Generator::Run(commands::Sequencer& sequencer, std::ostream& err) {
  PlanPosts();
  const auto started = SteadyClock::now();
  LEDGER_RETURN_IF_ERROR(CreatePosts(sequencer));
  err << "big_ledger: " << options_.posts << " posts created\n";
  StartFundings(sequencer);
  std::unique_lock lock(done_mu_);
  while (!done_cv_.wait_for(lock, std::chrono::seconds(5), [this] { return active_ == 0; })) {
    Report(err, started);
  }
  if (failed_.load()) return failure_;
  lock.unlock();
  // The rest of the month: every closing post's deadline has passed, and the
  // sequencer settles them on its own.
  clock_.Set(start_ + kEndOffset);
  const auto settle_deadline = SteadyClock::now() + std::chrono::minutes(5);
  while (true) {
    const commands::SequencerMetrics m = sequencer.metrics();
    const uint64_t settled = m.settlements[0] + m.settlements[1];
    if (settled >= static_cast<uint64_t>(closing_posts_)) break;
    if (SteadyClock::now() > settle_deadline) {
      return Status::Internal("only " + std::to_string(settled) + " of " +
                              std::to_string(closing_posts_) + " closing posts were settled");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Report(err, started);
  return Status::Ok();
}

uint64_t PeakRssKiB() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

std::optional<int64_t> ParseCount(std::string_view text) {
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value <= 0) return std::nullopt;
  return value;
}

constexpr std::string_view kUsage =
    "usage: big_ledger --data-dir DIR [--events N] [--posts N] [--backers N] [--in-flight N]\n"
    "                  [--state-cache-mib N]\n"
    "Builds DIR/log (which must not exist) through the sequencer: N posts, then fundings by\n"
    "distinct backers until the log holds about --events events (defaults 10000000 events,\n"
    "100000 posts, 1000000 backers, 1024 commands in flight, a 128 MiB state cache).\n";

std::optional<Options> ParseOptions(int argc, char** argv, std::ostream& err) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--help") return std::nullopt;
    if (i + 1 >= argc) {
      err << "big_ledger: " << flag << " needs a value\n";
      return std::nullopt;
    }
    const std::string_view value = argv[++i];
    if (flag == "--data-dir") {
      o.data_dir = value;
      continue;
    }
    const std::optional<int64_t> n = ParseCount(value);
    if (!n) {
      err << "big_ledger: " << flag << " takes a positive integer, not '" << value << "'\n";
      return std::nullopt;
    }
    if (flag == "--events") {
      o.events = *n;
    } else if (flag == "--posts") {
      o.posts = *n;
    } else if (flag == "--backers") {
      o.backers = *n;
    } else if (flag == "--in-flight") {
      o.in_flight = static_cast<size_t>(*n);
    } else if (flag == "--state-cache-mib") {
      o.state_cache_mib = *n;
    } else {
      err << "big_ledger: unknown flag " << flag << "\n";
      return std::nullopt;
    }
  }
  if (o.data_dir.empty()) {
    err << "big_ledger: --data-dir is required\n";
    return std::nullopt;
  }
  // Every slot's command must fit the queue, or a submission would be
  // refused as overloaded.
  if (o.in_flight > commands::SequencerOptions{}.queue_capacity ||
      o.events < o.posts + static_cast<int64_t>(o.in_flight)) {
    err << "big_ledger: need --in-flight <= 16384 and --events >= --posts + --in-flight\n";
    return std::nullopt;
  }
  return o;
}

void PrintSummary(const Options& o, const Generator& g, const commands::SequencerMetrics& m,
                  int64_t head, double seconds) {
  std::cout << "events " << head << "\nposts " << o.posts << "\nbackers " << o.backers
            << "\nfund_posts " << g.hot_posts() << "\nclosing_posts " << g.closing_posts()
            << "\nseconds " << seconds << "\nevents_per_s "
            << static_cast<int64_t>(static_cast<double>(head) / seconds) << "\n";
  for (size_t t = 0; t < events::kEventTypeCount; ++t) {
    std::cout << "type_" << events::TypeName(static_cast<events::EventType>(t)) << " "
              << m.events_appended[t] << "\n";
  }
  std::cout << "settled_successful " << m.settlements[0] << "\nsettled_failed " << m.settlements[1]
            << "\n";
  for (size_t r = 1; r <= commands::kMaxRejectReason; ++r) {
    const uint64_t n = g.rejections()[r].load();
    if (n == 0) continue;
    std::cout << "rejected_" << commands::ReasonName(static_cast<commands::RejectReason>(r)) << " "
              << n << "\n";
  }
  std::cout << "peak_rss_kib " << PeakRssKiB() << "\n";
}

int Main(int argc, char** argv) {
  const std::optional<Options> options = ParseOptions(argc, argv, std::cerr);
  if (!options) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string log_dir = options->data_dir + "/log";
  if (std::filesystem::exists(log_dir)) {
    std::cerr << "big_ledger: " << log_dir << " exists; give a fresh data directory\n";
    return 2;
  }
  std::filesystem::create_directories(options->data_dir);
  auto zone = TimeZone::Load("Asia/Seoul");
  auto log = events::RocksEventLog::Open(log_dir);
  if (!zone.ok() || !log.ok()) {
    std::cerr << "big_ledger: cannot open " << log_dir << ": " << log.status().ToString() << "\n";
    return 2;
  }
  const CivilDate first_day = zone->LocalDate(SystemClock().Now() - kStartAgo);
  Generator generator(*options, *zone, zone->StartOfDay(first_day) + std::chrono::hours(1));
  commands::SequencerOptions sequencer_options;
  sequencer_options.state_cache_bytes = static_cast<size_t>(options->state_cache_mib) << 20;
  auto sequencer =
      commands::Sequencer::Start(log->get(), &generator.clock(), &*zone, sequencer_options);
  if (!sequencer.ok()) {
    std::cerr << "big_ledger: " << sequencer.status().ToString() << "\n";
    return 2;
  }
  const auto started = SteadyClock::now();
  const Status run = generator.Run(**sequencer, std::cerr);
  const commands::SequencerMetrics metrics = (*sequencer)->metrics();
  (*sequencer)->Stop();
  const double seconds = std::chrono::duration<double>(SteadyClock::now() - started).count();
  if (!run.ok()) {
    std::cerr << "big_ledger: " << run.ToString() << "\n";
    return 1;
  }
  PrintSummary(*options, generator, metrics, (*log)->Head().position, seconds);
  return 0;
}

}  // namespace
}  // namespace ledger::bench

int main(int argc, char** argv) { return ledger::bench::Main(argc, argv); }
