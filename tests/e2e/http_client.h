#pragma once

// A small blocking HTTP/1.1 client for the end-to-end tests: one request per
// connection unless a Connection is kept, plain POSIX sockets, no parsing
// beyond status, headers and a Content-Length body.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ledger::e2e {

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case
  std::string body;

  std::optional<std::string> Header(const std::string& name) const;
};

// Header fields, in order: name, value.
using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  std::string target = "/";
  Headers headers;
  std::string body;
};

// An open connection to 127.0.0.1:port.
class Connection {
 public:
  explicit Connection(uint16_t port);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool ok() const { return fd_ >= 0; }
  // Sends raw bytes as they are.
  bool SendRaw(const std::string& bytes);
  // Sends `request` (Host and Content-Length added) and reads the answer.
  // nullopt when the connection failed or closed before a whole answer.
  std::optional<HttpResponse> RoundTrip(const HttpRequest& request);
  // Reads one answer.
  std::optional<HttpResponse> Read(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Reads until `needle` arrives: everything up to and including it (taken
  // out of what later reads see), or nullopt when the connection ends or
  // `timeout` passes first. For answers that stream.
  std::optional<std::string> ReadUntil(const std::string& needle,
                                       std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // True when the server closed the connection (reads EOF) within `timeout`.
  bool ClosedByPeer(std::chrono::milliseconds timeout);
  // Bytes received but not (yet) taken as a whole answer: after a failed
  // Read, non-empty means the server sent part of an answer.
  const std::string& unread() const { return buffer_; }

 private:
  // Reads what arrives into buffer_; false on EOF, error or `deadline`.
  bool Fill(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::string buffer_;
};

// One request on a fresh connection.
std::optional<HttpResponse> Fetch(uint16_t port, const HttpRequest& request);

}  // namespace ledger::e2e
