// PgEventLog's reads: records, streams, idempotency records, the state,
// following the head, the replication state and the logical export. Each
// read is one statement on the pool of read-only connections (Read).
#include <limits>
#include <map>
#include <span>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

#include "projections/array_literal.h"
#include "projections/pg_event_log.h"
#include "projections/pg_log_internal.h"

namespace ledger::projections {

Status PgEventLog::ScanRecords(int64_t from, int64_t to,
                               const std::function<bool(int64_t, std::string_view)>& fn) const {
  if (!tables_exist_) return Status::Ok();
  int64_t next = std::max<int64_t>(from, 1);
  while (next <= to) {
    pqxx::result rows;
    LEDGER_RETURN_IF_ERROR(Query("reading events from the log", &rows,
                                 "SELECT position, record FROM " + schema_ +
                                     ".events WHERE position >= $1 AND position <= $2 "
                                     "ORDER BY position LIMIT $3",
                                 next, to, static_cast<int64_t>(kLogScanPageRows)));
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
  LEDGER_RETURN_IF_ERROR(Query(
      "reading a stream of the log", &rows,
      "SELECT position FROM " + schema_ +
          ".events WHERE stream = $1 AND stream_version >= $2 ORDER BY stream_version LIMIT $3",
      stream, from_version,
      static_cast<int64_t>(std::min<size_t>(max_count, std::numeric_limits<int64_t>::max()))));
  for (const pqxx::row& row : rows) positions->push_back(row[0].as<int64_t>());
  return Status::Ok();
}

Result<std::optional<events::IdempotencyRecord>> PgEventLog::FindIdempotency(
    std::string_view actor, std::string_view key) const {
  if (!tables_exist_) return std::optional<events::IdempotencyRecord>();
  pqxx::result rows;
  LEDGER_RETURN_IF_ERROR(
      Query("reading an idempotency record", &rows,
            "SELECT record FROM " + schema_ + ".idempotency WHERE actor = $1 AND key = $2",
            Bytes(actor), Bytes(key)));
  if (rows.empty()) return std::optional<events::IdempotencyRecord>();
  LEDGER_ASSIGN_OR_RETURN(events::IdempotencyRecord record,
                          events::DecodeIdempotencyRecord(View(pqxx::binarystring(rows[0][0]))));
  return std::optional<events::IdempotencyRecord>(std::move(record));
}

Result<std::optional<std::string>> PgEventLog::ReadState(std::string_view key) const {
  if (!tables_exist_) return std::optional<std::string>();
  pqxx::result rows;
  LEDGER_RETURN_IF_ERROR(Query("reading the sequencer state", &rows,
                               "SELECT value FROM " + schema_ + ".state WHERE key = $1",
                               Bytes(key)));
  if (rows.empty()) return std::optional<std::string>();
  return std::optional<std::string>(View(pqxx::binarystring(rows[0][0])));
}

Status PgEventLog::FindIdempotencies(
    std::span<const std::pair<std::string_view, std::string_view>> scopes,
    std::vector<std::optional<events::IdempotencyRecord>>* records) const {
  records->assign(scopes.size(), std::nullopt);
  if (scopes.empty() || !tables_exist_) return Status::Ok();
  ArrayLiteral actors, keys;
  std::map<std::pair<std::string, std::string>, size_t> index;
  for (size_t i = 0; i < scopes.size(); ++i) {
    actors.Add(ByteaText(scopes[i].first));
    keys.Add(ByteaText(scopes[i].second));
    index.emplace(std::make_pair(std::string(scopes[i].first), std::string(scopes[i].second)), i);
  }
  pqxx::result rows;
  LEDGER_RETURN_IF_ERROR(Query("reading idempotency records", &rows,
                               "SELECT actor, key, record FROM " + schema_ +
                                   ".idempotency WHERE (actor, key) IN "
                                   "(SELECT * FROM unnest($1::bytea[], $2::bytea[]))",
                               actors.Finish(), keys.Finish()));
  for (const pqxx::row& row : rows) {
    const auto it = index.find({std::string(View(pqxx::binarystring(row[0]))),
                                std::string(View(pqxx::binarystring(row[1])))});
    if (it == index.end()) continue;
    LEDGER_ASSIGN_OR_RETURN(events::IdempotencyRecord record,
                            events::DecodeIdempotencyRecord(View(pqxx::binarystring(row[2]))));
    (*records)[it->second] = std::move(record);
  }
  // A scope asked twice gets the record in both places.
  for (size_t i = 0; i < scopes.size(); ++i) {
    const size_t first = index.at({std::string(scopes[i].first), std::string(scopes[i].second)});
    if (first != i) (*records)[i] = (*records)[first];
  }
  return Status::Ok();
}

Status PgEventLog::ReadStates(std::span<const std::string> keys,
                              std::vector<std::optional<std::string>>* values) const {
  values->assign(keys.size(), std::nullopt);
  if (keys.empty() || !tables_exist_) return Status::Ok();
  ArrayLiteral wanted;
  std::map<std::string_view, std::vector<size_t>> index;
  for (size_t i = 0; i < keys.size(); ++i) {
    wanted.Add(ByteaText(keys[i]));
    index[keys[i]].push_back(i);
  }
  pqxx::result rows;
  LEDGER_RETURN_IF_ERROR(
      Query("reading the sequencer state", &rows,
            "SELECT key, value FROM " + schema_ + ".state WHERE key = ANY($1::bytea[])",
            wanted.Finish()));
  for (const pqxx::row& row : rows) {
    const pqxx::binarystring key(row[0]);
    const auto it = index.find(View(key));
    if (it == index.end()) continue;
    const std::string value(View(pqxx::binarystring(row[1])));
    for (const size_t i : it->second) (*values)[i] = value;
  }
  return Status::Ok();
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

Result<events::LogHead> PgEventLog::CatchUp() {
  const events::LogHead before = Head();
  LEDGER_ASSIGN_OR_RETURN(const events::LogHead head, ReadHead());
  return events::AdvanceToCheckedHead(*this, before, head, [this](const events::LogHead& to) {
    std::lock_guard lock(head_mu_);
    head_ = to;
  });
}

Result<Replication> PgEventLog::ReadReplication() const {
  Replication replication;
  LEDGER_RETURN_IF_ERROR(
      Read("reading the replication state", [&](pqxx::nontransaction& tx) -> Status {
        const pqxx::row row = tx.exec1(
            "SELECT count(*) FILTER (WHERE state = 'streaming' AND sync_state IN "
            "('sync', 'quorum')), coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), "
            "replay_lsn)), -1)::bigint FROM pg_stat_replication");
        replication.sync_standbys = row[0].as<int64_t>();
        replication.max_lag_bytes = row[1].as<int64_t>();
        return Status::Ok();
      }));
  return replication;
}

Result<events::LogHead> PgEventLog::Export(const ExportSink& sink) const {
  LEDGER_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> connection,
                          Connect(WithConnectTimeout(conninfo_, kDefaultConnectTimeout)));
  events::LogHead head;
  Status failed = Status::Ok();
  LEDGER_RETURN_IF_ERROR(Guard("exporting the log", [&]() -> Status {
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(*connection);
    LEDGER_ASSIGN_OR_RETURN(head, HeadIn(tx, schema_));
    const auto page = static_cast<int64_t>(kLogScanPageRows);
    for (int64_t next = 1; next <= head.position;) {
      const pqxx::result rows = tx.exec_params("SELECT position, record FROM " + schema_ +
                                                   ".events WHERE position >= $1 AND position <= "
                                                   "$2 ORDER BY position LIMIT $3",
                                               next, head.position, page);
      if (rows.empty()) break;
      for (const pqxx::row& row : rows) {
        next = row[0].as<int64_t>() + 1;
        if (failed = sink.record(next - 1, View(pqxx::binarystring(row[1]))); !failed.ok()) {
          return Status::Ok();
        }
      }
    }
    std::string actor, key;
    for (bool first = true;; first = false) {
      const pqxx::result rows =
          first ? tx.exec_params("SELECT actor, key, record FROM " + schema_ +
                                     ".idempotency ORDER BY actor, key LIMIT $1",
                                 page)
                : tx.exec_params("SELECT actor, key, record FROM " + schema_ +
                                     ".idempotency WHERE (actor, key) > ($1, $2) "
                                     "ORDER BY actor, key LIMIT $3",
                                 Bytes(actor), Bytes(key), page);
      for (const pqxx::row& row : rows) {
        actor = std::string(View(pqxx::binarystring(row[0])));
        key = std::string(View(pqxx::binarystring(row[1])));
        if (failed = sink.idempotency(actor, key, View(pqxx::binarystring(row[2]))); !failed.ok()) {
          return Status::Ok();
        }
      }
      if (rows.size() < kLogScanPageRows) break;
    }
    std::string state_key;
    for (bool first = true;; first = false) {
      const pqxx::result rows =
          first ? tx.exec_params(
                      "SELECT key, value FROM " + schema_ + ".state ORDER BY key LIMIT $1", page)
                : tx.exec_params("SELECT key, value FROM " + schema_ +
                                     ".state WHERE key > $1 ORDER BY key LIMIT $2",
                                 Bytes(state_key), page);
      for (const pqxx::row& row : rows) {
        state_key = std::string(View(pqxx::binarystring(row[0])));
        if (failed = sink.state(state_key, View(pqxx::binarystring(row[1]))); !failed.ok()) {
          return Status::Ok();
        }
      }
      if (rows.size() < kLogScanPageRows) break;
    }
    tx.commit();
    return Status::Ok();
  }));
  LEDGER_RETURN_IF_ERROR(failed);
  return head;
}

}  // namespace ledger::projections
