#include "http/server.h"

#include <atomic>
#include <condition_variable>
#include <exception>
#include <limits>
#include <mutex>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

// The Boost headers must stay between these two.
// clang-format off
#include "http/boost_warnings_begin.h"
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include "http/boost_warnings_end.h"
// clang-format on

#include "common/check.h"
#include "common/log.h"
#include "http/connection.h"
#include "http/metrics.h"
#include "http/tls_context.h"

namespace ledger::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

// Connections being turned away with 503 at once; beyond this they are closed
// unanswered, so a flood costs at most this many answers in flight.
constexpr size_t kRejectingMax = 64;
// accept() failing for lack of resources (EMFILE) is retried after this
// pause rather than in a busy loop.
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};
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

}  // namespace

// The server behind HttpServer's pimpl.
class HttpServer::Impl final : public ConnectionOwner {
 public:
  Impl(ServerOptions options, Router router, HttpMetrics* metrics);
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() override {
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

  // ConnectionOwner. Observe writes the access line at info, or error for
  // a 5xx.
  const ServerLimits& limits() const override { return options_.limits; }
  const Router& router() const override { return router_; }
  bool stopping() const override { return stopping_.load(std::memory_order_acquire); }
  void Observe(std::string_view method, std::string_view route, std::string_view path,
               std::string_view request_id, int status, SteadyClock::time_point since) override;
  void Enter(Admission admission) override;
  void Leave(Connection* connection, Admission admission,
             const asio::ip::address& address) override;
  void TimedOut(ReadDeadline deadline) override;
  void HandshakeFailed() override;

  // Loads the TLS files again; on success new connections use them.
  Status ReloadTls();
  // Loads them the first time (Start); InvalidArgument says what is wrong.
  Status LoadTls();

  ConnectionCounts connection_counts() const;

 private:
  asio::awaitable<void> AcceptLoop();
  // What the accept loop does with a connection from `address`; a served one
  // has taken its address's slot.
  Admission Admit(const asio::ip::address& address);
  std::shared_ptr<asio::ssl::context> CurrentTls();
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
  std::atomic<uint64_t> turned_away_full_{0};
  std::atomic<uint64_t> turned_away_address_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> head_timeouts_{0};
  std::atomic<uint64_t> silent_closes_{0};

  std::atomic<uint64_t> handshakes_failed_{0};

  // The TLS context new connections get (null: plain HTTP). Replaced whole
  // by a reload; a connection keeps the one it was accepted with.
  std::mutex tls_mu_;
  std::shared_ptr<asio::ssl::context> tls_;  // guarded by tls_mu_

  // Served connections by client address, when they are capped per address.
  std::mutex address_mu_;
  std::unordered_map<asio::ip::address, size_t> per_address_;  // guarded by address_mu_

  std::mutex mu_;
  std::condition_variable drained_;  // connections_ became empty
  std::unordered_map<Connection*, std::weak_ptr<Connection>> connections_;  // guarded by mu_

  std::mutex stop_mu_;
  bool stopped_ = false;  // guarded by stop_mu_
  std::vector<std::thread> threads_;
};

HttpServer::Impl::Impl(ServerOptions options, Router router, HttpMetrics* metrics)
    : options_(std::move(options)),
      router_(std::move(router)),
      metrics_(metrics),
      ioc_(options_.io_threads),
      work_(asio::make_work_guard(ioc_)),
      accept_strand_(asio::make_strand(ioc_)),
      acceptor_(accept_strand_) {}

Status HttpServer::Impl::Listen() {
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

void HttpServer::Impl::Launch() {
  asio::co_spawn(accept_strand_, AcceptLoop(), LogExceptions("accept loop"));
  threads_.reserve(static_cast<size_t>(options_.io_threads));
  for (int i = 0; i < options_.io_threads; ++i) threads_.emplace_back([this] { RunIo(); });
}

void HttpServer::Impl::RunIo() {
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

asio::awaitable<void> HttpServer::Impl::AcceptLoop() {
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
    beast::error_code remote_ec;
    const tcp::endpoint remote = socket.remote_endpoint(remote_ec);
    if (remote_ec) {  // gone already
      socket.close(remote_ec);
      continue;
    }
    const Admission admission = Admit(remote.address());
    if (admission != Admission::kServe && rejecting_.load() >= kRejectingMax) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      if (metrics_ != nullptr) metrics_->CountTurnedAway("dropped");
      beast::error_code ignored;
      socket.close(ignored);
      continue;
    }
    if (admission == Admission::kServerFull) {
      turned_away_full_.fetch_add(1, std::memory_order_relaxed);
      if (metrics_ != nullptr) metrics_->CountTurnedAway("server_full");
    } else if (admission == Admission::kAddressFull) {
      turned_away_address_.fetch_add(1, std::memory_order_relaxed);
      if (metrics_ != nullptr) metrics_->CountTurnedAway("address_full");
    }
    auto connection = std::make_shared<Connection>(*this, std::move(socket), admission,
                                                   remote.address(), CurrentTls());
    {
      const std::lock_guard lock(mu_);
      connections_.emplace(connection.get(), connection);
    }
    asio::co_spawn(connection->executor(), Connection::Run(connection),
                   LogExceptions("connection"));
  }
}

Admission HttpServer::Impl::Admit(const asio::ip::address& address) {
  const ServerLimits& limits = options_.limits;
  if (serving_.load() >= limits.max_connections) return Admission::kServerFull;
  if (limits.max_connections_per_address == 0) return Admission::kServe;
  const std::lock_guard lock(address_mu_);
  size_t& open = per_address_[address];
  if (open >= limits.max_connections_per_address) return Admission::kAddressFull;
  ++open;
  return Admission::kServe;
}

void HttpServer::Impl::Enter(Admission admission) {
  if (admission != Admission::kServe) {
    rejecting_.fetch_add(1);
    return;
  }
  serving_.fetch_add(1);
  if (metrics_ != nullptr) metrics_->ConnectionOpened();
}

void HttpServer::Impl::Leave(Connection* connection, Admission admission,
                             const asio::ip::address& address) {
  if (admission != Admission::kServe) {
    rejecting_.fetch_sub(1);
  } else {
    serving_.fetch_sub(1);
    if (metrics_ != nullptr) metrics_->ConnectionClosed();
    if (options_.limits.max_connections_per_address != 0) {
      const std::lock_guard lock(address_mu_);
      const auto it = per_address_.find(address);
      if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
    }
  }
  const std::lock_guard lock(mu_);
  connections_.erase(connection);
  if (connections_.empty()) drained_.notify_all();
}

void HttpServer::Impl::TimedOut(ReadDeadline deadline) {
  switch (deadline) {
    case ReadDeadline::kFirstByte:
      silent_closes_.fetch_add(1, std::memory_order_relaxed);
      break;
    case ReadDeadline::kHead:
      head_timeouts_.fetch_add(1, std::memory_order_relaxed);
      break;
    case ReadDeadline::kBody:
      break;
  }
  if (metrics_ != nullptr)
    metrics_->CountTimedOut(deadline == ReadDeadline::kFirstByte ? "first_byte"
                            : deadline == ReadDeadline::kHead    ? "head"
                                                                 : "body");
}

void HttpServer::Impl::HandshakeFailed() {
  handshakes_failed_.fetch_add(1, std::memory_order_relaxed);
  if (metrics_ != nullptr) metrics_->CountTlsHandshakeFailure();
}

std::shared_ptr<asio::ssl::context> HttpServer::Impl::CurrentTls() {
  const std::lock_guard lock(tls_mu_);
  return tls_;
}

Status HttpServer::Impl::LoadTls() {
  if (!options_.tls.enabled()) return Status::Ok();
  LEDGER_ASSIGN_OR_RETURN(LoadedTls loaded,
                          LoadTlsContext(options_.tls, std::chrono::system_clock::now()));
  if (metrics_ != nullptr) metrics_->SetTlsCertificateExpiry(loaded.not_after);
  const std::lock_guard lock(tls_mu_);
  tls_ = std::move(loaded.context);
  return Status::Ok();
}

Status HttpServer::Impl::ReloadTls() {
  if (!options_.tls.enabled()) {
    return Status::FailedPrecondition("the server serves plain HTTP: there is no TLS to reload");
  }
  return LoadTls();
}

ConnectionCounts HttpServer::Impl::connection_counts() const {
  ConnectionCounts counts;
  counts.open = serving_.load();
  counts.turned_away_full = turned_away_full_.load();
  counts.turned_away_address = turned_away_address_.load();
  counts.dropped = dropped_.load();
  counts.head_timeouts = head_timeouts_.load();
  counts.silent_closes = silent_closes_.load();
  counts.handshakes_failed = handshakes_failed_.load();
  return counts;
}

std::vector<std::shared_ptr<Connection>> HttpServer::Impl::Snapshot() {
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

void HttpServer::Impl::Observe(std::string_view method, std::string_view route,
                               std::string_view path, std::string_view request_id, int status,
                               SteadyClock::time_point since) {
  const SteadyClock::duration elapsed = SteadyClock::now() - since;
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

void HttpServer::Impl::Stop() {
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
      limits.head_timeout.count() <= 0 || limits.write_timeout.count() <= 0 ||
      limits.shutdown_grace.count() < 0) {
    return Status::InvalidArgument("timeouts must be positive");
  }
  auto impl = std::make_unique<Impl>(std::move(options), std::move(router), metrics);
  LEDGER_RETURN_IF_ERROR(impl->LoadTls());
  LEDGER_RETURN_IF_ERROR(impl->Listen());
  impl->Launch();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

// Destroying impl_ stops the server (~Impl).
HttpServer::~HttpServer() = default;

uint16_t HttpServer::port() const { return impl_->port(); }

ConnectionCounts HttpServer::connection_counts() const { return impl_->connection_counts(); }

Status HttpServer::ReloadTls() { return impl_->ReloadTls(); }

void HttpServer::Stop() { impl_->Stop(); }

}  // namespace ledger::http
