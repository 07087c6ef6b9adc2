#include "projections/pg_event_log.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <span>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

#include "common/check.h"
#include "projections/array_literal.h"
#include "projections/pg_log_internal.h"

namespace ledger::projections {
namespace {

// The layout of the tables below; Open refuses any other.
constexpr int kLogFormat = 1;
// pg_advisory_xact_lock key class of the table creation, so that nodes
// starting together do not race on CREATE ... IF NOT EXISTS.
constexpr int kCreateLockClass = 0x4c4f47;  // "LOG"

// A batch of state writes as array parameters: the batch's last write of
// each key, split into puts and deletions (one statement may touch a row
// only once).
struct StateArrays {
  explicit StateArrays(std::span<const events::StateWrite> writes) {
    std::map<std::string_view, const std::optional<std::string>*> last;
    for (const events::StateWrite& w : writes) last[w.key] = &w.value;
    for (const auto& [key, value] : last) {
      if (value->has_value()) {
        put_keys.Add(ByteaText(key));
        put_values.Add(ByteaText(**value));
      } else {
        deleted_keys.Add(ByteaText(key));
      }
    }
  }
  ArrayLiteral put_keys, put_values, deleted_keys;
};

}  // namespace

PgEventLog::PgEventLog(std::string conninfo, PgLogOptions options)
    : conninfo_(std::move(conninfo)),
      options_(std::move(options)),
      schema_(QuoteIdentifier(options_.schema)),
      node_url_(options_.lease.node_url) {
  if (options_.clock != nullptr) clock_ = options_.clock;
  last_purge_ = clock_->Now();
  ConnectionPoolOptions pool;
  pool.conninfo = conninfo_;
  pool.max_connections = std::max<size_t>(options_.read_connections, 1);
  pool.read_only = true;
  readers_ = std::make_unique<ConnectionPool>(std::move(pool));
  if (!options_.read_only && options_.commit_timeout.count() > 0) {
    watchdog_ = std::make_unique<StatementWatchdog>();
  }
}

PgEventLog::~PgEventLog() = default;

Result<std::unique_ptr<PgEventLog>> PgEventLog::Open(const std::string& conninfo,
                                                     const PgLogOptions& options) {
  std::unique_ptr<PgEventLog> log(new PgEventLog(conninfo, options));
  if (options.lease.timeout < std::chrono::seconds(1)) {
    return Status::InvalidArgument("the lease timeout must be at least one second");
  }
  if (!options.read_only) {
    std::lock_guard write_lock(log->write_mu_);
    LEDGER_RETURN_IF_ERROR(log->OpenWriter().status());
    LEDGER_RETURN_IF_ERROR(log->CreateTables());
    // A session that holds no lease writes nothing: AcquireLease opens its own.
    if (log->leased()) log->writer_.reset();
  }
  LEDGER_ASSIGN_OR_RETURN(const events::LogHead head, log->ReadHead());
  {
    std::lock_guard lock(log->head_mu_);
    log->head_ = head;
  }
  LEDGER_RETURN_IF_ERROR(log->VerifyTail());
  return log;
}

Result<PgConnection*> PgEventLog::Writer() {
  if (leased()) {
    if (lease_epoch() == 0 || writer_ == nullptr || !writer_->is_open()) {
      return Status::Unavailable("node " + options_.lease.node_id +
                                 " does not hold the sequencer lease");
    }
    return writer_.get();
  }
  if (writer_ != nullptr && writer_->is_open()) return writer_.get();
  return OpenWriter();
}

void PgEventLog::DropWriter(const Status& why) {
  writer_.reset();
  if (!leased()) return;
  lease_epoch_.store(0, std::memory_order_release);
  std::lock_guard lock(head_mu_);
  write_health_ = Status::Unavailable("the sequencer lease was lost: " + why.message());
}

Result<PgConnection*> PgEventLog::OpenWriter() {
  writer_.reset();
  LEDGER_ASSIGN_OR_RETURN(writer_, Connect(WithConnectTimeout(conninfo_, kDefaultConnectTimeout)));
  LEDGER_RETURN_IF_ERROR(Guard("checking the log's session", [&]() -> Status {
    pqxx::nontransaction tx(*writer_);
    const pqxx::row row = tx.exec1(
        "SELECT current_setting('synchronous_commit'), pid, backend_start::text "
        "FROM pg_stat_activity WHERE pid = pg_backend_pid()");
    writer_session_ = {row[1].as<int64_t>(), row[2].as<std::string>()};
    const auto commit = row[0].as<std::string>();
    // "local" and "remote_write" acknowledge before a synchronous standby
    // has the commit on disk: a failover could lose it.
    if (commit == "off" || commit == "local" || commit == "remote_write") {
      return Status::FailedPrecondition(
          "the log's PostgreSQL session has synchronous_commit = " + commit +
          ": an append would be acknowledged before it is durable (on a cluster: on every "
          "synchronous standby); it must be on or remote_apply");
    }
    return Status::Ok();
  }));
  return writer_.get();
}

Status PgEventLog::CreateTables() {
  return Guard("creating the log's tables in schema " + options_.schema, [&]() -> Status {
    pqxx::work tx(*writer_);
    tx.exec_params("SELECT pg_advisory_xact_lock($1, hashtext($2))", kCreateLockClass,
                   options_.schema);
    tx.exec0("CREATE SCHEMA IF NOT EXISTS " + schema_);
    tx.exec0("CREATE TABLE IF NOT EXISTS " + schema_ +
             ".log_format (one boolean PRIMARY KEY DEFAULT true CHECK (one), "
             "version integer NOT NULL)");
    tx.exec0("CREATE TABLE IF NOT EXISTS " + schema_ +
             ".events (position bigint PRIMARY KEY CHECK (position > 0), "
             "stream bigint NOT NULL, stream_version bigint NOT NULL, record bytea NOT NULL, "
             "UNIQUE (stream, stream_version))");
    tx.exec0("CREATE TABLE IF NOT EXISTS " + schema_ +
             ".head (one boolean PRIMARY KEY DEFAULT true CHECK (one), "
             "position bigint NOT NULL, hash bytea NOT NULL)");
    tx.exec0("CREATE TABLE IF NOT EXISTS " + schema_ +
             ".idempotency (actor bytea NOT NULL, key bytea NOT NULL, record bytea NOT NULL, "
             "recorded_at bigint NOT NULL, PRIMARY KEY (actor, key))");
    tx.exec0("CREATE INDEX IF NOT EXISTS idempotency_recorded_at ON " + schema_ +
             ".idempotency (recorded_at)");
    tx.exec0("CREATE TABLE IF NOT EXISTS " + schema_ +
             ".state (key bytea PRIMARY KEY, value bytea NOT NULL)");
    tx.exec0("CREATE TABLE IF NOT EXISTS " + schema_ +
             ".lease (one boolean PRIMARY KEY DEFAULT true CHECK (one), epoch bigint NOT NULL, "
             "node text NOT NULL, url text NOT NULL, acquired_at timestamptz)");
    tx.exec0("INSERT INTO " + schema_ +
             ".lease (epoch, node, url) VALUES (0, '', '') ON CONFLICT (one) DO NOTHING");
    tx.exec_params("INSERT INTO " + schema_ + ".log_format (version) VALUES ($1) " +
                       "ON CONFLICT (one) DO NOTHING",
                   kLogFormat);
    tx.exec_params(
        "INSERT INTO " + schema_ + ".head (position, hash) VALUES (0, $1) " +
            "ON CONFLICT (one) DO NOTHING",
        Bytes(std::string_view(reinterpret_cast<const char*>(events::kGenesisHash.data()),
                               events::kGenesisHash.size())));
    const int version = tx.exec1("SELECT version FROM " + schema_ + ".log_format")[0].as<int>();
    if (version != kLogFormat) {
      return Status::FailedPrecondition("the log's tables in schema " + options_.schema +
                                        " have layout " + std::to_string(version) +
                                        "; this binary reads layout " + std::to_string(kLogFormat));
    }
    tx.commit();
    return Status::Ok();
  });
}

Result<events::LogHead> PgEventLog::ReadHead() const {
  events::LogHead head;
  bool exists = true;
  LEDGER_RETURN_IF_ERROR(Read("reading the log head", [&](pqxx::nontransaction& tx) -> Status {
    exists = !tx.exec_params(
                    "SELECT 1 FROM pg_namespace n JOIN pg_class c "
                    "ON c.relnamespace = n.oid WHERE n.nspname = $1 AND c.relname = 'head'",
                    options_.schema)
                  .empty();
    if (!exists) return Status::Ok();
    LEDGER_ASSIGN_OR_RETURN(head, HeadIn(tx, schema_));
    return Status::Ok();
  }));
  tables_exist_.store(exists);
  // Read-only before anyone created the tables: an empty log.
  if (!exists) return events::LogHead{};
  return head;
}

Status PgEventLog::VerifyTail() {
  const events::LogHead head = Head();
  if (head.position == 0) return Status::Ok();
  const int64_t from = std::max<int64_t>(1, head.position - options_.verify_tail_events + 1);
  LEDGER_ASSIGN_OR_RETURN(const events::ChainCheck check,
                          events::VerifyLogChain(*this, from, head.position));
  if (!check.ok) {
    return Status::Corruption("hash chain broken at position " +
                              std::to_string(check.first_bad_position) + ": " + check.problem);
  }
  if (check.last_hash != head.hash) {
    return Status::Corruption("the head row's hash is not the hash of the event at position " +
                              std::to_string(head.position));
  }
  return Status::Ok();
}

events::LogHead PgEventLog::Head() const {
  std::lock_guard lock(head_mu_);
  return head_;
}

Status PgEventLog::WriteHealth() const {
  std::lock_guard lock(head_mu_);
  return write_health_;
}

Status PgEventLog::Append(std::span<const events::EncodedEvent> events,
                          std::span<const events::IdempotencyWrite> idempotency,
                          std::span<const events::StateWrite> state) {
  if (options_.read_only) return Status::FailedPrecondition("the log was opened read-only");
  std::lock_guard write_lock(write_mu_);
  const events::LogHead before = Head();
  events::LogHead after = before;
  for (const events::EncodedEvent& e : events) {
    LEDGER_CHECK(e.position == after.position + 1, "appended events must be gapless");
    LEDGER_CHECK(e.prev_hash == after.hash, "appended events must continue the chain");
    after = events::LogHead{e.position, e.hash};
  }

  ArrayLiteral positions, streams, versions, records;
  for (const events::EncodedEvent& e : events) {
    positions.Add(e.position);
    streams.Add(e.stream);
    versions.Add(e.stream_version);
    records.Add(ByteaText(e.record));
  }
  // One row per key, the batch's last write of it: an upsert may touch a row
  // only once per statement.
  std::map<std::pair<std::string_view, std::string_view>, const events::IdempotencyWrite*>
      idempotency_last;
  for (const events::IdempotencyWrite& w : idempotency) {
    idempotency_last[{w.actor, w.key}] = &w;
  }
  ArrayLiteral actors, keys, outcomes, recorded;
  for (const auto& [scope, w] : idempotency_last) {
    actors.Add(ByteaText(w->actor));
    keys.Add(ByteaText(w->key));
    outcomes.Add(ByteaText(events::EncodeIdempotencyRecord(w->record)));
    recorded.Add(static_cast<int64_t>(w->record.recorded_at.time_since_epoch().count()));
  }
  const StateArrays state_arrays(state);

  LEDGER_ASSIGN_OR_RETURN(PgConnection * writer, Writer());
  const auto hash_bytes = [](const events::Hash& hash) {
    return Bytes(std::string_view(reinterpret_cast<const char*>(hash.data()), hash.size()));
  };
  // One statement, committed on its own: a single round trip per append.
  // `fence` moves the head only from where this writer left it (a second
  // writer's UPDATE waits for the row, then finds it moved and matches
  // nothing); everything else is written only when it did.
  // With a lease, the fence also needs the lease row at this holder's epoch,
  // locked (FOR SHARE) so that an epoch raised meanwhile is waited for and
  // seen rather than missed by this statement's snapshot.
  const int64_t epoch = lease_epoch();
  const std::string lease_check =
      leased() ? " AND EXISTS (SELECT 1 FROM " + schema_ + ".lease WHERE epoch = $16 FOR SHARE)"
               : std::string(" AND $16::bigint IS NOT NULL");
  const std::string sql =
      "WITH fence AS (UPDATE " + schema_ +
      ".head SET position = $1, hash = $2 WHERE position = $3 AND hash = $4" + lease_check +
      " RETURNING 1), "
      "new_events AS (INSERT INTO " +
      schema_ +
      ".events (position, stream, stream_version, record) "
      "SELECT * FROM unnest($5::bigint[], $6::bigint[], $7::bigint[], $8::bytea[]) "
      "WHERE EXISTS (SELECT 1 FROM fence)), "
      "new_outcomes AS (INSERT INTO " +
      schema_ +
      ".idempotency (actor, key, record, recorded_at) "
      "SELECT * FROM unnest($9::bytea[], $10::bytea[], $11::bytea[], $12::bigint[]) "
      "WHERE EXISTS (SELECT 1 FROM fence) "
      "ON CONFLICT (actor, key) DO UPDATE SET record = excluded.record, "
      "recorded_at = excluded.recorded_at), "
      "deleted_state AS (DELETE FROM " +
      schema_ +
      ".state WHERE key = ANY($13::bytea[]) AND EXISTS (SELECT 1 FROM fence)), "
      "new_state AS (INSERT INTO " +
      schema_ +
      ".state (key, value) SELECT * FROM unnest($14::bytea[], $15::bytea[]) "
      "WHERE EXISTS (SELECT 1 FROM fence) "
      "ON CONFLICT (key) DO UPDATE SET value = excluded.value) "
      "SELECT count(*) FROM fence";
  const std::string_view last_record = events.empty() ? std::string_view() : events.back().record;
  Status status = Status::Ok();
  try {
    const Deadline deadline(watchdog_.get(), *writer, options_.commit_timeout);
    pqxx::nontransaction tx(*writer);
    const int64_t moved =
        tx.exec_prepared1(Prepared(tx, sql), after.position, hash_bytes(after.hash),
                          before.position, hash_bytes(before.hash), positions.Finish(),
                          streams.Finish(), versions.Finish(), records.Finish(), actors.Finish(),
                          keys.Finish(), outcomes.Finish(), recorded.Finish(),
                          state_arrays.deleted_keys.Finish(), state_arrays.put_keys.Finish(),
                          state_arrays.put_values.Finish(), epoch)[0]
            .as<int64_t>();
    last_spoke_ = std::chrono::steady_clock::now();
    if (moved != 1) {
      status = Status::FailedPrecondition(
          leased() ? "the log head in PostgreSQL is no longer at " + Describe(before) +
                         " or the sequencer lease is no longer at epoch " + std::to_string(epoch) +
                         ": another node took over; nothing was written"
                   : "the log head in PostgreSQL is no longer at " + Describe(before) +
                         " where this writer left it: another writer appended; nothing was "
                         "written");
    }
  } catch (const pqxx::broken_connection&) {
    // The statement may or may not have committed.
    status = SettleUnknownCommit(before, after, last_record);
  } catch (const pqxx::in_doubt_error&) {
    status = SettleUnknownCommit(before, after, last_record);
  } catch (const pqxx::sql_error& e) {
    // A session ended by the server (class 57: shut down, terminated) or a
    // connection error (class 08) leaves the outcome to be read back; any
    // other error failed the statement, which rolled back.
    const std::string& sqlstate = e.sqlstate();
    status = sqlstate.rfind("57", 0) == 0 || sqlstate.rfind("08", 0) == 0
                 ? SettleUnknownCommit(before, after, last_record)
                 : Status::Unavailable(std::string("appending to the log: ") + e.what());
  } catch (const std::exception& e) {
    status = Status::Unavailable(std::string("appending to the log: ") + e.what());
  }
  // After a failure the session's state is unknown: the next write opens a
  // new one (with a lease, only once the lease is taken again, which reads
  // the head afresh).
  // A settled outcome ended the session too.
  if (!status.ok() || writer_ == nullptr) {
    DropWriter(status.ok() ? Status::Unavailable("the connection broke during an append that "
                                                 "committed")
                           : status);
  }
  // A purge round when one is due; its failure leaves the records for the
  // next round and does not touch the append's answer.
  // A round that found a full batch of expired records leaves more for the
  // next append at once, so the purge keeps pace with any rate of expiry
  // below kIdempotencyPurgeRows per append.
  if (status.ok() && writer_ != nullptr &&
      clock_->Now() - last_purge_ >= kIdempotencyPurgeInterval) {
    const Result<int64_t> purged = PurgeRound();
    if (!purged.ok()) DropWriter(purged.status());
    const bool more = purged.ok() && *purged == kIdempotencyPurgeRows;
    last_purge_ = more ? Timestamp{} : clock_->Now();
  }
  std::lock_guard lock(head_mu_);
  if (status.ok()) {
    head_ = after;
    // A purge that failed above dropped the lease: the health says so.
    if (!leased() || lease_epoch() != 0) write_health_ = Status::Ok();
  } else {
    write_health_ = Status::Unavailable(status.message());
  }
  return status;
}

Result<int64_t> PgEventLog::PurgeIdempotency() {
  if (options_.read_only) return Status::FailedPrecondition("the log was opened read-only");
  std::lock_guard write_lock(write_mu_);
  Result<int64_t> purged = PurgeRound();
  if (!purged.ok()) DropWriter(purged.status());
  return purged;
}

Result<int64_t> PgEventLog::PurgeRound() {
  LEDGER_ASSIGN_OR_RETURN(PgConnection * writer, Writer());
  const Timestamp cutoff =
      events::IdempotencyPurgeCutoff(clock_->Now(), options_.idempotency_retention);
  int64_t deleted = 0;
  LEDGER_RETURN_IF_ERROR(Guard("purging idempotency records", [&]() -> Status {
    const Deadline deadline(watchdog_.get(), *writer, options_.commit_timeout);
    pqxx::work tx(*writer);
    const pqxx::result rows = tx.exec_params(
        "DELETE FROM " + schema_ + ".idempotency WHERE (actor, key) IN (SELECT actor, key FROM " +
            schema_ + ".idempotency WHERE recorded_at <= $1 ORDER BY recorded_at LIMIT $2)",
        static_cast<int64_t>(cutoff.time_since_epoch().count()), kIdempotencyPurgeRows);
    deleted = static_cast<int64_t>(rows.affected_rows());
    tx.commit();
    return Status::Ok();
  }));
  purged_.fetch_add(static_cast<uint64_t>(deleted), std::memory_order_relaxed);
  return deleted;
}

events::LogStats PgEventLog::Stats() const {
  events::LogStats stats;
  stats.idempotency_purged = purged_.load(std::memory_order_relaxed);
  return stats;
}

Status PgEventLog::SettleUnknownCommit(const events::LogHead& before,
                                       const events::LogHead& appended,
                                       std::string_view last_record) {
  writer_.reset();
  // The server may still be running the statement (a client that went away
  // is noticed only when it is answered): it is ended, and waited for, before
  // the head can say anything.
  if (const Status ended = EndSession(writer_session_); !ended.ok()) {
    return Status::Unavailable("the outcome of an append is unknown: " + ended.message());
  }
  Result<events::LogHead> stored = ReadHead();
  std::optional<std::string> record;
  if (stored.ok() && stored->position >= appended.position) {
    const Status read =
        ScanRecords(appended.position, appended.position, [&](int64_t, std::string_view bytes) {
          record = std::string(bytes);
          return false;
        });
    if (!read.ok()) stored = read;
  }
  if (!stored.ok()) {
    return Status::Unavailable("the outcome of an append is unknown and the log cannot be read: " +
                               stored.status().message());
  }
  if (stored->position < before.position) {
    return Status::Corruption("after an append of unknown outcome the head is at " +
                              Describe(*stored) + ", behind " + Describe(before) +
                              " where it was: acknowledged events are missing");
  }
  // Positions are never reused: the record at the batch's last position is
  // this batch's exactly when the batch committed (a batch commits whole).
  if (record && *record == last_record) return Status::Ok();
  return Status::Unavailable(
      "the connection to the log was lost during an append, which did not commit (the head is "
      "at " +
      Describe(*stored) + "); nothing was written");
}

Status PgEventLog::EndSession(const WriterSession& session) const {
  if (session.pid == 0) return Status::Ok();
  // Matched by start time too, so that a server after a failover (where the
  // pid may belong to anyone) has no such session and nothing is ended.
  const std::string find = " FROM pg_stat_activity WHERE pid = $1 AND backend_start::text = $2";
  const auto until =
      std::chrono::steady_clock::now() + options_.commit_timeout + std::chrono::seconds(1);
  while (true) {
    bool alive = false;
    LEDGER_RETURN_IF_ERROR(
        Read("ending the writer's old session", [&](pqxx::nontransaction& tx) -> Status {
          // Waits (up to a second) for the backend to exit.
          alive = !tx.exec_params("SELECT pg_terminate_backend(pid, 1000)" + find, session.pid,
                                  session.started)
                       .empty();
          if (alive) {
            alive = !tx.exec_params("SELECT 1" + find, session.pid, session.started).empty();
          }
          return Status::Ok();
        }));
    if (!alive) return Status::Ok();
    if (std::chrono::steady_clock::now() >= until) {
      return Status::Unavailable("the writer's old session (pid " + std::to_string(session.pid) +
                                 ") is still running");
    }
  }
}

Status PgEventLog::ClearState() {
  if (options_.read_only) return Status::FailedPrecondition("the log was opened read-only");
  std::lock_guard write_lock(write_mu_);
  LEDGER_ASSIGN_OR_RETURN(PgConnection * writer, Writer());
  Status status = Guard("clearing the sequencer state", [&]() -> Status {
    pqxx::work tx(*writer);
    tx.exec0("DELETE FROM " + schema_ + ".state");
    tx.commit();
    return Status::Ok();
  });
  if (!status.ok()) DropWriter(status);
  return status;
}

Status PgEventLog::WriteState(std::span<const events::StateWrite> writes, bool sync) {
  if (options_.read_only) return Status::FailedPrecondition("the log was opened read-only");
  const StateArrays arrays(writes);
  std::lock_guard write_lock(write_mu_);
  LEDGER_ASSIGN_OR_RETURN(PgConnection * writer, Writer());
  Status status = Guard("writing the sequencer state", [&]() -> Status {
    pqxx::work tx(*writer);
    // A rebuild that is not synced is redone from the log after a crash.
    if (!sync) tx.exec0("SET LOCAL synchronous_commit = off");
    if (arrays.deleted_keys.size() > 0) {
      tx.exec_params("DELETE FROM " + schema_ + ".state WHERE key = ANY($1::bytea[])",
                     arrays.deleted_keys.Finish());
    }
    if (arrays.put_keys.size() > 0) {
      tx.exec_params("INSERT INTO " + schema_ +
                         ".state (key, value) SELECT * FROM unnest($1::bytea[], $2::bytea[]) "
                         "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                     arrays.put_keys.Finish(), arrays.put_values.Finish());
    }
    tx.commit();
    return Status::Ok();
  });
  if (!status.ok()) DropWriter(status);
  return status;
}

}  // namespace ledger::projections
