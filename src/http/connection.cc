#include "http/connection.h"

#include <algorithm>
#include <array>
#include <exception>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

// The Boost headers must stay between these two.
// clang-format off
#include "http/boost_warnings_begin.h"
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include "http/boost_warnings_end.h"
// clang-format on

#include "common/log.h"
#include "http/problem.h"

namespace ledger::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

// How much the first read of a request takes at once. A connection waits
// for that byte without a buffer, and gives its buffer back between
// requests, so an idle or silent connection holds no read buffer at all.
constexpr size_t kReadChunkBytes = size_t{16} * 1024;
// After an answer that ends a connection mid-request (408, 413, 431, 400,
// 503) the client may still be sending. Closing with unread bytes makes the
// kernel send a reset, which can destroy the answer before the client reads
// it; so the server half-closes and drops what arrives for a while first.
constexpr std::chrono::milliseconds kLingerTimeout{1'000};
constexpr size_t kLingerBytesMax = size_t{1024} * 1024;

void LogHandlerThrew(std::string_view request_id, std::string_view method, std::string_view route,
                     std::string_view error) {
  LEDGER_LOG(LogLevel::kError, "http", "handler threw")
      .Str("request_id", request_id)
      .Str("method", method)
      .Str("route", route)
      .Str("error", error);
}

}  // namespace

Connection::Registration::Registration(ConnectionOwner& owner, Connection* connection,
                                       Admission admission, const asio::ip::address& address)
    : owner_(owner), connection_(connection), admission_(admission), address_(address) {
  owner_.Enter(admission_);
}

Connection::Registration::~Registration() { owner_.Leave(connection_, admission_, address_); }

Connection::AnyStream Connection::MakeStream(tcp::socket socket,
                                             const std::shared_ptr<asio::ssl::context>& tls) {
  if (tls == nullptr) return AnyStream(std::in_place_type<PlainStream>, std::move(socket));
  return AnyStream(std::in_place_type<TlsStream>, std::move(socket), *tls);
}

Connection::Connection(ConnectionOwner& owner, tcp::socket socket, Admission admission,
                       const asio::ip::address& address, std::shared_ptr<asio::ssl::context> tls)
    : registration_(owner, this, admission, address),
      owner_(owner),
      admission_(admission),
      accepted_at_(SteadyClock::now()),
      executor_(socket.get_executor()),
      tls_(std::move(tls)),
      stream_(MakeStream(std::move(socket), tls_)),
      read_deadline_(executor_),
      stream_timer_(executor_) {}

beast::tcp_stream& Connection::Tcp() {
  if (auto* tls = std::get_if<TlsStream>(&stream_)) return tls->next_layer();
  return std::get<PlainStream>(stream_);
}

asio::awaitable<void> Connection::Run(std::shared_ptr<Connection> self) {
  // A connection turned away over TLS is answered over TLS too: its
  // handshake is one of the at most kRejectingMax being turned away.
  // (The handshake's outcome is held in a variable: GCC 12 miscompiles a
  // co_await in an if's condition here, to an illegal instruction.)
  const bool go_on = co_await self->Handshake();
  if (go_on && self->admission_ != Admission::kServe) {
    co_await self->TurnAway();
  } else if (go_on) {
    co_await self->Serve();
  }
  self->Tcp().close();
}

asio::awaitable<bool> Connection::Handshake() {
  auto* tls = std::get_if<TlsStream>(&stream_);
  if (tls == nullptr) co_return true;
  const ServerLimits& limits = owner_.limits();
  ArmReadDeadline(accepted_at_ + std::min(limits.head_timeout, limits.read_timeout),
                  ReadDeadline::kFirstByte);
  const auto [ec] = co_await tls->async_handshake(asio::ssl::stream_base::server, kNoThrow);
  DisarmReadDeadline();
  if (ec) {
    owner_.HandshakeFailed();
    co_return false;
  }
  co_return true;
}

void Connection::OnStopping() {
  asio::post(executor_, [self = shared_from_this()] {
    if (self->phase_ == Phase::kReading || self->phase_ == Phase::kLingering) {
      self->Tcp().close();
    } else if (self->phase_ == Phase::kStreaming) {
      self->stream_timer_.cancel();  // the loop sees stopping() and says farewell
    }
  });
}

void Connection::Abort() {
  std::shared_ptr<ResponseSlot> slot;
  {
    const std::lock_guard lock(pending_mu_);
    aborted_ = true;
    slot = pending_;
  }
  if (slot) slot->Complete(std::nullopt);
  asio::post(executor_, [self = shared_from_this()] { self->Tcp().close(); });
}

asio::awaitable<void> Connection::Serve() {
  const ServerLimits& limits = owner_.limits();
  while (!owner_.stopping()) {
    Parser parser;
    parser.header_limit(static_cast<uint32_t>(limits.header_limit_bytes));
    parser.body_limit(static_cast<uint64_t>(limits.body_limit_bytes));
    const ReadResult result = co_await ReadRequest(parser);
    if (result == ReadResult::kClosed) co_return;
    if (result != ReadResult::kComplete) {
      co_await AnswerReadError(result, parser);
      co_return;
    }
    read_one_ = true;
    if (!co_await Handle(parser.release())) co_return;
  }
}

asio::awaitable<Connection::ReadResult> Connection::ReadRequest(Parser& parser) {
  phase_ = Phase::kReading;
  const ServerLimits& limits = owner_.limits();
  const std::chrono::milliseconds head_window = std::min(limits.head_timeout, limits.read_timeout);
  // A new connection's first head is timed from its accept; a later one
  // from its first byte.
  const bool first = !read_one_;
  SteadyClock::time_point started = accepted_at_;
  if (first) ArmReadDeadline(started + head_window, ReadDeadline::kFirstByte);
  beast::error_code ec;
  size_t bytes = 0;
  if (buffer_.size() == 0) {
    buffer_.shrink_to_fit();  // nothing held while waiting
    if (!first) ArmReadDeadline(SteadyClock::now() + limits.idle_timeout, ReadDeadline::kFirstByte);
    if (std::holds_alternative<PlainStream>(stream_)) {
      // Readiness first, so that a waiting connection holds no buffer.
      std::tie(ec) = co_await Tcp().socket().async_wait(tcp::socket::wait_read, kNoThrow);
    }
    // (Over TLS the socket's readiness says nothing: decrypted bytes may be
    // waiting in the TLS layer already. Its read waits with a buffer.)
    if (!ec) {
      std::tie(ec, bytes) = co_await OnStream([this](auto& s) {
        return s.async_read_some(buffer_.prepare(kReadChunkBytes), kNoThrow);
      });
    }
    const bool timed_out = read_timed_out_;
    if (ec || bytes == 0) {
      DisarmReadDeadline();
      // Only a new connection's silence is counted; a kept-alive one going
      // idle is ordinary.
      if (timed_out && first) owner_.TimedOut(ReadDeadline::kFirstByte);
      co_return ReadResult::kClosed;  // silent too long, client gone, or Stop
    }
    buffer_.commit(bytes);
  }
  if (first) {
    read_deadline_which_ = ReadDeadline::kHead;  // same deadline, now for the head
  } else {
    started = SteadyClock::now();
    ArmReadDeadline(started + head_window, ReadDeadline::kHead);
  }
  // A deadline that ran out between two reads cancelled neither: look
  // before each.
  if (read_timed_out_) {
    ec = asio::error::timed_out;
  } else {
    std::tie(ec, bytes) = co_await OnStream(
        [&](auto& s) { return bhttp::async_read_header(s, buffer_, parser, kNoThrow); });
  }
  if (!ec && !parser.is_done()) {
    ArmReadDeadline(started + limits.read_timeout, ReadDeadline::kBody);
    const auto& header = parser.get();
    if (header.version() == 11 && beast::iequals(header[bhttp::field::expect], "100-continue")) {
      bhttp::response<bhttp::empty_body> proceed{bhttp::status::continue_, 11};
      std::tie(ec, bytes) =
          co_await OnStream([&](auto& s) { return bhttp::async_write(s, proceed, kNoThrow); });
    }
    if (!ec && read_timed_out_) ec = asio::error::timed_out;
    if (!ec) {
      std::tie(ec, bytes) = co_await OnStream(
          [&](auto& s) { return bhttp::async_read(s, buffer_, parser, kNoThrow); });
    }
  }
  const bool timed_out = read_timed_out_;
  const ReadDeadline which = read_deadline_which_;
  DisarmReadDeadline();
  if (!ec) co_return ReadResult::kComplete;
  if (timed_out) {
    owner_.TimedOut(which);
    co_return which == ReadDeadline::kBody ? ReadResult::kTimedOut : ReadResult::kHeadTimedOut;
  }
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

void Connection::ArmReadDeadline(SteadyClock::time_point at, ReadDeadline which) {
  read_timed_out_ = false;
  read_deadline_which_ = which;
  const uint64_t generation = ++read_generation_;
  read_deadline_.expires_at(at);
  read_deadline_.async_wait([weak = weak_from_this(), generation](const beast::error_code& ec) {
    const std::shared_ptr<Connection> self = weak.lock();
    // A stale expiry (the read already finished) must not cancel a
    // later operation.
    if (ec || !self || self->read_generation_ != generation) return;
    self->read_timed_out_ = true;
    beast::error_code ignored;
    self->Tcp().socket().cancel(ignored);  // keeps the socket open for the 408
  });
}

void Connection::DisarmReadDeadline() {
  ++read_generation_;
  read_deadline_.cancel();
}

asio::awaitable<void> Connection::AnswerReadError(ReadResult result, const Parser& parser) {
  const ServerLimits& limits = owner_.limits();
  Problem problem;
  switch (result) {
    case ReadResult::kHeadTimedOut:
      problem = MakeProblem(
          "request_timeout",
          "the request head did not arrive within " +
              std::to_string(std::min(limits.head_timeout, limits.read_timeout).count()) + " ms");
      break;
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
  const SteadyClock::time_point start = SteadyClock::now();
  const auto& header = parser.get();  // whatever arrived before the error
  std::string path;
  std::string query;
  SplitTarget(header.target(), path, query);
  const std::string request_id = RequestIdFor(header);
  Response response = ToResponse(problem, path, request_id);
  const int status = response.status;
  const bool written = co_await Write(std::move(response), 11, false, request_id, true);
  owner_.Observe(header.method_string(), "unmatched", path, request_id, status, start);
  if (written) co_await Linger();
}

asio::awaitable<bool> Connection::Handle(BeastRequest message) {
  phase_ = Phase::kHandling;
  // Stop may have closed the socket after the request arrived; a handler
  // must not act on a request whose answer cannot be delivered.
  if (!Tcp().socket().is_open()) co_return false;
  const SteadyClock::time_point read_at = SteadyClock::now();
  const unsigned version = message.version();
  const bool keep_alive = message.keep_alive();
  const bool head = message.method() == bhttp::verb::head;
  Request request = ToRequest(message);
  const std::string method = request.method;
  const std::string path = request.path;
  const std::string request_id = request.request_id;

  const Result<Handler, Problem> matched = owner_.router().Match(request);
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
  if (response->stream != nullptr) {
    const std::shared_ptr<StreamSource> source = std::move(response->stream);
    if (!head && response->status == 200 && !owner_.stopping()) {
      const std::chrono::milliseconds heartbeat = response->heartbeat;
      const bool written = co_await WriteStreamHead(std::move(*response), version, request_id);
      owner_.Observe(method, route, path, request_id, 200, read_at);
      if (written) {
        co_await Stream(*source, heartbeat, version >= 11);
      } else {
        source->Close();
      }
      co_return false;
    }
    source->Close();  // HEAD, or an answer that is not a stream after all
  }
  const bool close = !keep_alive || response->close || owner_.stopping();
  const int status = response->status;
  const bool written = co_await Write(std::move(*response), version, head, request_id, close);
  owner_.Observe(method, route, path, request_id, status, read_at);
  if (!written) co_return false;
  if (close) {
    // The client asked for keep-alive, so it may be sending more already.
    if (keep_alive) co_await Linger();
    co_return false;
  }
  co_return true;
}

asio::awaitable<std::optional<Response>> Connection::CallHandler(const Handler& handler,
                                                                 Request request) {
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
    handler(std::move(request), [slot](Response response) { slot->Complete(std::move(response)); });
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

std::optional<BeastResponse> Connection::MessageOf(Response response, unsigned version, bool head,
                                                   const std::string& request_id, bool close) {
  try {
    return ToMessage(std::move(response), version, head, request_id, close);
  } catch (const std::exception& e) {
    LEDGER_LOG(LogLevel::kError, "http", "could not build an answer")
        .Str("request_id", request_id)
        .Str("error", e.what());
    return std::nullopt;
  }
}

asio::awaitable<bool> Connection::Write(Response response, unsigned version, bool head,
                                        const std::string& request_id, bool close) {
  phase_ = Phase::kWriting;
  std::optional<BeastResponse> message =
      MessageOf(std::move(response), version, head, request_id, close);
  if (!message) co_return false;
  Tcp().expires_after(owner_.limits().write_timeout);
  const auto [ec, bytes] =
      co_await OnStream([&](auto& s) { return bhttp::async_write(s, *message, kNoThrow); });
  Tcp().expires_never();
  co_return !ec;
}

asio::awaitable<void> Connection::Linger() {
  phase_ = Phase::kLingering;
  if (owner_.stopping()) co_return;
  if (auto* tls = std::get_if<TlsStream>(&stream_)) {
    // TLS closes with close_notify both ways; the shutdown reads (and drops)
    // what the client still sends until its own close_notify or EOF.
    Tcp().expires_after(kLingerTimeout);
    co_await tls->async_shutdown(kNoThrow);
    Tcp().expires_never();
    co_return;
  }
  beast::error_code ec;
  Tcp().socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec) co_return;
  Tcp().expires_after(kLingerTimeout);
  std::array<char, 4096> scratch{};
  size_t drained = 0;
  while (drained < kLingerBytesMax) {
    const auto [read_ec, bytes] = co_await Tcp().async_read_some(asio::buffer(scratch), kNoThrow);
    if (read_ec) break;
    drained += bytes;
  }
  Tcp().expires_never();
}

asio::awaitable<void> Connection::TurnAway() {
  const SteadyClock::time_point start = SteadyClock::now();
  const ServerLimits& limits = owner_.limits();
  Problem problem =
      MakeProblem("too_many_connections",
                  admission_ == Admission::kAddressFull
                      ? "your address has the most connections open that one address may: " +
                            std::to_string(limits.max_connections_per_address)
                      : "the server is at its limit of " + std::to_string(limits.max_connections) +
                            " connections");
  problem.headers.emplace_back("Retry-After", "1");
  problem.close = true;
  const std::string request_id = GenerateRequestId();
  Response response = ToResponse(problem, "", request_id);
  const int status = response.status;
  const bool written = co_await Write(std::move(response), 11, false, request_id, true);
  owner_.Observe("", "unmatched", "", request_id, status, start);
  if (written) co_await Linger();
}

}  // namespace ledger::http
