#include "http/metrics.h"

#include <array>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <unordered_map>

#include <prometheus/client_metric.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "common/check.h"

namespace ledger::http {
namespace {

// From a cached read (0.1 ms) to a write waiting on a slow disk (10 s).
const prometheus::Histogram::BucketBoundaries& DurationBuckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   5.0,  10.0};
  return kBuckets;
}

constexpr std::array<std::string_view, 9> kKnownMethods = {
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"};

std::string_view MethodLabel(std::string_view method) {
  for (const std::string_view known : kKnownMethods) {
    if (method == known) return known;
  }
  return "other";
}

prometheus::MetricType ToPrometheus(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return prometheus::MetricType::Counter;
    case MetricType::kGauge:
      return prometheus::MetricType::Gauge;
    case MetricType::kHistogram:
      return prometheus::MetricType::Histogram;
  }
  return prometheus::MetricType::Untyped;
}

prometheus::ClientMetric ToPrometheus(MetricType type, const MetricSample& sample) {
  prometheus::ClientMetric metric;
  for (const MetricLabel& label : sample.labels) {
    metric.label.push_back(prometheus::ClientMetric::Label{label.name, label.value});
  }
  switch (type) {
    case MetricType::kCounter:
      metric.counter.value = sample.value;
      break;
    case MetricType::kGauge:
      metric.gauge.value = sample.value;
      break;
    case MetricType::kHistogram:
      for (const auto& [bound, cumulative] : sample.buckets) {
        metric.histogram.bucket.push_back(prometheus::ClientMetric::Bucket{cumulative, bound});
      }
      metric.histogram.sample_count = sample.count;
      metric.histogram.sample_sum = sample.sum;
      break;
  }
  return metric;
}

void AppendConverted(const std::vector<MetricFamily>& families,
                     std::vector<prometheus::MetricFamily>& out) {
  for (const MetricFamily& family : families) {
    prometheus::MetricFamily converted{family.name, family.help, ToPrometheus(family.type), {}};
    converted.metric.reserve(family.samples.size());
    for (const MetricSample& sample : family.samples) {
      converted.metric.push_back(ToPrometheus(family.type, sample));
    }
    out.push_back(std::move(converted));
  }
}

}  // namespace

struct HttpMetrics::Impl {
  struct Series {
    prometheus::Counter* requests;
    prometheus::Histogram* duration;
  };

  Impl()
      : requests(prometheus::BuildCounter()
                     .Name("http_requests_total")
                     .Help("HTTP requests answered, by method, route template and status")
                     .Register(registry)),
        durations(prometheus::BuildHistogram()
                      .Name("http_request_duration_seconds")
                      .Help("Time from a request fully read to its answer written")
                      .Register(registry)),
        open(prometheus::BuildGauge()
                 .Name("http_connections_open")
                 .Help("Client connections being served (not those being turned away)")
                 .Register(registry)
                 .Add({})),
        turned_away(prometheus::BuildCounter()
                        .Name("http_connections_turned_away_total")
                        .Help("Connections answered 503 too_many_connections (server_full, "
                              "address_full) or closed unanswered while too many were "
                              "(dropped)")
                        .Register(registry)),
        timed_out(prometheus::BuildCounter()
                      .Name("http_connections_timed_out_total")
                      .Help("Connections closed because a request came too slowly: a new one "
                            "silent (first_byte), its head (head) or the whole request (body)")
                      .Register(registry)) {
    // Every series from the start, at 0 (the TLS ones once TLS is on).
    for (const char* reason : {"server_full", "address_full", "dropped"}) {
      turned_away_by.emplace(reason, &turned_away.Add({{"reason", reason}}));
    }
    for (const char* phase : {"first_byte", "head", "body"}) {
      timed_out_by.emplace(phase, &timed_out.Add({{"phase", phase}}));
    }
  }

  prometheus::Registry registry;
  prometheus::Family<prometheus::Counter>& requests;
  prometheus::Family<prometheus::Histogram>& durations;
  prometheus::Gauge& open;
  prometheus::Family<prometheus::Counter>& turned_away;
  prometheus::Family<prometheus::Counter>& timed_out;
  // Filled in the constructor, read-only after.
  std::map<std::string, prometheus::Counter*, std::less<>> turned_away_by;
  std::map<std::string, prometheus::Counter*, std::less<>> timed_out_by;
  // Made by the first TLS load (the families are absent on plain HTTP).
  std::once_flag tls_once;
  prometheus::Counter* tls_handshakes_failed = nullptr;
  prometheus::Gauge* tls_expiry = nullptr;
  std::mutex mu;
  // Family::Add allocates a histogram on every call even when the series
  // exists, so each series is looked up there once and kept here.
  std::unordered_map<std::string, Series> series;  // guarded by mu
};

HttpMetrics::HttpMetrics() : impl_(std::make_unique<Impl>()) {}

HttpMetrics::~HttpMetrics() = default;

void HttpMetrics::Observe(std::string_view method, std::string_view route, int status,
                          double seconds) {
  const std::string_view method_label = MethodLabel(method);
  const std::string status_label = std::to_string(status);
  std::string key;
  key.reserve(method_label.size() + route.size() + status_label.size() + 2);
  key.append(method_label).append(1, '\n').append(route).append(1, '\n').append(status_label);

  Impl::Series series{};
  {
    const std::lock_guard lock(impl_->mu);
    auto it = impl_->series.find(key);
    if (it == impl_->series.end()) {
      const prometheus::Labels labels = {{"method", std::string(method_label)},
                                         {"route", std::string(route)},
                                         {"status", status_label}};
      it = impl_->series
               .emplace(std::move(key),
                        Impl::Series{&impl_->requests.Add(labels),
                                     &impl_->durations.Add(labels, DurationBuckets())})
               .first;
    }
    series = it->second;
  }
  series.requests->Increment();
  series.duration->Observe(seconds);
}

void HttpMetrics::ConnectionOpened() { impl_->open.Increment(); }

void HttpMetrics::ConnectionClosed() { impl_->open.Decrement(); }

void HttpMetrics::CountTurnedAway(std::string_view reason) {
  const auto it = impl_->turned_away_by.find(reason);
  LEDGER_CHECK(it != impl_->turned_away_by.end(), "a known reason to turn a connection away");
  it->second->Increment();
}

void HttpMetrics::SetTlsCertificateExpiry(std::chrono::system_clock::time_point not_after) {
  std::call_once(impl_->tls_once, [this] {
    impl_->tls_handshakes_failed =
        &prometheus::BuildCounter()
             .Name("http_tls_handshakes_failed_total")
             .Help("TLS handshakes that failed or did not finish within the head timeout")
             .Register(impl_->registry)
             .Add({});
    impl_->tls_expiry = &prometheus::BuildGauge()
                             .Name("http_tls_certificate_expiry_timestamp_seconds")
                             .Help("When the served TLS certificate expires (Unix time)")
                             .Register(impl_->registry)
                             .Add({});
  });
  impl_->tls_expiry->Set(std::chrono::duration<double>(not_after.time_since_epoch()).count());
}

void HttpMetrics::CountTlsHandshakeFailure() {
  // A handshake comes only after the first load made the counter.
  if (impl_->tls_handshakes_failed != nullptr) impl_->tls_handshakes_failed->Increment();
}

void HttpMetrics::CountTimedOut(std::string_view phase) {
  const auto it = impl_->timed_out_by.find(phase);
  LEDGER_CHECK(it != impl_->timed_out_by.end(), "a known phase of a request");
  it->second->Increment();
}

std::string HttpMetrics::Expose(const std::vector<MetricFamily>& more) const {
  std::vector<prometheus::MetricFamily> families = impl_->registry.Collect();
  AppendConverted(more, families);
  return prometheus::TextSerializer().Serialize(families);
}

std::string ExposeFamilies(const std::vector<MetricFamily>& families) {
  std::vector<prometheus::MetricFamily> converted;
  AppendConverted(families, converted);
  return prometheus::TextSerializer().Serialize(converted);
}

}  // namespace ledger::http
