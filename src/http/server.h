#pragma once

// The HTTP/1.1 server: accepts connections, reads requests within limits,
// routes them and writes the answers. Beast and Asio stay in server.cc; this
// header is cheap to include.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "http/router.h"

namespace ledger::http {

class HttpMetrics;

// How the server's connections are doing, since it started. Every count
// only grows.
struct ConnectionCounts {
  size_t open = 0;                   // served now (not the turned-away ones)
  uint64_t turned_away_full = 0;     // 503: the server was at max_connections
  uint64_t turned_away_address = 0;  // 503: the address was at its cap
  uint64_t dropped = 0;              // closed unanswered: too many being turned away
  uint64_t head_timeouts = 0;        // 408: the head came too slowly
  uint64_t silent_closes = 0;        // a new connection that never sent a byte
  uint64_t handshakes_failed = 0;    // TLS handshakes that failed or timed out
};

// Every way a client can hold on to the server, bounded. Answers given at a
// limit use the problems of docs/api.md.
struct ServerLimits {
  size_t header_limit_bytes = size_t{8} * 1024;  // over → 431 header_fields_too_large, then close
  size_t body_limit_bytes = size_t{64} * 1024;   // over → 413 payload_too_large, then close
  size_t max_connections = 1024;                 // over → 503 too_many_connections, then close
  // Open connections from one client address (IPv4, or IPv6 /128); over →
  // 503 too_many_connections, then close. 0: no cap per address.
  size_t max_connections_per_address = 256;
  // The head of a request (request line and headers) must arrive in this,
  // counted from the connection's accept for its first request and from the
  // first byte for later ones → 408 request_timeout, close. A new
  // connection that sends nothing in this time is closed silently.
  std::chrono::milliseconds head_timeout{5'000};
  // A started request must fully arrive in this → 408 request_timeout, close.
  std::chrono::milliseconds read_timeout{10'000};
  // A keep-alive connection waiting for its next request → closed silently.
  std::chrono::milliseconds idle_timeout{60'000};
  // Stop() waits this long for in-flight requests.
  std::chrono::milliseconds shutdown_grace{10'000};
  // An answer must be taken by the client in this, or the connection closes.
  std::chrono::milliseconds write_timeout{10'000};
};

// PEM files of the listener's TLS: a certificate chain (leaf first) and its
// private key. Both empty: plain HTTP.
struct TlsFiles {
  std::string cert_path;
  std::string key_path;
  bool enabled() const { return !cert_path.empty() || !key_path.empty(); }
};

// Whether `files` would serve (the checks of Start, without a server):
// InvalidArgument saying what is wrong, e.g. "tls-cert: the certificate in
// PATH expired on DATE".
Status CheckTlsFiles(const TlsFiles& files);

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0 = ephemeral
  int io_threads = 2;    // io_context threads
  ServerLimits limits;
  // Empty: plain HTTP. Else every connection speaks TLS 1.2 or 1.3 with
  // these files, which Start checks (and fails on, with InvalidArgument).
  TlsFiles tls;
};

class HttpServer {
 public:
  // Binds, listens and serves on `options.io_threads` threads until Stop().
  // `metrics` may be null; else it must outlive the server. Fails with
  // InvalidArgument for unusable options and IOError when the address cannot
  // be bound.
  static Result<std::unique_ptr<HttpServer>> Start(ServerOptions options, Router router,
                                                   HttpMetrics* metrics);

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  ~HttpServer();  // Stop()

  // The bound port (the one chosen when options.port was 0).
  uint16_t port() const;

  // Thread-safe.
  ConnectionCounts connection_counts() const;

  // Reads the TLS files again (SIGHUP): on success, connections accepted
  // from now on use them; on failure (InvalidArgument, as Start's) the files
  // in use stay. FailedPrecondition without TLS. Thread-safe.
  Status ReloadTls();

  // Graceful: stops accepting, closes connections that are idle or still
  // reading a request, gives handlers that have not answered yet up to
  // shutdown_grace to answer (those answers are written, with
  // "Connection: close"), then closes everything and joins the threads.
  // Respond callbacks invoked later do nothing. Idempotent.
  // REQUIRES: not called on one of the server's own threads (a handler).
  void Stop();

 private:
  class Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace ledger::http
