#include "projections/checkpoint.h"

#include <optional>
#include <string>

#include <pqxx/pqxx>

#include "projections/database.h"

namespace ledger::projections {
namespace {

// `row` is (position, hash).
StoredCheckpoint FromRow(const pqxx::row& row) {
  const std::string hash_text = row[1].as<std::string>();
  return StoredCheckpoint{.position = row[0].as<int64_t>(),
                          .hash = events::HashFromHex(hash_text),
                          .hash_text = hash_text};
}

}  // namespace

StoredCheckpoint LockCheckpoint(pqxx::work& tx, std::string_view schema, const std::string& name) {
  const std::string s = QuoteIdentifier(schema);
  tx.exec_prepared0(Prepared(tx, "INSERT INTO " + s +
                                     ".checkpoints (name, position, hash, updated_at) "
                                     "VALUES ($1, 0, $2, now()) ON CONFLICT (name) DO NOTHING"),
                    name, events::ToHex(events::kGenesisHash));
  return FromRow(tx.exec_prepared1(
      Prepared(tx, "SELECT position, hash FROM " + s + ".checkpoints WHERE name = $1 FOR UPDATE"),
      name));
}

std::optional<StoredCheckpoint> ReadCheckpoint(pqxx::transaction_base& tx, std::string_view schema,
                                               const std::string& name) {
  const pqxx::result rows =
      tx.exec_prepared(Prepared(tx, "SELECT position, hash FROM " + QuoteIdentifier(schema) +
                                        ".checkpoints WHERE name = $1"),
                       name);
  if (rows.empty()) return std::nullopt;
  return FromRow(rows[0]);
}

Result<events::LogHead> CheckAgainstHead(const StoredCheckpoint& checkpoint,
                                         const events::LogHead& head, std::string_view name) {
  if (!checkpoint.hash) {
    return Status::Corruption("checkpoint hash of projector " + std::string(name) +
                              " is not a hash");
  }
  if (checkpoint.position > head.position) {
    return Status::Corruption("checkpoint " + std::to_string(checkpoint.position) +
                              " is past the log head " + std::to_string(head.position) +
                              ": the read tables belong to another log");
  }
  if (checkpoint.position == head.position && head.hash != *checkpoint.hash) {
    return Status::Corruption("checkpoint hash differs from the log's hash at position " +
                              std::to_string(checkpoint.position));
  }
  return events::LogHead{checkpoint.position, *checkpoint.hash};
}

void WriteCheckpoint(pqxx::work& tx, std::string_view schema, const std::string& name,
                     const events::LogHead& last) {
  tx.exec_prepared0(
      Prepared(tx, "UPDATE " + QuoteIdentifier(schema) +
                       ".checkpoints SET position = $2, hash = $3, updated_at = now() "
                       "WHERE name = $1"),
      name, last.position, events::ToHex(last.hash));
}

void InsertCheckpoint(pqxx::work& tx, std::string_view schema, const std::string& name,
                      const events::LogHead& last) {
  tx.exec_prepared0(
      Prepared(tx, "INSERT INTO " + QuoteIdentifier(schema) +
                       ".checkpoints (name, position, hash, updated_at) VALUES ($1, $2, $3, "
                       "now())"),
      name, last.position, events::ToHex(last.hash));
}

}  // namespace ledger::projections
