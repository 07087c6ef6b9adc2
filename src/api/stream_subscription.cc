#include "api/stream_subscription.h"

#include <utility>

#include "api/stream_frames.h"

namespace ledger::api {

using Chunk = http::StreamSource::Chunk;

Chunk MakeStreamChunk(std::string text) {
  return std::make_shared<const std::string>(std::move(text));
}

Subscription::Subscription(std::shared_ptr<StreamShared> shared, int64_t post_id, int64_t after,
                           std::vector<StreamFrame> opening)
    : cursor(after), shared_(std::move(shared)), post_id_(post_id), queue_(std::move(opening)) {
  for (const StreamFrame& f : queue_) queued_bytes_ += f.bytes->size();
  taken_ = after;
  queued_last_ = after;
}

void Subscription::Start(Wake wake) {
  bool call = false;
  {
    const std::lock_guard lock(mu_);
    wake_ = std::move(wake);
    started_ = true;
    call = !queue_.empty() || ended_;
    wake_pending_ = call;
  }
  if (call) wake_();
}

bool Subscription::Take(std::vector<Chunk>& out) {
  uint64_t events = 0;
  bool more = true;
  bool was_full = false;
  {
    const std::lock_guard lock(mu_);
    wake_pending_ = false;
    was_full = queued_bytes_ * 2 >= shared_->options().buffer_bytes;
    for (StreamFrame& f : queue_) {
      out.push_back(std::move(f.bytes));
      if (f.position > 0) {
        taken_ = f.position;
        ++events;
      }
    }
    queue_.clear();
    // An idle stream keeps no buffer.
    if (queue_.capacity() > 64) std::vector<StreamFrame>().swap(queue_);
    queued_bytes_ = 0;
    more = !ended_;
  }
  shared_->events_sent_total.fetch_add(events, std::memory_order_relaxed);
  // A stream catching up waits for room before its next page.
  if (was_full) shared_->Nudge();
  return more;
}

Chunk Subscription::Heartbeat() {
  static const Chunk kHeartbeat = MakeStreamChunk(std::string(kSseHeartbeat));
  return kHeartbeat;
}

Chunk Subscription::Farewell() {
  int64_t resume_after = 0;
  {
    const std::lock_guard lock(mu_);
    resume_after = taken_;
    ended_ = true;
  }
  shared_->cut_shutdown_total.fetch_add(1, std::memory_order_relaxed);
  return MakeStreamChunk(SseCutFrame("shutting_down", resume_after));
}

void Subscription::Close() {
  {
    const std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
    ended_ = true;
    queue_ = {};
    queued_bytes_ = 0;
  }
  shared_->open.fetch_sub(1, std::memory_order_relaxed);
  shared_->Closed();
}

bool Subscription::Push(std::span<const StreamFrame> frames) {
  bool call = false;
  {
    const std::lock_guard lock(mu_);
    if (ended_) return false;
    const size_t limit = shared_->options().buffer_bytes;
    for (const StreamFrame& f : frames) {
      if (queued_bytes_ + f.bytes->size() > limit) {
        shared_->cut_slow_total.fetch_add(1, std::memory_order_relaxed);
        CutLocked("slow_consumer");
        break;
      }
      queue_.push_back(f);
      queued_bytes_ += f.bytes->size();
      if (f.position > 0) queued_last_ = f.position;
    }
    call = started_ && !wake_pending_;
    if (call) wake_pending_ = true;
  }
  if (call) wake_();
  return true;
}

void Subscription::Cut(std::string_view reason) {
  bool call = false;
  {
    const std::lock_guard lock(mu_);
    if (ended_) return;
    CutLocked(reason);
    call = started_ && !wake_pending_;
    if (call) wake_pending_ = true;
  }
  if (call) wake_();
}

void Subscription::CutLocked(std::string_view reason) {
  Chunk cut = MakeStreamChunk(SseCutFrame(reason, queued_last_));
  queued_bytes_ += cut->size();
  queue_.push_back(StreamFrame{std::move(cut), 0});
  ended_ = true;
}

bool Subscription::ended() const {
  const std::lock_guard lock(mu_);
  return ended_;
}

size_t Subscription::queued_bytes() const {
  const std::lock_guard lock(mu_);
  return queued_bytes_;
}

}  // namespace ledger::api
