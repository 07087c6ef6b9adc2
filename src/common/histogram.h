#pragma once

// A fixed-bucket histogram that many threads may observe into without a lock,
// for metrics kept by modules that must not depend on a metrics library
// (src/http turns a snapshot into Prometheus text).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace ledger {

// What a histogram has seen: `counts[i]` observations fell in bucket i, that
// is, were <= bounds[i] and > bounds[i - 1]; counts.back() holds those above
// every bound (counts.size() == bounds.size() + 1).
struct HistogramSnapshot {
  std::vector<double> bounds;
  std::vector<uint64_t> counts;
  uint64_t count = 0;  // sum of counts
  double sum = 0;      // sum of the observed values
};

class Histogram {
 public:
  // REQUIRES: `bounds` is non-empty and strictly increasing.
  explicit Histogram(std::vector<double> bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // Thread-safe and wait-free for the bucket (one relaxed increment) and the
  // count; the sum is a compare-and-swap loop.
  void Observe(double value);

  // The observations so far. Taken while others observe, count and sum may
  // differ from the buckets by the observations in flight; each bucket is
  // monotonic across snapshots.
  HistogramSnapshot Snapshot() const;

  const std::vector<double>& bounds() const { return bounds_; }

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
};

// `count` bounds start, start * factor, start * factor^2, ...
// REQUIRES: start > 0, factor > 1, count >= 1.
std::vector<double> ExponentialBounds(double start, double factor, size_t count);

}  // namespace ledger
