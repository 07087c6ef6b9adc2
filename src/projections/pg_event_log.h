#pragma once

// The event log on PostgreSQL: the second EventLog backend, for a log that
// must outlive one machine (a cluster with synchronous replication). It
// stores the same records, hash chain, idempotency records and sequencer
// state as RocksEventLog, so everything above the EventLog interface works
// on either.
//
// Tables, in their own schema (PgLogOptions::schema):
//
//   events       position (key), stream, stream_version (unique together),
//                record: the record bytes (record.h), exactly as RocksDB
//                stores them
//   head         one row: the newest event's position and hash
//   idempotency  (actor, key) → the encoded IdempotencyRecord, and its
//                recorded_at (µs) for the purge
//   state        key → value: the sequencer's durable state
//   lease        one row: the sequencer lease's epoch, holder node and URL
//   log_format   one row: the layout version of these tables
//
// Every Append is one statement, committed on its own, that moves the head
// row only from the head this instance appended last and writes the rest only
// when it did: a second writer (another node that took over, or an instance
// opened on a stale view) cannot interleave its events, and the one that
// finds the head moved is refused (kFailedPrecondition) with nothing written.
// An append whose outcome is unknown (the connection died while it ran) is
// settled by reading the head again, never by guessing.
//
// With a node id (PgLeaseOptions), an instance writes only while it holds
// the sequencer lease: a session-level advisory lock on its writer session
// plus the lease row, whose epoch AcquireLease raises and every append checks
// (locked, in the same statement as the head fence). The session's
// idle_session_timeout is the lease's length: a holder that stops talking
// to the server (a crash, a partition, a process paused by SIGSTOP) has its
// session ended by the server and its lock released, and another node takes
// the lease with a higher epoch; the paused one, when it wakes, finds its
// session gone and can append nothing. Any failed write ends the session and
// with it the lease: the holder takes it again (AcquireLease re-reads the
// head), so it never appends from a view another writer may have moved.
//
// Every statement of the writer has a client deadline (commit_timeout): past
// it the connection is shut down, never cancelled, and the outcome is read
// back as above.
//
// Idempotency records past retention are deleted in bounded rounds after an
// append (at most kIdempotencyPurgeRows per round; a round every
// kIdempotencyPurgeInterval, or after the very next append while a round
// finds a full batch), so the table stays bounded under constant load with
// unique keys, as RocksDB's compaction filter keeps its family.
//
// Durability is the server's: a commit is acknowledged after the server's
// WAL flush (synchronous_commit must not be off; Open refuses it), and, on a
// replicated cluster, after its synchronous standbys confirmed it.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "events/event_log.h"

namespace pqxx {
class result;
}  // namespace pqxx

namespace ledger::projections {

struct PgConnection;  // database.h
class ConnectionPool;
class StatementWatchdog;  // pg_event_log.cc

inline constexpr std::string_view kDefaultLogSchema = "ledger_log";
// Rows fetched per query by ScanRecords and ScanState.
inline constexpr size_t kLogScanPageRows = 4096;
// The idempotency purge: rows deleted per round, and the least time between
// rounds run by appends.
inline constexpr int64_t kIdempotencyPurgeRows = 1000;
inline constexpr std::chrono::seconds kIdempotencyPurgeInterval{10};

// The sequencer lease (see above).
struct PgLeaseOptions {
  // Empty: no lease; the instance is the log's only writer (one node, the
  // tools, tests). Otherwise the node's name in the lease row.
  std::string node_id;
  // Where the node serves, written into the lease row for the other nodes
  // (they forward writes there or name it in their answers).
  std::string node_url;
  // The holder's session ends after this long without a statement (the
  // server's idle_session_timeout), releasing the lease; KeepLease speaks
  // well within it. At least one second.
  std::chrono::milliseconds timeout{5'000};
};

// Which server a node may take the lease on (AcquireLease): the primary that
// the cluster's manager (Patroni) names, at its timeline. Zero: not checked.
struct LeaseServer {
  int64_t timeline = 0;
  int64_t port = 0;
};

// The primary's standbys: how many stream synchronously (0 without
// replicas), and the largest replay lag in bytes of WAL (-1 with no standby
// or when the log's role may not read replication positions: grant it
// pg_monitor).
struct Replication {
  int64_t sync_standbys = 0;
  int64_t max_lag_bytes = -1;
};

// The lease row as stored: epoch 0 before any node took it.
struct LeaseInfo {
  int64_t epoch = 0;
  std::string node_id;
  std::string node_url;
};

struct PgLogOptions {
  // The schema of the log's tables. REQUIRES: matches [a-z_][a-z0-9_]*.
  std::string schema = std::string(kDefaultLogSchema);
  // Tools: never creates or writes anything; a log that has no tables yet
  // reads as empty.
  bool read_only = false;
  // Connections for reads (ScanRecords, StreamPositions, FindIdempotency,
  // state reads), shared by every reading thread.
  size_t read_connections = 4;
  // Events at the head whose chain Open re-checks.
  int64_t verify_tail_events = 1024;
  // Records are deleted once `clock` is past their recorded_at by this plus
  // kIdempotencyPurgeMargin, as RocksLogOptions::idempotency_retention.
  std::chrono::seconds idempotency_retention{24 * 3600};
  // Time of the purge; null: the system clock. Must outlive the log.
  const Clock* clock = nullptr;
  // The writer's client deadline per statement (an append, a lease step):
  // past it the connection is shut down and the outcome read back. Zero: none.
  std::chrono::milliseconds commit_timeout{10'000};
  PgLeaseOptions lease;
};

class PgEventLog final : public events::EventLog {
 public:
  // Connects, creates the tables on first use (unless read_only), reads the
  // head and re-checks the chain of the newest events. kCorruption when the
  // head row and the stored events disagree or the chain is broken;
  // kFailedPrecondition for tables of another layout or a session whose
  // synchronous_commit is off; kUnavailable when the server cannot be reached.
  static Result<std::unique_ptr<PgEventLog>> Open(const std::string& conninfo,
                                                  const PgLogOptions& options = {});

  ~PgEventLog() override;
  PgEventLog(const PgEventLog&) = delete;
  PgEventLog& operator=(const PgEventLog&) = delete;

  events::LogHead Head() const override;
  Status Append(std::span<const events::EncodedEvent> events,
                std::span<const events::IdempotencyWrite> idempotency,
                std::span<const events::StateWrite> state) override;
  using EventLog::Append;
  Status ScanRecords(int64_t from, int64_t to,
                     const std::function<bool(int64_t, std::string_view)>& fn) const override;
  Status StreamPositions(int64_t stream, int64_t from_version, size_t max_count,
                         std::vector<int64_t>* positions) const override;
  Result<std::optional<events::IdempotencyRecord>> FindIdempotency(
      std::string_view actor, std::string_view key) const override;
  Status FindIdempotencies(
      std::span<const std::pair<std::string_view, std::string_view>> scopes,
      std::vector<std::optional<events::IdempotencyRecord>>* records) const override;
  Result<std::optional<std::string>> ReadState(std::string_view key) const override;
  Status ReadStates(std::span<const std::string> keys,
                    std::vector<std::optional<std::string>>* values) const override;
  Status ScanState(
      std::string_view from, std::string_view to,
      const std::function<bool(std::string_view key, std::string_view value)>& fn) const override;
  Status ClearState() override;
  Status WriteState(std::span<const events::StateWrite> writes, bool sync) override;
  Status WriteHealth() const override;
  events::LogStats Stats() const override;

  // One round of the idempotency purge now: deletes up to
  // kIdempotencyPurgeRows records past retention and returns how many. For
  // tests and operators; appends run rounds on their own.
  Result<int64_t> PurgeIdempotency();

  // A read-only instance following the service's writes (EventLog::CatchUp).
  Result<events::LogHead> CatchUp() override;

  // The lease (options.lease.node_id set). AcquireLease takes it when no
  // session holds it: true and the epoch raised, the head read again and its
  // tail re-checked; false when another node's session holds it. A holder
  // gets true at once. KeepLease speaks on the holder's session so that it
  // stays within the timeout and checks the epoch: kUnavailable once the
  // lease is lost (the session broke or another epoch is stored).
  // ReleaseLease ends the session (a clean stop: another node takes over at
  // once). lease_epoch() is the epoch held, 0 when none. ReadLease reads the
  // row, for any node.
  // `server`: the session must be on that server's timeline and port, else
  // kUnavailable and nothing taken. Without it, and always, a server that is
  // a standby or on an older timeline than one this instance wrote to
  // before (an old primary after a failover) is refused the same way.
  Result<bool> AcquireLease(const LeaseServer& server = {});
  Status KeepLease();
  void ReleaseLease();
  int64_t lease_epoch() const { return lease_epoch_.load(std::memory_order_acquire); }
  Result<LeaseInfo> ReadLease() const;
  // A logical export of the whole log as one snapshot (a read-only
  // REPEATABLE READ transaction of its own, read in pages): every record up
  // to that snapshot's head in position order, then every idempotency record
  // (actor, key, encoded record), then every state entry in key order. The
  // first error a callback returns stops the export with it. Returns the
  // exported head.
  struct ExportSink {
    std::function<Status(int64_t position, std::string_view record)> record;
    std::function<Status(std::string_view actor, std::string_view key, std::string_view record)>
        idempotency;
    std::function<Status(std::string_view key, std::string_view value)> state;
  };
  Result<events::LogHead> Export(const ExportSink& sink) const;
  // What pg_stat_replication says on the server the readers reach (the
  // primary, on a cluster).
  Result<Replication> ReadReplication() const;
  bool leased() const { return !options_.lease.node_id.empty(); }
  const std::string& node_id() const { return options_.lease.node_id; }
  const std::string& node_url() const { return node_url_; }
  // The URL the lease row advertises, when it is known only once the node
  // listens. REQUIRES: no AcquireLease runs or ran yet.
  void SetNodeUrl(std::string url) { node_url_ = std::move(url); }

 private:
  PgEventLog(std::string conninfo, PgLogOptions options);

  Status CreateTables();
  // The head row, checked against the newest stored event. Sets
  // tables_exist_: a read-only instance may find no tables yet (an empty log).
  Result<events::LogHead> ReadHead() const;
  Status VerifyTail();
  // Runs fn(nontransaction) on a pooled, read-only connection: each of fn's
  // statements sees its own snapshot.
  // A pooled connection found dead (the server restarted, a failover) is
  // dropped with the other idle ones and fn runs once more on a new one, so
  // fn must only fill its outputs after its queries succeeded.
  template <typename Fn>
  Status Read(std::string_view what, Fn&& fn) const;
  // One fixed statement (prepared, see Prepared) through Read: its rows.
  template <typename... Args>
  Status Query(std::string_view what, pqxx::result* rows, const std::string& sql,
               const Args&... args) const;
  // The writer's connection. Without a lease it is opened again when the
  // last one broke; with one, only AcquireLease opens it (a new session
  // holds no lock), and kUnavailable says the lease is not held.
  Result<PgConnection*> Writer();
  Result<PgConnection*> OpenWriter();
  // Ends the writer's session; with a lease, the lease with it (`why` is the
  // write health until it is taken again). REQUIRES: write_mu_ held.
  void DropWriter(const Status& why);
  // Settles an Append whose COMMIT had an unknown outcome by the record
  // stored at `appended`'s position: OK when it is `last_record` (the append
  // is durable), kUnavailable when there is none or another (nothing of it
  // was written: the head is still `before`, or another writer moved it),
  // kCorruption when the head went back behind `before`.
  // The writer's session on the server, to end it when its outcome is unknown.
  struct WriterSession {
    int64_t pid = 0;
    std::string started;  // backend_start, as text
  };
  // Ends `session` if the server still runs it and waits until it has exited.
  Status EndSession(const WriterSession& session) const;
  Status SettleUnknownCommit(const events::LogHead& before, const events::LogHead& appended,
                             std::string_view last_record);

  const std::string conninfo_;
  const PgLogOptions options_;
  const std::string schema_;  // quoted
  // False while a read-only instance finds no tables (nothing created yet).
  mutable std::atomic<bool> tables_exist_{true};
  std::unique_ptr<ConnectionPool> readers_;

  mutable std::mutex head_mu_;
  events::LogHead head_;  // guarded by head_mu_
  Status write_health_;   // guarded by head_mu_

  // A purge round on the writer's connection. REQUIRES: write_mu_ held.
  Result<int64_t> PurgeRound();

  std::mutex write_mu_;                   // one Append, ClearState or WriteState at a time
  std::unique_ptr<PgConnection> writer_;  // guarded by write_mu_
  WriterSession writer_session_;          // guarded by write_mu_
  SystemClock system_clock_;
  const Clock* clock_ = &system_clock_;
  Timestamp last_purge_{};  // guarded by write_mu_
  std::atomic<uint64_t> purged_{0};
  std::atomic<int64_t> lease_epoch_{0};
  int64_t newest_timeline_ = 0;  // guarded by write_mu_: the highest one taken on
  std::string node_url_;         // options_.lease.node_url until SetNodeUrl
  std::chrono::steady_clock::time_point last_spoke_{};  // guarded by write_mu_
  std::unique_ptr<StatementWatchdog> watchdog_;
};

}  // namespace ledger::projections
