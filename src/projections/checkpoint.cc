#include "projections/checkpoint.h"

#include <pqxx/pqxx>

#include "projections/database.h"

namespace ledger::projections {

StoredCheckpoint LockCheckpoint(pqxx::work& tx, std::string_view schema, const std::string& name) {
  const std::string s = QuoteIdentifier(schema);
  tx.exec_params0("INSERT INTO " + s +
                      ".checkpoints (name, position, hash, updated_at) "
                      "VALUES ($1, 0, $2, now()) ON CONFLICT (name) DO NOTHING",
                  name, events::ToHex(events::kGenesisHash));
  const pqxx::row row = tx.exec_params1(
      "SELECT position, hash FROM " + s + ".checkpoints WHERE name = $1 FOR UPDATE", name);
  return StoredCheckpoint{.position = row[0].as<int64_t>(),
                          .hash = events::HashFromHex(row[1].as<std::string>())};
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
  tx.exec_params0("UPDATE " + QuoteIdentifier(schema) +
                      ".checkpoints SET position = $2, hash = $3, updated_at = now() "
                      "WHERE name = $1",
                  name, last.position, events::ToHex(last.hash));
}

}  // namespace ledger::projections
