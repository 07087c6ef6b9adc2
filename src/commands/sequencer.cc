#include "commands/sequencer.h"

#include <algorithm>
#include <chrono>
#include <unordered_set>
#include <utility>

#include <pthread.h>

#include "commands/decide.h"
#include "commands/fingerprint.h"
#include "commands/limits.h"
#include "common/check.h"
#include "common/utf8.h"
#include "events/codec.h"
#include "events/keys.h"
#include "events/record.h"

namespace ledger::commands {
namespace {

// How many events Rebuild decodes per read.
constexpr size_t kRebuildChunkEvents = 8192;

CommandResult Unavailable(Status why) {
  CommandResult r;
  r.status = CommandStatus::kUnavailable;
  r.error = std::move(why);
  return r;
}

CommandResult Invalid(Status why) {
  CommandResult r;
  r.status = CommandStatus::kInvalid;
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
    : log_(log), clock_(clock), time_zone_(time_zone), options_(options) {
  LEDGER_CHECK(options_.queue_capacity > 0 && options_.max_batch_commands > 0,
               "sequencer limits must be positive");
}

Result<std::unique_ptr<Sequencer>> Sequencer::Start(events::EventLog* log, const Clock* clock,
                                                    const TimeZone* time_zone,
                                                    const SequencerOptions& options) {
  std::unique_ptr<Sequencer> s(new Sequencer(log, clock, time_zone, options));
  LEDGER_RETURN_IF_ERROR(s->Rebuild().WithContext("rebuilding state from the log"));
  s->completion_thread_ = std::thread([raw = s.get()] { raw->RunCompletions(); });
  s->thread_ = std::thread([raw = s.get()] { raw->Run(); });
  return s;
}

Sequencer::~Sequencer() { Stop(); }

Status Sequencer::Rebuild() {
  const events::LogHead head = log_->Head();
  events::Hash prev = events::kGenesisHash;
  std::vector<events::Event> chunk;
  for (int64_t from = 1; from <= head.position;) {
    chunk.clear();
    LEDGER_RETURN_IF_ERROR(
        events::ReadEvents(*log_, from, head.position, kRebuildChunkEvents, &chunk));
    if (chunk.empty()) {
      return Status::Corruption("event at position " + std::to_string(from) + " is missing");
    }
    for (const events::Event& e : chunk) {
      LEDGER_RETURN_IF_ERROR(events::CheckFollows({from - 1, prev}, e));
      const auto known = static_cast<int64_t>(posts_.size());
      if (e.stream == known + 1) {
        posts_.emplace_back();
      } else if (e.stream < 1 || e.stream > known) {
        return Status::Corruption("event at position " + std::to_string(from) + " names post " +
                                  std::to_string(e.stream) + " out of sequence");
      }
      LEDGER_RETURN_IF_ERROR(Apply(posts_[static_cast<size_t>(e.stream - 1)], e));
      last_recorded_at_ = std::max(last_recorded_at_, e.recorded_at);
      prev = e.hash;
      ++from;
    }
  }
  if (prev != head.hash) {
    return Status::Corruption("the head hash differs from the hash of the newest event");
  }
  return Status::Ok();
}

void Sequencer::Submit(Submission submission, Completion done) {
  const CommandKind kind = KindOf(submission.command);
  const auto count = [this, kind](size_t slot) {
    if (options_.count_metrics) counters_.CountCommand(kind, slot);
  };
  if (Status identity = CheckIdentity(submission); !identity.ok()) {
    count(kSlotInvalid);
    done(Invalid(std::move(identity)));
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
    done(Unavailable(Status::Unavailable("the sequencer is stopping")));
    return;
  }
  if (queue_.size() >= options_.queue_capacity) {
    lock.unlock();
    count(kSlotOverloaded);
    CommandResult overloaded;
    overloaded.status = CommandStatus::kOverloaded;
    overloaded.error = Status::Unavailable("the command queue is full");
    done(std::move(overloaded));
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

std::optional<PostState> Sequencer::FindPost(int64_t post_id) const {
  std::lock_guard lock(state_mu_);
  if (post_id < 1 || post_id > static_cast<int64_t>(posts_.size())) {
    return std::nullopt;
  }
  return posts_[static_cast<size_t>(post_id - 1)];
}

SequencerMetrics Sequencer::metrics() const {
  SequencerMetrics m = counters_.Snapshot();
  m.queue_depth = queue_depth();
  m.queue_capacity = options_.queue_capacity;
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
  while (true) {
    {
      std::unique_lock lock(queue_mu_);
      queue_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) {
        return;  // stopping, and everything queued has been answered
      }
      if (options_.max_batch_wait.count() > 0 && !stopping_ &&
          queue_.size() < options_.max_batch_commands) {
        queue_cv_.wait_for(lock, options_.max_batch_wait, [this] {
          return stopping_ || queue_.size() >= options_.max_batch_commands;
        });
      }
      const size_t n = std::min(queue_.size(), options_.max_batch_commands);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    std::vector<CommandResult> results = ProcessBatch(batch);
    if (options_.count_metrics) {
      counters_.CountBatch(batch.size());
      for (size_t i = 0; i < batch.size(); ++i) {
        const CommandKind kind = KindOf(batch[i].submission.command);
        if (results[i].replayed) {
          counters_.CountReplay(kind);
        } else {
          counters_.CountCommand(kind, SlotOf(results[i]));
        }
      }
    }
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

std::vector<CommandResult> Sequencer::ProcessBatch(std::vector<Item>& items) {
  std::vector<CommandResult> results(items.size());
  {
    std::lock_guard state_lock(state_mu_);
    const events::LogHead start_head = log_->Head();
    const auto start_next_post = static_cast<int64_t>(posts_.size()) + 1;
    const Timestamp now = std::max(clock_->Now(), last_recorded_at_);

    events::LogHead head = start_head;
    std::vector<events::EncodedEvent> encoded;
    std::vector<events::IdempotencyWrite> idempotency;
    std::vector<int64_t> touched;
    std::vector<size_t> fresh;  // items whose result depends on this write
    std::unordered_set<std::string> batch_keys;
    std::array<uint64_t, events::kEventTypeCount> events_by_type{};

    for (size_t i = 0; i < items.size(); ++i) {
      const Submission& sub = items[i].submission;
      CommandResult& result = results[i];
      if (broken_) {
        result = Unavailable(broken_status_);
        continue;
      }
      if (!sub.idempotency_key.empty()) {
        std::string scope = events::IdempotencyKey(sub.actor, sub.idempotency_key);
        if (batch_keys.contains(scope)) {
          // The first request with this key is decided but not yet durable.
          result.status = CommandStatus::kIdempotencyInFlight;
          continue;
        }
        const auto found = log_->FindIdempotency(sub.actor, sub.idempotency_key);
        if (!found.ok()) {
          result = Unavailable(found.status());
          continue;
        }
        const std::optional<events::IdempotencyRecord>& record = *found;
        if (record && now - record->recorded_at < options_.idempotency_retention) {
          if (record->fingerprint != items[i].fingerprint) {
            result.status = CommandStatus::kIdempotencyMismatch;
            continue;
          }
          auto outcome = DecodeOutcome(record->outcome);
          if (!outcome.ok()) {
            result = Unavailable(outcome.status());
            continue;
          }
          result.outcome = std::move(outcome).value();
          result.status =
              result.outcome.accepted ? CommandStatus::kAccepted : CommandStatus::kRejected;
          result.replayed = true;
          continue;
        }
        batch_keys.insert(std::move(scope));
      }

      const int64_t post_id = TargetPost(sub.command);
      const PostState* post = post_id >= 1 && post_id <= static_cast<int64_t>(posts_.size())
                                  ? &posts_[static_cast<size_t>(post_id - 1)]
                                  : nullptr;
      const DecideContext ctx{now, time_zone_, sub.actor, static_cast<int64_t>(posts_.size()) + 1};
      Decision decision = Decide(post, sub.command, ctx);

      CommandOutcome& outcome = result.outcome;
      if (!decision.accepted()) {
        outcome.accepted = false;
        outcome.rejection = std::move(*decision.rejection);
        result.status = CommandStatus::kRejected;
      } else {
        LEDGER_CHECK(!decision.events.empty(), "an accepted decision must produce events");
        outcome.accepted = true;
        outcome.first_position = head.position + 1;
        outcome.post_id = decision.events.front().stream;
        for (NewEvent& ne : decision.events) {
          if (ne.stream == static_cast<int64_t>(posts_.size()) + 1) {
            posts_.emplace_back();
          }
          LEDGER_CHECK(ne.stream >= 1 && ne.stream <= static_cast<int64_t>(posts_.size()),
                       "decided event for an unknown post");
          PostState& state = posts_[static_cast<size_t>(ne.stream - 1)];
          ++events_by_type[static_cast<size_t>(events::TypeOf(ne.data))];
          events::Event e;
          e.position = head.position + 1;
          e.stream = ne.stream;
          e.stream_version = state.version + 1;
          e.recorded_at = now;
          e.actor = sub.actor;
          e.correlation_id = sub.correlation_id;
          e.idempotency_key = sub.idempotency_key;
          e.data = std::move(ne.data);
          e.prev_hash = head.hash;
          std::string record = events::SealRecord(e, events::EncodeCanonical(e));
          const Status applied = Apply(state, e);
          LEDGER_CHECK(applied.ok(), applied.message());
          touched.push_back(e.stream);
          head = events::LogHead{e.position, e.hash};
          encoded.push_back(events::EncodedEvent{e.position, e.stream, e.stream_version,
                                                 e.prev_hash, e.hash, std::move(record)});
        }
        outcome.last_position = head.position;
        outcome.stream_version = posts_[static_cast<size_t>(outcome.post_id - 1)].version;
        result.status = CommandStatus::kAccepted;
      }
      if (!sub.idempotency_key.empty()) {
        idempotency.push_back(events::IdempotencyWrite{
            sub.actor, sub.idempotency_key,
            events::IdempotencyRecord{items[i].fingerprint, now, EncodeOutcome(outcome)}});
      }
      fresh.push_back(i);
    }

    if (!encoded.empty() || !idempotency.empty()) {
      const auto write_started = options_.count_metrics ? std::chrono::steady_clock::now()
                                                        : std::chrono::steady_clock::time_point();
      const Status written = log_->Append(encoded, idempotency);
      const double write_seconds =
          options_.count_metrics
              ? std::chrono::duration<double>(std::chrono::steady_clock::now() - write_started)
                    .count()
              : 0;
      if (written.ok()) {
        if (options_.count_metrics) counters_.CountWrite(events_by_type, write_seconds);
        LEDGER_CHECK(log_->Head() == head, "log head differs from the sequencer's after append");
        last_recorded_at_ = now;
      } else {
        // Nothing of this batch is durable: undo it in memory and tell every
        // submitter whose answer depended on it that it did not happen.
        if (options_.count_metrics) counters_.CountFailedWrite(write_seconds);
        LEDGER_CHECK(log_->Head() == start_head, "a failed append moved the log head");
        const Status restored = RestorePosts(touched, start_next_post);
        if (!restored.ok()) {
          broken_ = true;
          broken_status_ = restored.WithContext("state could not be restored after a failed write");
        }
        for (const size_t i : fresh) {
          results[i] = Unavailable(written);
        }
      }
    }
  }
  return results;
}

Status Sequencer::RestorePosts(const std::vector<int64_t>& post_ids, int64_t next_post_id) {
  posts_.resize(static_cast<size_t>(next_post_id - 1));
  std::vector<int64_t> ids(post_ids);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::vector<events::Event> stream;
  for (const int64_t id : ids) {
    if (id >= next_post_id) continue;  // created by the failed batch: gone
    stream.clear();
    LEDGER_RETURN_IF_ERROR(events::ReadStream(*log_, id, 1, SIZE_MAX, &stream));
    PostState state;
    for (const events::Event& e : stream) {
      LEDGER_RETURN_IF_ERROR(Apply(state, e));
    }
    posts_[static_cast<size_t>(id - 1)] = std::move(state);
  }
  return Status::Ok();
}

}  // namespace ledger::commands
