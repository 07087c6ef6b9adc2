#include "projections/database.h"

#include <cstdint>

#include <pqxx/connection>
#include <pqxx/transaction_base>

#include "common/check.h"

namespace ledger::projections {

Result<std::unique_ptr<PgConnection>> Connect(const std::string& conninfo) {
  try {
    return std::make_unique<PgConnection>(conninfo);
  } catch (const std::exception& e) {
    return Status::Unavailable(std::string("cannot connect to PostgreSQL: ") + e.what());
  }
}

std::string Prepared(pqxx::transaction_base& tx, const std::string& sql) {
  // FNV-1a over the text: the same name in every run, for
  // pg_prepared_statements. Two texts under one name would make pqxx refuse
  // the second (an error, never the wrong statement).
  uint64_t h = 14695981039346656037ULL;
  for (const char c : sql) {
    h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  }
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string name = "ledger_0000000000000000";
  for (size_t i = name.size(); i-- > name.size() - 16; h >>= 4) name[i] = kDigits[h & 15];
  tx.conn().prepare(name, sql);
  return name;
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
