#pragma once

// Internal to src/projections: pqxx stays inside this module. Other modules
// use the projector, query and replay interfaces, which do not expose it:
// where they hold a connection they name it PgConnection, forward-declared.

#include <memory>
#include <string>
#include <string_view>

#include <pqxx/connection>
#include <pqxx/transaction_base>

#include "common/result.h"
#include "projections/read_schema.h"

namespace ledger::projections {

// A connection to PostgreSQL: pqxx's, under a name of this module's own. In
// libpqxx 6 pqxx::connection is an alias of a class template, which a header
// cannot forward-declare; `struct PgConnection;` keeps pqxx out of the
// headers that hold one (projector.h, connection_pool.h).
struct PgConnection final : pqxx::connection {
  explicit PgConnection(const std::string& conninfo) : pqxx::connection(conninfo) {}
};

// Opens a connection. libpq and pqxx failures become kUnavailable (the
// database is down or unreachable: retry later), never exceptions.
Result<std::unique_ptr<PgConnection>> Connect(const std::string& conninfo);

// Runs `fn` and turns any exception pqxx throws into a Status: a broken
// connection is kUnavailable, anything else kInternal with the message.
// This is the module edge: no pqxx exception crosses it.
template <typename Fn>
Status Guard(std::string_view what, Fn&& fn);

// Declares `sql` as a prepared statement of the transaction's connection
// and returns its name, for tx.exec_prepared: the server parses and plans a
// statement that runs for every batch once per session instead of on every
// call. The name comes from the text, so each distinct text has its own (a
// text built from data would prepare without bound: only fixed texts, which
// may name a schema, belong here). Declaring is local; pqxx prepares on the
// server at the first execution, on whichever connection that is.
std::string Prepared(pqxx::transaction_base& tx, const std::string& sql);

// Quotes an SQL identifier ("ledger_read"). REQUIRES: `name` matches
// [a-z_][a-z0-9_]*, checked.
std::string QuoteIdentifier(std::string_view name);

}  // namespace ledger::projections

#include "projections/database_inl.h"
