#include "projections/migrations.h"

#include <pqxx/pqxx>

#include "projections/database.h"

namespace ledger::projections {
namespace {

// pg_advisory_xact_lock key shared by every process migrating this database.
constexpr int64_t kMigrationLockKey = 0x66756e64696e67;  // "funding"

}  // namespace

// Every pending migration in one transaction: readers (the read pool's
// queries) see the schema as it was or as it is now, never half-way; a read
// that reached a table of 001 before 004 added its columns answered 500.
Status ApplyMigrations(pqxx::connection& connection, std::string_view schema) {
  const std::string s = QuoteIdentifier(schema);
  return Guard("applying migrations", [&]() -> Status {
    pqxx::work tx(connection);
    tx.exec_params("SELECT pg_advisory_xact_lock($1)", kMigrationLockKey);
    tx.exec0("CREATE SCHEMA IF NOT EXISTS " + s);
    tx.exec0("CREATE TABLE IF NOT EXISTS " + s +
             ".schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
             "applied_at timestamptz NOT NULL DEFAULT now())");
    tx.exec0("SET LOCAL search_path TO " + s + ", public");
    for (const Migration& m : Migrations()) {
      const pqxx::result done =
          tx.exec_params("SELECT 1 FROM " + s + ".schema_migrations WHERE version = $1", m.version);
      if (!done.empty()) continue;
      tx.exec0(std::string(m.sql));
      tx.exec_params("INSERT INTO " + s + ".schema_migrations (version, name) VALUES ($1, $2)",
                     m.version, m.name);
    }
    tx.commit();
    return Status::Ok();
  });
}

}  // namespace ledger::projections
