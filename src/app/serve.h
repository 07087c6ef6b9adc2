#pragma once

#include <ostream>

#include "app/config.h"

namespace ledger::app {

// `funding-ledger serve`: opens the log, starts the embedded PostgreSQL when
// no database URL is configured, the sequencer, the projector and the HTTP
// API, and serves until SIGINT or SIGTERM (SIGHUP rereads --jwks-file); then
// stops accepting, answers the requests in flight, lets the projector finish
// its batch and stops the database. Returns the exit code. Call from the main
// thread before any other thread exists (it blocks the three signals
// process-wide).
int Serve(const Config& config, std::ostream& out, std::ostream& err);

// The JWT secret of `config`: the configured one, else the one generated
// once into DATA_DIR/jwt-secret (created, mode 0600, on first use).
Result<std::string> JwtSecret(const Config& config, bool* generated);

}  // namespace ledger::app
