#pragma once

// Metrics as plain values, for collectors that read their figures when
// /metrics is scraped (the service's own, the process's). metrics.h turns
// them into the Prometheus text exposition; no metrics library is seen here.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/histogram.h"

namespace ledger::http {

enum class MetricType : uint8_t { kCounter, kGauge, kHistogram };

struct MetricLabel {
  std::string name;
  std::string value;
};

struct MetricSample {
  std::vector<MetricLabel> labels;
  double value = 0;  // counters and gauges
  // Histograms: (upper bound, cumulative count) per bucket, ending with +Inf;
  // the number and the sum of the observations.
  std::vector<std::pair<double, uint64_t>> buckets;
  uint64_t count = 0;
  double sum = 0;
};

struct MetricFamily {
  std::string name;
  std::string help;
  MetricType type = MetricType::kGauge;
  std::vector<MetricSample> samples;
};

// A family with no samples yet.
MetricFamily EmptyFamily(std::string_view name, std::string_view help, MetricType type);

// Adds one counter or gauge sample. REQUIRES: family.type is not kHistogram.
void AddSample(MetricFamily& family, double value, std::vector<MetricLabel> labels = {});

// A counter or gauge family of one unlabelled sample.
MetricFamily OneValueFamily(std::string_view name, std::string_view help, MetricType type,
                            double value);

// A histogram family of one unlabelled series: the snapshot's buckets made
// cumulative and closed with +Inf.
MetricFamily HistogramFamily(std::string_view name, std::string_view help,
                             const HistogramSnapshot& snapshot);

}  // namespace ledger::http
