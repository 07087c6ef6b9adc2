#pragma once

// Internal to src/http: one client connection, served by one coroutine on
// its own strand, from the first byte of a request to the last of its answer.
// Only the server's own files include this header.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

// The Boost headers must stay between these two.
// clang-format off
#include "http/boost_warnings_begin.h"
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include "http/boost_warnings_end.h"
// clang-format on

#include "http/beast_convert.h"
#include "http/message.h"
#include "http/response_slot.h"
#include "http/router.h"
#include "http/server.h"
#include "http/stream_output.h"
#include "http/stream_source.h"

namespace ledger::http {

// I/O errors are ordinary for a server: operations give (error_code, …)
// tuples instead of throwing.
inline constexpr auto kNoThrow = boost::asio::as_tuple(boost::asio::use_awaitable);

using SteadyClock = std::chrono::steady_clock;

class Connection;

// What the accept loop decided for a connection.
enum class Admission {
  kServe,        // served
  kServerFull,   // answered 503: the server is at max_connections
  kAddressFull,  // answered 503: its address is at max_connections_per_address
};

// Which wait of a request ran out.
enum class ReadDeadline {
  kFirstByte,  // a new connection sent nothing (closed silently)
  kHead,       // the request head (408)
  kBody,       // the whole request (408)
};

// What a connection needs of the server that accepted it. The owner outlives
// every connection it registered.
class ConnectionOwner {
 public:
  ConnectionOwner() = default;
  ConnectionOwner(const ConnectionOwner&) = delete;
  ConnectionOwner& operator=(const ConnectionOwner&) = delete;
  virtual const ServerLimits& limits() const = 0;
  virtual const Router& router() const = 0;
  // Stop has begun: finish the request in hand, take no other.
  virtual bool stopping() const = 0;
  // Counts an answered request in the metrics and writes its access line.
  // `route` is the route template or "unmatched", `path` the request path
  // without the query.
  virtual void Observe(std::string_view method, std::string_view route, std::string_view path,
                       std::string_view request_id, int status, SteadyClock::time_point since) = 0;
  // A connection came (its constructor) and went (its destructor). A served
  // connection's address slot, taken by the accept loop, is given back by
  // Leave.
  virtual void Enter(Admission admission) = 0;
  virtual void Leave(Connection* connection, Admission admission,
                     const boost::asio::ip::address& address) = 0;
  // A wait of a request ran out.
  virtual void TimedOut(ReadDeadline deadline) = 0;
  // A TLS handshake failed or did not finish within head_timeout.
  virtual void HandshakeFailed() = 0;

  virtual ~ConnectionOwner() = default;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // A connection not admitted (kServerFull, kAddressFull) is answered 503
  // too_many_connections and closed. `address` is the client's. `tls`: the
  // server's TLS context when the connection was accepted (null: plain
  // HTTP); the connection keeps it, so a reload never changes it midway.
  Connection(ConnectionOwner& owner, boost::asio::ip::tcp::socket socket, Admission admission,
             const boost::asio::ip::address& address,
             std::shared_ptr<boost::asio::ssl::context> tls);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // The connection's strand: Run must be spawned on it.
  const boost::asio::any_io_executor& executor() const { return executor_; }

  // Serves requests (or turns the client away) until the connection ends.
  static boost::asio::awaitable<void> Run(std::shared_ptr<Connection> self);

  // First step of Stop (any thread): a connection waiting for or reading a
  // request is closed; one whose request is being handled is left to answer.
  void OnStopping();

  // Last step of Stop (any thread): stop waiting for the handler and close.
  void Abort();

 private:
  using Parser = boost::beast::http::request_parser<boost::beast::http::string_body>;
  using PlainStream = boost::beast::tcp_stream;
  using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;
  using AnyStream = std::variant<PlainStream, TlsStream>;

  static AnyStream MakeStream(boost::asio::ip::tcp::socket socket,
                              const std::shared_ptr<boost::asio::ssl::context>& tls);
  // The TCP stream (its timeouts, its close), under TLS or not.
  boost::beast::tcp_stream& Tcp();
  // Calls `op` with the stream requests are read from and answers written
  // to: the TCP stream, or the TLS stream over it.
  template <class Op>
  decltype(auto) OnStream(Op&& op) {
    return std::visit(std::forward<Op>(op), stream_);
  }
  // Over TLS: the handshake, within what is left of head_timeout since the
  // accept. Returns whether the connection may go on.
  boost::asio::awaitable<bool> Handshake();

  enum class Phase { kReading, kHandling, kWriting, kStreaming, kLingering };
  enum class ReadResult {
    kComplete,
    kClosed,
    kHeadTimedOut,
    kTimedOut,
    kHeaderTooLarge,
    kBodyTooLarge,
    kMalformed
  };

  // Declared first so it is destroyed last: the owner hears that the
  // connection is gone only after its socket and timer are.
  class Registration {
   public:
    Registration(ConnectionOwner& owner, Connection* connection, Admission admission,
                 const boost::asio::ip::address& address);
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;
    ~Registration();

   private:
    ConnectionOwner& owner_;
    Connection* const connection_;
    const Admission admission_;
    const boost::asio::ip::address address_;
  };

  boost::asio::awaitable<void> Serve();
  // Waits for the first byte without a buffer (a new connection within
  // head_timeout of its accept, a kept-alive one within idle_timeout; either
  // is closed silently when it runs out), then the head within head_timeout
  // and the whole request within read_timeout. One timer holds each
  // deadline in turn (tcp_stream's expiry would close the socket before the
  // 408 is written).
  boost::asio::awaitable<ReadResult> ReadRequest(Parser& parser);
  void ArmReadDeadline(SteadyClock::time_point at, ReadDeadline which);
  void DisarmReadDeadline();
  // The 408, 413, 431 or 400 of a request that could not be read whole.
  boost::asio::awaitable<void> AnswerReadError(ReadResult result, const Parser& parser);
  // Returns whether the connection stays open for another request.
  boost::asio::awaitable<bool> Handle(BeastRequest message);
  // Calls the handler and waits for its answer; nullopt when Stop gave up.
  boost::asio::awaitable<std::optional<Response>> CallHandler(const Handler& handler,
                                                              Request request);
  // The Beast message of `response`, or nullopt (an error line logged) when
  // it cannot be built.
  static std::optional<BeastResponse> MessageOf(Response response, unsigned version, bool head,
                                                const std::string& request_id, bool close);
  // Returns whether the whole answer was written.
  boost::asio::awaitable<bool> Write(Response response, unsigned version, bool head,
                                     const std::string& request_id, bool close);
  // Writes the head of a streamed answer (chunked for HTTP/1.1, else
  // delimited by the close); returns whether it was written.
  boost::asio::awaitable<bool> WriteStreamHead(Response response, unsigned version,
                                               const std::string& request_id);
  // Writes what `source` produces until it ends, the client goes away, a
  // write fails or the server stops; then closes the source
  // (connection_stream.cc, with the four below).
  boost::asio::awaitable<void> Stream(StreamSource& source, std::chrono::milliseconds heartbeat,
                                      bool chunked);
  // The source's wake, on the strand. While the loop is parked with nothing
  // to write, takes the source's chunks and writes what the socket takes at
  // once, so that a frame costs one system call and no resumption of the
  // loop; resumes the loop (through stream_timer_) for anything else: bytes
  // the socket did not take, the source's end, a failed write, TLS.
  void OnStreamWake();
  // Frames what the source has ready into stream_out_; notes its end.
  void TakeFromSource();
  // Writes stream_out_ as far as the socket takes it without waiting; plain
  // TCP only (over TLS it writes nothing). False when the write failed.
  bool SendNow();
  // Writes what is left of stream_out_, within write_timeout.
  boost::asio::awaitable<bool> SendRest();
  // While streaming: a read that notices the client closing (or sending more
  // than kStreamInputBytesMax, which it has no reason to).
  void WatchForHangUp();
  // Half-closes, then drops what the client still sends until it closes too,
  // kLingerTimeout passes or kLingerBytesMax arrive.
  boost::asio::awaitable<void> Linger();
  // The 503 too_many_connections of a connection not admitted.
  boost::asio::awaitable<void> TurnAway();

  Registration registration_;
  ConnectionOwner& owner_;
  const Admission admission_;
  const SteadyClock::time_point accepted_at_;
  const boost::asio::any_io_executor executor_;           // the connection's strand
  const std::shared_ptr<boost::asio::ssl::context> tls_;  // outlives stream_
  AnyStream stream_;
  boost::beast::flat_buffer buffer_;
  boost::asio::steady_timer read_deadline_;

  // Used on the strand only.
  Phase phase_ = Phase::kReading;
  uint64_t read_generation_ = 0;
  ReadDeadline read_deadline_which_ = ReadDeadline::kFirstByte;
  bool read_timed_out_ = false;
  bool read_one_ = false;  // a request has been read whole
  // Streaming: woken by the source, a hang-up or Stop.
  boost::asio::steady_timer stream_timer_;
  StreamSource* stream_source_ = nullptr;
  StreamOutput stream_out_;  // framed, not yet written
  std::vector<StreamSource::Chunk> stream_taken_;
  std::vector<boost::asio::const_buffer> stream_buffers_;
  SteadyClock::time_point stream_last_write_{};
  bool stream_chunked_ = false;
  bool stream_more_ = true;     // the source has not ended
  bool stream_parked_ = false;  // the loop waits on stream_timer_, nothing to write
  bool stream_failed_ = false;  // a write failed or timed out
  bool stream_woken_ = false;
  bool client_gone_ = false;
  size_t stream_input_bytes_ = 0;
  std::array<char, 64> hang_up_probe_{};

  // Shared with Stop's thread.
  std::mutex pending_mu_;
  std::shared_ptr<ResponseSlot> pending_;  // guarded by pending_mu_
  bool aborted_ = false;                   // guarded by pending_mu_
};

}  // namespace ledger::http
