#pragma once

// Internal to src/projections (it takes pqxx transactions): how the read
// queries run their statements on the pool's connections.

#include <string>
#include <string_view>
#include <utility>

#include <pqxx/pqxx>

#include "common/result.h"
#include "projections/connection_pool.h"
#include "projections/database.h"

namespace ledger::projections {

// A read is idempotent, so a query that lost its connection is tried once
// more on a fresh one: after a database restart every idle connection is
// dead, and only using one finds out.
inline constexpr int kMaxQueryAttempts = 2;

// SQLSTATE query_canceled: statement_timeout fired.
inline constexpr std::string_view kQueryCanceled = "57014";
// The server ended the session (pg_terminate_backend, shutdown, a crashed
// backend): the connection is gone although libpq reported an SQL error.
inline constexpr std::string_view kAdminShutdown = "57P01";
inline constexpr std::string_view kCrashShutdown = "57P02";
// SQLSTATE undefined_table: the read tables are not there. Just after a
// start the projector has not created them yet, so a read then is "retry
// shortly", not a server error.
inline constexpr std::string_view kUndefinedTable = "42P01";

// Runs `sql` as the statement `name`, prepared on the connection the first
// time it is used there: later runs skip parsing and planning. pqxx keeps
// the definitions per connection, and a name always stands for the same
// text (pqxx refuses a different one).
template <typename... Args>
pqxx::result ExecPrepared(pqxx::transaction_base& tx, const std::string& name,
                          const std::string& sql, Args&&... args) {
  tx.conn().prepare(name, sql);
  return tx.exec_prepared(name, std::forward<Args>(args)...);
}

// Runs `body(tx)` on a pooled connection and turns every pqxx exception into
// a Status. A connection that saw an error is discarded. Every read is one
// SELECT, and a single statement sees one snapshot on its own, so `tx` is a
// nontransaction: no BEGIN and COMMIT round trips. The pool's sessions are
// read-only (ConnectionPoolOptions::read_only) when the wiring asks for it.
template <typename Body>
Status ReadOnly(ConnectionPool& pool, std::string_view what, Body&& body) {
  Status status;
  for (int attempt = 1; attempt <= kMaxQueryAttempts; ++attempt) {
    LEDGER_ASSIGN_OR_RETURN(ConnectionPool::Lease lease, pool.Acquire());
    bool connection_lost = false;
    status = Guard(what, [&]() -> Status {
      try {
        pqxx::nontransaction tx(lease.connection());
        body(tx);
        return Status::Ok();
      } catch (const pqxx::broken_connection&) {
        connection_lost = true;
        throw;
      } catch (const pqxx::sql_error& e) {
        if (e.sqlstate() == kQueryCanceled) {
          return Status::Unavailable(std::string(what) + ": query timed out");
        }
        if (e.sqlstate() == kUndefinedTable) {
          return Status::Unavailable(std::string(what) +
                                     ": the read tables do not exist yet (the projector creates "
                                     "them when it first reaches PostgreSQL): " +
                                     e.what());
        }
        if (e.sqlstate() == kAdminShutdown || e.sqlstate() == kCrashShutdown) {
          connection_lost = true;
          return Status::Unavailable(std::string(what) + ": database connection lost: " + e.what());
        }
        throw;
      }
    });
    if (status.ok()) return status;
    lease.Discard();
    // Only a connection that was used before can have died unnoticed; a
    // failure on a fresh one is the database's answer now.
    if (!connection_lost || lease.fresh()) break;
    // The next attempt gets a fresh connection, unless another thread
    // returns one in between.
    pool.CloseIdle();
  }
  return status;
}

}  // namespace ledger::projections
