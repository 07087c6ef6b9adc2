#include "projections/database.h"

#include <pqxx/connection>

#include "common/check.h"

namespace ledger::projections {

Result<std::unique_ptr<PgConnection>> Connect(const std::string& conninfo) {
  try {
    return std::make_unique<PgConnection>(conninfo);
  } catch (const std::exception& e) {
    return Status::Unavailable(std::string("cannot connect to PostgreSQL: ") + e.what());
  }
}

std::string QuoteIdentifier(std::string_view name) {
  bool ok = !name.empty() && (name[0] == '_' || (name[0] >= 'a' && name[0] <= 'z'));
  for (const char c : name) {
    ok = ok && (c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
  }
  LEDGER_CHECK(ok, "schema and table names are lower-case identifiers");
  return "\"" + std::string(name) + "\"";
}

}  // namespace ledger::projections
