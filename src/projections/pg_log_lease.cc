// PgEventLog's sequencer lease: taking it on the writer's session (on the
// expected primary), keeping it, giving it up, and reading who holds it.
#include <chrono>
#include <string>

#include <pqxx/pqxx>

#include "projections/pg_event_log.h"
#include "projections/pg_log_internal.h"

namespace ledger::projections {
namespace {

// pg_try_advisory_lock key class of the sequencer lease (session level).
constexpr int kLeaseLockClass = 0x4c5345;  // "LSE"
// KeepLease speaks when the session was silent for this part of the lease.
constexpr int kLeaseKeepDivisor = 3;

}  // namespace

Result<bool> PgEventLog::AcquireLease(const LeaseServer& server) {
  if (!leased()) return Status::FailedPrecondition("the log was opened without a node id");
  if (options_.read_only) return Status::FailedPrecondition("the log was opened read-only");
  std::lock_guard write_lock(write_mu_);
  if (lease_epoch() != 0 && writer_ != nullptr && writer_->is_open()) return true;
  DropWriter(Status::Unavailable("taking the lease again"));
  LEDGER_ASSIGN_OR_RETURN(PgConnection * writer, OpenWriter());
  bool taken = false;
  int64_t epoch = 0;
  events::LogHead head;
  const Status status = Guard("taking the sequencer lease", [&]() -> Status {
    const Deadline deadline(watchdog_.get(), *writer, options_.commit_timeout);
    pqxx::nontransaction tx(*writer);
    // Only a primary, on the timeline and port expected of it: the current
    // timeline is the first eight hex digits of the current WAL file's name.
    const pqxx::row where = tx.exec1(
        "SELECT pg_is_in_recovery(), coalesce(inet_server_port(), 0), CASE WHEN "
        "pg_is_in_recovery() THEN 0 ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), "
        "1, 8))::bit(32)::int END");
    const int64_t timeline = where[2].as<int64_t>();
    const int64_t port = where[1].as<int64_t>();
    if (where[0].as<bool>()) return Status::Unavailable("the server is a standby");
    if (timeline < newest_timeline_) {
      return Status::Unavailable("the server is on timeline " + std::to_string(timeline) +
                                 ", older than timeline " + std::to_string(newest_timeline_) +
                                 " this node wrote to: an old primary");
    }
    if (server.timeline != 0 && timeline != server.timeline) {
      return Status::Unavailable("the server is on timeline " + std::to_string(timeline) +
                                 ", the cluster's primary on timeline " +
                                 std::to_string(server.timeline));
    }
    if (server.port != 0 && port != 0 && port != server.port) {
      return Status::Unavailable("the server listens on port " + std::to_string(port) +
                                 ", the cluster's primary on port " + std::to_string(server.port));
    }
    newest_timeline_ = timeline;
    // The lease's length: the server ends this session (and releases its
    // lock) once it has been silent this long.
    tx.exec0("SET idle_session_timeout = " + std::to_string(options_.lease.timeout.count()));
    taken = tx.exec_params1("SELECT pg_try_advisory_lock($1, hashtext($2))", kLeaseLockClass,
                            options_.schema)[0]
                .as<bool>();
    if (!taken) return Status::Ok();
    // Committed (and, on a synchronous cluster, replicated) before this node
    // appends: every append of an earlier holder is refused from now on.
    epoch = tx.exec_params1("UPDATE " + schema_ +
                                ".lease SET epoch = epoch + 1, node = $1, url = $2, "
                                "acquired_at = now() RETURNING epoch",
                            options_.lease.node_id, node_url_)[0]
                .as<int64_t>();
    LEDGER_ASSIGN_OR_RETURN(head, HeadIn(tx, schema_));
    return Status::Ok();
  });
  if (!status.ok() || !taken) {
    writer_.reset();
    LEDGER_RETURN_IF_ERROR(status);
    return false;
  }
  last_spoke_ = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(head_mu_);
    head_ = head;
  }
  if (const Status tail = VerifyTail(); !tail.ok()) {
    writer_.reset();
    return tail;
  }
  lease_epoch_.store(epoch, std::memory_order_release);
  std::lock_guard lock(head_mu_);
  write_health_ = Status::Ok();
  return true;
}

Status PgEventLog::KeepLease() {
  if (!leased()) return Status::FailedPrecondition("the log was opened without a node id");
  std::lock_guard write_lock(write_mu_);
  LEDGER_ASSIGN_OR_RETURN(PgConnection * writer, Writer());
  const auto now = std::chrono::steady_clock::now();
  if (now - last_spoke_ < options_.lease.timeout / kLeaseKeepDivisor) return Status::Ok();
  const int64_t held = lease_epoch();
  int64_t stored = 0;
  Status status = Guard("keeping the sequencer lease", [&]() -> Status {
    const Deadline deadline(watchdog_.get(), *writer, options_.commit_timeout);
    pqxx::nontransaction tx(*writer);
    stored = tx.exec("SELECT epoch FROM " + schema_ + ".lease")[0][0].as<int64_t>();
    return Status::Ok();
  });
  if (status.ok() && stored != held) {
    status = Status::Unavailable("the lease is at epoch " + std::to_string(stored) +
                                 ", not this node's " + std::to_string(held));
  }
  if (!status.ok()) {
    DropWriter(status);
    return Status::Unavailable("the sequencer lease was lost: " + status.message());
  }
  last_spoke_ = now;
  return Status::Ok();
}

void PgEventLog::ReleaseLease() {
  std::lock_guard write_lock(write_mu_);
  if (leased()) DropWriter(Status::Unavailable("the lease was released"));
}

Result<LeaseInfo> PgEventLog::ReadLease() const {
  LeaseInfo info;
  if (!tables_exist_) return info;
  LEDGER_RETURN_IF_ERROR(
      Read("reading the sequencer lease", [&](pqxx::nontransaction& tx) -> Status {
        const pqxx::result rows = tx.exec("SELECT epoch, node, url FROM " + schema_ + ".lease");
        if (!rows.empty()) {
          info.epoch = rows[0][0].as<int64_t>();
          info.node_id = rows[0][1].as<std::string>();
          info.node_url = rows[0][2].as<std::string>();
        }
        return Status::Ok();
      }));
  return info;
}

}  // namespace ledger::projections
