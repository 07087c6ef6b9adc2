#pragma once

// Request metrics of the HTTP front, kept in a prometheus-cpp registry.

#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>

namespace prometheus {
class Collectable;
class Registry;
class Counter;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace ledger::http {

// http_requests_total (counter) and http_request_duration_seconds (histogram,
// 0.1 ms .. 10 s), both labelled method, route and status. Thread-safe.
class HttpMetrics {
 public:
  // Registers both families in `registry`, which must outlive this object.
  explicit HttpMetrics(prometheus::Registry& registry);

  HttpMetrics(const HttpMetrics&) = delete;
  HttpMetrics& operator=(const HttpMetrics&) = delete;

  // `route`: the route template ("/api/posts/{id}"), or "unmatched" when no
  // route took the request — never the raw path, which would give every post
  // its own series. Methods outside the standard ones count as "other" for the
  // same reason: the client chooses them.
  void Observe(std::string_view method, std::string_view route, int status, double seconds);

 private:
  struct Series {
    prometheus::Counter* requests;
    prometheus::Histogram* duration;
  };

  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& durations_;
  std::mutex mu_;
  // Family::Add allocates a histogram on every call even when the series
  // exists, so each series is looked up there once and kept here.
  std::unordered_map<std::string, Series> series_;  // guarded by mu_
};

// Building families by hand, for collectors that read their figures at
// scrape time (service_metrics.h, process_metrics.h): a family with no
// samples yet, and one sample of a counter or gauge family (its type says
// which value is set).
prometheus::MetricFamily EmptyFamily(std::string_view name, std::string_view help,
                                     prometheus::MetricType type);
void AddSample(prometheus::MetricFamily& family, double value,
               std::vector<prometheus::ClientMetric::Label> labels = {});

// Prometheus text exposition (format 0.0.4) of everything in `registry`.
std::string SerializeRegistry(const prometheus::Registry& registry);
// The same of every family of every collectable, in order.
std::string SerializeCollectables(std::initializer_list<const prometheus::Collectable*> sources);

}  // namespace ledger::http
