#include "projections/projector.h"

#include <algorithm>
#include <span>

#include <pqxx/pqxx>
#include <pthread.h>

#include "common/check.h"
#include "common/log.h"
#include "projections/batch_changes.h"
#include "projections/checkpoint.h"
#include "projections/database.h"
#include "projections/migrations.h"
#include "projections/read_table_writer.h"

namespace ledger::projections {
namespace {

// Where `batch` leaves the chain that ends at `checkpoint`.
// Errors: kCorruption when the batch is empty (a hole in the log) or an
// event does not follow the one before it.
Result<events::LogHead> FollowChain(const events::LogHead& checkpoint,
                                    std::span<const events::Event> batch) {
  events::LogHead last = checkpoint;
  for (const events::Event& e : batch) {
    LEDGER_RETURN_IF_ERROR(events::CheckFollows(last, e));
    last = {e.position, e.hash};
  }
  if (batch.empty()) {
    return Status::Corruption("hole in the log: position " +
                              std::to_string(checkpoint.position + 1) + " is missing");
  }
  return last;
}

}  // namespace

Projector::Projector(const events::EventLog* log, ProjectorOptions options)
    : log_(log), options_(std::move(options)) {
  LEDGER_CHECK(options_.max_batch_events > 0, "a projector batch holds at least one event");
}

Projector::~Projector() {
  Stop();
  DropPrefetch();
}

Status Projector::failure() const {
  std::lock_guard lock(mu_);
  return failure_;
}

Status Projector::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

Status Projector::EnsureConnected() {
  if (connection_ && connection_->is_open()) return Status::Ok();
  connection_.reset();
  LEDGER_ASSIGN_OR_RETURN(auto connection, Connect(options_.conninfo));
  LEDGER_RETURN_IF_ERROR(ApplyMigrations(*connection, options_.schema));
  // Every transaction of this session carries its own checkpoint: one that a
  // crash loses is simply applied again, so none waits for the WAL flush (or,
  // on a replicated cluster, for a standby's). That includes the transactions
  // that only look at the checkpoint and lock it, which would otherwise wait
  // a flush each time the projector finds nothing new.
  LEDGER_RETURN_IF_ERROR(Guard("setting the projector's session", [&]() -> Status {
    pqxx::nontransaction session(*connection);
    session.exec0("SET synchronous_commit TO off");
    if (options_.idle_in_transaction_timeout.count() > 0) {
      session.exec0("SET idle_in_transaction_session_timeout = " +
                    std::to_string(options_.idle_in_transaction_timeout.count()));
    }
    return Status::Ok();
  }));
  connection_ = std::move(connection);
  return Status::Ok();
}

Result<size_t> Projector::Step() {
  {
    std::lock_guard lock(mu_);
    if (!failure_.ok()) return failure_;
  }
  Result<size_t> applied = Status::Unavailable("not run");
  const Status connected = EnsureConnected();
  if (connected.ok()) {
    applied = ApplyBatch();
    if (applied.ok()) VacuumIfDue();
  } else {
    applied = connected;
  }
  std::lock_guard lock(mu_);
  if (applied.ok()) {
    events_applied_.fetch_add(*applied, std::memory_order_relaxed);
    if (!last_error_.ok()) {
      LEDGER_LOG(LogLevel::kInfo, "projector", "database reachable again")
          .Str("projector", options_.name)
          .Int("position", position());
    }
    last_error_ = Status::Ok();
  } else if (applied.status().code() == Status::Code::kCorruption) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    failure_ = applied.status();
    LEDGER_LOG(LogLevel::kError, "projector", "stopped")
        .Str("projector", options_.name)
        .Str("error", failure_.ToString());
  } else {
    // The connection may be broken or mid-transaction: start afresh next time.
    connection_.reset();
    errors_.fetch_add(1, std::memory_order_relaxed);
    // Once per outage, not once per retry.
    if (last_error_.ok()) {
      LEDGER_LOG(LogLevel::kWarn, "projector", "database unavailable; retrying with backoff")
          .Str("projector", options_.name)
          .Str("error", applied.status().ToString());
    }
    last_error_ = applied.status();
  }
  return applied;
}

void Projector::VacuumIfDue() {
  if (updates_since_vacuum_ < options_.vacuum_after_updates) return;
  updates_since_vacuum_ = 0;
  // Outside any transaction (VACUUM cannot run in one). Housekeeping only: a
  // failure is logged and the next batch finds out about the connection.
  const Status vacuumed = Guard("vacuuming post_stats", [&]() -> Status {
    pqxx::nontransaction(*connection_)
        .exec0("VACUUM " + QuoteIdentifier(options_.schema) + ".post_stats");
    return Status::Ok();
  });
  if (!vacuumed.ok()) {
    LEDGER_LOG(LogLevel::kWarn, "projector", "vacuum failed")
        .Str("projector", options_.name)
        .Str("error", vacuumed.ToString());
  }
}

Status Projector::FindCreations(PostChanges& changes) const {
  std::vector<int64_t> positions;
  for (auto& [id, change] : changes) {
    if (change.created_position != 0 || !HasRefund(change)) continue;
    positions.clear();
    LEDGER_RETURN_IF_ERROR(log_->StreamPositions(id, 1, 1, &positions));
    if (positions.empty()) {
      return Status::Corruption("post " + std::to_string(id) +
                                " has a refund but no PostCreated in the log");
    }
    change.created_position = positions.front();
  }
  return Status::Ok();
}

Result<std::vector<events::Event>> Projector::ReadBatch(int64_t from, int64_t to) const {
  std::vector<events::Event> batch;
  LEDGER_RETURN_IF_ERROR(events::ReadEvents(*log_, from, to, options_.max_batch_events,
                                            options_.max_batch_bytes, &batch));
  return batch;
}

void Projector::Prefetch(int64_t from, int64_t to) {
  DropPrefetch();
  prefetch_from_ = from;
  prefetch_ = std::async(std::launch::async, [this, from, to] { return ReadBatch(from, to); });
}

void Projector::DropPrefetch() {
  if (prefetch_.valid()) (void)prefetch_.get();
}

Result<std::vector<events::Event>> Projector::TakeBatch(int64_t from, int64_t to) {
  if (prefetch_.valid() && prefetch_from_ == from) {
    Result<std::vector<events::Event>> prefetched = prefetch_.get();
    // A failed read is done again now rather than reported from the past.
    if (prefetched.ok() && !prefetched->empty()) return prefetched;
  }
  DropPrefetch();
  return ReadBatch(from, to);
}

// A standby follows the checkpoint another node's projector moves, for its
// readers' X-Min-Position waits and /readyz. It never locks the row nor
// checks it against this node's head, which may lag behind that projector's.
Status Projector::FollowCheckpoint() {
  return Guard("reading the projector's checkpoint", [&]() -> Status {
    pqxx::read_transaction tx(*connection_);
    const std::optional<StoredCheckpoint> stored =
        ReadCheckpoint(tx, options_.schema, options_.name);
    if (!stored) return Status::Ok();  // no projector ran yet
    const int64_t known = position_.exchange(stored->position, std::memory_order_acq_rel);
    if (known != stored->position && options_.on_committed) {
      options_.on_committed(stored->position);
    }
    return Status::Ok();
  });
}

Result<size_t> Projector::ApplyBatch() {
  if (standby_.load(std::memory_order_acquire)) {
    LEDGER_RETURN_IF_ERROR(FollowCheckpoint());
    return 0;
  }
  size_t applied = 0;
  // An error returned from inside leaves without commit(): the transaction
  // is rolled back and Guard hands the error on as it is.
  const Status status = Guard("projecting events", [&]() -> Status {
    pqxx::work tx(*connection_);
    const StoredCheckpoint stored = LockCheckpoint(tx, options_.schema, options_.name);
    const int64_t known = position_.exchange(stored.position, std::memory_order_acq_rel);
    const events::LogHead head = log_->Head();
    if (options_.shared_checkpoint && stored.position > head.position) {
      return Status::Unavailable("checkpoint " + std::to_string(stored.position) +
                                 " is past this node's view of the log (" +
                                 std::to_string(head.position) +
                                 "): another node projects; waiting for this one to catch up "
                                 "or stand by");
    }
    LEDGER_ASSIGN_OR_RETURN(const events::LogHead checkpoint,
                            CheckAgainstHead(stored, head, options_.name));
    // The first checkpoint read after a start (or one another projector of
    // this name moved): readers waiting for it must hear of it even when
    // there is nothing to apply, or a read of a position the tables already
    // hold would wait out its bound after every restart.
    if (known != checkpoint.position && options_.on_committed) {
      options_.on_committed(checkpoint.position);
    }
    if (checkpoint.position == head.position) {
      // Nothing to apply; the genesis row LockCheckpoint inserted (a first
      // start) is kept, so that verify finds the checkpoint of an empty log.
      tx.commit();
      return Status::Ok();
    }

    LEDGER_ASSIGN_OR_RETURN(const std::vector<events::Event> batch,
                            TakeBatch(checkpoint.position + 1, head.position));
    LEDGER_ASSIGN_OR_RETURN(const events::LogHead last, FollowChain(checkpoint, batch));

    // What follows this batch is read while the statements below run.
    if (last.position < head.position) Prefetch(last.position + 1, head.position);

    LEDGER_ASSIGN_OR_RETURN(PostChanges changes, CoalesceBatch(batch));
    LEDGER_RETURN_IF_ERROR(FindCreations(changes));
    LEDGER_ASSIGN_OR_RETURN(
        const int64_t rewritten,
        WriteChanges(tx, options_.schema, changes, checkpoint.position + 1, last.position));
    updates_since_vacuum_ += rewritten;
    WriteCheckpoint(tx, options_.schema, options_.name, last);
    if (options_.before_commit_for_testing) options_.before_commit_for_testing();
    tx.commit();
    applied = batch.size();
    position_.store(last.position, std::memory_order_release);
    if (options_.on_committed) options_.on_committed(last.position);
    return Status::Ok();
  });
  LEDGER_RETURN_IF_ERROR(status);
  return applied;
}

void Projector::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  running_ = true;
  thread_ = std::thread([this] { Run(); });
}

void Projector::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  running_ = false;
}

void Projector::Wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void Projector::Run() {
  pthread_setname_np(pthread_self(), "projector");
  std::chrono::milliseconds backoff = options_.retry_initial;
  while (true) {
    const Result<size_t> step = Step();
    std::chrono::milliseconds pause{0};
    if (step.ok()) {
      backoff = options_.retry_initial;
      if (*step == 0) pause = options_.poll_interval;  // caught up
    } else if (step.status().code() == Status::Code::kCorruption) {
      break;  // failed: reported by Step, never skipped
    } else {
      pause = backoff;  // database unavailable: back off, then reconnect
      backoff = std::min(backoff * 2, options_.retry_max);
    }
    std::unique_lock lock(mu_);
    if (pause.count() > 0) {
      cv_.wait_for(lock, pause, [this] { return stop_ || woken_; });
    }
    woken_ = false;
    if (stop_) break;
  }
  running_ = false;
}

}  // namespace ledger::projections
