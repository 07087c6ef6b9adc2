// One batch of the sequencer: the idempotency gate, decide-and-seal, and the
// one write that makes the batch durable (or undoes it).
#include <algorithm>
#include <array>
#include <chrono>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "commands/decide.h"
#include "commands/sequencer.h"
#include "commands/state_codec.h"
#include "common/check.h"
#include "events/codec.h"
#include "events/keys.h"
#include "events/record.h"

namespace ledger::commands {

struct Sequencer::BatchScratch {
  BatchScratch(events::LogHead log_head, int64_t next_post, Timestamp recorded_at)
      : start_head(log_head), start_next_post(next_post), now(recorded_at), head(log_head) {}

  const events::LogHead start_head;  // the log before the batch
  const int64_t start_next_post;     // the next post id before the batch
  const Timestamp now;               // every event's recorded_at; never decreases
  events::LogHead head;              // the newest event sealed so far
  std::vector<events::EncodedEvent> encoded;
  std::vector<events::Event> sealed;  // the same events, for a post read whole mid-batch
  std::vector<events::IdempotencyWrite> idempotency;
  state::StateChanges changes;           // what the sealed events change in the state
  std::vector<size_t> fresh;             // items whose result depends on the write
  std::unordered_set<std::string> keys;  // idempotency scopes decided in this batch
  std::array<uint64_t, events::kEventTypeCount> events_by_type{};
  LifecycleTally lifecycle;  // settlements, refunds and cancellations sealed
  // The posts whose PostSettled this batch seals, with their deadlines: they
  // left the schedule for this batch and go back if its write fails.
  std::vector<std::pair<int64_t, Timestamp>> settling;
  // The stored idempotency records of the batch's keys, read before its
  // decisions (Prefetch); a scope not in here is read when it is needed.
  std::unordered_map<std::string, std::optional<events::IdempotencyRecord>> idempotency_found;
};

namespace {

// What deciding `command` for `actor` needs of its post beyond the summary:
// a funding the actor's own live totals (the per-backer limit), a
// cancellation the funding it names. A deletion or a settlement that
// refunds needs every backer, which Decide asks for itself
// (Decision::needs_whole_post).
PostCache::Need NeedOf(const Command& command, std::string_view actor) {
  return std::visit(
      [&](const auto& c) -> PostCache::Need {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, FundPost>) {
          return PostCache::Need::Backer(actor);
        } else if constexpr (std::is_same_v<T, CancelFunding>) {
          return PostCache::Need::Funding(c.funding_position);
        } else {
          return PostCache::Need::Summary();
        }
      },
      command);
}

CommandResult Unavailable(Status why) {
  CommandResult r;
  r.status = CommandStatus::kUnavailable;
  r.error = std::move(why);
  return r;
}

// The answer stored with an idempotency record, given again.
CommandResult Replayed(std::string_view stored_outcome) {
  auto outcome = DecodeOutcome(stored_outcome);
  if (!outcome.ok()) return Unavailable(outcome.status());
  CommandResult r;
  r.outcome = std::move(outcome).value();
  r.status = r.outcome.accepted ? CommandStatus::kAccepted : CommandStatus::kRejected;
  r.replayed = true;
  return r;
}

}  // namespace

// Reads what the batch's decisions will read (idempotency records, post
// summaries, backers) in as few reads as the log allows, instead of one read
// per command: with the log in PostgreSQL each read is a round trip on the
// sequencer's thread. Nothing is decided here, and a failed read is simply
// left to the decisions, which read one by one and answer its error.
void Sequencer::Prefetch(const std::vector<Item>& items, BatchScratch& batch) {
  std::vector<std::pair<std::string_view, std::string_view>> scopes;
  std::vector<std::pair<int64_t, PostCache::Need>> wants;
  for (const Item& item : items) {
    const Submission& sub = item.submission;
    if (!sub.idempotency_key.empty()) scopes.emplace_back(sub.actor, sub.idempotency_key);
    const int64_t target = TargetPost(sub.command);
    if (target >= 1 && target < next_post_) {
      wants.emplace_back(target, NeedOf(sub.command, sub.actor));
    }
  }
  if (scopes.size() > 1) {
    std::vector<std::optional<events::IdempotencyRecord>> records;
    if (log_->FindIdempotencies(scopes, &records).ok()) {
      for (size_t i = 0; i < scopes.size(); ++i) {
        batch.idempotency_found.emplace(events::IdempotencyKey(scopes[i].first, scopes[i].second),
                                        std::move(records[i]));
      }
    }
  }
  if (wants.size() > 1) (void)cache_.Prefetch(wants);
}

std::vector<CommandResult> Sequencer::ProcessBatch(std::vector<Item>& items) {
  std::vector<CommandResult> results(items.size());
  std::lock_guard state_lock(state_mu_);
  BatchScratch batch(log_->Head(), next_post_id(), std::max(clock_->Now(), last_recorded_at_));
  if (!broken_) Prefetch(items, batch);
  for (size_t i = 0; i < items.size(); ++i) {
    if (broken_) {
      results[i] = Unavailable(broken_status_);
      continue;
    }
    if (AnsweredByIdempotency(items[i], batch, results[i])) continue;
    DecideAndSeal(items[i], batch, results[i]);
    batch.fresh.push_back(i);
  }
  CommitBatch(batch, results);
  cache_.ClearPrefetched();                // the durable state moved on
  cache_.Trim();                           // written or undone: within bounds again
  schedule_.PublishPending(std::nullopt);  // for metrics()
  if (options_.count_metrics) PublishCacheCounts();
  return results;
}

bool Sequencer::AnsweredByIdempotency(const Item& item, BatchScratch& batch,
                                      CommandResult& result) {
  const Submission& sub = item.submission;
  if (sub.idempotency_key.empty()) return false;
  std::string scope = events::IdempotencyKey(sub.actor, sub.idempotency_key);
  if (batch.keys.contains(scope)) {
    // The first request with this key is decided but not yet durable.
    result.status = CommandStatus::kIdempotencyInFlight;
    return true;
  }
  const auto prefetched = batch.idempotency_found.find(scope);
  const Result<std::optional<events::IdempotencyRecord>> found =
      prefetched != batch.idempotency_found.end()
          ? Result<std::optional<events::IdempotencyRecord>>(prefetched->second)
          : log_->FindIdempotency(sub.actor, sub.idempotency_key);
  if (!found.ok()) {
    result = Unavailable(found.status());
    return true;
  }
  const std::optional<events::IdempotencyRecord>& record = *found;
  const bool retained = record && batch.now - record->recorded_at < options_.idempotency_retention;
  if (!retained) {
    batch.keys.insert(std::move(scope));
    return false;
  }
  if (record->fingerprint != item.fingerprint) {
    result.status = CommandStatus::kIdempotencyMismatch;
    return true;
  }
  result = Replayed(record->outcome);
  return true;
}

void Sequencer::DecideAndSeal(const Item& item, BatchScratch& batch, CommandResult& result) {
  const Submission& sub = item.submission;
  const int64_t target = TargetPost(sub.command);
  const auto unreadable = [&](const Status& why) {
    // Nothing was decided: the key stays free for a retry.
    batch.keys.erase(events::IdempotencyKey(sub.actor, sub.idempotency_key));
    result = Unavailable(why.WithContext("reading the post's state"));
  };
  Result<PostState*> found = FindState(target, NeedOf(sub.command, sub.actor), batch.sealed);
  if (!found.ok()) return unreadable(found.status());
  DecideContext ctx{batch.now, time_zone_, sub.actor, next_post_id()};
  ctx.whole_post = false;
  Decision decision = Decide(*found, sub.command, ctx);
  if (decision.needs_whole_post) {
    // A deletion or settlement that refunds: only now is the post read
    // whole, so that one refused (not the owner's, too many backers,
    // closed) costs no more than its summary.
    found = FindState(target, PostCache::Need::Whole(), batch.sealed);
    if (!found.ok()) return unreadable(found.status());
    ctx.whole_post = true;
    decision = Decide(*found, sub.command, ctx);
    LEDGER_CHECK(!decision.needs_whole_post, "Decide asked again for the whole post");
  }

  CommandOutcome& outcome = result.outcome;
  if (!decision.accepted()) {
    outcome.accepted = false;
    outcome.rejection = std::move(*decision.rejection);
    result.status = CommandStatus::kRejected;
  } else {
    LEDGER_CHECK(!decision.events.empty(), "an accepted decision must produce events");
    outcome.accepted = true;
    outcome.first_position = batch.head.position + 1;
    outcome.post_id = decision.events.front().stream;
    if (const auto* funded = std::get_if<events::PostFunded>(&decision.events.front().data)) {
      result.funded = *funded;
    }
    for (NewEvent& decided : decision.events) SealEvent(sub, decided, batch);
    outcome.last_position = batch.head.position;
    outcome.stream_version = cache_.Peek(outcome.post_id)->version;
    result.status = CommandStatus::kAccepted;
  }
  if (!sub.idempotency_key.empty()) {
    batch.idempotency.push_back(events::IdempotencyWrite{
        sub.actor, sub.idempotency_key,
        events::IdempotencyRecord{item.fingerprint, batch.now, EncodeOutcome(outcome)}});
  }
}

// Gives a decided event the next position, its post's next stream version,
// the batch's time and the previous hash; seals and encodes it into the
// batch, and applies it to the post's state so that later commands see it.
void Sequencer::SealEvent(const Submission& submission, NewEvent& decided, BatchScratch& batch) {
  if (decided.stream == next_post_) cache_.Create(next_post_++);
  LEDGER_CHECK(decided.stream >= 1 && decided.stream < next_post_,
               "decided event for an unknown post");
  // Decide read the post through the cache in this batch, so it is there.
  PostState& state = *cache_.Peek(decided.stream);
  const events::EventType type = events::TypeOf(decided.data);
  ++batch.events_by_type[static_cast<size_t>(type)];
  if (type != events::EventType::kPostFunded) {
    batch.lifecycle.Add(decided.data, state.closes_at, batch.now);
  }
  if (type == events::EventType::kPostSettled)
    batch.settling.emplace_back(state.id, state.closes_at);
  events::Event e;
  e.position = batch.head.position + 1;
  e.stream = decided.stream;
  e.stream_version = state.version + 1;
  e.recorded_at = batch.now;
  e.actor = submission.actor;
  e.correlation_id = submission.correlation_id;
  e.idempotency_key = submission.idempotency_key;
  e.data = std::move(decided.data);
  e.prev_hash = batch.head.hash;
  std::string record = events::SealRecord(e, events::EncodeCanonical(e));
  const bool deadline_set = std::holds_alternative<events::PostCreated>(e.data) ||
                            (std::holds_alternative<events::PostEdited>(e.data) &&
                             std::get<events::PostEdited>(e.data).closes_at.has_value());
  const Status applied = batch.changes.Apply(state, e);
  LEDGER_CHECK(applied.ok(), applied.message());
  if (deadline_set) Schedule(state);
  batch.head = events::LogHead{e.position, e.hash};
  batch.encoded.push_back(events::EncodedEvent{e.position, e.stream, e.stream_version, e.prev_hash,
                                               e.hash, std::move(record)});
  batch.sealed.push_back(std::move(e));
}

void Sequencer::CommitBatch(BatchScratch& batch, std::vector<CommandResult>& results) {
  if (batch.encoded.empty() && batch.idempotency.empty()) return;
  using std::chrono::steady_clock;
  const auto started = options_.count_metrics ? steady_clock::now() : steady_clock::time_point();
  std::vector<int64_t> touched;
  std::vector<events::StateWrite> state_writes;
  if (!batch.changes.empty()) {
    const state::StateHead head{batch.head.position, batch.head.hash, next_post_, batch.now};
    touched = batch.changes.TouchedPosts();
    state_writes = batch.changes.Take(
        [this](int64_t id) -> const PostState& { return *cache_.Peek(id); }, &head);
  }
  const Status written = log_->Append(batch.encoded, batch.idempotency, state_writes);
  const double write_seconds =
      options_.count_metrics ? std::chrono::duration<double>(steady_clock::now() - started).count()
                             : 0;
  if (!written.ok()) {
    if (options_.count_metrics) counters_.CountFailedWrite(write_seconds);
    UndoBatch(batch, touched, written, results);
    return;
  }
  if (options_.count_metrics) {
    counters_.CountWrite(batch.events_by_type, write_seconds);
    if (!batch.lifecycle.empty()) counters_.CountLifecycle(batch.lifecycle);
  }
  LEDGER_CHECK(log_->Head() == batch.head, "log head differs from the sequencer's after append");
  last_recorded_at_ = batch.now;
}

// Nothing of the batch is durable: undoes it in memory and tells every
// submitter whose answer depended on it that it did not happen.
void Sequencer::UndoBatch(const BatchScratch& batch, const std::vector<int64_t>& touched,
                          const Status& written, std::vector<CommandResult>& results) {
  LEDGER_CHECK(log_->Head() == batch.start_head, "a failed append moved the log head");
  ForgetPosts(touched, batch.start_next_post);
  // Every other entry the batch's posts had is still in the schedule (one
  // leaves only when its deadline is taken); a deadline the batch moved left
  // an entry that the durable state now makes stale.
  if (options_.settle_posts) {
    for (const auto& [id, closes_at] : batch.settling) schedule_.Add(id, closes_at);
  }
  for (const size_t i : batch.fresh) {
    results[i] = Unavailable(written);
  }
}

}  // namespace ledger::commands
