#include "http/metrics.h"

#include <array>
#include <iterator>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

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

}  // namespace

HttpMetrics::HttpMetrics(prometheus::Registry& registry)
    : requests_(prometheus::BuildCounter()
                    .Name("http_requests_total")
                    .Help("HTTP requests answered, by method, route template and status")
                    .Register(registry)),
      durations_(prometheus::BuildHistogram()
                     .Name("http_request_duration_seconds")
                     .Help("Time from a request fully read to its answer written")
                     .Register(registry)) {}

void HttpMetrics::Observe(std::string_view method, std::string_view route, int status,
                          double seconds) {
  const std::string_view method_label = MethodLabel(method);
  const std::string status_label = std::to_string(status);
  std::string key;
  key.reserve(method_label.size() + route.size() + status_label.size() + 2);
  key.append(method_label).append(1, '\n').append(route).append(1, '\n').append(status_label);

  Series series{};
  {
    const std::lock_guard lock(mu_);
    auto it = series_.find(key);
    if (it == series_.end()) {
      const prometheus::Labels labels = {{"method", std::string(method_label)},
                                         {"route", std::string(route)},
                                         {"status", status_label}};
      it = series_
               .emplace(std::move(key),
                        Series{&requests_.Add(labels), &durations_.Add(labels, DurationBuckets())})
               .first;
    }
    series = it->second;
  }
  series.requests->Increment();
  series.duration->Observe(seconds);
}

prometheus::MetricFamily EmptyFamily(std::string_view name, std::string_view help,
                                     prometheus::MetricType type) {
  return prometheus::MetricFamily{std::string(name), std::string(help), type, {}};
}

void AddSample(prometheus::MetricFamily& family, double value,
               std::vector<prometheus::ClientMetric::Label> labels) {
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  if (family.type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(std::move(metric));
}

std::string SerializeRegistry(const prometheus::Registry& registry) {
  return SerializeCollectables({&registry});
}

std::string SerializeCollectables(std::initializer_list<const prometheus::Collectable*> sources) {
  std::vector<prometheus::MetricFamily> families;
  for (const prometheus::Collectable* source : sources) {
    std::vector<prometheus::MetricFamily> more = source->Collect();
    families.insert(families.end(), std::make_move_iterator(more.begin()),
                    std::make_move_iterator(more.end()));
  }
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace ledger::http
