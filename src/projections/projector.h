#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "events/event.h"
#include "events/event_log.h"
#include "projections/batch_changes.h"
#include "projections/read_schema.h"

namespace ledger::projections {

struct PgConnection;  // defined in database.h, private to this module

struct ProjectorOptions {
  std::string conninfo;
  std::string schema{kReadSchema};
  // The checkpoint row this projector owns.
  std::string name = "read_model";
  // Events applied per transaction at most. A projector that is behind takes
  // large batches: a post funded many times in one batch costs one row
  // update, so the bigger the backlog, the cheaper each event (measured over
  // 10 000 posts: 75 000-89 000 events/s with batches of 10 000, 119 000 with
  // 50 000). When caught up, a batch holds whatever arrived since the last.
  size_t max_batch_events = 50'000;
  // ... and at most about this many bytes of records (a batch is held in
  // memory, decoded, and descriptions may be 20 000 characters each).
  size_t max_batch_bytes = size_t{64} << 20;
  // post_stats rows rewritten between two VACUUMs of that table. Every
  // funding rewrites its post's row there; the table is small and hot, and
  // autovacuum (a minute apart at best) lets it fill with dead versions that
  // every batch's join then reads (measured: the update of 6 300 rows took
  // 48 ms without, 33 ms with a VACUUM of ~5 ms after each batch).
  int64_t vacuum_after_updates = 20'000;
  // When caught up, look for new events this often (Wake() is sooner).
  std::chrono::milliseconds poll_interval{100};
  // While PostgreSQL is unavailable: wait retry_initial, doubling up to
  // retry_max, between attempts.
  std::chrono::milliseconds retry_initial{50};
  std::chrono::milliseconds retry_max{5'000};
  // Called on the projector's thread whenever the position the read tables
  // hold advances (read-your-writes waiters): after each committed batch,
  // and when a checkpoint is read that the projector did not know yet (the
  // first one after a start, even when there is nothing to apply). Must not
  // block.
  std::function<void(int64_t position)> on_committed;
  // Projectors of this name on other nodes move the same checkpoint (a
  // cluster: the node that sequences projects, the others stand by). Then a
  // checkpoint past this node's view of the log is not taken for read
  // tables of another log but retried (kUnavailable): this node may be the
  // one behind, e.g. a sequencer that was paused and lost its lease.
  bool shared_checkpoint = false;
  // Non-zero: the server ends this projector's session when it sits this long
  // inside a transaction (idle_in_transaction_session_timeout), so that a
  // node paused mid-batch does not hold the checkpoint row's lock, and with
  // it every other node's projector, for as long as it is paused.
  std::chrono::milliseconds idle_in_transaction_timeout{0};
  // Tests only: called inside each batch's transaction just before commit.
  std::function<void()> before_commit_for_testing;
};

// Keeps the read tables in step with the log. Each batch of events after the
// checkpoint is applied in one transaction, coalesced per post into a fixed
// number of set-based statements, together with the new checkpoint (position
// and hash), so every event is applied exactly once even across crashes.
//
// Each event must be exactly checkpoint + 1 and continue the hash chain from
// the checkpoint's hash. If not, the projector stops for good (failure()):
// a hole is a bug, never something to skip.
class Projector {
 public:
  // `log` must outlive the projector.
  Projector(const events::EventLog* log, ProjectorOptions options);
  ~Projector();
  Projector(const Projector&) = delete;
  Projector& operator=(const Projector&) = delete;

  // Applies at most one batch. Returns how many events were applied (0 when
  // caught up). kUnavailable: the database is unreachable (retry later).
  // kCorruption: a hole or a broken chain; the projector is failed.
  // Not to be called while the background thread runs.
  Result<size_t> Step();

  // Follows the head on a background thread until Stop(): batches while
  // behind, polls (or waits for Wake()) when caught up, retries with backoff
  // while the database is down, stops on a failure.
  void Start();
  // Lets the current batch finish, then joins the thread. Idempotent.
  void Stop();
  // New events were appended: look now instead of at the next poll.
  void Wake();
  // A standby applies nothing: it follows the checkpoint that another node's
  // projector (of the same name, on the same read tables) moves, so that
  // position() stays current on a node that does not project. On a cluster
  // only the node that sequences projects. A projector starts active.
  void SetStandby(bool standby) {
    standby_.store(standby, std::memory_order_release);
    Wake();
  }
  bool standby() const { return standby_.load(std::memory_order_acquire); }

  // The checkpoint position after the last committed batch (-1 before the
  // first look at the database).
  int64_t position() const { return position_.load(std::memory_order_acquire); }
  // The fatal error that stopped the projector, or OK.
  Status failure() const;
  // The last transient error (database down), or OK after a success.
  Status last_error() const;
  bool running() const { return running_.load(); }
  // Events applied to the read tables by this projector since it was made.
  uint64_t events_applied() const { return events_applied_.load(std::memory_order_relaxed); }
  // Steps that failed: transient database errors (retried) and the fatal one.
  uint64_t errors() const { return errors_.load(std::memory_order_relaxed); }

 private:
  Status EnsureConnected();
  Result<size_t> ApplyBatch();
  Status FollowCheckpoint();
  // VACUUMs post_stats once vacuum_after_updates rows were rewritten.
  void VacuumIfDue();
  // Sets created_position from the log's stream index for every post of
  // `changes` with a refund and no PostCreated in the batch.
  Status FindCreations(PostChanges& changes) const;
  // Up to max_batch_events events from..to, read and decoded.
  Result<std::vector<events::Event>> ReadBatch(int64_t from, int64_t to) const;
  // Starts reading from..to on another thread.
  void Prefetch(int64_t from, int64_t to);
  // Waits for a prefetch under way and forgets it.
  void DropPrefetch();
  // The batch starting at `from`: the prefetched one if it starts there,
  // else read now.
  Result<std::vector<events::Event>> TakeBatch(int64_t from, int64_t to);
  void Run();

  const events::EventLog* const log_;
  const ProjectorOptions options_;
  std::unique_ptr<PgConnection> connection_;
  // The events after the batch being applied, read and decoded on another
  // thread while the database works on the batch (used by the next batch if
  // it starts at prefetch_from_, else dropped). Only the projector's thread
  // touches these.
  std::future<Result<std::vector<events::Event>>> prefetch_;
  int64_t prefetch_from_ = 0;
  // post_stats rows updated since its last VACUUM (projector's thread only).
  int64_t updates_since_vacuum_ = 0;

  std::atomic<int64_t> position_{-1};
  std::atomic<bool> running_{false};
  std::atomic<bool> standby_{false};
  std::atomic<uint64_t> events_applied_{0};
  std::atomic<uint64_t> errors_{0};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;   // guarded by mu_
  bool woken_ = false;  // guarded by mu_
  Status failure_;      // guarded by mu_
  Status last_error_;   // guarded by mu_
  std::thread thread_;
};

}  // namespace ledger::projections
