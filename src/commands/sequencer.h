#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "commands/command.h"
#include "commands/outcome.h"
#include "commands/post_cache.h"
#include "commands/post_state.h"
#include "commands/sequencer_metrics.h"
#include "commands/settlement_schedule.h"
#include "common/clock.h"
#include "common/result.h"
#include "common/time_zone.h"
#include "events/event_log.h"

namespace ledger::commands {

struct NewEvent;

struct SequencerOptions {
  // Commands waiting for the sequencer. A full queue answers kOverloaded at
  // once instead of growing memory.
  size_t queue_capacity = 16'384;
  // Group commit: a batch takes at most this many commands...
  size_t max_batch_commands = 512;
  // ...and, once it has its first command, waits at most this long for more
  // before writing. 0 writes whatever has queued up while the previous write
  // was in flight, which already batches under load.
  std::chrono::microseconds max_batch_wait{0};
  // An idempotency record older than this is forgotten: the key may be reused.
  std::chrono::seconds idempotency_retention{24 * 3600};
  // Called on the completion thread after the submitters of each batch were
  // answered, e.g. to wake the projector. Must not block.
  std::function<void()> after_batch;
  // Posts are settled by the sequencer itself once the clock passes their
  // deadline: it looks at the earliest deadline at least this often, and
  // sooner when that deadline comes first.
  std::chrono::milliseconds settlement_poll{100};
  // False: posts are settled only by SettlePost submissions, never on the
  // sequencer's own (for tests of what happens at a deadline's edge).
  bool settle_posts = true;
  // The posts kept in memory, by their estimated size (PostCache); the rest
  // are read from the durable state when a command needs them.
  size_t state_cache_bytes = size_t{128} << 20;
  // Start by folding the whole log into a new durable state, even when the
  // stored one agrees with the log (an operator's repair; see Start).
  bool rebuild_state = false;
  // False leaves every figure of metrics() at zero (batches_written()
  // included; the log head still counts events) and skips timing the
  // writes: for measuring what the instrumentation costs.
  bool count_metrics = true;
};

// One command as submitted by a client.
struct Submission {
  Command command;
  std::string actor;            // authenticated user id; required
  std::string correlation_id;   // request id, recorded in every event
  std::string idempotency_key;  // empty: none
};

enum class CommandStatus : uint8_t {
  kAccepted,             // durable; outcome holds the positions
  kRejected,             // a business rule refused it; outcome holds why
  kIdempotencyMismatch,  // the key was used before with a different request
  kIdempotencyInFlight,  // the key's first request is not yet durable
  kOverloaded,           // the queue is full; nothing was done
  kUnavailable,          // the log could not be written or the sequencer stopped
  kInvalid,              // the submission itself is malformed (actor, key)
};

struct CommandResult {
  CommandStatus status = CommandStatus::kUnavailable;
  // True when the outcome is the stored result of an earlier request with
  // the same idempotency key.
  bool replayed = false;
  CommandOutcome outcome;  // for kAccepted and kRejected
  Status error;            // for kUnavailable and kInvalid
  // The funding an accepted fund command recorded, when it was decided now
  // (a replayed outcome leaves it empty: the event is read from the log).
  // Answers need no read of the log for it.
  std::optional<events::PostFunded> funded;
};

// The single writer of the log. One thread owns the in-memory state of every
// post; it takes commands from a bounded queue in batches, decides each one in
// order against the state the earlier ones left, assigns gapless positions and
// stream versions, chains the hashes, writes the whole batch once with fsync,
// and only then completes the submitters. A failed write acknowledges nothing
// and drops the posts it changed from memory, so that they are read again
// from the durable state.
class Sequencer {
 public:
  // Called exactly once per submission, on the sequencer's completion thread
  // (or on the submitting thread for kOverloaded and kInvalid). Must not
  // block: it delays every other submitter's answer.
  using Completion = std::function<void(CommandResult)>;

  // Takes up the durable state where the log's head is, settles every post
  // whose deadline has passed (e.g. while the service was down), then starts
  // the thread, which settles the others as their deadlines pass. The state
  // is built by folding the log when there is none (a new log, or one
  // written before the state existed) or when options.rebuild_state asks;
  // a stored state that is not at the log's head is refused with
  // kFailedPrecondition, never used. `log`, `clock` and `time_zone` must
  // outlive the sequencer.
  static Result<std::unique_ptr<Sequencer>> Start(events::EventLog* log, const Clock* clock,
                                                  const TimeZone* time_zone,
                                                  const SequencerOptions& options = {});
  ~Sequencer();
  Sequencer(const Sequencer&) = delete;
  Sequencer& operator=(const Sequencer&) = delete;

  void Submit(Submission submission, Completion done);
  // Submit and block the calling thread until the result is known.
  CommandResult SubmitAndWait(Submission submission);

  // Stops taking submissions, finishes every queued one, joins the thread.
  // Later submissions complete with kUnavailable. Idempotent.
  void Stop();

  // A copy of a post's current summary: every figure of its state, but not
  // its backers and fundings (PostCache), which stay empty (nullopt if it
  // never existed).
  std::optional<PostState> FindPost(int64_t post_id) const;
  // A copy of a post's whole current state, read from the durable state (as
  // many reads as the post has records): for audits and tests.
  std::optional<PostState> FindWholePost(int64_t post_id) const;
  // Everything the sequencer counts: what /metrics shows of the write side,
  // and what tests and benchmarks read (see SequencerMetrics).
  SequencerMetrics metrics() const;
  size_t queue_depth() const;
  // Entries in the settlement schedule, stale ones included (an entry goes
  // only when its deadline passes): for tests and diagnostics.
  size_t settlement_schedule_entries() const;

 private:
  struct Item {
    Submission submission;
    events::Hash fingerprint{};
    Completion done;
  };
  // What one batch builds up between deciding and writing (sequencer_batch.cc).
  struct BatchScratch;
  // A decided and written batch whose submitters are still to be told.
  struct Answered {
    std::vector<Item> items;
    std::vector<CommandResult> results;
  };

  Sequencer(events::EventLog* log, const Clock* clock, const TimeZone* time_zone,
            const SequencerOptions& options);

  // The two threads (sequencer.cc).
  void Run();
  void RunCompletions();
  void CountAnswered(const std::vector<Item>& items, const std::vector<CommandResult>& results);

  // One batch (sequencer_batch.cc), on the sequencer thread under state_mu_.
  // Decides and writes `items`; returns their results in the same order.
  std::vector<CommandResult> ProcessBatch(std::vector<Item>& items);
  // Reads at once what deciding `items` would read one by one.
  void Prefetch(const std::vector<Item>& items, BatchScratch& batch);
  // The idempotency gate: true when `result` already answers `item` (its key
  // is in flight in this batch, or a stored record within retention replays
  // or refuses it); false when it is to be decided, its key now the batch's.
  bool AnsweredByIdempotency(const Item& item, BatchScratch& batch, CommandResult& result);
  // Decides `item` against the current state and, when accepted, seals its
  // events into the batch and applies them to the state.
  void DecideAndSeal(const Item& item, BatchScratch& batch, CommandResult& result);
  void SealEvent(const Submission& submission, NewEvent& decided, BatchScratch& batch);
  // The batch's one write; on failure, UndoBatch.
  void CommitBatch(BatchScratch& batch, std::vector<CommandResult>& results);
  void UndoBatch(const BatchScratch& batch, const std::vector<int64_t>& touched,
                 const Status& written, std::vector<CommandResult>& results);

  // The durable state (sequencer_state.cc). LoadState checks it against the
  // log (building it when asked or absent) and schedules the posts awaiting
  // settlement; BuildState folds the whole log into a new one in bounded
  // memory; ForgetPosts drops posts a failed write changed, so that they are
  // read again from the durable state.
  Status LoadState();
  Status BuildState();
  void ForgetPosts(const std::vector<int64_t>& post_ids, int64_t next_post);
  // The post's state through the cache, with what `need` names read into it
  // (PostCache::Get); nullptr when no post has that id.
  Result<PostState*> FindState(int64_t post_id,
                               const PostCache::Need& need = PostCache::Need::Summary(),
                               std::span<const events::Event> unwritten = {});

  // Settlement (sequencer_settlement.cc), on the sequencer thread. Schedule
  // adds a post whose deadline is ahead of it; DueSettlements turns at most
  // `max` due posts into the service's own SettlePost items; SettleOverdue
  // runs them all, before the thread starts; SettlementWait is how long the
  // thread may sleep before the next deadline.
  void Schedule(const PostState& post);
  std::vector<Item> DueSettlements(Timestamp now, size_t max);
  Status SettleOverdue();
  std::chrono::microseconds SettlementWait() const;

  int64_t next_post_id() const { return next_post_; }

  events::EventLog* const log_;
  const Clock* const clock_;
  const TimeZone* const time_zone_;
  const SequencerOptions options_;

  mutable std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Item> queue_;  // guarded by queue_mu_
  bool stopping_ = false;   // guarded by queue_mu_

  // Owned by the sequencer thread; state_mu_ lets FindPost read a consistent
  // copy between batches.
  mutable std::mutex state_mu_;
  PostCache cache_;              // the posts recently used
  int64_t next_post_ = 1;        // the id of the next post created
  SettlementSchedule schedule_;  // the posts still to settle
  Timestamp last_recorded_at_;
  bool broken_ = false;  // state could not be restored after a failed write
  Status broken_status_;

  SequencerCounters counters_;  // only when options_.count_metrics
  // The cache's counts, published after each batch for metrics().
  void PublishCacheCounts();
  std::atomic<size_t> cache_posts_{0};
  std::atomic<size_t> cache_bytes_{0};
  std::atomic<uint64_t> cache_loads_{0};
  std::atomic<uint64_t> cache_evictions_{0};
  std::atomic<uint64_t> cache_whole_reads_{0};

  // Completions run on their own thread so that waking submitters overlaps
  // the next batch's decisions and fsync instead of delaying them. At most
  // kMaxAnsweredBatches wait here; the sequencer blocks beyond that.
  static constexpr size_t kMaxAnsweredBatches = 8;
  std::mutex answered_mu_;
  std::condition_variable answered_cv_;
  std::deque<Answered> answered_;  // guarded by answered_mu_
  bool answered_closed_ = false;   // guarded by answered_mu_

  std::thread thread_;
  std::thread completion_thread_;
};

}  // namespace ledger::commands
