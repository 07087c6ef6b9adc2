#include "app/config.h"

#include <charconv>
#include <cstdlib>

#include "common/check.h"

namespace ledger::app {
namespace {

constexpr int64_t kMaxTimeoutMs = 24LL * 3600 * 1000;

Status SetInteger(const OptionSpec& spec, std::string_view text, std::string_view source,
                  int64_t* out) {
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
    return Status::InvalidArgument(std::string(spec.name) + " (" + std::string(source) + "): '" +
                                   std::string(text) + "' is not an integer");
  }
  if (value < spec.min || value > spec.max) {
    return Status::InvalidArgument(std::string(spec.name) + " (" + std::string(source) +
                                   "): " + std::to_string(value) + " is outside " +
                                   std::to_string(spec.min) + ".." + std::to_string(spec.max));
  }
  *out = value;
  return Status::Ok();
}

// Where each option lands in Config.
std::string* StringField(Config& c, std::string_view name) {
  if (name == "listen") return &c.listen;
  if (name == "data-dir") return &c.data_dir;
  if (name == "database-url") return &c.database_url;
  if (name == "log-url") return &c.log_url;
  if (name == "node-id") return &c.node_id;
  if (name == "advertise-url") return &c.advertise_url;
  if (name == "patroni-url") return &c.patroni_url;
  if (name == "jwt-secret") return &c.jwt_secret;
  if (name == "jwks-file") return &c.jwks_file;
  if (name == "jwt-issuer") return &c.jwt_issuer;
  if (name == "jwt-audience") return &c.jwt_audience;
  if (name == "time-zone") return &c.time_zone;
  if (name == "tls-cert") return &c.tls_cert;
  if (name == "tls-key") return &c.tls_key;
  return nullptr;
}

// Sets an option that takes one of spec.choices.
Status SetChoice(const OptionSpec& spec, std::string_view text, std::string_view source,
                 Config* config) {
  bool known = false;
  if (spec.name == "log-level") {
    const std::optional<LogLevel> level = ParseLogLevel(text);
    known = level.has_value();
    if (known) config->log_level = *level;
  } else if (spec.name == "metrics") {
    known = text == "on" || text == "off";
    if (known) config->metrics = text == "on";
  } else {
    LEDGER_CHECK(false, "every choice option has a field");
  }
  if (!known) {
    return Status::InvalidArgument(std::string(spec.name) + " (" + std::string(source) + "): '" +
                                   std::string(text) + "' is not one of " +
                                   std::string(spec.choices));
  }
  return Status::Ok();
}

int64_t* IntegerField(Config& c, std::string_view name) {
  if (name == "io-threads") return &c.io_threads;
  if (name == "header-limit-bytes") return &c.header_limit_bytes;
  if (name == "body-limit-bytes") return &c.body_limit_bytes;
  if (name == "max-connections") return &c.max_connections;
  if (name == "max-connections-per-address") return &c.max_connections_per_address;
  if (name == "head-timeout-ms") return &c.head_timeout_ms;
  if (name == "max-streams") return &c.max_streams;
  if (name == "stream-buffer-kib") return &c.stream_buffer_kib;
  if (name == "stream-heartbeat-ms") return &c.stream_heartbeat_ms;
  if (name == "read-timeout-ms") return &c.read_timeout_ms;
  if (name == "idle-timeout-ms") return &c.idle_timeout_ms;
  if (name == "shutdown-grace-ms") return &c.shutdown_grace_ms;
  if (name == "read-wait-ms") return &c.read_wait_ms;
  if (name == "db-pool-size") return &c.db_pool_size;
  if (name == "query-queue") return &c.query_queue;
  if (name == "queue-capacity") return &c.queue_capacity;
  if (name == "write-rate") return &c.write_rate;
  if (name == "write-burst") return &c.write_burst;
  if (name == "idempotency-retention-s") return &c.idempotency_retention_s;
  if (name == "state-cache-mib") return &c.state_cache_mib;
  if (name == "log-cache-mib") return &c.log_cache_mib;
  if (name == "ready-max-lag-events") return &c.ready_max_lag_events;
  if (name == "lease-ms") return &c.lease_ms;
  if (name == "forward-max-in-flight") return &c.forward_max_in_flight;
  if (name == "forward-timeout-ms") return &c.forward_timeout_ms;
  return nullptr;
}

const OptionSpec* FindOption(std::string_view name) {
  for (const OptionSpec& spec : ConfigOptions()) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

}  // namespace

const std::vector<OptionSpec>& ConfigOptions() {
  static const std::vector<OptionSpec> kOptions = {
      {"listen", "HOST:PORT to serve the API on (default 127.0.0.1:8080)"},
      {"data-dir",
       "directory of the event log, the embedded PostgreSQL and the generated "
       "JWT secret (default ./var)"},
      {"database-url",
       "libpq URL or conninfo of the read-side PostgreSQL (default: the "
       "embedded one in DATA_DIR/pg)"},
      {"log-url",
       "libpq URL or conninfo of a PostgreSQL that holds the event log (default: the "
       "RocksDB log in DATA_DIR/log)"},
      {"node-id",
       "this node's name in the sequencer lease, with --log-url (default: HOSTNAME:PORT of "
       "--listen)"},
      {"advertise-url",
       "the URL other nodes and clients reach this node at, with --log-url (default: "
       "http://HOST:PORT as bound)"},
      {"patroni-url",
       "with --log-url: Patroni's REST API of the log's cluster, http://HOST:PORT[,...]: a node "
       "takes the sequencer lease only on the primary Patroni names, at its timeline"},
      {"lease-ms",
       "with --log-url: a node that holds the sequencer lease and is silent this long loses it "
       "to another (default 5000)",
       true, 1'000, 600'000},
      {"forward-max-in-flight",
       "with --log-url: writes passed on to the sequencing node at once; more: 503 (default "
       "1024)",
       true, 1, 100'000},
      {"forward-timeout-ms",
       "with --log-url: the sequencing node must answer a passed-on write within this, else 503 "
       "(default 10000)",
       true, 100, kMaxTimeoutMs},
      {"jwt-secret",
       "HS256 secret of the API's tokens (default: generated once into "
       "DATA_DIR/jwt-secret)"},
      {"jwks-file",
       "JWKS file of an identity provider whose RS256 and ES256 tokens are accepted too, "
       "chosen by kid; reread on SIGHUP (default: none)"},
      {"jwt-issuer", "with --jwks-file: the iss the provider's tokens must carry (default: any)"},
      {"jwt-audience",
       "with --jwks-file: the aud the provider's tokens must name, alone or in an array "
       "(default: any)"},
      {"time-zone", "IANA zone of end dates and d_day (default Asia/Seoul)"},
      {"tls-cert",
       "PEM certificate chain (leaf first) of the listener: serve HTTPS, TLS 1.2 and 1.3 only, "
       "with --tls-key; SIGHUP rereads both (default: plain HTTP)"},
      {"tls-key", "PEM private key of --tls-cert"},
      {"io-threads", "HTTP I/O threads (default 2)", true, 1, 64},
      {"header-limit-bytes", "request header bytes before 431 (default 8192)", true, 1024, 1 << 20},
      {"body-limit-bytes", "request body bytes before 413 (default 65536)", true, 1024, 16 << 20},
      {"max-connections",
       "open connections before 503 (default 0: from the open-file limit, raised to its hard "
       "value, less 1024 kept for the log and the database, at most 65536)",
       true, 0, 1'000'000},
      {"max-connections-per-address",
       "open connections from one client address before 503; 0: no cap (default 256)", true, 0,
       1'000'000},
      {"max-streams",
       "open event streams before 503 too_many_streams; each also holds a connection (default "
       "1000)",
       true, 1, 100'000},
      {"stream-buffer-kib",
       "event bytes queued for one stream's client before it is cut off as too slow (default 256)",
       true, 4, int64_t{64} * 1024},
      {"stream-heartbeat-ms",
       "longest silence on an event stream before a heartbeat (default 15000)", true, 100,
       kMaxTimeoutMs},
      {"head-timeout-ms",
       "a request's head must arrive within this, from a new connection's accept or a later "
       "request's first byte; else 408 (default 5000)",
       true, 10, kMaxTimeoutMs},
      {"read-timeout-ms", "a started request must arrive within this (default 10000)", true, 10,
       kMaxTimeoutMs},
      {"idle-timeout-ms", "an idle keep-alive connection is closed after this (default 60000)",
       true, 10, kMaxTimeoutMs},
      {"shutdown-grace-ms", "on SIGTERM, in-flight requests get this long (default 10000)", true, 0,
       kMaxTimeoutMs},
      {"read-wait-ms", "X-Min-Position waits at most this long (default 2000)", true, 0, 60'000},
      {"db-pool-size", "PostgreSQL connections for reads (default 8)", true, 1, 256},
      {"query-queue", "reads waiting for a connection before 503 (default 1024)", true, 1,
       1'000'000},
      {"write-rate",
       "writes (create, edit, delete, fund, cancel) one user may make a second on average; "
       "more: 429 too_many_requests. 0: not limited (default 10)",
       true, 0, 1'000'000},
      {"write-burst", "writes one user may make at once before --write-rate applies (default 100)",
       true, 1, 1'000'000},
      {"queue-capacity", "commands waiting for the sequencer before 503 (default 16384)", true, 1,
       1'000'000},
      {"idempotency-retention-s", "how long Idempotency-Key answers are kept (default 86400)", true,
       60, 30LL * 24 * 3600},
      {"state-cache-mib",
       "memory for the sequencer's recently used posts, in MiB; the others are read from the "
       "log's durable state (default 128)",
       true, 1, 1 << 20},
      {"log-cache-mib",
       "memory for the event log's block cache, in MiB: recently read blocks and the index "
       "and filter pieces of its table files, however long the log (default 64)",
       true, 1, 1 << 20},
      {"ready-max-lag-events",
       "/readyz fails while the projector is further behind (default "
       "100000)",
       true, 0, int64_t{1} << 40},
      {"log-level",
       "least severe log lines written to stderr, one JSON object each: debug, info (one "
       "line per request), warn or error (default info)",
       false, 0, 0, "debug|info|warn|error"},
      {"metrics", "serve Prometheus metrics at /metrics: on or off (default on)", false, 0, 0,
       "on|off"},
  };
  return kOptions;
}

std::string EnvName(std::string_view option) {
  std::string env = "FUNDING_LEDGER_";
  for (const char c : option) {
    env += c == '-' ? '_' : static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  }
  return env;
}

Result<Config> LoadConfig(const std::map<std::string, std::string>& flags) {
  std::map<std::string, std::string> file;
  std::string file_path;
  if (const auto it = flags.find("config"); it != flags.end()) {
    file_path = it->second;
  } else if (const char* env = std::getenv("FUNDING_LEDGER_CONFIG"); env && *env) {
    file_path = env;
  }
  if (!file_path.empty()) {
    LEDGER_ASSIGN_OR_RETURN(file, ReadConfigFile(file_path));
    for (const auto& [key, value] : file) {
      if (FindOption(key) == nullptr) {
        std::string message = "unknown key '" + key;
        message += "' in ";
        message += file_path;
        return Status::InvalidArgument(std::move(message));
      }
    }
  }
  for (const auto& [name, value] : flags) {
    if (name != "config" && FindOption(name) == nullptr) {
      return Status::InvalidArgument("unknown flag --" + name);
    }
  }
  Config config;
  for (const OptionSpec& spec : ConfigOptions()) {
    const std::string name(spec.name);
    std::optional<std::string> value;
    std::string source;
    if (const auto it = flags.find(name); it != flags.end()) {
      value = it->second;
      source = "flag --" + name;
    } else if (const char* env = std::getenv(EnvName(name).c_str()); env != nullptr) {
      value = env;
      source = "environment " + EnvName(name);
    } else if (const auto f = file.find(name); f != file.end()) {
      value = f->second;
      source = file_path;
    }
    if (!value) continue;
    if (spec.is_integer) {
      int64_t* field = IntegerField(config, name);
      LEDGER_CHECK(field != nullptr, "every integer option has a field");
      LEDGER_RETURN_IF_ERROR(SetInteger(spec, *value, source, field));
    } else if (!spec.choices.empty()) {
      LEDGER_RETURN_IF_ERROR(SetChoice(spec, *value, source, &config));
    } else if (std::string* field = StringField(config, name); field != nullptr) {
      *field = *value;
    } else {
      LEDGER_CHECK(false, "every text option has a field");
    }
  }
  if (config.data_dir.empty()) return Status::InvalidArgument("data-dir must not be empty");
  if (config.log_url.empty() &&
      (!config.node_id.empty() || !config.advertise_url.empty() || !config.patroni_url.empty())) {
    return Status::InvalidArgument(
        "node-id, advertise-url and patroni-url are for a node of a cluster on a PostgreSQL log: "
        "they need log-url");
  }
  if (config.jwks_file.empty() && (!config.jwt_issuer.empty() || !config.jwt_audience.empty())) {
    return Status::InvalidArgument(
        "jwt-issuer and jwt-audience check the tokens of the identity provider: they need "
        "jwks-file");
  }
  return config;
}

}  // namespace ledger::app
