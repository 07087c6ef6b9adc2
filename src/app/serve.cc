#include "app/serve.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string_view>

#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/context.h"
#include "api/position_waiter.h"
#include "api/routes.h"
#include "api/sequencer_slot.h"
#include "api/stream_hub.h"
#include "app/cluster_role.h"
#include "app/command_support.h"
#include "app/fd_limit.h"
#include "app/patroni.h"
#include "app/provider_keys.h"
#include "commands/sequencer.h"
#include "common/ascii.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/time_zone.h"
#include "events/rocks_log.h"
#include "http/metrics.h"
#include "http/router.h"
#include "http/server.h"
#include "http/worker_pool.h"
#include "projections/connection_pool.h"
#include "projections/embedded_postgres.h"
#include "projections/pg_event_log.h"
#include "projections/projector.h"
#include "projections/queries.h"

namespace ledger::app {
namespace {

namespace fs = std::filesystem;

constexpr size_t kSecretBytes = 32;
// Threads that build write answers (they copy a post or read one event).
constexpr size_t kAnswerThreads = 2;
// Questions to Patroni's REST API: at once, and how long one may take.
constexpr size_t kPatroniQuestions = 4;
constexpr std::chrono::milliseconds kPatroniTimeout{2'000};

Result<std::pair<std::string, uint16_t>> ParseListen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Status::InvalidArgument("listen must be HOST:PORT, got '" + listen + "'");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string port_text = listen.substr(colon + 1);
  unsigned port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535 ||
      port_text.empty()) {
    return Status::InvalidArgument("listen port must be 0..65535, got '" + port_text + "'");
  }
  return std::make_pair(host, static_cast<uint16_t>(port));
}

// Why serve could not start: the stage, as its log line names it, and the
// failure.
struct StartFailure {
  std::string_view stage;
  Status status;
};

int LogStartFailure(const StartFailure& failure) {
  LEDGER_LOG(LogLevel::kError, "serve", "cannot start")
      .Str("stage", failure.stage)
      .Str("error", failure.status.ToString());
  return kExitUsage;
}

// Blocks SIGINT and SIGTERM (stop) and SIGHUP (reread the TLS and JWKS files), which
// serve takes with sigwait: every thread started from here on inherits the
// mask, so none of them is interrupted.
sigset_t BlockServeSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

Status PrepareDataDir(const std::string& data_dir) {
  std::error_code ec;
  fs::create_directories(data_dir, ec);
  if (ec) return Status::IOError(data_dir + ": " + ec.message());
  // The embedded PostgreSQL runs as its own user and must reach its folder.
  chmod(data_dir.c_str(), 0711);
  return Status::Ok();
}

// JwtSecret, saying where the secret came from when none is configured.
Result<std::string> LoadJwtSecret(const Config& config) {
  bool generated = false;
  LEDGER_ASSIGN_OR_RETURN(std::string secret, JwtSecret(config, &generated));
  if (config.jwt_secret.empty()) {
    LEDGER_LOG(LogLevel::kInfo, "serve", generated ? "JWT secret generated" : "JWT secret read")
        .Str("path", config.data_dir + "/jwt-secret")
        .Str("hint", "mint a token with: funding-ledger token --data-dir " + config.data_dir +
                         " --sub USER_ID");
  }
  return secret;
}

// The read-side PostgreSQL: the configured one, else the embedded one in
// DATA_DIR/pg, started here.
struct ReadDatabase {
  std::string conninfo;
  std::unique_ptr<projections::EmbeddedPostgres> embedded;  // null with a database URL
};

Result<ReadDatabase> StartReadDatabase(const Config& config) {
  ReadDatabase database;
  database.conninfo = config.database_url;
  if (!database.conninfo.empty()) return database;
  projections::EmbeddedPostgresOptions pg;
  pg.data_dir = config.data_dir + "/pg";
  pg.durable = true;
  LEDGER_ASSIGN_OR_RETURN(database.embedded, projections::EmbeddedPostgres::Start(pg));
  database.conninfo = database.embedded->ConnectionString("postgres");
  LEDGER_LOG(LogLevel::kInfo, "serve", "embedded PostgreSQL running").Str("path", pg.data_dir);
  return database;
}

// Stops the embedded PostgreSQL, if it is ours; a failure is logged.
void StopReadDatabase(ReadDatabase& database) {
  if (!database.embedded) return;
  if (const Status stopped = database.embedded->Stop(); !stopped.ok()) {
    LEDGER_LOG(LogLevel::kError, "serve", "embedded PostgreSQL did not stop cleanly")
        .Str("error", stopped.ToString());
  }
}

// What serve opens before any thread of its own starts. The members are
// destroyed in reverse order: the database stops before the log closes.
struct Opened {
  std::string host;
  uint16_t port = 0;
  // --max-connections, or the cap the open-file limit allows.
  uint64_t max_connections = 0;
  TimeZone zone;
  std::string jwt_secret;
  std::unique_ptr<events::EventLog> log;
  // The same log when it is in PostgreSQL: the node takes part in a
  // cluster's sequencer lease (ClusterRole). Null with the RocksDB log.
  projections::PgEventLog* pg_log = nullptr;
  ReadDatabase database;
  std::shared_ptr<api::KeyRing> key_ring;  // null without --jwks-file
};

// The node's name in the lease when none is configured: HOSTNAME:PORT.
std::string DefaultNodeId(const std::string& listen) {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "localhost");
  return std::string(host) + ":" + listen.substr(listen.rfind(':') + 1);
}

// The RocksDB log in DATA_DIR/log, or the PostgreSQL one at --log-url. Either
// purges idempotency records by the same retention the sequencer answers
// from (SequencerOptionsFor).
Result<std::unique_ptr<events::EventLog>> OpenServiceLog(const Config& config) {
  if (!config.log_url.empty()) {
    projections::PgLogOptions options;
    options.idempotency_retention = std::chrono::seconds(config.idempotency_retention_s);
    options.lease.node_id = config.node_id.empty() ? DefaultNodeId(config.listen) : config.node_id;
    options.lease.node_url = config.advertise_url;
    options.lease.timeout = std::chrono::milliseconds(config.lease_ms);
    LEDGER_ASSIGN_OR_RETURN(
        auto log,
        projections::PgEventLog::Open(
            projections::WithApplicationName(config.log_url, "funding-ledger-log"), options));
    return std::unique_ptr<events::EventLog>(std::move(log));
  }
  events::RocksLogOptions log_options;
  log_options.idempotency_retention = std::chrono::seconds(config.idempotency_retention_s);
  log_options.block_cache_bytes = static_cast<size_t>(config.log_cache_mib) << 20;
  LEDGER_ASSIGN_OR_RETURN(auto log,
                          events::RocksEventLog::Open(config.data_dir + "/log", log_options));
  return std::unique_ptr<events::EventLog>(std::move(log));
}

Result<Opened, StartFailure> Open(const Config& config) {
  const auto listen = ParseListen(config.listen);
  if (!listen.ok()) return StartFailure{"configuration", listen.status()};
  // Unusable TLS files stop serve before anything is opened.
  const http::TlsFiles tls{config.tls_cert, config.tls_key};
  if (tls.enabled()) {
    if (const Status usable = http::CheckTlsFiles(tls); !usable.ok()) {
      return StartFailure{"TLS", usable};
    }
  }
  const uint64_t fd_limit = RaiseFileDescriptorLimit();
  const auto max_connections = ConnectionCap(config.max_connections, fd_limit);
  if (!max_connections.ok()) return StartFailure{"configuration", max_connections.status()};
  LEDGER_LOG(LogLevel::kInfo, "serve", "connections capped")
      .Int("max_connections", static_cast<int64_t>(*max_connections))
      .Int("open_file_limit", static_cast<int64_t>(std::min<uint64_t>(fd_limit, INT64_MAX)));
  auto zone = TimeZone::Load(config.time_zone);
  if (!zone.ok()) return StartFailure{"time zone", zone.status()};
  if (const Status dir = PrepareDataDir(config.data_dir); !dir.ok()) {
    return StartFailure{"data directory", dir};
  }
  auto secret = LoadJwtSecret(config);
  if (!secret.ok()) return StartFailure{"JWT secret", secret.status()};
  auto key_ring = OpenProviderKeys(config);
  if (!key_ring.ok()) return StartFailure{"JWKS file", key_ring.status()};
  auto log = OpenServiceLog(config);
  if (!log.ok()) return StartFailure{"event log", log.status()};
  auto database = StartReadDatabase(config);
  if (!database.ok()) return StartFailure{"embedded PostgreSQL", database.status()};
  auto* pg_log =
      config.log_url.empty() ? nullptr : static_cast<projections::PgEventLog*>(log->get());
  return Opened{listen->first,
                listen->second,
                *max_connections,
                std::move(zone).value(),
                std::move(secret).value(),
                std::move(log).value(),
                pg_log,
                std::move(database).value(),
                std::move(key_ring).value()};
}

commands::SequencerOptions SequencerOptionsFor(const Config& config,
                                               projections::Projector* projector,
                                               api::StreamHub* streams) {
  commands::SequencerOptions options;
  options.queue_capacity = static_cast<size_t>(config.queue_capacity);
  options.idempotency_retention = std::chrono::seconds(config.idempotency_retention_s);
  options.after_batch = [projector, streams] {
    projector->Wake();
    streams->LogAdvanced();
  };
  options.count_metrics = config.metrics;
  options.state_cache_bytes = static_cast<size_t>(config.state_cache_mib) << 20;
  options.rebuild_state = config.rebuild_state;
  return options;
}

projections::ConnectionPoolOptions PoolOptionsFor(const Config& config,
                                                  const std::string& conninfo) {
  projections::ConnectionPoolOptions options;
  // Named, so that pg_stat_activity (and bench/http's CPU budget) tells the
  // read pool's backends from the projector's.
  options.conninfo = projections::WithApplicationName(conninfo, "funding-ledger-reads");
  options.max_connections = static_cast<size_t>(config.db_pool_size);
  options.read_only = true;  // the pool only serves reads
  return options;
}

api::StreamOptions StreamOptionsFor(const Config& config) {
  api::StreamOptions options;
  options.max_streams = static_cast<size_t>(config.max_streams);
  options.buffer_bytes = static_cast<size_t>(config.stream_buffer_kib) * 1024;
  options.heartbeat = std::chrono::milliseconds(config.stream_heartbeat_ms);
  return options;
}

http::ServerOptions ServerOptionsFor(const Config& config, const Opened& opened) {
  http::ServerOptions options;
  options.host = opened.host;
  options.port = opened.port;
  options.io_threads = static_cast<int>(config.io_threads);
  options.limits.header_limit_bytes = static_cast<size_t>(config.header_limit_bytes);
  options.limits.body_limit_bytes = static_cast<size_t>(config.body_limit_bytes);
  options.limits.max_connections = static_cast<size_t>(opened.max_connections);
  options.limits.max_connections_per_address =
      static_cast<size_t>(config.max_connections_per_address);
  options.limits.head_timeout = std::chrono::milliseconds(config.head_timeout_ms);
  options.limits.read_timeout = std::chrono::milliseconds(config.read_timeout_ms);
  options.limits.idle_timeout = std::chrono::milliseconds(config.idle_timeout_ms);
  options.limits.shutdown_grace = std::chrono::milliseconds(config.shutdown_grace_ms);
  options.tls = {config.tls_cert, config.tls_key};
  return options;
}

// SIGHUP: rereads the TLS files; on failure the ones in use stay.
void ReloadTls(http::HttpServer& server, const Config& config) {
  if (config.tls_cert.empty()) return;
  if (const Status reloaded = server.ReloadTls(); !reloaded.ok()) {
    LEDGER_LOG(LogLevel::kError, "serve", "TLS reload failed; the certificate in use stays")
        .Str("error", reloaded.ToString());
    return;
  }
  LEDGER_LOG(LogLevel::kInfo, "serve", "TLS files reloaded").Str("cert", config.tls_cert);
}

// Plain HTTP is for loopback (and a TLS-terminating proxy on the same
// host); anywhere else tokens and bodies would cross the network in clear.
void WarnIfPlainOffLoopback(const Config& config, const std::string& host) {
  if (!config.tls_cert.empty()) return;
  if (host == "127.0.0.1" || host == "::1" || host == "localhost") return;
  LEDGER_LOG(LogLevel::kWarn, "serve", "serving plain HTTP beyond loopback")
      .Str("host", host)
      .Str("hint", "give --tls-cert and --tls-key, or put a TLS proxy in front");
}

// Starts the service's threads on what `opened` holds, serves until SIGINT
// or SIGTERM (blocked in `signals`; SIGHUP rereads the TLS and JWKS files), then
// stops them in order and the embedded database with them. Returns the exit
// code.
int RunService(const Config& config, Opened& opened, const sigset_t& signals, std::ostream& out) {
  SystemClock clock;
  std::unique_ptr<projections::Projector> projector;
  api::PositionWaiter waiter([&projector] { return projector ? projector->position() : -1; });
  // The streams read figures through their own pool connection.
  projections::ConnectionPool pool(PoolOptionsFor(config, opened.database.conninfo));
  projections::QueryService queries(pool, opened.zone);
  api::StreamHub streams(opened.log.get(), &queries, &clock, StreamOptionsFor(config));
  projections::ProjectorOptions projector_options;
  projector_options.conninfo =
      projections::WithApplicationName(opened.database.conninfo, "funding-ledger-projector");
  projector_options.on_committed = [&waiter, &streams](int64_t position) {
    waiter.Notify(position);
    streams.Projected(position);
  };
  if (opened.pg_log != nullptr) {
    // A cluster: other nodes project into the same tables at other times.
    projector_options.shared_checkpoint = true;
    projector_options.idle_in_transaction_timeout = std::chrono::milliseconds(config.lease_ms);
  }
  projector = std::make_unique<projections::Projector>(opened.log.get(), projector_options);

  // Writes go to this node's sequencer: for good with the RocksDB log, while
  // the node holds the sequencer lease with the PostgreSQL one.
  api::SequencerSlot sequencers;
  std::shared_ptr<commands::Sequencer> sequencer;
  std::unique_ptr<http::Forwarder> forwarder;
  std::unique_ptr<http::Forwarder> patroni;  // asks Patroni where the primary is
  std::unique_ptr<ClusterRole> role;
  if (opened.pg_log != nullptr) {
    http::ForwarderOptions forward;
    forward.max_in_flight = static_cast<size_t>(config.forward_max_in_flight);
    forward.timeout = std::chrono::milliseconds(config.forward_timeout_ms);
    forwarder = http::Forwarder::Create(forward);
    ClusterRoleOptions role_options;
    if (!config.patroni_url.empty()) {
      auto urls = SplitPatroniUrls(config.patroni_url);
      if (!urls.ok()) return LogStartFailure({"configuration", urls.status()});
      http::ForwarderOptions ask;
      ask.max_in_flight = kPatroniQuestions;
      ask.timeout = kPatroniTimeout;
      patroni = http::Forwarder::Create(ask);
      role_options.find_primary = [&patroni, urls = *urls]() -> Result<projections::LeaseServer> {
        LEDGER_ASSIGN_OR_RETURN(const PatroniLeader leader, FindPatroniLeader(*patroni, urls));
        return projections::LeaseServer{leader.timeline, leader.port};
      };
    }
    // Writes on their way to a node that no longer sequences are answered
    // at once (503, retry) instead of after their deadline.
    role_options.on_leader_change = [&forwarder] { forwarder->AbandonAll(); };
    role_options.sequencer = SequencerOptionsFor(config, projector.get(), &streams);
    role_options.lease_check = std::chrono::milliseconds(config.lease_ms / 4);
    role = std::make_unique<ClusterRole>(opened.pg_log, &clock, &opened.zone, projector.get(),
                                         &sequencers, role_options);
  } else {
    auto started =
        commands::Sequencer::Start(opened.log.get(), &clock, &opened.zone,
                                   SequencerOptionsFor(config, projector.get(), &streams));
    if (!started.ok()) return LogStartFailure({"sequencer", started.status()});
    sequencer = std::move(started).value();
    sequencers.Set(sequencer, {});
  }
  projector->Start();
  streams.Start();

  http::HttpMetrics metrics;
  http::WorkerPool workers(static_cast<size_t>(config.db_pool_size),
                           static_cast<size_t>(config.query_queue), "query");
  // Every accepted command gets an answer job: room for a full command queue
  // plus the batches being written and answered.
  http::WorkerPool answers(
      kAnswerThreads, static_cast<size_t>(config.queue_capacity) + size_t{16} * 1024, "answer");

  api::ApiContext context;
  context.sequencers = &sequencers;
  if (opened.pg_log != nullptr) {
    context.node_id = opened.pg_log->node_id();
    context.forwarder = forwarder.get();
  }
  context.log = opened.log.get();
  context.queries = &queries;
  context.projector = projector.get();
  context.clock = &clock;
  context.time_zone = &opened.zone;
  context.jwt_secret = opened.jwt_secret;
  if (opened.key_ring != nullptr) context.tokens->TrustProvider(opened.key_ring);
  context.workers = &workers;
  context.answers = &answers;
  context.waiter = &waiter;
  context.streams = &streams;
  // metrics = off: no /metrics and nothing counted or timed (for measuring
  // what the instrumentation costs).
  context.http_metrics = config.metrics ? &metrics : nullptr;
  std::unique_ptr<api::WriteLimiter> write_limiter;
  if (config.write_rate > 0) {
    write_limiter = std::make_unique<api::WriteLimiter>(api::WriteLimits{
        .per_second = static_cast<double>(config.write_rate), .burst = config.write_burst});
    context.write_limiter = write_limiter.get();
  }
  context.read_wait = std::chrono::milliseconds(config.read_wait_ms);
  context.ready_max_lag_events = config.ready_max_lag_events;
  http::Router router;
  api::AddApiRoutes(&context, router);
  auto server = http::HttpServer::Start(ServerOptionsFor(config, opened), std::move(router),
                                        config.metrics ? &metrics : nullptr);
  if (!server.ok()) return LogStartFailure({"HTTP server", server.status()});
  if (role != nullptr) {
    if (config.advertise_url.empty()) {
      opened.pg_log->SetNodeUrl("http://" + opened.host + ":" + std::to_string((*server)->port()));
    }
    role->Start();
  }
  // Scripts (and the end-to-end tests) read this line for the port.
  out << "funding-ledger serving on " << (config.tls_cert.empty() ? "http://" : "https://")
      << opened.host << ":" << (*server)->port() << std::endl;
  WarnIfPlainOffLoopback(config, opened.host);
  LEDGER_LOG(LogLevel::kInfo, "serve", "serving")
      .Str("host", opened.host)
      .Int("port", (*server)->port())
      .Int("position", opened.log->Head().position);

  int signal = 0;
  for (sigwait(&signals, &signal); signal == SIGHUP; sigwait(&signals, &signal)) {
    if (config.tls_cert.empty() && opened.key_ring == nullptr) {
      LEDGER_LOG(LogLevel::kInfo, "serve", "SIGHUP ignored")
          .Str("reason", "neither --tls-cert nor --jwks-file is set");
      continue;
    }
    ReloadTls(**server, config);
    if (opened.key_ring != nullptr) ReloadProviderKeys(opened.key_ring.get());
  }
  LEDGER_LOG(LogLevel::kInfo, "serve", "shutting down")
      .Str("signal", signal == SIGINT ? "SIGINT" : "SIGTERM");

  (*server)->Stop();  // no new requests; those in flight are answered; streams say farewell
  streams.Stop();
  if (forwarder != nullptr) forwarder->Stop();
  // Every queued command is decided and answered; a cluster node also hands
  // the lease over.
  if (role != nullptr) role->Stop();
  if (sequencer != nullptr) sequencer->Stop();
  answers.Stop();
  workers.Stop();
  projector->Stop();  // finishes its batch
  StopReadDatabase(opened.database);
  LEDGER_LOG(LogLevel::kInfo, "serve", "stopped").Int("position", opened.log->Head().position);
  return 0;
}

}  // namespace

Result<std::string> JwtSecret(const Config& config, bool* generated) {
  *generated = false;
  if (!config.jwt_secret.empty()) return config.jwt_secret;
  const std::string path = config.data_dir + "/jwt-secret";
  std::error_code ec;
  if (fs::exists(path, ec)) {
    std::ifstream in(path);
    std::string secret;
    std::getline(in, secret);
    if (secret.empty()) return Status::IOError(path + " is empty: delete it to make a new one");
    return secret;
  }
  fs::create_directories(config.data_dir, ec);
  if (ec) return Status::IOError("creating " + config.data_dir + ": " + ec.message());
  unsigned char bytes[kSecretBytes];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return Status::Internal("RAND_bytes failed");
  const std::string secret =
      HexEncode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << secret << "\n";
    if (!out) return Status::IOError("writing " + tmp);
  }
  if (chmod(tmp.c_str(), 0600) != 0) return Status::IOError("chmod 0600 " + tmp);
  fs::rename(tmp, path, ec);
  if (ec) return Status::IOError("renaming " + tmp + ": " + ec.message());
  *generated = true;
  return secret;
}

// Every message of serve goes to the structured log (common/log.h), not to
// `err`.
int Serve(const Config& config, std::ostream& out, std::ostream& /*err*/) {
  SetLogLevel(config.log_level);
  const sigset_t signals = BlockServeSignals();
  Result<Opened, StartFailure> opened = Open(config);
  if (!opened.ok()) return LogStartFailure(opened.error());
  return RunService(config, *opened, signals, out);
}

}  // namespace ledger::app
