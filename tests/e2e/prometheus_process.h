#pragma once

// A real Prometheus server as a child process on a free loopback port, for
// the end-to-end test of the shipped scrape configuration, and the plain
// HTTP GET that its API needs.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <sys/types.h>

#include "http_client.h"

namespace ledger::e2e {

class PrometheusProcess {
 public:
  // Starts `binary --config.file=CONFIG --storage.tsdb.path=DIR/tsdb
  // --web.listen-address=127.0.0.1:PORT` on a free port, its log in
  // DIR/prometheus.log, and waits up to `ready_timeout` for GET /-/ready to
  // answer 200. A port taken between choosing and binding it is retried with
  // another. ok() tells whether it came up.
  PrometheusProcess(const std::string& binary, const std::string& config, const std::string& dir,
                    std::chrono::seconds ready_timeout = std::chrono::seconds(60));
  // SIGTERM, then SIGKILL after 15 s: it never outlives the test (nor, by
  // PR_SET_PDEATHSIG, a crashed test).
  ~PrometheusProcess();
  PrometheusProcess(const PrometheusProcess&) = delete;
  PrometheusProcess& operator=(const PrometheusProcess&) = delete;

  bool ok() const { return ready_; }
  uint16_t port() const { return port_; }
  // What it logged so far (for failure messages).
  std::string Log() const;

 private:
  // One attempt on `port`: true when ready; false with the process reaped.
  bool Start(const std::string& binary, const std::string& config, const std::string& dir,
             std::chrono::seconds ready_timeout);
  void Kill();

  pid_t pid_ = -1;
  uint16_t port_ = 0;
  bool ready_ = false;
  std::string log_path_;
};

// GET `target` from 127.0.0.1:`port` over HTTP/1.0, the body read to the end
// of the connection (the server can neither chunk it nor keep the connection
// open). nullopt when there is no complete answer within `timeout`.
std::optional<HttpResponse> HttpGet(uint16_t port, const std::string& target,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Percent-encodes everything but RFC 3986's unreserved characters.
std::string UrlEncode(std::string_view text);

}  // namespace ledger::e2e
