// Whole HTTP requests: bytes as a client sends them on one connection, read
// by Beast's request parser with the server's limits, converted, routed by
// the real Router with every route of docs/api.md (AddApiRoutes) and handled
// by the real handlers, whose answers are converted and serialized as the
// server writes them. Up to kRequestsMax pipelined requests per input.
//
// In-process, once per process: a RocksDB log in a temporary directory
// (/dev/shm when there is one, so that the fsync of every accepted write is
// cheap), the sequencer on it with a clock fixed at 2026-11-21T03:00:00Z, the
// worker pools and a PositionWaiter that follows the log head. So the write
// routes run to the durable append and their answer, and the log reads
// (feeds, ?as_of=) read what earlier inputs wrote. Not run per input:
// PostgreSQL. The query service points at a database that does not exist,
// so the table reads run their parsing and validation and then answer 503,
// as they do when the database is down; the projector is never started. The
// live streams (long-lived answers) are not routed. What the connection
// adds (timeouts, keep-alive, lingering, 100-continue) needs a socket and is
// covered by tests/http/server_test.cc instead; AnswerReadError's answers
// are rebuilt here from the same functions.
//
// Seeds carry tokens signed with kSecret for user "alice" and "bob", valid
// until 2100, so that the fuzzer starts from requests that reach the
// handlers' bodies (it cannot forge a signature).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>

// The Boost headers must stay between these two.
// clang-format off
#include "http/boost_warnings_begin.h"
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include "http/boost_warnings_end.h"
// clang-format on

#include "api/context.h"
#include "api/position_waiter.h"
#include "api/routes.h"
#include "api/sequencer_slot.h"
#include "commands/sequencer.h"
#include "common/check.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/time_zone.h"
#include "events/rocks_log.h"
#include "http/beast_convert.h"
#include "http/message.h"
#include "http/metrics.h"
#include "http/problem.h"
#include "http/router.h"
#include "http/server.h"
#include "http/worker_pool.h"
#include "projections/connection_pool.h"
#include "projections/projector.h"
#include "projections/queries.h"

namespace {

namespace bhttp = boost::beast::http;
namespace http = ledger::http;

constexpr std::string_view kSecret = "fuzz-secret-fuzz-secret-fuzz-sec";
// Pipelined requests handled per input; the rest of the bytes are ignored.
constexpr int kRequestsMax = 4;
// A handler that has not answered in this long never will: a bug.
constexpr std::chrono::seconds kAnswerWaitMax{30};

using Parser = bhttp::request_parser<bhttp::string_body>;

// The service's parts, built once. Stopped at exit (Stop), in the order
// tests/api/api_fixture.cc stops them, and the directory removed.
struct Service {
  std::filesystem::path dir;
  ledger::ManualClock clock{ledger::Timestamp(std::chrono::seconds(1'795'230'000))};
  ledger::TimeZone zone = ledger::TimeZone::Load("Asia/Seoul").value();
  std::unique_ptr<ledger::events::RocksEventLog> log;
  std::shared_ptr<ledger::commands::Sequencer> sequencer;
  ledger::api::SequencerSlot sequencers;
  std::unique_ptr<ledger::projections::ConnectionPool> pool;
  std::unique_ptr<ledger::projections::QueryService> queries;
  std::unique_ptr<ledger::projections::Projector> projector;
  std::unique_ptr<http::WorkerPool> workers;
  std::unique_ptr<http::WorkerPool> answers;
  std::unique_ptr<ledger::api::PositionWaiter> waiter;
  http::HttpMetrics metrics;
  ledger::api::ApiContext context;
  http::Router router;
  http::ServerLimits limits;
};

Service* g_service = nullptr;

std::filesystem::path MakeScratchDir() {
  std::string base = "/tmp";
  if (const char* tmp = std::getenv("TMPDIR"); tmp != nullptr && *tmp != '\0') base = tmp;
  if (std::filesystem::is_directory("/dev/shm")) base = "/dev/shm";
  std::string pattern = base + "/ledger-fuzz-http-XXXXXX";
  LEDGER_CHECK(mkdtemp(pattern.data()) != nullptr, "a scratch directory for the fuzz log");
  return pattern;
}

void Stop() {
  Service* s = g_service;
  if (s == nullptr) return;
  s->sequencer->Stop();
  s->answers->Stop();
  s->workers->Stop();
  s->waiter.reset();
  std::error_code ignored;
  std::filesystem::remove_all(s->dir, ignored);
  // The rest is left to the process's end: RocksDB's own statics may already
  // be gone by the time a static Service would be destroyed.
}

void Start() {
  auto* s = new Service();
  s->dir = MakeScratchDir();
  ledger::events::RocksLogOptions log_options;
  log_options.clock = &s->clock;
  s->log = ledger::events::RocksEventLog::Open((s->dir / "log").string(), log_options).value();
  ledger::commands::SequencerOptions sequencer_options;
  sequencer_options.state_cache_bytes = size_t{16} << 20;
  s->sequencer =
      ledger::commands::Sequencer::Start(s->log.get(), &s->clock, &s->zone, sequencer_options)
          .value();
  s->sequencers.Set(s->sequencer, {});
  // No server listens at this socket path: every query fails at once.
  const std::string conninfo = "host=" + (s->dir / "no-database").string() + " dbname=none";
  s->pool = std::make_unique<ledger::projections::ConnectionPool>(
      ledger::projections::ConnectionPoolOptions{.conninfo = conninfo, .max_connections = 2});
  s->queries = std::make_unique<ledger::projections::QueryService>(*s->pool, s->zone);
  ledger::projections::ProjectorOptions projector_options;
  projector_options.conninfo = conninfo;
  s->projector = std::make_unique<ledger::projections::Projector>(s->log.get(), projector_options);
  s->workers = std::make_unique<http::WorkerPool>(2, 64, "query");
  s->answers = std::make_unique<http::WorkerPool>(1, 64, "answer");
  s->waiter = std::make_unique<ledger::api::PositionWaiter>(
      [log = s->log.get()] { return log->Head().position; });

  ledger::api::ApiContext& c = s->context;
  c.sequencers = &s->sequencers;
  c.log = s->log.get();
  c.queries = s->queries.get();
  c.projector = s->projector.get();
  c.clock = &s->clock;
  c.time_zone = &s->zone;
  c.jwt_secret = std::string(kSecret);
  c.workers = s->workers.get();
  c.answers = s->answers.get();
  c.waiter = s->waiter.get();
  c.http_metrics = &s->metrics;
  // X-Min-Position past the head gives up after this (503).
  c.read_wait = std::chrono::milliseconds(5);
  ledger::api::AddApiRoutes(&s->context, s->router);
  g_service = s;
  std::atexit(Stop);
}

// What Connection::Write sends: the answer as bytes. Throws what ToMessage
// throws; the server then logs and closes.
void Write(http::Response response, unsigned version, bool head, const std::string& request_id,
           bool close) {
  LEDGER_CHECK(response.status >= 200 && response.status <= 599, "a valid status");
  if (response.stream != nullptr) response.stream->Close();
  std::ostringstream out;
  out << http::ToMessage(std::move(response), version, head, request_id, close);
  LEDGER_CHECK(!out.str().empty(), "an answer is written");
}

// Connection::AnswerReadError for `problem_name`: the answer to a request
// that could not be read whole.
void AnswerReadError(std::string_view problem_name, const Parser& parser) {
  const auto& header = parser.get();
  std::string path;
  std::string query;
  http::SplitTarget(header.target(), path, query);
  const std::string request_id = http::RequestIdFor(header);
  http::Response response =
      http::ToResponse(http::MakeProblem(problem_name, "fuzz"), path, request_id);
  try {
    Write(std::move(response), 11, false, request_id, true);
  } catch (const std::exception&) {
  }
}

// Connection::Handle and CallHandler without the socket.
void Handle(http::BeastRequest message) {
  const unsigned version = message.version();
  const bool keep_alive = message.keep_alive();
  const bool head = message.method() == bhttp::verb::head;
  http::Request request = http::ToRequest(message);
  const std::string path = request.path;
  const std::string request_id = request.request_id;
  const ledger::Result<http::Handler, http::Problem> matched = g_service->router.Match(request);
  http::Response response;
  if (!matched.ok()) {
    response = http::ToResponse(matched.error(), path, request_id);
  } else {
    auto answered = std::make_shared<std::promise<http::Response>>();
    std::future<http::Response> answer = answered->get_future();
    try {
      (*matched)(std::move(request),
                 [answered](http::Response r) { answered->set_value(std::move(r)); });
    } catch (const std::exception&) {
      answered->set_value(http::InternalError(path, request_id));
    }
    LEDGER_CHECK(answer.wait_for(kAnswerWaitMax) == std::future_status::ready,
                 "every request is answered");
    response = answer.get();
  }
  const bool close = !keep_alive || response.close;
  try {
    Write(std::move(response), version, head, request_id, close);
  } catch (const std::exception&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  // Each refused write would otherwise log a line.
  ledger::SetLogLevel(ledger::LogLevel::kError);
  Start();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  for (int i = 0; i < kRequestsMax && !rest.empty(); ++i) {
    Parser parser;
    parser.header_limit(static_cast<uint32_t>(g_service->limits.header_limit_bytes));
    parser.body_limit(static_cast<uint64_t>(g_service->limits.body_limit_bytes));
    parser.eager(true);
    boost::beast::error_code ec;
    while (!ec && !parser.is_done() && !rest.empty()) {
      const size_t used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
      if (ec == bhttp::error::need_more) {
        ec = {};
        if (used == 0) break;
      }
      rest.remove_prefix(used);
    }
    if (!ec && !parser.is_done()) parser.put_eof(ec);  // the client closed
    if (!ec && parser.is_done()) {
      const bool keep_alive = parser.get().keep_alive();
      Handle(parser.release());
      if (!keep_alive) return 0;
      continue;
    }
    if (ec == bhttp::error::header_limit) {
      AnswerReadError("header_fields_too_large", parser);
    } else if (ec == bhttp::error::body_limit) {
      AnswerReadError("payload_too_large", parser);
    } else if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
               ec != bhttp::error::partial_message && ec != bhttp::error::end_of_stream) {
      AnswerReadError("invalid_parameter", parser);
    }
    return 0;
  }
  return 0;
}
