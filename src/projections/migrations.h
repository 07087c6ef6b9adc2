#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <pqxx/connection>

#include "common/status.h"

namespace ledger::projections {

// One file of schemas/sql, compiled into the binary (NNN_name.sql).
struct Migration {
  int version = 0;
  std::string name;
  std::string_view sql;
};

// Every migration in version order.
const std::vector<Migration>& Migrations();

// Creates `schema` if needed and applies, in order, each migration not yet
// recorded in <schema>.schema_migrations, each in its own transaction together
// with its record. Safe to run twice and from two processes at once (an
// advisory lock serialises them).
Status ApplyMigrations(pqxx::connection& connection, std::string_view schema);

}  // namespace ledger::projections
