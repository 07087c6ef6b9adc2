#include "common/histogram.h"

#include <cstdint>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace ledger {
namespace {

TEST(HistogramTest, PutsEachValueInTheFirstBucketWhoseBoundIsNotBelowIt) {
  Histogram h({1, 2, 4});
  for (const double v : {0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 4.5, 100.0}) h.Observe(v);
  const HistogramSnapshot s = h.Snapshot();
  EXPECT_EQ(s.bounds, (std::vector<double>{1, 2, 4}));
  // (-inf,1] (1,2] (2,4] (4,+inf)
  EXPECT_EQ(s.counts, (std::vector<uint64_t>{2, 2, 2, 2}));
  EXPECT_EQ(s.count, 8U);
  EXPECT_DOUBLE_EQ(s.sum, 0.5 + 1 + 1.5 + 2 + 3 + 4 + 4.5 + 100);
}

TEST(HistogramTest, StartsEmpty) {
  const Histogram h({0.001});
  const HistogramSnapshot s = h.Snapshot();
  EXPECT_EQ(s.counts, (std::vector<uint64_t>{0, 0}));
  EXPECT_EQ(s.count, 0U);
  EXPECT_EQ(s.sum, 0);
}

TEST(HistogramTest, LosesNoObservationUnderConcurrentWriters) {
  Histogram h({1, 10});
  constexpr int kThreads = 4;
  constexpr int kEach = 100'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&h, t] {
      for (int i = 0; i < kEach; ++i) h.Observe(t % 2 == 0 ? 1.0 : 5.0);
    });
  }
  for (std::thread& t : threads) t.join();
  const HistogramSnapshot s = h.Snapshot();
  EXPECT_EQ(s.counts, (std::vector<uint64_t>{2 * kEach, 2 * kEach, 0}));
  EXPECT_EQ(s.count, uint64_t{kThreads} * kEach);
  EXPECT_DOUBLE_EQ(s.sum, 2.0 * kEach * 1.0 + 2.0 * kEach * 5.0);
}

TEST(HistogramTest, ExponentialBoundsMultiplyFromTheStart) {
  EXPECT_EQ(ExponentialBounds(1, 2, 5), (std::vector<double>{1, 2, 4, 8, 16}));
  EXPECT_EQ(ExponentialBounds(0.5, 4, 1), (std::vector<double>{0.5}));
}

TEST(HistogramDeathTest, RefusesBoundsThatDoNotIncrease) {
  EXPECT_DEATH(Histogram({1, 1}), "increase strictly");
  EXPECT_DEATH(Histogram({2, 1}), "increase strictly");
  EXPECT_DEATH(Histogram(std::vector<double>{}), "at least one bound");
}

}  // namespace
}  // namespace ledger
