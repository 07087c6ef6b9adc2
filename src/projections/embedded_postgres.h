#pragma once

#include <memory>
#include <optional>
#include <string>

#include <sys/types.h>

#include "common/result.h"

namespace ledger::projections {

struct EmbeddedPostgresOptions {
  // The cluster's directory; created and initialised (initdb) on first use.
  // The server listens only on a Unix socket in this directory, never TCP.
  std::string data_dir;
  // Where initdb and postgres live. Empty: $FUNDING_LEDGER_PG_BIN_DIR, else
  // the newest /usr/lib/postgresql/<version>/bin.
  std::string bin_dir;
  // Only names the socket file (.s.PGSQL.<port>); nothing listens on TCP.
  int port = 5432;
  // false for throwaway test clusters: fsync off, which is much faster and
  // loses data on a machine crash. The service always runs durable.
  bool durable = true;
  // How long to wait for the server to accept connections.
  int start_timeout_ms = 30'000;
};

// A private PostgreSQL server owned by this process: the service's embedded
// default when no database URL is configured, and every test's database.
//
// The server is a direct child of this process, started with a parent-death
// signal, so it stops even if this process is killed. The kernel sends that
// signal when the *thread* that called Start() ends: call it from a thread
// that lives as long as the server (the main thread). As root, initdb and
// postgres run as the `postgres` user (they refuse to run as root) and the
// data directory is handed to that user.
class EmbeddedPostgres {
 public:
  // Initialises the cluster if needed, starts the server and waits until it
  // accepts connections. Fails with a clear message when the binaries are
  // missing, the directory cannot be used, or the server does not come up.
  static Result<std::unique_ptr<EmbeddedPostgres>> Start(const EmbeddedPostgresOptions& options);
  // When a server already runs on the cluster that Start(options) would use
  // (the service's, for a tool running beside it), a connection string for
  // `database` on it; otherwise nothing.
  static std::optional<std::string> RunningAt(const EmbeddedPostgresOptions& options,
                                              const std::string& database = "postgres");

  // Stops the server (fast shutdown).
  ~EmbeddedPostgres();
  EmbeddedPostgres(const EmbeddedPostgres&) = delete;
  EmbeddedPostgres& operator=(const EmbeddedPostgres&) = delete;

  // Fast shutdown: active sessions are ended, the server exits cleanly.
  // Waits for it. Idempotent.
  Status Stop();

  // A libpq connection string for `database` on this server.
  std::string ConnectionString(const std::string& database = "postgres") const;
  const std::string& socket_dir() const { return options_.data_dir; }
  pid_t pid() const { return pid_; }

 private:
  explicit EmbeddedPostgres(EmbeddedPostgresOptions options) : options_(std::move(options)) {}

  // Waits until the server just started (pid_) accepts connections, for at
  // most options_.start_timeout_ms. Errors: kUnavailable, quoting the end of
  // the server's `log`, when it exited during start-up or did not come up in
  // time (it is stopped then); either way pid_ is -1 afterwards.
  Status AwaitConnections(const std::string& log);

  EmbeddedPostgresOptions options_;
  pid_t pid_ = -1;
};

}  // namespace ledger::projections
