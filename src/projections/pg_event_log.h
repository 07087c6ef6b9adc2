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
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "events/event_log.h"

namespace ledger::projections {

struct PgConnection;  // database.h
class ConnectionPool;

inline constexpr std::string_view kDefaultLogSchema = "ledger_log";
// Rows fetched per query by ScanRecords and ScanState.
inline constexpr size_t kLogScanPageRows = 4096;
// The idempotency purge: rows deleted per round, and the least time between
// rounds run by appends.
inline constexpr int64_t kIdempotencyPurgeRows = 1000;
inline constexpr std::chrono::seconds kIdempotencyPurgeInterval{10};

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
  Result<std::optional<std::string>> ReadState(std::string_view key) const override;
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
  // The writer's connection, opened again when the last one broke.
  Result<PgConnection*> Writer();
  // Settles an Append whose COMMIT had an unknown outcome: OK when the head
  // in the database is `appended`, kUnavailable (nothing written) when it is
  // still `before`, kCorruption otherwise.
  Status SettleUnknownCommit(const events::LogHead& before, const events::LogHead& appended);

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
  SystemClock system_clock_;
  const Clock* clock_ = &system_clock_;
  Timestamp last_purge_{};  // guarded by write_mu_
  std::atomic<uint64_t> purged_{0};
};

}  // namespace ledger::projections
