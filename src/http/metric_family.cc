#include "http/metric_family.h"

#include <limits>

#include "common/check.h"

namespace ledger::http {

MetricFamily EmptyFamily(std::string_view name, std::string_view help, MetricType type) {
  return MetricFamily{std::string(name), std::string(help), type, {}};
}

void AddSample(MetricFamily& family, double value, std::vector<MetricLabel> labels) {
  LEDGER_CHECK(family.type != MetricType::kHistogram, "a histogram sample has buckets");
  MetricSample sample;
  sample.labels = std::move(labels);
  sample.value = value;
  family.samples.push_back(std::move(sample));
}

MetricFamily OneValueFamily(std::string_view name, std::string_view help, MetricType type,
                            double value) {
  MetricFamily family = EmptyFamily(name, help, type);
  AddSample(family, value);
  return family;
}

MetricFamily HistogramFamily(std::string_view name, std::string_view help,
                             const HistogramSnapshot& snapshot) {
  MetricFamily family = EmptyFamily(name, help, MetricType::kHistogram);
  MetricSample sample;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < snapshot.bounds.size(); ++i) {
    cumulative += snapshot.counts[i];
    sample.buckets.emplace_back(snapshot.bounds[i], cumulative);
  }
  cumulative += snapshot.counts.back();
  sample.buckets.emplace_back(std::numeric_limits<double>::infinity(), cumulative);
  sample.count = cumulative;
  sample.sum = snapshot.sum;
  family.samples.push_back(std::move(sample));
  return family;
}

}  // namespace ledger::http
