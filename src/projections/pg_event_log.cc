#include "projections/pg_event_log.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <span>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

#include "common/ascii.h"
#include "common/check.h"
#include "projections/array_literal.h"
#include "projections/connection_pool.h"
#include "projections/database.h"

namespace ledger::projections {
namespace {

// The layout of the tables below; Open refuses any other.
constexpr int kLogFormat = 1;
// pg_advisory_xact_lock key class of the table creation, so that nodes
// starting together do not race on CREATE ... IF NOT EXISTS.
constexpr int kCreateLockClass = 0x4c4f47;  // "LOG"

std::string_view View(const pqxx::binarystring& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

pqxx::binarystring Bytes(std::string_view bytes) {
  return pqxx::binarystring(bytes.data(), bytes.size());
}

// "\x…": a bytea value as an element of a text array literal.
std::string ByteaText(std::string_view bytes) {
  std::string out = "\\x";
  AppendHex(bytes, out);
  return out;
}

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

Result<events::LogHead> HeadFromRow(const pqxx::row& row) {
  events::LogHead head;
  head.position = row[0].as<int64_t>();
  const pqxx::binarystring hash(row[1]);
  if (head.position < 0) return Status::Corruption("head position is negative");
  if (hash.size() != head.hash.size()) {
    return Status::Corruption("head hash has " + std::to_string(hash.size()) +
                              " bytes, expected 32");
  }
  std::memcpy(head.hash.data(), hash.data(), head.hash.size());
  return head;
}

std::string Describe(const events::LogHead& head) {
  return "position " + std::to_string(head.position) + " (" + events::ToHex(head.hash) + ")";
}

}  // namespace

template <typename Fn>
Status PgEventLog::Read(std::string_view what, Fn&& fn) const {
  for (int attempt = 1;; ++attempt) {
    LEDGER_ASSIGN_OR_RETURN(auto lease, readers_->Acquire());
    Status status = Guard(what, [&]() -> Status {
      // One statement at a time, each its own snapshot: no BEGIN and COMMIT
      // round trips (the pool's sessions are read-only).
      pqxx::nontransaction tx(lease.connection());
      return fn(tx);
    });
    if (status.ok()) return status;
    lease.Discard();
    if (status.code() != Status::Code::kUnavailable || lease.fresh() || attempt > 1) {
      return status;
    }
    readers_->CloseIdle();
  }
}

PgEventLog::PgEventLog(std::string conninfo, PgLogOptions options)
    : conninfo_(std::move(conninfo)),
      options_(std::move(options)),
      schema_(QuoteIdentifier(options_.schema)) {
  if (options_.clock != nullptr) clock_ = options_.clock;
  last_purge_ = clock_->Now();
  ConnectionPoolOptions pool;
  pool.conninfo = conninfo_;
  pool.max_connections = std::max<size_t>(options_.read_connections, 1);
  pool.read_only = true;
  readers_ = std::make_unique<ConnectionPool>(std::move(pool));
}

PgEventLog::~PgEventLog() = default;

Result<std::unique_ptr<PgEventLog>> PgEventLog::Open(const std::string& conninfo,
                                                     const PgLogOptions& options) {
  std::unique_ptr<PgEventLog> log(new PgEventLog(conninfo, options));
  if (!options.read_only) {
    LEDGER_RETURN_IF_ERROR(log->Writer().status());
    LEDGER_RETURN_IF_ERROR(log->CreateTables());
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
  if (writer_ != nullptr && writer_->is_open()) return writer_.get();
  writer_.reset();
  LEDGER_ASSIGN_OR_RETURN(writer_, Connect(WithConnectTimeout(conninfo_, kDefaultConnectTimeout)));
  LEDGER_RETURN_IF_ERROR(Guard("checking the log's session", [&]() -> Status {
    pqxx::nontransaction tx(*writer_);
    const std::string commit = tx.exec1("SHOW synchronous_commit")[0].as<std::string>();
    if (commit == "off") {
      return Status::FailedPrecondition(
          "the log's PostgreSQL session has synchronous_commit = off: an append would be "
          "acknowledged before it is durable");
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
    // One statement, so one snapshot: an append that commits meanwhile
    // moves both or neither.
    const pqxx::result rows =
        tx.exec("SELECT position, hash, (SELECT coalesce(max(position), 0) FROM " + schema_ +
                ".events) FROM " + schema_ + ".head");
    if (rows.size() != 1) {
      return Status::Corruption("the log's head table has " + std::to_string(rows.size()) +
                                " rows, expected 1");
    }
    LEDGER_ASSIGN_OR_RETURN(head, HeadFromRow(rows[0]));
    // Nothing may be stored after the head: events and head move in one
    // transaction.
    const auto last = rows[0][2].as<int64_t>();
    if (last != head.position) {
      return Status::Corruption("head record says position " + std::to_string(head.position) +
                                " but the newest stored event is at " + std::to_string(last));
    }
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
  const std::string sql =
      "WITH fence AS (UPDATE " + schema_ +
      ".head SET position = $1, hash = $2 WHERE position = $3 AND hash = $4 RETURNING 1), "
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
  Status status = Status::Ok();
  try {
    pqxx::nontransaction tx(*writer);
    const int64_t moved =
        tx.exec_params1(sql, after.position, hash_bytes(after.hash), before.position,
                        hash_bytes(before.hash), positions.Finish(), streams.Finish(),
                        versions.Finish(), records.Finish(), actors.Finish(), keys.Finish(),
                        outcomes.Finish(), recorded.Finish(), state_arrays.deleted_keys.Finish(),
                        state_arrays.put_keys.Finish(), state_arrays.put_values.Finish())[0]
            .as<int64_t>();
    if (moved != 1) {
      return Status::FailedPrecondition("the log head in PostgreSQL is no longer at " +
                                        Describe(before) +
                                        " where this writer left it: another writer appended; "
                                        "nothing was written");
    }
  } catch (const pqxx::broken_connection&) {
    // The statement may or may not have committed.
    status = SettleUnknownCommit(before, after);
  } catch (const pqxx::in_doubt_error&) {
    status = SettleUnknownCommit(before, after);
  } catch (const pqxx::sql_error& e) {
    // A session ended by the server (class 57: shut down, terminated) or a
    // connection error (class 08) leaves the outcome to be read back; any
    // other error failed the statement, which rolled back.
    const std::string& sqlstate = e.sqlstate();
    status = sqlstate.rfind("57", 0) == 0 || sqlstate.rfind("08", 0) == 0
                 ? SettleUnknownCommit(before, after)
                 : Status::Unavailable(std::string("appending to the log: ") + e.what());
  } catch (const std::exception& e) {
    status = Status::Unavailable(std::string("appending to the log: ") + e.what());
  }
  // After a failure the session's state is unknown: the next write opens a
  // new one.
  if (!status.ok()) writer_.reset();
  // A purge round when one is due; its failure leaves the records for the
  // next round and does not touch the append's answer.
  // A round that found a full batch of expired records leaves more for the
  // next append at once, so the purge keeps pace with any rate of expiry
  // below kIdempotencyPurgeRows per append.
  if (status.ok() && clock_->Now() - last_purge_ >= kIdempotencyPurgeInterval) {
    const Result<int64_t> purged = PurgeRound();
    if (!purged.ok()) writer_.reset();
    const bool more = purged.ok() && *purged == kIdempotencyPurgeRows;
    last_purge_ = more ? Timestamp{} : clock_->Now();
  }
  std::lock_guard lock(head_mu_);
  write_health_ = status.ok() ? Status::Ok() : Status::Unavailable(status.message());
  if (status.ok()) head_ = after;
  return status;
}

Result<int64_t> PgEventLog::PurgeIdempotency() {
  if (options_.read_only) return Status::FailedPrecondition("the log was opened read-only");
  std::lock_guard write_lock(write_mu_);
  Result<int64_t> purged = PurgeRound();
  if (!purged.ok()) writer_.reset();
  return purged;
}

Result<int64_t> PgEventLog::PurgeRound() {
  LEDGER_ASSIGN_OR_RETURN(PgConnection * writer, Writer());
  const Timestamp cutoff =
      events::IdempotencyPurgeCutoff(clock_->Now(), options_.idempotency_retention);
  int64_t deleted = 0;
  LEDGER_RETURN_IF_ERROR(Guard("purging idempotency records", [&]() -> Status {
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
                                       const events::LogHead& appended) {
  writer_.reset();
  Result<events::LogHead> stored = ReadHead();
  if (!stored.ok()) {
    return Status::Unavailable("the outcome of an append is unknown and the head cannot be read: " +
                               stored.status().message());
  }
  if (*stored == appended) return Status::Ok();
  if (*stored == before) {
    return Status::Unavailable(
        "the connection to the log was lost during the commit; the head "
        "is still at " +
        Describe(before) + ", so nothing was written");
  }
  return Status::Corruption("after an append of unknown outcome the head is at " +
                            Describe(*stored) + ", neither " + Describe(before) + " nor " +
                            Describe(appended));
}

Status PgEventLog::ScanRecords(int64_t from, int64_t to,
                               const std::function<bool(int64_t, std::string_view)>& fn) const {
  if (!tables_exist_) return Status::Ok();
  int64_t next = std::max<int64_t>(from, 1);
  while (next <= to) {
    pqxx::result rows;
    LEDGER_RETURN_IF_ERROR(
        Read("reading events from the log", [&](pqxx::nontransaction& tx) -> Status {
          rows = tx.exec_params("SELECT position, record FROM " + schema_ +
                                    ".events WHERE position >= $1 AND position <= $2 "
                                    "ORDER BY position LIMIT $3",
                                next, to, static_cast<int64_t>(kLogScanPageRows));
          return Status::Ok();
        }));
    for (const pqxx::row& row : rows) {
      const int64_t position = row[0].as<int64_t>();
      const pqxx::binarystring record(row[1]);
      if (!fn(position, View(record))) return Status::Ok();
      next = position + 1;
    }
    if (rows.size() < kLogScanPageRows) break;
  }
  return Status::Ok();
}

Status PgEventLog::StreamPositions(int64_t stream, int64_t from_version, size_t max_count,
                                   std::vector<int64_t>* positions) const {
  if (max_count == 0 || !tables_exist_) return Status::Ok();
  pqxx::result rows;
  LEDGER_RETURN_IF_ERROR(
      Read("reading a stream of the log", [&](pqxx::nontransaction& tx) -> Status {
        rows = tx.exec_params(
            "SELECT position FROM " + schema_ +
                ".events WHERE stream = $1 AND stream_version >= $2 "
                "ORDER BY stream_version LIMIT $3",
            stream, from_version,
            static_cast<int64_t>(std::min<size_t>(max_count, std::numeric_limits<int64_t>::max())));
        return Status::Ok();
      }));
  for (const pqxx::row& row : rows) positions->push_back(row[0].as<int64_t>());
  return Status::Ok();
}

Result<std::optional<events::IdempotencyRecord>> PgEventLog::FindIdempotency(
    std::string_view actor, std::string_view key) const {
  if (!tables_exist_) return std::optional<events::IdempotencyRecord>();
  std::optional<std::string> value;
  LEDGER_RETURN_IF_ERROR(
      Read("reading an idempotency record", [&](pqxx::nontransaction& tx) -> Status {
        const pqxx::result rows = tx.exec_params(
            "SELECT record FROM " + schema_ + ".idempotency WHERE actor = $1 AND key = $2",
            Bytes(actor), Bytes(key));
        if (!rows.empty()) value = std::string(View(pqxx::binarystring(rows[0][0])));
        return Status::Ok();
      }));
  if (!value) return std::optional<events::IdempotencyRecord>();
  LEDGER_ASSIGN_OR_RETURN(events::IdempotencyRecord record,
                          events::DecodeIdempotencyRecord(*value));
  return std::optional<events::IdempotencyRecord>(std::move(record));
}

Result<std::optional<std::string>> PgEventLog::ReadState(std::string_view key) const {
  if (!tables_exist_) return std::optional<std::string>();
  std::optional<std::string> value;
  LEDGER_RETURN_IF_ERROR(
      Read("reading the sequencer state", [&](pqxx::nontransaction& tx) -> Status {
        const pqxx::result rows =
            tx.exec_params("SELECT value FROM " + schema_ + ".state WHERE key = $1", Bytes(key));
        if (!rows.empty()) value = std::string(View(pqxx::binarystring(rows[0][0])));
        return Status::Ok();
      }));
  return value;
}

Status PgEventLog::ScanState(
    std::string_view from, std::string_view to,
    const std::function<bool(std::string_view key, std::string_view value)>& fn) const {
  if (!tables_exist_) return Status::Ok();
  std::string next(from);
  bool inclusive = true;
  while (true) {
    pqxx::result rows;
    LEDGER_RETURN_IF_ERROR(
        Read("reading the sequencer state", [&](pqxx::nontransaction& tx) -> Status {
          const std::string lower = inclusive ? "key >= $1" : "key > $1";
          if (to.empty()) {
            rows = tx.exec_params("SELECT key, value FROM " + schema_ + ".state WHERE " + lower +
                                      " ORDER BY key LIMIT $2",
                                  Bytes(next), static_cast<int64_t>(kLogScanPageRows));
          } else {
            rows = tx.exec_params("SELECT key, value FROM " + schema_ + ".state WHERE " + lower +
                                      " AND key < $2 ORDER BY key LIMIT $3",
                                  Bytes(next), Bytes(to), static_cast<int64_t>(kLogScanPageRows));
          }
          return Status::Ok();
        }));
    for (const pqxx::row& row : rows) {
      const pqxx::binarystring key(row[0]);
      const pqxx::binarystring value(row[1]);
      if (!fn(View(key), View(value))) return Status::Ok();
      next = std::string(View(key));
      inclusive = false;
    }
    if (rows.size() < kLogScanPageRows) return Status::Ok();
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
  if (!status.ok()) writer_.reset();
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
  if (!status.ok()) writer_.reset();
  return status;
}

Result<events::LogHead> PgEventLog::CatchUp() {
  const events::LogHead before = Head();
  LEDGER_ASSIGN_OR_RETURN(const events::LogHead head, ReadHead());
  return events::AdvanceToCheckedHead(*this, before, head, [this](const events::LogHead& to) {
    std::lock_guard lock(head_mu_);
    head_ = to;
  });
}

}  // namespace ledger::projections
