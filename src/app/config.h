#pragma once

// Configuration of `funding-ledger serve` and the other subcommands: every
// option is a flag (--name VALUE), an environment variable
// (FUNDING_LEDGER_NAME, dashes as underscores) and a key of the optional TOML
// file (--config FILE, key `name`). A flag beats the environment, which beats
// the file, which beats the default. Names are a contract (product.md).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.h"
#include "common/result.h"

namespace ledger::app {

struct Config {
  std::string listen = "127.0.0.1:8080";
  std::string data_dir = "./var";
  std::string database_url;  // empty: the embedded PostgreSQL in data_dir/pg
  std::string log_url;       // empty: the RocksDB log in data_dir/log
  // A node of a cluster on the PostgreSQL log (docs/deployment.md): its name
  // in the sequencer lease (empty: HOSTNAME:PORT of listen) and the URL other
  // nodes and clients reach it at (empty: http://LISTEN as bound).
  std::string node_id;
  std::string advertise_url;
  // Patroni's REST API of the log's cluster, comma-separated http://HOST:PORT
  // (empty: take the primary libpq connects to).
  std::string patroni_url;
  // The sequencer lease's length: a holder silent this long loses it.
  int64_t lease_ms = 5'000;
  // Writes a node passes on to the sequencing node: at once at most, and
  // how long that node has to answer.
  int64_t forward_max_in_flight = 1'024;
  int64_t forward_timeout_ms = 10'000;
  std::string jwt_secret;  // empty: generated once into data_dir/jwt-secret
  // PEM files of the listener's TLS (both empty: plain HTTP).
  std::string tls_cert;
  std::string tls_key;
  // An identity provider's tokens (RS256, ES256): its keys as a JWKS file
  // (empty: none accepted), reread on SIGHUP, and the iss and aud its tokens
  // must carry (empty: not checked; set only with jwks_file).
  std::string jwks_file;
  std::string jwt_issuer;
  std::string jwt_audience;
  std::string time_zone = "Asia/Seoul";
  // HTTP limits (docs/api.md).
  int64_t io_threads = 2;
  int64_t header_limit_bytes = int64_t{8} * 1024;
  int64_t body_limit_bytes = int64_t{64} * 1024;
  int64_t max_connections = 0;                // 0: from the open-file limit (fd_limit.h)
  int64_t max_connections_per_address = 256;  // 0: no cap
  int64_t max_streams = 1'000;
  int64_t stream_buffer_kib = 256;
  int64_t stream_heartbeat_ms = 15'000;
  int64_t head_timeout_ms = 5'000;
  int64_t read_timeout_ms = 10'000;
  int64_t idle_timeout_ms = 60'000;
  int64_t shutdown_grace_ms = 10'000;
  // X-Min-Position waits at most this long.
  int64_t read_wait_ms = 2'000;
  // Read side: connections to PostgreSQL (and worker threads running queries)
  // and queries waiting for one.
  int64_t db_pool_size = 8;
  int64_t query_queue = 1'024;
  // Write side.
  int64_t queue_capacity = 16'384;
  // Writes per user: a token bucket of write_burst, refilled at write_rate a
  // second (0: not limited).
  int64_t write_rate = 10;
  int64_t write_burst = 100;
  int64_t idempotency_retention_s = int64_t{24} * 3600;
  // The sequencer's posts kept in memory; the rest are read from the
  // durable state when needed.
  int64_t state_cache_mib = 128;
  // The event log's block cache (RocksLogOptions::block_cache_bytes): with
  // the memtables, what bounds the log's memory, whatever its length.
  int64_t log_cache_mib = 64;
  // /readyz says not ready while the projector is further behind than this.
  int64_t ready_max_lag_events = 100'000;
  // Lines below this level are left out of the log (docs/operations.md).
  LogLevel log_level = LogLevel::kInfo;
  // "on" or "off": off serves no /metrics and counts and times nothing.
  bool metrics = true;
  // --rebuild-state: fold the log into a new durable sequencer state on
  // start. A switch of `serve` alone, never read from the environment or the
  // file, so that a repair is never repeated by accident.
  bool rebuild_state = false;
};

// One option: its name (flag, file key) and what it takes.
struct OptionSpec {
  std::string_view name;
  std::string_view help;
  bool is_integer = false;
  int64_t min = 0;
  int64_t max = 0;
  // Non-empty: the option takes exactly one of these words, '|'-separated.
  std::string_view choices = {};
};

// Every option, in help order.
const std::vector<OptionSpec>& ConfigOptions();

// "data-dir" → "FUNDING_LEDGER_DATA_DIR".
std::string EnvName(std::string_view option);

// Builds the configuration from parsed flags (name → value, without "--";
// "config" names the TOML file), the environment and the file. Unknown
// flags or file keys, values out of range or not among an option's choices
// and unreadable files are kInvalidArgument naming the option and where it
// came from.
Result<Config> LoadConfig(const std::map<std::string, std::string>& flags);

// Reads a TOML file into option name → value text (strings as they are,
// integers in decimal). Only flat keys with string or integer values.
Result<std::map<std::string, std::string>> ReadConfigFile(const std::string& path);

}  // namespace ledger::app
