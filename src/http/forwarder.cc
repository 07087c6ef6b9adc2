#include "http/forwarder.h"

#include <atomic>
#include <cerrno>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>
#include <utility>

#include <pthread.h>
#include <sys/socket.h>

// The Boost headers must stay between these two.
// clang-format off
#include "http/boost_warnings_begin.h"
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
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
using Clock = std::chrono::steady_clock;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
// Header bytes taken from the other node's answer.
constexpr uint32_t kAnswerHeaderBytes = 64 * 1024;

// Headers of one hop (RFC 9110 7.6.1) and those the forwarder sets itself.
bool IsHopHeader(std::string_view name) {
  for (const std::string_view hop : std::initializer_list<std::string_view>{
           "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
           "upgrade", "host", "content-length", "x-request-id", kForwardedByHeader}) {
    if (beast::iequals(name, hop)) return true;
  }
  return false;
}

// A kept-alive connection to a node and when it was last used.
struct Idle {
  beast::tcp_stream stream;
  Clock::time_point since;
};

class ForwarderImpl final : public Forwarder {
 public:
  explicit ForwarderImpl(ForwarderOptions options)
      : options_(options), work_(asio::make_work_guard(io_)) {
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "forward");
      io_.run();
    });
  }
  ~ForwarderImpl() override {
    try {
      Stop();
    } catch (const std::exception& e) {
      LEDGER_LOG(LogLevel::kError, "forward", "stopping failed").Str("error", e.what());
    }
  }
  ForwarderImpl(const ForwarderImpl&) = delete;
  ForwarderImpl& operator=(const ForwarderImpl&) = delete;

  Result<bool> Forward(std::string_view base_url, Request request, std::string_view from,
                       Respond respond) override {
    LEDGER_ASSIGN_OR_RETURN(auto target, ParseBaseUrl(base_url));
    if (stopped_.load()) return false;
    if (in_flight_.fetch_add(1) >= options_.max_in_flight) {
      in_flight_.fetch_sub(1);
      return false;
    }
    asio::co_spawn(
        io_, Run(std::move(target), std::move(request), std::string(from), std::move(respond)),
        asio::detached);
    return true;
  }

  size_t in_flight() const override { return in_flight_.load(); }

  void AbandonAll() override {
    asio::post(io_, [this] {
      idle_.clear();
      for (beast::tcp_stream* stream : active_) stream->close();
    });
  }

  void Stop() override {
    std::call_once(stopped_once_, [this] {
      stopped_.store(true);
      // Requests under way finish (each within its deadline); the kept
      // connections close with the context.
      asio::post(io_, [this] { idle_.clear(); });
      work_.reset();
      if (thread_.joinable()) thread_.join();
    });
  }

 private:
  using Target = std::pair<std::string, std::string>;  // host, port

  asio::awaitable<void> Run(Target target, Request request, std::string from, Respond respond) {
    Response answer = co_await Exchange(target, request, from);
    // The slot is free before the answer goes on: whoever the answer wakes
    // sees in_flight() without it.
    in_flight_.fetch_sub(1);
    respond(std::move(answer));
  }

  // 503: the other node's answer could not be had; the write may or may not
  // have happened there.
  static Response Failed(const Target& target, const Request& request, std::string_view what,
                         const beast::error_code& ec) {
    Problem problem = MakeProblem(
        "unavailable", "forwarding to the sequencing node at " + target.first + ":" +
                           target.second + " failed (" + std::string(what) + ": " + ec.message() +
                           "); the write may or may not have been recorded: retry it with the "
                           "same Idempotency-Key");
    problem.headers.emplace_back("Retry-After", "1");
    LEDGER_LOG(LogLevel::kWarn, "forward", "forwarding failed")
        .Str("request_id", request.request_id)
        .Str("to", target.first + ":" + target.second)
        .Str("stage", what)
        .Str("error", ec.message());
    return ToResponse(problem, request.path, request.request_id);
  }

  // A kept connection to `key` that is still open, if any.
  std::optional<beast::tcp_stream> TakeIdle(const std::string& key) {
    auto it = idle_.find(key);
    if (it == idle_.end()) return std::nullopt;
    while (!it->second.empty()) {
      Idle idle = std::move(it->second.back());
      it->second.pop_back();
      if (Clock::now() - idle.since > options_.max_idle) continue;
      // A peer that closed it (its idle timeout, a restart) left an EOF to
      // read: such a connection would lose the request.
      char byte = 0;
      const ssize_t peeked =
          ::recv(idle.stream.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      if (peeked < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return std::move(idle.stream);
    }
    return std::nullopt;
  }

  void KeepIdle(const std::string& key, beast::tcp_stream stream) {
    std::deque<Idle>& kept = idle_[key];
    if (kept.size() >= options_.max_idle_connections || stopped_.load()) return;
    kept.push_back(Idle{std::move(stream), Clock::now()});
  }

  asio::awaitable<Response> Exchange(const Target& target, const Request& request,
                                     const std::string& from) {
    const std::string key = target.first + ":" + target.second;
    std::optional<beast::tcp_stream> kept = TakeIdle(key);
    beast::tcp_stream stream = kept ? std::move(*kept) : beast::tcp_stream(io_);
    // Known to AbandonAll until the exchange ends, however it ends.
    active_.insert(&stream);
    struct Forget {
      std::set<beast::tcp_stream*>& active;
      beast::tcp_stream* stream;
      ~Forget() { active.erase(stream); }
    } forget{active_, &stream};
    stream.expires_after(options_.timeout);
    if (!kept) {
      tcp::resolver resolver(io_);
      auto [resolve_ec, endpoints] =
          co_await resolver.async_resolve(target.first, target.second, kNoThrow);
      if (resolve_ec) co_return Failed(target, request, "resolving", resolve_ec);
      auto [connect_ec, endpoint] = co_await stream.async_connect(endpoints, kNoThrow);
      if (connect_ec) co_return Failed(target, request, "connecting", connect_ec);
      stream.socket().set_option(tcp::no_delay(true));
    }

    bhttp::request<bhttp::string_body> out;
    out.version(11);
    out.method_string(request.method);
    out.target(request.query.empty() ? request.path : request.path + "?" + request.query);
    for (const auto& [name, value] : request.headers) {
      if (!IsHopHeader(name)) out.insert(name, value);
    }
    out.set(bhttp::field::host, key);
    out.set("X-Request-Id", request.request_id);
    out.set(kForwardedByHeader, from);
    out.body() = request.body;
    out.prepare_payload();
    out.keep_alive(true);
    auto [write_ec, written] = co_await bhttp::async_write(stream, out, kNoThrow);
    if (write_ec) co_return Failed(target, request, "sending", write_ec);

    beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.header_limit(kAnswerHeaderBytes);
    parser.body_limit(options_.max_answer_bytes);
    auto [read_ec, read] = co_await bhttp::async_read(stream, buffer, parser, kNoThrow);
    if (read_ec) co_return Failed(target, request, "reading the answer", read_ec);

    bhttp::response<bhttp::string_body>& in = parser.get();
    Response answer;
    answer.status = static_cast<int>(in.result_int());
    for (const auto& field : in) {
      const std::string_view name = field.name_string();
      if (beast::iequals(name, "content-type")) {
        answer.content_type = std::string(field.value());
      } else if (!IsHopHeader(name)) {
        answer.headers.emplace_back(std::string(name), std::string(field.value()));
      }
    }
    answer.body = std::move(in.body());
    if (in.keep_alive() && buffer.size() == 0) KeepIdle(key, std::move(stream));
    co_return answer;
  }

  const ForwarderOptions options_;
  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::map<std::string, std::deque<Idle>> idle_;  // the forwarder's thread only
  std::set<beast::tcp_stream*> active_;           // the forwarder's thread only
  std::atomic<size_t> in_flight_{0};
  std::atomic<bool> stopped_{false};
  std::once_flag stopped_once_;
  std::thread thread_;
};

}  // namespace

std::unique_ptr<Forwarder> Forwarder::Create(ForwarderOptions options) {
  return std::make_unique<ForwarderImpl>(options);
}

Result<std::pair<std::string, std::string>> ParseBaseUrl(std::string_view url) {
  const auto invalid = [&] {
    return Status::InvalidArgument("'" + std::string(url) + "' is not http://HOST:PORT");
  };
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) return invalid();
  std::string_view rest = url.substr(kScheme.size());
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  const size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return invalid();
  std::string_view host = rest.substr(0, colon);
  const std::string_view port = rest.substr(colon + 1);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return invalid();
    host = host.substr(1, host.size() - 2);
  }
  if (port.empty() || port.size() > 5) return invalid();
  unsigned value = 0;
  for (const char c : port) {
    if (c < '0' || c > '9') return invalid();
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535) return invalid();
  for (const char c : host) {
    if (c == '/' || c == '@' || c == '?' || c == '#' || c <= ' ' || c >= 127) return invalid();
  }
  return std::make_pair(std::string(host), std::string(port));
}

}  // namespace ledger::http
