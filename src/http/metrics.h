#pragma once

// The HTTP front's request metrics and the Prometheus text exposition of
// /metrics. prometheus-cpp stays inside metrics.cc.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/metric_family.h"

namespace ledger::http {

// http_requests_total (counter) and http_request_duration_seconds (histogram,
// 0.1 ms .. 10 s), both labelled method, route and status; the server's
// connections: http_connections_open (gauge),
// http_connections_turned_away_total{reason} (server_full, address_full,
// dropped) and http_connections_timed_out_total{phase} (first_byte, head,
// body). Thread-safe.
class HttpMetrics {
 public:
  HttpMetrics();
  ~HttpMetrics();
  HttpMetrics(const HttpMetrics&) = delete;
  HttpMetrics& operator=(const HttpMetrics&) = delete;

  // `route`: the route template ("/api/posts/{id}"), or "unmatched" when no
  // route took the request — never the raw path, which would give every post
  // its own series. Methods outside the standard ones count as "other" for the
  // same reason: the client chooses them.
  void Observe(std::string_view method, std::string_view route, int status, double seconds);

  // The connection metrics. Unknown reasons and phases are a bug (checked).
  void ConnectionOpened();
  void ConnectionClosed();
  void CountTurnedAway(std::string_view reason);
  void CountTimedOut(std::string_view phase);
  // http_tls_handshakes_failed_total and
  // http_tls_certificate_expiry_timestamp_seconds (present once TLS is on).
  void CountTlsHandshakeFailure();
  void SetTlsCertificateExpiry(std::chrono::system_clock::time_point not_after);

  // Prometheus text exposition (format 0.0.4) of these families followed by
  // `more` (collected at scrape time by other modules), in order.
  std::string Expose(const std::vector<MetricFamily>& more = {}) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The text exposition of `families` alone.
std::string ExposeFamilies(const std::vector<MetricFamily>& families);

}  // namespace ledger::http
