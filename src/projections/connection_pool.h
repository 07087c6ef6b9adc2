#pragma once

// Other modules reach the read side through QueryService (queries.h); the app
// wiring constructs the pool. The connections a Lease hands out are used only
// inside src/projections (database.h defines PgConnection).

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace ledger::projections {

struct PgConnection;  // defined in database.h, private to this module

inline constexpr size_t kDefaultMaxConnections = 8;
// How long Acquire waits for a free connection unless told otherwise.
inline constexpr std::chrono::milliseconds kDefaultAcquireWait{1000};
// libpq's connect_timeout, added to the conninfo unless it sets its own:
// without it a connect to a silent host blocks for the kernel's TCP timeout.
// libpq treats values below 2 s as 2 s.
inline constexpr std::chrono::seconds kDefaultConnectTimeout{5};
// Session statement_timeout of every pooled connection: a read query that
// runs longer is cancelled and reported as kUnavailable.
inline constexpr std::chrono::milliseconds kDefaultStatementTimeout{10'000};

struct ConnectionPoolOptions {
  // libpq connection string, key=value or postgresql:// URI.
  std::string conninfo;
  // At most this many connections are open at once. REQUIRES: >= 1.
  size_t max_connections = kDefaultMaxConnections;
  std::chrono::seconds connect_timeout = kDefaultConnectTimeout;
  // 0 leaves the server's default (normally none).
  std::chrono::milliseconds statement_timeout = kDefaultStatementTimeout;
  // A pool for the API's reads: sets default_transaction_read_only on every
  // connection, so a statement run without an explicit transaction still
  // cannot write, and turns parallel query off (max_parallel_workers_per_gather
  // 0), which costs more than it saves for many small concurrent queries.
  bool read_only = false;
};

// A bounded pool of PostgreSQL connections, opened lazily (the first Acquire
// that finds no idle connection and a free slot opens one).
//
// BLOCKING: Acquire waits, and connecting and querying block on the network.
// Use it from a worker pool, never from an I/O (event loop) thread.
//
// Thread-safe. REQUIRES: every Lease is gone before the pool is destroyed
// (checked).
class ConnectionPool {
 public:
  class Lease;

  explicit ConnectionPool(ConnectionPoolOptions options);
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // A connection for the caller's exclusive use until the Lease is destroyed.
  // Prefers the most recently returned idle connection; opens a new one when
  // none is idle and fewer than max_connections are open; otherwise waits up
  // to `wait` for one to be returned. kUnavailable when none frees up in time
  // or when a new connection cannot be opened (database down or unreachable);
  // never throws. Opening a connection may take up to connect_timeout beyond
  // `wait`.
  Result<Lease> Acquire(std::chrono::milliseconds wait = kDefaultAcquireWait);

  // Closes every idle connection. Call when a leased connection turned out to
  // be dead: the idle ones most likely died with it (a server restart), and
  // each would otherwise fail a request of its own.
  void CloseIdle();

  size_t max_connections() const { return options_.max_connections; }
  // Connections open now, leased or idle (opening ones included).
  size_t open() const;
  // Connections leased now (opening ones included).
  size_t in_use() const;
  // Callers blocked in Acquire waiting for a connection.
  size_t waiting() const;

 private:
  void Release(std::unique_ptr<PgConnection> connection, bool discard);
  Result<std::unique_ptr<PgConnection>> Open() const;

  const ConnectionPoolOptions options_;
  const std::string conninfo_;  // options_.conninfo with the connect timeout

  mutable std::mutex mu_;
  std::condition_variable returned_;                 // a connection went idle or a slot freed up
  std::vector<std::unique_ptr<PgConnection>> idle_;  // guarded by mu_; back = newest
  size_t open_ = 0;                                  // guarded by mu_
  size_t in_use_ = 0;                                // guarded by mu_
  size_t waiting_ = 0;                               // guarded by mu_
};

// Exclusive use of one pooled connection. Move-only; returns the connection to
// its pool when destroyed, or closes it when it was discarded or is no longer
// open.
class ConnectionPool::Lease {
 public:
  Lease(Lease&& other) noexcept;
  Lease& operator=(Lease&& other) noexcept;
  ~Lease();
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;

  // REQUIRES: this Lease was not moved from.
  PgConnection& connection() const;
  PgConnection* operator->() const { return &connection(); }

  // Close the connection instead of returning it: call after any error on
  // it, since its session state is then unknown.
  void Discard() { discard_ = true; }
  // True when the connection was opened for this lease (never used before).
  bool fresh() const { return fresh_; }

 private:
  friend class ConnectionPool;
  Lease(ConnectionPool* pool, std::unique_ptr<PgConnection> connection, bool fresh);
  void Return();

  ConnectionPool* pool_ = nullptr;
  std::unique_ptr<PgConnection> connection_;
  bool fresh_ = false;
  bool discard_ = false;
};

// `conninfo` with `key` set to `value` unless it already sets `key`, in the
// conninfo's own syntax (key=value or URI query parameter). REQUIRES: `value`
// needs no quoting or escaping in either ([A-Za-z0-9_.-]+), checked.
std::string WithConninfoSetting(std::string_view conninfo, std::string_view key,
                                std::string_view value);

// `conninfo` with connect_timeout set to `timeout` unless it already sets one.
std::string WithConnectTimeout(std::string_view conninfo, std::chrono::seconds timeout);

// `conninfo` naming its connections `name` in pg_stat_activity
// (application_name) unless it names them itself. REQUIRES: as
// WithConninfoSetting's value.
std::string WithApplicationName(std::string_view conninfo, std::string_view name);

}  // namespace ledger::projections
