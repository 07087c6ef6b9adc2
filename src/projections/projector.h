#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/result.h"
#include "events/event_log.h"
#include "projections/database.h"

namespace ledger::projections {

struct ProjectorOptions {
  std::string conninfo;
  std::string schema{kReadSchema};
  // The checkpoint row this projector owns.
  std::string name = "read_model";
  // Events applied per transaction at most.
  size_t max_batch_events = 10'000;
  // When caught up, look for new events this often (Wake() is sooner).
  std::chrono::milliseconds poll_interval{100};
  // While PostgreSQL is unavailable: wait retry_initial, doubling up to
  // retry_max, between attempts.
  std::chrono::milliseconds retry_initial{50};
  std::chrono::milliseconds retry_max{5'000};
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

  // The checkpoint position after the last committed batch (-1 before the
  // first look at the database).
  int64_t position() const { return position_.load(std::memory_order_acquire); }
  // The fatal error that stopped the projector, or OK.
  Status failure() const;
  // The last transient error (database down), or OK after a success.
  Status last_error() const;
  bool running() const { return running_.load(); }

 private:
  Status EnsureConnected();
  Result<size_t> ApplyBatch();
  void Run();

  const events::EventLog* const log_;
  const ProjectorOptions options_;
  std::unique_ptr<pqxx::connection> connection_;

  std::atomic<int64_t> position_{-1};
  std::atomic<bool> running_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;   // guarded by mu_
  bool woken_ = false;  // guarded by mu_
  Status failure_;      // guarded by mu_
  Status last_error_;   // guarded by mu_
  std::thread thread_;
};

}  // namespace ledger::projections
