#include "http_client.h"

#include <cstring>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace ledger::e2e {

std::optional<std::string> HttpResponse::Header(const std::string& name) const {
  for (const auto& [n, v] : headers) {
    if (n == name) return v;
  }
  return std::nullopt;
}

Connection::Connection(uint16_t port) {
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) return;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd_);
    fd_ = -1;
    return;
  }
  const int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

Connection::~Connection() {
  if (fd_ >= 0) close(fd_);
}

bool Connection::SendRaw(const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

std::optional<HttpResponse> Connection::RoundTrip(const HttpRequest& request) {
  std::string text = request.method + " " + request.target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& [n, v] : request.headers) text += n + ": " + v + "\r\n";
  if (!request.body.empty() || request.method == "POST" || request.method == "PATCH") {
    text += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
  }
  text += "\r\n" + request.body;
  if (!SendRaw(text)) return std::nullopt;
  return Read();
}

namespace {

// Waits for readable data; false on timeout.
bool WaitReadable(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, static_cast<int>(timeout.count())) > 0;
}

std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return s;
}

}  // namespace

bool Connection::Fill(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0 || !WaitReadable(fd_, left)) return false;
  char chunk[16384];
  const ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
  if (n <= 0) return false;
  buffer_.append(chunk, static_cast<size_t>(n));
  return true;
}

std::optional<std::string> Connection::ReadUntil(const std::string& needle,
                                                 std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t at;
  while ((at = buffer_.find(needle)) == std::string::npos) {
    if (!Fill(deadline)) return std::nullopt;
  }
  std::string read = buffer_.substr(0, at + needle.size());
  buffer_.erase(0, at + needle.size());
  return read;
}

std::optional<HttpResponse> Connection::Read(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const auto fill = [&] { return Fill(deadline); };
  size_t header_end;
  while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill()) return std::nullopt;
  }
  HttpResponse r;
  const std::string head = buffer_.substr(0, header_end);
  size_t line_end = head.find("\r\n");
  const std::string status_line = head.substr(0, line_end);
  if (status_line.size() < 12) return std::nullopt;
  r.status = std::stoi(status_line.substr(9, 3));
  size_t content_length = 0;
  while (line_end != std::string::npos) {
    const size_t next = head.find("\r\n", line_end + 2);
    const std::string line = head.substr(
        line_end + 2, next == std::string::npos ? std::string::npos : next - line_end - 2);
    const size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers.emplace_back(Lower(line.substr(0, colon)), value);
      if (Lower(line.substr(0, colon)) == "content-length") content_length = std::stoul(value);
    }
    line_end = next;
  }
  buffer_.erase(0, header_end + 4);
  while (buffer_.size() < content_length) {
    if (!fill()) return std::nullopt;
  }
  r.body = buffer_.substr(0, content_length);
  buffer_.erase(0, content_length);
  return r;
}

bool Connection::ClosedByPeer(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (!WaitReadable(fd_, left)) return false;
    char chunk[4096];
    const ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return true;
    buffer_.append(chunk, static_cast<size_t>(n));
  }
  return false;
}

std::optional<HttpResponse> Fetch(uint16_t port, const HttpRequest& request) {
  Connection c(port);
  if (!c.ok()) return std::nullopt;
  return c.RoundTrip(request);
}

}  // namespace ledger::e2e
