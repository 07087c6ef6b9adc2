#include "api/stream_hub.h"

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "api/json_out.h"
#include "api/stream_frames.h"
#include "api/stream_subscription.h"
#include "common/check.h"
#include "common/log.h"
#include "events/codec.h"
#include "events/hash.h"
#include "events/record.h"

namespace ledger::api {
namespace {

// A page of the live fan-out: the feeder reads at most this much of the log
// at once (and at most a quarter of a stream's buffer, so that one page
// never overflows a client that keeps up), then looks after catching-up
// streams and figures before the next.
constexpr size_t kLivePageEvents = 1'024;
// A catching-up stream gets at most this many events per turn, and only
// while its queue is under half full.
constexpr size_t kCatchUpPageEvents = 256;
// Positions of one post looked at per read while finding where its catch-up
// starts.
constexpr size_t kVersionScanPositions = 4'096;
// A watched post's figures are sent at most this often: each sending is one
// query and one frame per watched post that changed, and a person watching
// totals move gains nothing from more than a few updates a second, while a
// busy post can change with every projected batch (measured: the figures of
// 1 000 watched posts after every batch cost the fund rate 11 %).
constexpr std::chrono::milliseconds kFiguresEvery{250};
// A failing log or database is logged at most this often.
constexpr std::chrono::seconds kWarnEvery{5};

using Frame = StreamFrame;

// A ledger event's frame and the post it belongs to.
struct LedgerFrame {
  int64_t stream = 0;
  Frame frame;
};

struct LivePage {
  std::vector<LedgerFrame> frames;  // of the events someone wants
  int64_t last = 0;                 // the last position read; 0: none
};

// The frames of the events from `from` to `to`, at most kLivePageEvents of
// them and about `max_bytes` of records, for the streams `wanted` says
// someone watches. Each record's hash is checked, as every reader of the log
// does; its envelope is made from its stored canonical bytes without decoding
// them (events::EnvelopeFromRecord), the hot path of the fan-out, and by
// decoding only when those bytes do not have the canonical layout.
Status ReadLivePage(const events::EventLog& log, int64_t from, int64_t to, size_t max_bytes,
                    const std::function<bool(int64_t)>& wanted, LivePage* page) {
  Status failed;
  size_t taken = 0;
  size_t bytes = 0;
  LEDGER_RETURN_IF_ERROR(log.ScanRecords(from, to, [&](int64_t position, std::string_view record) {
    const auto fail = [&](const Status& status) {
      failed = status.WithContext("event at position " + std::to_string(position));
      return false;
    };
    const auto view = events::ParseRecord(record);
    if (!view.ok()) return fail(view.status());
    if (events::ChainHash(view->prev_hash, view->canonical) != view->hash) {
      return fail(Status::Corruption("the stored hash is not the hash of the stored bytes"));
    }
    std::optional<events::RecordEnvelope> envelope =
        events::EnvelopeFromRecord(view->prev_hash, view->hash, view->canonical);
    if (!envelope) {
      auto event = events::DecodeRecord(record);
      if (!event.ok()) return fail(event.status());
      envelope = events::RecordEnvelope{event->position, event->stream,
                                        events::EncodeEnvelopeJson(*event)};
    }
    if (envelope->position != position) {
      return fail(Status::Corruption("it names position " + std::to_string(envelope->position)));
    }
    if (wanted(envelope->stream)) {
      page->frames.push_back(
          LedgerFrame{envelope->stream,
                      Frame{MakeStreamChunk(SseLedgerFrame(position, envelope->json)), position}});
    }
    page->last = position;
    bytes += record.size();
    return ++taken < kLivePageEvents && bytes < max_bytes;
  }));
  return failed;
}

}  // namespace

class StreamHub::Core final : public StreamShared {
 public:
  Core(const events::EventLog* log, const projections::QueryService* queries, const Clock* clock,
       StreamOptions options)
      : StreamShared(options), log_(log), queries_(queries), clock_(clock) {}

  void Signal(bool log_moved, int64_t projected) {
    {
      const std::lock_guard lock(mu_);
      log_moved_ = log_moved_ || log_moved;
      projected_ = std::max(projected_, projected);
      nudged_ = true;
    }
    cv_.notify_one();
  }
  void Nudge() override { Signal(false, 0); }

  void Add(std::shared_ptr<Subscription> subscription) {
    {
      const std::lock_guard lock(mu_);
      incoming_.push_back(std::move(subscription));
      nudged_ = true;
    }
    cv_.notify_one();
  }
  void Closed() override {
    closed_.fetch_add(1, std::memory_order_relaxed);
    Nudge();
  }
  void RequestStop() {
    {
      const std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
  }

  void Run();

 private:
  // One round of the feeder; returns whether work is left over (a page
  // limit was hit), so that it goes round again without waiting.
  bool Round(int64_t projected);
  void TakeIncoming();
  void Prune();
  bool FanOut();
  void Deliver(const std::vector<LedgerFrame>& page);
  bool CatchUp();
  // One page for `s`; true when it has reached the live position.
  bool CatchUpPage(Subscription& s);
  Status ReadPostPage(Subscription& s, std::vector<events::Event>* page);
  void SendFigures(int64_t projected);
  void GoLive(const std::shared_ptr<Subscription>& s);
  void Warn(std::string_view what, const Status& status);
  void EndAll();

  const events::EventLog* const log_;
  const projections::QueryService* const queries_;
  const Clock* const clock_;
  std::atomic<uint64_t> closed_{0};

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;                                    // guarded by mu_
  bool log_moved_ = false;                               // guarded by mu_
  bool nudged_ = false;                                  // guarded by mu_
  int64_t projected_ = 0;                                // guarded by mu_
  std::vector<std::shared_ptr<Subscription>> incoming_;  // guarded by mu_

  // The feeder's own.
  int64_t live_ = 0;  // every event up to here was fanned out
  uint64_t pruned_at_ = 0;
  std::vector<std::shared_ptr<Subscription>> whole_;  // live streams of every post
  std::unordered_map<int64_t, std::vector<std::shared_ptr<Subscription>>> by_post_;
  std::vector<std::shared_ptr<Subscription>> catching_up_;
  // Watched posts with events fanned out since their last figures: the
  // newest such position.
  std::unordered_map<int64_t, int64_t> dirty_;
  int64_t figures_at_ = 0;
  std::chrono::steady_clock::time_point figures_sent_at_{};
  std::chrono::steady_clock::time_point warned_at_{};
};

// ---- the feeder ----

void StreamHub::Core::Run() {
  live_ = log_->Head().position;
  bool more = false;
  while (true) {
    int64_t projected = 0;
    {
      std::unique_lock lock(mu_);
      if (!more) {
        cv_.wait_for(lock, options().poll, [this] { return stop_ || nudged_ || log_moved_; });
      }
      if (stop_) break;
      nudged_ = false;
      log_moved_ = false;
      projected = projected_;
    }
    more = Round(projected);
  }
  EndAll();
}

bool StreamHub::Core::Round(int64_t projected) {
  TakeIncoming();
  if (closed_.load(std::memory_order_relaxed) != pruned_at_) Prune();
  const bool more_live = FanOut();
  SendFigures(projected);
  const bool more_catch_up = CatchUp();
  return more_live || more_catch_up;
}

void StreamHub::Core::TakeIncoming() {
  std::vector<std::shared_ptr<Subscription>> incoming;
  {
    const std::lock_guard lock(mu_);
    incoming.swap(incoming_);
  }
  for (std::shared_ptr<Subscription>& s : incoming) {
    if (s->cursor >= live_) {
      GoLive(s);
    } else {
      catching_up_.push_back(std::move(s));
    }
  }
}

void StreamHub::Core::GoLive(const std::shared_ptr<Subscription>& s) {
  if (s->post_id() == 0) {
    whole_.push_back(s);
  } else {
    by_post_[s->post_id()].push_back(s);
  }
}

void StreamHub::Core::Prune() {
  pruned_at_ = closed_.load(std::memory_order_relaxed);
  const auto gone = [](const std::shared_ptr<Subscription>& s) { return s->ended(); };
  std::erase_if(whole_, gone);
  std::erase_if(catching_up_, gone);
  for (auto it = by_post_.begin(); it != by_post_.end();) {
    std::erase_if(it->second, gone);
    if (it->second.empty()) {
      dirty_.erase(it->first);
      it = by_post_.erase(it);
    } else {
      ++it;
    }
  }
}

bool StreamHub::Core::FanOut() {
  const int64_t head = log_->Head().position;
  if (head <= live_) return false;
  if (whole_.empty() && by_post_.empty()) {
    live_ = head;  // nobody is listening live: nothing to read
    return false;
  }
  LivePage page;
  const auto wanted = [this](int64_t stream) {
    return !whole_.empty() || by_post_.contains(stream);
  };
  if (const Status s =
          ReadLivePage(*log_, live_ + 1, head, options().buffer_bytes / 4, wanted, &page);
      !s.ok()) {
    Warn("reading new events for the streams", s);
    return false;  // tried again at the next wake or poll
  }
  if (page.last == 0) return false;
  Deliver(page.frames);
  live_ = page.last;
  return live_ < head;
}

void StreamHub::Core::Deliver(const std::vector<LedgerFrame>& page) {
  std::vector<Frame> all;
  if (!whole_.empty()) all.reserve(page.size());
  std::unordered_map<int64_t, std::vector<Frame>> per_post;
  for (const LedgerFrame& f : page) {
    if (by_post_.contains(f.stream)) {
      per_post[f.stream].push_back(f.frame);
      dirty_[f.stream] = f.frame.position;
    }
    if (!whole_.empty()) all.push_back(f.frame);
  }
  // A stream opened at a position inside this page gets only what follows it.
  const auto push = [](Subscription& s, const std::vector<Frame>& frames) {
    const auto first = std::find_if(frames.begin(), frames.end(),
                                    [&s](const Frame& f) { return f.position > s.cursor; });
    if (first == frames.end()) return;
    s.Push(std::span<const Frame>(&*first, static_cast<size_t>(frames.end() - first)));
    s.cursor = frames.back().position;
  };
  for (const std::shared_ptr<Subscription>& s : whole_) push(*s, all);
  for (const auto& [post, frames] : per_post) {
    for (const std::shared_ptr<Subscription>& s : by_post_[post]) push(*s, frames);
  }
}

bool StreamHub::Core::CatchUp() {
  bool more = false;
  for (auto it = catching_up_.begin(); it != catching_up_.end();) {
    Subscription& s = **it;
    if (s.ended()) {
      it = catching_up_.erase(it);
      continue;
    }
    if (CatchUpPage(s)) {
      GoLive(*it);
      it = catching_up_.erase(it);
      continue;
    }
    if (s.queued_bytes() * 2 < options().buffer_bytes && !s.ended()) more = true;
    ++it;
  }
  return more;
}

bool StreamHub::Core::CatchUpPage(Subscription& s) {
  if (s.cursor >= live_) return true;
  // Wait for the client to take what it has (Take nudges the feeder).
  if (s.queued_bytes() * 2 >= options().buffer_bytes) return false;
  std::vector<events::Event> page;
  Status status;
  if (s.post_id() == 0) {
    status = events::ReadEvents(*log_, s.cursor + 1, live_, kCatchUpPageEvents,
                                options().buffer_bytes / 4, &page);
  } else {
    status = ReadPostPage(s, &page);
  }
  if (!status.ok()) {
    Warn("reading past events for a stream", status);
    cut_failed_total.fetch_add(1, std::memory_order_relaxed);
    s.Cut("unavailable");
    return false;
  }
  std::vector<Frame> frames;
  frames.reserve(page.size());
  for (const events::Event& e : page) {
    if (e.position <= s.cursor) continue;
    if (e.position > live_) break;  // the fan-out brings it
    frames.push_back(Frame{MakeStreamChunk(SseLedgerFrame(e)), e.position});
  }
  if (!frames.empty()) {
    s.Push(frames);
    s.cursor = frames.back().position;
  }
  if (s.post_id() != 0) {
    // A post's events past live_, or none left: nothing more is in the past.
    const bool exhausted =
        page.size() < kCatchUpPageEvents || (!page.empty() && page.back().position >= live_);
    if (exhausted) {
      s.cursor = std::max(s.cursor, live_);
      return true;
    }
    return false;
  }
  return s.cursor >= live_;
}

Status StreamHub::Core::ReadPostPage(Subscription& s, std::vector<events::Event>* page) {
  if (s.next_version == 0) {
    // The first version after the cursor: positions grow with versions.
    int64_t version = 1;
    while (true) {
      std::vector<int64_t> positions;
      LEDGER_RETURN_IF_ERROR(
          log_->StreamPositions(s.post_id(), version, kVersionScanPositions, &positions));
      const auto after = std::upper_bound(positions.begin(), positions.end(), s.cursor);
      if (after != positions.end()) {
        version += after - positions.begin();
        break;
      }
      version += static_cast<int64_t>(positions.size());
      if (positions.size() < kVersionScanPositions) break;  // none after the cursor yet
    }
    s.next_version = version;
  }
  LEDGER_RETURN_IF_ERROR(
      events::ReadStream(*log_, s.post_id(), s.next_version, kCatchUpPageEvents, page));
  s.next_version += static_cast<int64_t>(page->size());
  return Status::Ok();
}

void StreamHub::Core::SendFigures(int64_t projected) {
  if (queries_ == nullptr || projected <= figures_at_ || dirty_.empty()) return;
  // What changes meanwhile stays dirty; a later round (at the latest the
  // next poll) sends it.
  const auto now = std::chrono::steady_clock::now();
  if (now - figures_sent_at_ < kFiguresEvery) return;
  figures_sent_at_ = now;
  std::vector<int64_t> ids;
  for (auto it = dirty_.begin(); it != dirty_.end();) {
    if (it->second <= projected) {
      ids.push_back(it->first);
      it = dirty_.erase(it);
    } else {
      ++it;
    }
  }
  figures_at_ = projected;
  if (ids.empty()) return;
  std::sort(ids.begin(), ids.end());
  const auto details = queries_->Details(ids, clock_->Now());
  if (!details.ok()) {
    // The next change of these posts sends their figures again.
    Warn("reading the figures of watched posts", details.status());
    return;
  }
  auto found = details->begin();
  for (const int64_t id : ids) {
    std::string json;
    if (found != details->end() && found->summary.id == id) {
      json = PostJson(*found, projected);
      ++found;
    } else {
      json = DeletedFiguresJson(id, projected);
    }
    const Frame frame{MakeStreamChunk(SseFiguresFrame(json)), 0};
    const auto watchers = by_post_.find(id);
    if (watchers == by_post_.end()) continue;
    for (const std::shared_ptr<Subscription>& s : watchers->second) {
      s->Push(std::span<const Frame>(&frame, 1));
    }
  }
}

void StreamHub::Core::Warn(std::string_view what, const Status& status) {
  const auto now = std::chrono::steady_clock::now();
  if (now - warned_at_ < kWarnEvery) return;
  warned_at_ = now;
  LEDGER_LOG(LogLevel::kWarn, "streams", "failed")
      .Str("what", what)
      .Str("error", status.ToString());
}

void StreamHub::Core::EndAll() {
  TakeIncoming();
  const auto end = [](const std::shared_ptr<Subscription>& s) { s->Cut("shutting_down"); };
  std::for_each(whole_.begin(), whole_.end(), end);
  std::for_each(catching_up_.begin(), catching_up_.end(), end);
  for (const auto& [post, streams] : by_post_) std::for_each(streams.begin(), streams.end(), end);
  whole_.clear();
  catching_up_.clear();
  by_post_.clear();
}

// ---- StreamHub ----

StreamHub::StreamHub(const events::EventLog* log, const projections::QueryService* queries,
                     const Clock* clock, StreamOptions options)
    : core_(std::make_shared<Core>(log, queries, clock, options)) {}

StreamHub::~StreamHub() { Stop(); }

void StreamHub::Start() {
  LEDGER_CHECK(!started_, "StreamHub::Start is called once");
  started_ = true;
  feeder_ = std::thread([core = core_] { core->Run(); });
}

void StreamHub::Stop() {
  if (!feeder_.joinable()) return;
  core_->RequestStop();
  feeder_.join();
}

void StreamHub::LogAdvanced() { core_->Signal(true, 0); }

void StreamHub::Projected(int64_t position) { core_->Signal(false, position); }

std::shared_ptr<http::StreamSource> StreamHub::Open(int64_t post_id, int64_t after,
                                                    std::optional<std::string> figures_json) {
  Core& core = *core_;
  uint64_t open = core.open.load(std::memory_order_relaxed);
  do {
    if (open >= core.options().max_streams) {
      core.refused_total.fetch_add(1, std::memory_order_relaxed);
      return nullptr;
    }
  } while (!core.open.compare_exchange_weak(open, open + 1, std::memory_order_relaxed));
  core.opened_total.fetch_add(1, std::memory_order_relaxed);
  std::vector<Frame> opening;
  opening.push_back(Frame{MakeStreamChunk(SseRetryFrame(core.options().retry)), 0});
  if (figures_json) opening.push_back(Frame{MakeStreamChunk(SseFiguresFrame(*figures_json)), 0});
  auto subscription = std::make_shared<Subscription>(core_, post_id, after, std::move(opening));
  core.Add(subscription);
  return subscription;
}

const StreamOptions& StreamHub::options() const { return core_->options(); }

StreamStats StreamHub::stats() const {
  const Core& c = *core_;
  return StreamStats{
      .open = c.open.load(std::memory_order_relaxed),
      .opened_total = c.opened_total.load(std::memory_order_relaxed),
      .refused_total = c.refused_total.load(std::memory_order_relaxed),
      .events_sent_total = c.events_sent_total.load(std::memory_order_relaxed),
      .cut_slow_total = c.cut_slow_total.load(std::memory_order_relaxed),
      .cut_shutdown_total = c.cut_shutdown_total.load(std::memory_order_relaxed),
      .cut_failed_total = c.cut_failed_total.load(std::memory_order_relaxed),
  };
}

}  // namespace ledger::api
