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
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include "http/boost_warnings_end.h"
// clang-format on

#include "http/beast_convert.h"
#include "http/message.h"
#include "http/response_slot.h"
#include "http/router.h"
#include "http/server.h"
#include "http/stream_source.h"

namespace ledger::http {

// I/O errors are ordinary for a server: operations give (error_code, …)
// tuples instead of throwing.
inline constexpr auto kNoThrow = boost::asio::as_tuple(boost::asio::use_awaitable);

using SteadyClock = std::chrono::steady_clock;

class Connection;

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
  // A connection came (its constructor) and went (its destructor).
  virtual void Enter(bool rejected) = 0;
  virtual void Leave(Connection* connection, bool rejected) = 0;

  virtual ~ConnectionOwner() = default;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // `rejected`: the server is at max_connections; the connection is answered
  // 503 too_many_connections and closed.
  Connection(ConnectionOwner& owner, boost::asio::ip::tcp::socket socket, bool rejected);
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

  enum class Phase { kReading, kHandling, kWriting, kStreaming, kLingering };
  enum class ReadResult {
    kComplete,
    kClosed,
    kTimedOut,
    kHeaderTooLarge,
    kBodyTooLarge,
    kMalformed
  };

  // Declared first so it is destroyed last: the owner hears that the
  // connection is gone only after its socket and timer are.
  class Registration {
   public:
    Registration(ConnectionOwner& owner, Connection* connection, bool rejected);
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;
    ~Registration();

   private:
    ConnectionOwner& owner_;
    Connection* const connection_;
    const bool rejected_;
  };

  boost::asio::awaitable<void> Serve();
  // Idle wait (idle_timeout, tcp_stream's expiry: closes silently) until the
  // first byte, then the whole request within read_timeout (our own timer, as
  // tcp_stream's expiry would close the socket before the 408 is written).
  boost::asio::awaitable<ReadResult> ReadRequest(Parser& parser);
  void ArmReadDeadline();
  void DisarmReadDeadline();
  // The 408, 413, 431 or 400 of a request that could not be read whole.
  boost::asio::awaitable<void> AnswerReadError(ReadResult result, const Parser& parser);
  // Returns whether the connection stays open for another request.
  boost::asio::awaitable<bool> Handle(BeastRequest message);
  // Calls the handler and waits for its answer; nullopt when Stop gave up.
  boost::asio::awaitable<std::optional<Response>> CallHandler(const Handler& handler,
                                                              Request request);
  // Returns whether the whole answer was written.
  boost::asio::awaitable<bool> Write(Response response, unsigned version, bool head,
                                     const std::string& request_id, bool close);
  // Writes the head of a streamed answer (chunked for HTTP/1.1, else
  // delimited by the close); returns whether it was written.
  boost::asio::awaitable<bool> WriteStreamHead(Response response, unsigned version,
                                               const std::string& request_id);
  // Writes what `source` produces until it ends, the client goes away, a
  // write fails or the server stops; then closes the source.
  boost::asio::awaitable<void> Stream(StreamSource& source, std::chrono::milliseconds heartbeat,
                                      bool chunked);
  boost::asio::awaitable<bool> WriteChunks(const std::vector<StreamSource::Chunk>& chunks,
                                           bool chunked);
  // While streaming: a read that notices the client closing (or sending more
  // than kStreamInputBytesMax, which it has no reason to).
  void WatchForHangUp();
  // Half-closes, then drops what the client still sends until it closes too,
  // kLingerTimeout passes or kLingerBytesMax arrive.
  boost::asio::awaitable<void> Linger();
  // The 503 too_many_connections of a rejected connection.
  boost::asio::awaitable<void> TurnAway();

  Registration registration_;
  ConnectionOwner& owner_;
  const bool rejected_;                          // answered 503 and closed
  const boost::asio::any_io_executor executor_;  // the connection's strand
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  boost::asio::steady_timer read_deadline_;

  // Used on the strand only.
  Phase phase_ = Phase::kReading;
  uint64_t read_generation_ = 0;
  bool read_timed_out_ = false;
  // Streaming: woken by the source, a hang-up or Stop.
  boost::asio::steady_timer stream_timer_;
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
