#include "http/server.h"

#include <array>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <limits>
#include <mutex>
#include <optional>
#include <random>
#include <string_view>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

// The Boost headers must stay between these two.
// clang-format off
#include "common/ascii.h"
#include "http/boost_warnings_begin.h"
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include "http/boost_warnings_end.h"
// clang-format on

#include "common/check.h"
#include "common/log.h"
#include "http/problem.h"

namespace ledger::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using Parser = bhttp::request_parser<bhttp::string_body>;

// I/O errors are ordinary for a server: operations give (error_code, …)
// tuples instead of throwing.
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// How much the wait for a request's first byte reads at once.
constexpr size_t kReadChunkBytes = size_t{16} * 1024;
// A connection's read buffer grows to its largest request; past this it is
// given back between requests, so 1024 idle connections do not each keep 64 KiB.
constexpr size_t kBufferKeepBytes = size_t{16} * 1024;
// After an answer that ends a connection mid-request (408, 413, 431, 400,
// 503) the client may still be sending. Closing with unread bytes makes the
// kernel send a reset, which can destroy the answer before the client reads
// it; so the server half-closes and drops what arrives for a while first.
constexpr std::chrono::milliseconds kLingerTimeout{1'000};
constexpr size_t kLingerBytesMax = size_t{1024} * 1024;
// Connections being turned away with 503 at once; beyond this they are closed
// unanswered, so a flood costs at most this many answers in flight.
constexpr size_t kRejectingMax = 64;
// accept() failing for lack of resources (EMFILE) is retried after this
// pause rather than in a busy loop.
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};
constexpr size_t kRequestIdBytesMax = 128;
constexpr int kIoThreadsMax = 256;

// The completion handler of co_spawn: what escapes a coroutine is logged, and
// never reaches the io_context's run loop.
auto LogExceptions(std::string_view what) {
  return [what](const std::exception_ptr& error) {
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      LEDGER_LOG(LogLevel::kError, "http", "coroutine failed")
          .Str("task", what)
          .Str("error", e.what());
    } catch (...) {
      LEDGER_LOG(LogLevel::kError, "http", "coroutine failed")
          .Str("task", what)
          .Str("error", "a non-standard exception");
    }
  };
}

void LogHandlerThrew(std::string_view request_id, std::string_view method, std::string_view route,
                     std::string_view error) {
  LEDGER_LOG(LogLevel::kError, "http", "handler threw")
      .Str("request_id", request_id)
      .Str("method", method)
      .Str("route", route)
      .Str("error", error);
}

bool IsVisibleAscii(char c) { return c >= 0x21 && c <= 0x7e; }

std::string GenerateRequestId() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  uint64_t bits = engine();
  std::string id(16, '0');
  for (char& c : id) {
    c = HexDigit(static_cast<unsigned>(bits & 0xfU));
    bits >>= 4U;
  }
  return id;
}

// The client's X-Request-Id when it is 1..128 visible ASCII characters, else a
// fresh one (docs/api.md).
std::string RequestIdFor(const bhttp::fields& fields) {
  const std::string_view sent = fields["X-Request-Id"];
  bool sane = !sent.empty() && sent.size() <= kRequestIdBytesMax;
  for (const char c : sent) sane = sane && IsVisibleAscii(c);
  return sane ? std::string(sent) : GenerateRequestId();
}

void SplitTarget(std::string_view target, std::string& path, std::string& query) {
  const size_t mark = target.find('?');
  path = std::string(target.substr(0, mark));
  query = mark == std::string_view::npos ? std::string() : std::string(target.substr(mark + 1));
}

Request ToRequest(bhttp::request<bhttp::string_body>& message) {
  Request request;
  request.method = std::string(message.method_string());
  SplitTarget(message.target(), request.path, request.query);
  for (const auto& field : message) {
    request.headers.emplace_back(AsciiLowercase(field.name_string()), std::string(field.value()));
  }
  request.body = std::move(message.body());
  request.request_id = RequestIdFor(message);
  return request;
}

// Headers the server writes itself; a handler's copies are dropped.
bool IsServerHeader(std::string_view name) {
  for (const std::string_view own :
       {"content-length", "content-type", "x-request-id", "connection", "transfer-encoding"}) {
    if (beast::iequals(name, own)) return true;
  }
  return false;
}

// Whether a handler's header can go on the wire as it is: a CR or LF would
// let it write headers (or a body) of its own.
bool IsWritableHeader(std::string_view name, std::string_view value) {
  if (name.empty()) return false;
  for (const char c : name) {
    if (!IsVisibleAscii(c) || c == ':') return false;
  }
  for (const char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

// Throws what Beast throws for values it cannot hold (over 64 KiB).
bhttp::response<bhttp::string_body> ToMessage(Response response, unsigned version, bool head,
                                              const std::string& request_id, bool close) {
  bhttp::response<bhttp::string_body> message;
  message.version(version);
  message.result(static_cast<unsigned>(response.status));
  if (!response.content_type.empty()) {
    if (IsWritableHeader("Content-Type", response.content_type)) {
      message.set(bhttp::field::content_type, response.content_type);
    } else {
      LEDGER_LOG(LogLevel::kError, "http", "dropped a Content-Type with control characters")
          .Str("request_id", request_id);
    }
  }
  for (const auto& [name, value] : response.headers) {
    if (IsServerHeader(name)) continue;
    if (!IsWritableHeader(name, value)) {
      LEDGER_LOG(LogLevel::kError, "http", "dropped a header that is not a valid name or value")
          .Str("request_id", request_id)
          .Str("header", name);
      continue;
    }
    message.insert(name, value);
  }
  message.set("X-Request-Id", request_id);
  // RFC 9110: 204 and 304 have no content; HEAD gets the length of the body
  // GET would have had, without the body.
  if (response.status != 204 && response.status != 304) {
    message.content_length(response.body.size());
    if (!head) message.body() = std::move(response.body);
  }
  message.keep_alive(!close);
  return message;
}

Response InternalError(std::string_view path, std::string_view request_id) {
  return ToResponse(MakeProblem("internal", "the request could not be handled"), path, request_id);
}

// Where a handler's answer meets the connection waiting for it. The Respond
// callback holds the slot, never the connection or the io_context, so a call
// after the connection (or the server) is gone does nothing.
class ResponseSlot {
 public:
  // The first call wins; later ones do nothing. `response` is nullopt when
  // the server gives up waiting (Stop past its grace). Any thread.
  void Complete(std::optional<Response> response) {
    std::unique_lock lock(mu_);
    if (done_) return;
    done_ = true;
    if (!resume_) {
      result_ = std::move(response);
      return;
    }
    Resume resume = std::move(resume_);
    resume_ = nullptr;
    lock.unlock();
    resume(std::move(response));
  }

  // Completes with the answer once Complete has been called. The connection's
  // coroutine resumes on its own executor (strand), whichever thread answers.
  template <typename CompletionToken>
  auto AsyncWait(CompletionToken&& token) {
    return asio::async_initiate<CompletionToken, void(std::optional<Response>)>(
        [this](auto handler) {
          // Shared so the resume function can be a copyable std::function.
          auto shared = std::make_shared<decltype(handler)>(std::move(handler));
          const auto executor = asio::get_associated_executor(*shared);
          Resume resume = [shared, executor](std::optional<Response> response) {
            // Posted, never run inline: Complete may be called from inside
            // the initiation or from a thread outside the io_context.
            asio::post(executor, [shared, response = std::move(response)]() mutable {
              auto& waiting = *shared;
              std::move(waiting)(std::move(response));
            });
          };
          std::unique_lock lock(mu_);
          if (!done_) {
            resume_ = std::move(resume);
            return;
          }
          std::optional<Response> result = std::move(result_);
          lock.unlock();
          resume(std::move(result));
        },
        token);
  }

 private:
  using Resume = std::function<void(std::optional<Response>)>;

  std::mutex mu_;
  bool done_ = false;               // guarded by mu_
  std::optional<Response> result_;  // guarded by mu_: answered before the wait began
  Resume resume_;                   // guarded by mu_: the waiting coroutine
};

class Connection;

// The server behind HttpServer's pimpl.
class Server {
 public:
  Server(ServerOptions options, Router router, HttpMetrics* metrics);
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server() {
    // Stop throws only when a mutex or a join fails: nothing to recover.
    try {
      Stop();
    } catch (const std::exception& e) {
      LEDGER_CHECK(false, e.what());
    } catch (...) {
      LEDGER_CHECK(false, "HttpServer::Stop threw");
    }
  }

  Status Listen();
  // REQUIRES: Listen() succeeded.
  void Launch();
  void Stop();
  uint16_t port() const { return port_; }

  // For connections.
  const ServerLimits& limits() const { return options_.limits; }
  const Router& router() const { return router_; }
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  // Counts an answered request in the metrics and writes its access line:
  // info, or error for a 5xx. `route` is the route template or "unmatched",
  // `path` the request path without the query.
  void Observe(std::string_view method, std::string_view route, std::string_view path,
               std::string_view request_id, int status, Clock::time_point since);
  // Counts a connection in (constructor) and out (destructor).
  void Enter(bool rejected);
  void Leave(Connection* connection, bool rejected);

 private:
  asio::awaitable<void> AcceptLoop();
  void RunIo();
  std::vector<std::shared_ptr<Connection>> Snapshot();

  const ServerOptions options_;
  const Router router_;
  HttpMetrics* const metrics_;

  asio::io_context ioc_;
  // Keeps the threads in run() while nothing is in flight.
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  asio::strand<asio::io_context::executor_type> accept_strand_;
  tcp::acceptor acceptor_;  // on accept_strand_
  uint16_t port_ = 0;

  std::atomic<bool> stopping_{false};
  std::atomic<size_t> serving_{0};    // counted against max_connections
  std::atomic<size_t> rejecting_{0};  // being answered 503

  std::mutex mu_;
  std::condition_variable drained_;  // connections_ became empty
  std::unordered_map<Connection*, std::weak_ptr<Connection>> connections_;  // guarded by mu_

  std::mutex stop_mu_;
  bool stopped_ = false;  // guarded by stop_mu_
  std::vector<std::thread> threads_;
};

// One client connection, served by one coroutine on its own strand.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Server& server, tcp::socket socket, bool rejected)
      : registration_(server, this, rejected),
        server_(server),
        rejected_(rejected),
        executor_(socket.get_executor()),
        stream_(std::move(socket)),
        read_deadline_(executor_) {}

  const asio::any_io_executor& executor() const { return executor_; }

  static asio::awaitable<void> Run(std::shared_ptr<Connection> self) {
    if (self->rejected_) {
      co_await self->TurnAway();
    } else {
      co_await self->Serve();
    }
    self->stream_.close();
  }

  // First step of Stop (any thread): a connection waiting for or reading a
  // request is closed; one whose request is being handled is left to answer.
  void OnStopping() {
    asio::post(executor_, [self = shared_from_this()] {
      if (self->phase_ == Phase::kReading || self->phase_ == Phase::kLingering) {
        self->stream_.close();
      }
    });
  }

  // Last step of Stop (any thread): stop waiting for the handler and close.
  void Abort() {
    std::shared_ptr<ResponseSlot> slot;
    {
      const std::lock_guard lock(pending_mu_);
      aborted_ = true;
      slot = pending_;
    }
    if (slot) slot->Complete(std::nullopt);
    asio::post(executor_, [self = shared_from_this()] { self->stream_.close(); });
  }

 private:
  enum class Phase { kReading, kHandling, kWriting, kLingering };
  enum class ReadResult {
    kComplete,
    kClosed,
    kTimedOut,
    kHeaderTooLarge,
    kBodyTooLarge,
    kMalformed
  };

  // Declared first so it is destroyed last: the server hears that the
  // connection is gone only after its socket and timer are.
  class Registration {
   public:
    Registration(Server& server, Connection* connection, bool rejected)
        : server_(server), connection_(connection), rejected_(rejected) {
      server_.Enter(rejected_);
    }
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;
    ~Registration() { server_.Leave(connection_, rejected_); }

   private:
    Server& server_;
    Connection* const connection_;
    const bool rejected_;
  };

  asio::awaitable<void> Serve() {
    const ServerLimits& limits = server_.limits();
    while (!server_.stopping()) {
      Parser parser;
      parser.header_limit(static_cast<uint32_t>(limits.header_limit_bytes));
      parser.body_limit(static_cast<uint64_t>(limits.body_limit_bytes));
      const ReadResult result = co_await ReadRequest(parser);
      if (result == ReadResult::kClosed) co_return;
      if (result != ReadResult::kComplete) {
        co_await AnswerReadError(result, parser);
        co_return;
      }
      if (!co_await Handle(parser.release())) co_return;
      if (buffer_.size() == 0 && buffer_.capacity() > kBufferKeepBytes) buffer_.shrink_to_fit();
    }
  }

  // Idle wait (idle_timeout, tcp_stream's expiry: closes silently) until the
  // first byte, then the whole request within read_timeout (our own timer, as
  // tcp_stream's expiry would close the socket before the 408 is written).
  asio::awaitable<ReadResult> ReadRequest(Parser& parser) {
    phase_ = Phase::kReading;
    beast::error_code ec;
    size_t bytes = 0;
    if (buffer_.size() == 0) {
      stream_.expires_after(server_.limits().idle_timeout);
      std::tie(ec, bytes) =
          co_await stream_.async_read_some(buffer_.prepare(kReadChunkBytes), kNoThrow);
      stream_.expires_never();
      if (ec) co_return ReadResult::kClosed;  // idle timeout, client gone, or Stop
      buffer_.commit(bytes);
    }
    ArmReadDeadline();
    std::tie(ec, bytes) = co_await bhttp::async_read_header(stream_, buffer_, parser, kNoThrow);
    if (!ec && !parser.is_done()) {
      const auto& header = parser.get();
      if (header.version() == 11 && beast::iequals(header[bhttp::field::expect], "100-continue")) {
        bhttp::response<bhttp::empty_body> proceed{bhttp::status::continue_, 11};
        std::tie(ec, bytes) = co_await bhttp::async_write(stream_, proceed, kNoThrow);
      }
      if (!ec) std::tie(ec, bytes) = co_await bhttp::async_read(stream_, buffer_, parser, kNoThrow);
    }
    DisarmReadDeadline();
    if (!ec) co_return ReadResult::kComplete;
    if (read_timed_out_) co_return ReadResult::kTimedOut;
    if (ec == bhttp::error::header_limit) co_return ReadResult::kHeaderTooLarge;
    if (ec == bhttp::error::body_limit) co_return ReadResult::kBodyTooLarge;
    if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message) {
      co_return ReadResult::kClosed;  // the client went away
    }
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category()) {
      co_return ReadResult::kMalformed;
    }
    co_return ReadResult::kClosed;  // a socket error, or Stop closed it
  }

  void ArmReadDeadline() {
    read_timed_out_ = false;
    const uint64_t generation = ++read_generation_;
    read_deadline_.expires_after(server_.limits().read_timeout);
    read_deadline_.async_wait([weak = weak_from_this(), generation](const beast::error_code& ec) {
      const std::shared_ptr<Connection> self = weak.lock();
      // A stale expiry (the read already finished) must not cancel a
      // later operation.
      if (ec || !self || self->read_generation_ != generation) return;
      self->read_timed_out_ = true;
      beast::error_code ignored;
      self->stream_.socket().cancel(ignored);  // keeps the socket open for the 408
    });
  }

  void DisarmReadDeadline() {
    ++read_generation_;
    read_deadline_.cancel();
  }

  asio::awaitable<void> AnswerReadError(ReadResult result, const Parser& parser) {
    const ServerLimits& limits = server_.limits();
    Problem problem;
    switch (result) {
      case ReadResult::kTimedOut:
        problem =
            MakeProblem("request_timeout", "the request did not arrive within " +
                                               std::to_string(limits.read_timeout.count()) + " ms");
        break;
      case ReadResult::kHeaderTooLarge:
        problem = MakeProblem(
            "header_fields_too_large",
            "the request headers exceed " + std::to_string(limits.header_limit_bytes) + " bytes");
        break;
      case ReadResult::kBodyTooLarge:
        problem =
            MakeProblem("payload_too_large",
                        "the body exceeds " + std::to_string(limits.body_limit_bytes) + " bytes");
        break;
      default:
        problem = MakeProblem("invalid_parameter", "malformed HTTP request");
        break;
    }
    const Clock::time_point start = Clock::now();
    const auto& header = parser.get();  // whatever arrived before the error
    std::string path;
    std::string query;
    SplitTarget(header.target(), path, query);
    const std::string request_id = RequestIdFor(header);
    Response response = ToResponse(problem, path, request_id);
    const int status = response.status;
    const bool written = co_await Write(std::move(response), 11, false, request_id, true);
    server_.Observe(header.method_string(), "unmatched", path, request_id, status, start);
    if (written) co_await Linger();
  }

  // Returns whether the connection stays open for another request.
  asio::awaitable<bool> Handle(bhttp::request<bhttp::string_body> message) {
    phase_ = Phase::kHandling;
    // Stop may have closed the socket after the request arrived; a handler
    // must not act on a request whose answer cannot be delivered.
    if (!stream_.socket().is_open()) co_return false;
    const Clock::time_point read_at = Clock::now();
    const unsigned version = message.version();
    const bool keep_alive = message.keep_alive();
    const bool head = message.method() == bhttp::verb::head;
    Request request = ToRequest(message);
    const std::string method = request.method;
    const std::string path = request.path;
    const std::string request_id = request.request_id;

    const Result<Handler, Problem> matched = server_.router().Match(request);
    const std::string route = request.route.empty() ? "unmatched" : request.route;
    std::optional<Response> response;
    if (!matched.ok()) {
      response = ToResponse(matched.error(), path, request_id);
    } else {
      response = co_await CallHandler(*matched, std::move(request));
      if (!response) co_return false;  // Stop stopped waiting
    }
    if (response->status < 200 || response->status > 599) {
      LEDGER_LOG(LogLevel::kError, "http", "handler answered an invalid status")
          .Str("request_id", request_id)
          .Str("method", method)
          .Str("route", route)
          .Int("status", response->status);
      response = InternalError(path, request_id);
    }
    const bool close = !keep_alive || response->close || server_.stopping();
    const int status = response->status;
    const bool written = co_await Write(std::move(*response), version, head, request_id, close);
    server_.Observe(method, route, path, request_id, status, read_at);
    if (!written) co_return false;
    if (close) {
      // The client asked for keep-alive, so it may be sending more already.
      if (keep_alive) co_await Linger();
      co_return false;
    }
    co_return true;
  }

  // Calls the handler and waits for its answer; nullopt when Stop gave up.
  asio::awaitable<std::optional<Response>> CallHandler(const Handler& handler, Request request) {
    auto slot = std::make_shared<ResponseSlot>();
    bool aborted = false;
    {
      const std::lock_guard lock(pending_mu_);
      aborted = aborted_;
      if (!aborted) pending_ = slot;
    }
    if (aborted) co_return std::nullopt;

    const std::string method = request.method;
    const std::string route = request.route;
    const std::string path = request.path;
    const std::string request_id = request.request_id;
    try {
      handler(std::move(request),
              [slot](Response response) { slot->Complete(std::move(response)); });
    } catch (const std::exception& e) {
      LogHandlerThrew(request_id, method, route, e.what());
      slot->Complete(InternalError(path, request_id));
    } catch (...) {
      LogHandlerThrew(request_id, method, route, "a non-standard exception");
      slot->Complete(InternalError(path, request_id));
    }
    std::optional<Response> response = co_await slot->AsyncWait(asio::use_awaitable);
    {
      const std::lock_guard lock(pending_mu_);
      pending_.reset();
    }
    co_return response;
  }

  // Returns whether the whole answer was written.
  asio::awaitable<bool> Write(Response response, unsigned version, bool head,
                              const std::string& request_id, bool close) {
    phase_ = Phase::kWriting;
    std::optional<bhttp::response<bhttp::string_body>> message;
    try {
      message = ToMessage(std::move(response), version, head, request_id, close);
    } catch (const std::exception& e) {
      LEDGER_LOG(LogLevel::kError, "http", "could not build an answer")
          .Str("request_id", request_id)
          .Str("error", e.what());
      co_return false;
    }
    stream_.expires_after(server_.limits().write_timeout);
    const auto [ec, bytes] = co_await bhttp::async_write(stream_, *message, kNoThrow);
    stream_.expires_never();
    co_return !ec;
  }

  // Half-closes, then drops what the client still sends until it closes too,
  // kLingerTimeout passes or kLingerBytesMax arrive.
  asio::awaitable<void> Linger() {
    phase_ = Phase::kLingering;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec || server_.stopping()) co_return;
    stream_.expires_after(kLingerTimeout);
    std::array<char, 4096> scratch{};
    size_t drained = 0;
    while (drained < kLingerBytesMax) {
      const auto [read_ec, bytes] =
          co_await stream_.async_read_some(asio::buffer(scratch), kNoThrow);
      if (read_ec) break;
      drained += bytes;
    }
    stream_.expires_never();
  }

  asio::awaitable<void> TurnAway() {
    const Clock::time_point start = Clock::now();
    Problem problem =
        MakeProblem("too_many_connections", "the server is at its limit of " +
                                                std::to_string(server_.limits().max_connections) +
                                                " connections");
    problem.headers.emplace_back("Retry-After", "1");
    problem.close = true;
    const std::string request_id = GenerateRequestId();
    Response response = ToResponse(problem, "", request_id);
    const int status = response.status;
    const bool written = co_await Write(std::move(response), 11, false, request_id, true);
    server_.Observe("", "unmatched", "", request_id, status, start);
    if (written) co_await Linger();
  }

  Registration registration_;
  Server& server_;
  const bool rejected_;                   // over max_connections: answered 503 and closed
  const asio::any_io_executor executor_;  // the connection's strand
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  asio::steady_timer read_deadline_;

  // Used on the strand only.
  Phase phase_ = Phase::kReading;
  uint64_t read_generation_ = 0;
  bool read_timed_out_ = false;

  // Shared with Stop's thread.
  std::mutex pending_mu_;
  std::shared_ptr<ResponseSlot> pending_;  // guarded by pending_mu_
  bool aborted_ = false;                   // guarded by pending_mu_
};

Server::Server(ServerOptions options, Router router, HttpMetrics* metrics)
    : options_(std::move(options)),
      router_(std::move(router)),
      metrics_(metrics),
      ioc_(options_.io_threads),
      work_(asio::make_work_guard(ioc_)),
      accept_strand_(asio::make_strand(ioc_)),
      acceptor_(accept_strand_) {}

Status Server::Listen() {
  const std::string where = options_.host + ":" + std::to_string(options_.port);
  beast::error_code ec;
  tcp::resolver resolver(ioc_);
  const auto endpoints =
      resolver.resolve(options_.host, std::to_string(options_.port),
                       tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty()) {
    return Status::InvalidArgument("cannot resolve " + where + ": " + ec.message());
  }
  const tcp::endpoint endpoint = endpoints.begin()->endpoint();
  if (acceptor_.open(endpoint.protocol(), ec); ec) {
    return Status::IOError("socket for " + where + ": " + ec.message());
  }
  // A restarted server must not wait for the old one's TIME_WAIT sockets.
  if (acceptor_.set_option(tcp::acceptor::reuse_address(true), ec); ec) {
    return Status::IOError("SO_REUSEADDR on " + where + ": " + ec.message());
  }
  if (acceptor_.bind(endpoint, ec); ec) {
    return Status::IOError("bind " + where + ": " + ec.message());
  }
  if (acceptor_.listen(asio::socket_base::max_listen_connections, ec); ec) {
    return Status::IOError("listen on " + where + ": " + ec.message());
  }
  const tcp::endpoint bound = acceptor_.local_endpoint(ec);
  if (ec) return Status::IOError("local address of " + where + ": " + ec.message());
  port_ = bound.port();
  return Status::Ok();
}

void Server::Launch() {
  asio::co_spawn(accept_strand_, AcceptLoop(), LogExceptions("accept loop"));
  threads_.reserve(static_cast<size_t>(options_.io_threads));
  for (int i = 0; i < options_.io_threads; ++i) threads_.emplace_back([this] { RunIo(); });
}

void Server::RunIo() {
  for (;;) {
    try {
      ioc_.run();
      return;
    } catch (const std::exception& e) {
      LEDGER_LOG(LogLevel::kError, "http", "I/O thread caught an exception").Str("error", e.what());
    } catch (...) {
      LEDGER_LOG(LogLevel::kError, "http", "I/O thread caught an exception")
          .Str("error", "a non-standard exception");
    }
  }
}

asio::awaitable<void> Server::AcceptLoop() {
  asio::steady_timer retry(accept_strand_);
  for (;;) {
    // Each connection gets its own strand; any_io_executor so the socket is
    // a plain tcp::socket.
    auto [ec, socket] =
        co_await acceptor_.async_accept(asio::any_io_executor(asio::make_strand(ioc_)), kNoThrow);
    if (stopping() || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // EMFILE and the like pass; the retry below waits for that.
      LEDGER_LOG(LogLevel::kWarn, "http", "accept failed").Str("error", ec.message());
      retry.expires_after(kAcceptRetryDelay);
      co_await retry.async_wait(kNoThrow);
      continue;
    }
    const bool rejected = serving_.load() >= options_.limits.max_connections;
    if (rejected && rejecting_.load() >= kRejectingMax) {
      beast::error_code ignored;
      socket.close(ignored);
      continue;
    }
    auto connection = std::make_shared<Connection>(*this, std::move(socket), rejected);
    {
      const std::lock_guard lock(mu_);
      connections_.emplace(connection.get(), connection);
    }
    asio::co_spawn(connection->executor(), Connection::Run(connection),
                   LogExceptions("connection"));
  }
}

void Server::Enter(bool rejected) { (rejected ? rejecting_ : serving_).fetch_add(1); }

void Server::Leave(Connection* connection, bool rejected) {
  (rejected ? rejecting_ : serving_).fetch_sub(1);
  const std::lock_guard lock(mu_);
  connections_.erase(connection);
  if (connections_.empty()) drained_.notify_all();
}

std::vector<std::shared_ptr<Connection>> Server::Snapshot() {
  std::vector<std::shared_ptr<Connection>> live;
  const std::lock_guard lock(mu_);
  live.reserve(connections_.size());
  for (const auto& [raw, weak] : connections_) {
    if (std::shared_ptr<Connection> connection = weak.lock()) live.push_back(std::move(connection));
  }
  // Released by the caller, outside mu_: dropping the last reference runs
  // ~Connection, which takes mu_.
  return live;
}

void Server::Observe(std::string_view method, std::string_view route, std::string_view path,
                     std::string_view request_id, int status, Clock::time_point since) {
  const Clock::duration elapsed = Clock::now() - since;
  if (metrics_ != nullptr) {
    metrics_->Observe(method, route, status, std::chrono::duration<double>(elapsed).count());
  }
  const LogLevel level = status >= 500 ? LogLevel::kError : LogLevel::kInfo;
  LEDGER_LOG(level, "http", "request")
      .Str("request_id", request_id)
      .Str("method", method)
      .Str("route", route)
      .Str("path", path)
      .Int("status", status)
      .Double("duration_ms", std::chrono::duration<double, std::milli>(
                                 std::chrono::duration_cast<std::chrono::microseconds>(elapsed))
                                 .count());
}

void Server::Stop() {
  const std::lock_guard stop_lock(stop_mu_);
  if (stopped_) return;
  stopped_ = true;
  LEDGER_CHECK(!ioc_.get_executor().running_in_this_thread(),
               "HttpServer::Stop would wait for the thread it runs on");
  stopping_.store(true, std::memory_order_release);
  if (!threads_.empty()) {
    // On the accept strand, so no connection is registered after this
    // without seeing stopping_.
    asio::post(accept_strand_, [this] {
      beast::error_code ignored;
      acceptor_.close(ignored);
      for (const auto& connection : Snapshot()) connection->OnStopping();
    });
  }
  {
    std::unique_lock lock(mu_);
    drained_.wait_for(lock, options_.limits.shutdown_grace,
                      [this] { return connections_.empty(); });
  }
  for (const auto& connection : Snapshot()) connection->Abort();
  work_.reset();
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
}

}  // namespace

class HttpServer::Impl : public Server {
 public:
  using Server::Server;
};

Result<std::unique_ptr<HttpServer>> HttpServer::Start(ServerOptions options, Router router,
                                                      HttpMetrics* metrics) {
  const ServerLimits& limits = options.limits;
  if (options.io_threads < 1 || options.io_threads > kIoThreadsMax) {
    return Status::InvalidArgument("io_threads must be 1.." + std::to_string(kIoThreadsMax));
  }
  if (limits.max_connections == 0) {
    return Status::InvalidArgument("max_connections must be at least 1");
  }
  if (limits.header_limit_bytes == 0 ||
      limits.header_limit_bytes > std::numeric_limits<uint32_t>::max()) {
    return Status::InvalidArgument("header_limit_bytes must be 1..4294967295");
  }
  if (limits.read_timeout.count() <= 0 || limits.idle_timeout.count() <= 0 ||
      limits.write_timeout.count() <= 0 || limits.shutdown_grace.count() < 0) {
    return Status::InvalidArgument("timeouts must be positive");
  }
  auto impl = std::make_unique<Impl>(std::move(options), std::move(router), metrics);
  LEDGER_RETURN_IF_ERROR(impl->Listen());
  impl->Launch();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

// Destroying impl_ stops the server (~Server).
HttpServer::~HttpServer() = default;

uint16_t HttpServer::port() const { return impl_->port(); }

void HttpServer::Stop() { impl_->Stop(); }

}  // namespace ledger::http
