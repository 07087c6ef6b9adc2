#include "commands/sequencer.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <pthread.h>

#include "commands/fingerprint.h"
#include "commands/limits.h"
#include "common/check.h"
#include "common/log.h"
#include "common/utf8.h"

namespace ledger::commands {
namespace {

// An answer given without deciding: the submission never reached a batch.
CommandResult Refused(CommandStatus status, Status why) {
  CommandResult r;
  r.status = status;
  r.error = std::move(why);
  return r;
}

// The identity strings of a submission end up in every event's canonical
// bytes, so they must be valid UTF-8 and bounded. kInvalidArgument names the
// first one that is not.
Status CheckIdentity(const Submission& s) {
  const auto check = [](std::string_view value, size_t max, std::string_view name,
                        bool required) -> Status {
    if (required && value.empty()) {
      return Status::InvalidArgument(std::string(name) + " is required");
    }
    if (value.size() > max) {
      return Status::InvalidArgument(std::string(name) + " is longer than " + std::to_string(max) +
                                     " bytes");
    }
    if (!CountCodePoints(value) || HasControlCharacter(value)) {
      return Status::InvalidArgument(std::string(name) +
                                     " must be UTF-8 text without control characters");
    }
    return Status::Ok();
  };
  LEDGER_RETURN_IF_ERROR(check(s.actor, kActorMaxBytes, "actor", true));
  // Settling is the service's alone, and its actor name is no one else's.
  const bool settle = std::holds_alternative<SettlePost>(s.command);
  if (settle && s.actor != kSystemActor) {
    return Status::InvalidArgument("only the service settles posts");
  }
  if (!settle && s.actor == kSystemActor) {
    return Status::InvalidArgument("the actor '" + std::string(kSystemActor) +
                                   "' is reserved for the service");
  }
  LEDGER_RETURN_IF_ERROR(check(s.correlation_id, kCorrelationIdMaxBytes, "correlation id", false));
  return check(s.idempotency_key, kIdempotencyKeyMaxBytes, "idempotency key", false);
}

size_t SlotOf(const CommandResult& result) {
  switch (result.status) {
    case CommandStatus::kAccepted:
      return kSlotAccepted;
    case CommandStatus::kRejected:
      return static_cast<size_t>(result.outcome.rejection.reason);
    case CommandStatus::kIdempotencyMismatch:
      return kSlotKeyReused;
    case CommandStatus::kIdempotencyInFlight:
      return kSlotKeyInFlight;
    case CommandStatus::kOverloaded:
      return kSlotOverloaded;
    case CommandStatus::kUnavailable:
      return kSlotUnavailable;
    case CommandStatus::kInvalid:
      return kSlotInvalid;
  }
  return kSlotInvalid;
}

}  // namespace

Sequencer::Sequencer(events::EventLog* log, const Clock* clock, const TimeZone* time_zone,
                     const SequencerOptions& options)
    : log_(log),
      clock_(clock),
      time_zone_(time_zone),
      options_(options),
      cache_(log, options.state_cache_bytes) {
  LEDGER_CHECK(options_.queue_capacity > 0 && options_.max_batch_commands > 0,
               "sequencer limits must be positive");
}

Result<std::unique_ptr<Sequencer>> Sequencer::Start(events::EventLog* log, const Clock* clock,
                                                    const TimeZone* time_zone,
                                                    const SequencerOptions& options) {
  std::unique_ptr<Sequencer> s(new Sequencer(log, clock, time_zone, options));
  LEDGER_RETURN_IF_ERROR(s->LoadState().WithContext("taking up the sequencer's state"));
  LEDGER_RETURN_IF_ERROR(s->SettleOverdue());
  if (options.count_metrics) s->PublishCacheCounts();
  s->completion_thread_ = std::thread([raw = s.get()] { raw->RunCompletions(); });
  s->thread_ = std::thread([raw = s.get()] { raw->Run(); });
  return s;
}

Sequencer::~Sequencer() { Stop(); }

void Sequencer::Submit(Submission submission, Completion done) {
  const CommandKind kind = KindOf(submission.command);
  const auto count = [this, kind](size_t slot) {
    if (options_.count_metrics) counters_.CountCommand(kind, slot);
  };
  if (Status identity = CheckIdentity(submission); !identity.ok()) {
    count(kSlotInvalid);
    done(Refused(CommandStatus::kInvalid, std::move(identity)));
    return;
  }
  Item item{std::move(submission), {}, {}};
  if (!item.submission.idempotency_key.empty()) {
    item.fingerprint = Fingerprint(item.submission.command);
  }
  std::unique_lock lock(queue_mu_);
  if (stopping_) {
    lock.unlock();
    count(kSlotUnavailable);
    done(Refused(CommandStatus::kUnavailable, Status::Unavailable("the sequencer is stopping")));
    return;
  }
  if (queue_.size() >= options_.queue_capacity) {
    lock.unlock();
    count(kSlotOverloaded);
    done(Refused(CommandStatus::kOverloaded, Status::Unavailable("the command queue is full")));
    return;
  }
  item.done = std::move(done);
  queue_.push_back(std::move(item));
  lock.unlock();
  queue_cv_.notify_one();
}

CommandResult Sequencer::SubmitAndWait(Submission submission) {
  // A mutex and condition variable rather than std::atomic::wait: libstdc++'s
  // atomic wait spins on sched_yield before sleeping, which with many waiting
  // submitters burns the cores the sequencer needs. Shared so the completing
  // thread may still touch it after the waiter has returned.
  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    CommandResult result;
  };
  auto waiter = std::make_shared<Waiter>();
  Submit(std::move(submission), [waiter](CommandResult r) {
    std::lock_guard lock(waiter->mu);
    waiter->result = std::move(r);
    waiter->done = true;
    waiter->cv.notify_one();
  });
  std::unique_lock lock(waiter->mu);
  waiter->cv.wait(lock, [&waiter] { return waiter->done; });
  return std::move(waiter->result);
}

void Sequencer::Stop() {
  {
    std::lock_guard lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
  {
    std::lock_guard lock(answered_mu_);
    answered_closed_ = true;
  }
  answered_cv_.notify_all();
  if (completion_thread_.joinable()) {
    completion_thread_.join();
  }
}

namespace {

// A post read from the durable state for a copy, or nothing (logged).
std::optional<PostState> ReadForCopy(Result<PostState> loaded, int64_t post_id) {
  if (!loaded.ok()) {
    LEDGER_LOG(LogLevel::kError, "sequencer", "reading a post's state failed")
        .Int("post_id", post_id)
        .Str("error", loaded.status().ToString());
    return std::nullopt;
  }
  return std::move(loaded).value();
}

}  // namespace

std::optional<PostState> Sequencer::FindPost(int64_t post_id) const {
  std::lock_guard lock(state_mu_);
  if (post_id < 1 || post_id >= next_post_) return std::nullopt;
  // Between batches the durable state is the sequencer's state.
  if (const PostState* cached = cache_.Peek(post_id)) return SummaryOf(*cached);
  return ReadForCopy(LoadPostSummary(*log_, post_id), post_id);
}

std::optional<PostState> Sequencer::FindWholePost(int64_t post_id) const {
  std::lock_guard lock(state_mu_);
  if (post_id < 1 || post_id >= next_post_) return std::nullopt;
  return ReadForCopy(LoadPost(*log_, post_id), post_id);
}

void Sequencer::PublishCacheCounts() {
  const PostCache::Counts c = cache_.counts();
  cache_posts_.store(c.posts, std::memory_order_relaxed);
  cache_bytes_.store(c.bytes, std::memory_order_relaxed);
  cache_loads_.store(c.loads, std::memory_order_relaxed);
  cache_evictions_.store(c.evictions, std::memory_order_relaxed);
  cache_whole_reads_.store(c.whole_reads, std::memory_order_relaxed);
}

SequencerMetrics Sequencer::metrics() const {
  SequencerMetrics m = counters_.Snapshot();
  m.queue_depth = queue_depth();
  m.queue_capacity = options_.queue_capacity;
  m.state_cache_posts = cache_posts_.load(std::memory_order_relaxed);
  m.state_cache_bytes = cache_bytes_.load(std::memory_order_relaxed);
  m.state_cache_capacity = options_.count_metrics ? options_.state_cache_bytes : 0;
  m.state_cache_loads = cache_loads_.load(std::memory_order_relaxed);
  m.state_cache_evictions = cache_evictions_.load(std::memory_order_relaxed);
  m.state_whole_reads = cache_whole_reads_.load(std::memory_order_relaxed);
  const std::optional<Timestamp> unsettled = schedule_.pending_deadline();
  if (options_.count_metrics && unsettled) {
    const std::chrono::duration<double> overdue = clock_->Now() - *unsettled;
    m.settlement_overdue_seconds = std::max(0.0, overdue.count());
  }
  return m;
}

size_t Sequencer::queue_depth() const {
  std::lock_guard lock(queue_mu_);
  return queue_.size();
}

void Sequencer::Run() {
  pthread_setname_np(pthread_self(), "sequencer");
  std::vector<Item> batch;
  batch.reserve(options_.max_batch_commands);
  // Up to a quarter of a batch is kept for settlements, so that a full queue
  // never holds them back.
  const size_t settlement_share = std::max<size_t>(1, options_.max_batch_commands / 4);
  while (true) {
    {
      std::unique_lock lock(queue_mu_);
      const auto has_work = [this] { return stopping_ || !queue_.empty(); };
      const std::chrono::microseconds wait = SettlementWait();
      if (wait == std::chrono::microseconds::max()) {
        queue_cv_.wait(lock, has_work);
      } else {
        queue_cv_.wait_for(lock, wait, has_work);
      }
      if (queue_.empty() && stopping_) {
        return;  // stopping, and everything queued has been answered
      }
      if (!queue_.empty() && options_.max_batch_wait.count() > 0 && !stopping_ &&
          queue_.size() < options_.max_batch_commands) {
        queue_cv_.wait_for(lock, options_.max_batch_wait, [this] {
          return stopping_ || queue_.size() >= options_.max_batch_commands;
        });
      }
      // The clients' commands first: at the deadline's edge a funding is
      // refused as funding_closed, the same whichever batch it lands in.
      std::vector<Item> settlements = DueSettlements(clock_->Now(), settlement_share);
      const size_t n = std::min(queue_.size(), options_.max_batch_commands - settlements.size());
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      for (Item& settle : settlements) batch.push_back(std::move(settle));
    }
    if (batch.empty()) continue;  // woke for a deadline that was stale
    std::vector<CommandResult> results = ProcessBatch(batch);
    if (options_.count_metrics) CountAnswered(batch, results);
    {
      std::unique_lock lock(answered_mu_);
      answered_cv_.wait(lock, [this] { return answered_.size() < kMaxAnsweredBatches; });
      answered_.push_back(Answered{std::move(batch), std::move(results)});
    }
    answered_cv_.notify_all();
    batch = std::vector<Item>();
    batch.reserve(options_.max_batch_commands);
  }
}

void Sequencer::CountAnswered(const std::vector<Item>& items,
                              const std::vector<CommandResult>& results) {
  counters_.CountBatch(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const CommandKind kind = KindOf(items[i].submission.command);
    if (results[i].replayed) {
      counters_.CountReplay(kind);
    } else {
      counters_.CountCommand(kind, SlotOf(results[i]));
    }
  }
}

void Sequencer::RunCompletions() {
  pthread_setname_np(pthread_self(), "seq-complete");
  while (true) {
    Answered next;
    {
      std::unique_lock lock(answered_mu_);
      answered_cv_.wait(lock, [this] { return answered_closed_ || !answered_.empty(); });
      if (answered_.empty()) {
        return;  // closed, and every batch has been answered
      }
      next = std::move(answered_.front());
      answered_.pop_front();
    }
    answered_cv_.notify_all();  // the sequencer may be waiting for room
    for (size_t i = 0; i < next.items.size(); ++i) {
      next.items[i].done(std::move(next.results[i]));
    }
    if (options_.after_batch) options_.after_batch();
  }
}

}  // namespace ledger::commands
