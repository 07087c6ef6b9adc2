#include "http/worker_pool.h"

#include <atomic>
#include <future>
#include <stdexcept>

#include <gtest/gtest.h>

namespace ledger::http {
namespace {

TEST(WorkerPoolTest, RunsEveryAcceptedJob) {
  std::atomic<int> ran{0};
  {
    WorkerPool pool(2, 1000, "test");
    for (int i = 0; i < 500; ++i) ASSERT_TRUE(pool.TrySubmit([&] { ++ran; }));
  }  // Stop runs what is queued
  EXPECT_EQ(ran.load(), 500);
}

TEST(WorkerPoolTest, RefusesJobsBeyondItsQueue) {
  // Declared before the pool, so that they outlive its thread.
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::promise<void> started;
  WorkerPool pool(1, 2, "test");
  ASSERT_TRUE(pool.TrySubmit([&] {
    started.set_value();
    gate.wait();
  }));
  started.get_future().wait();  // the only thread is busy
  EXPECT_TRUE(pool.TrySubmit([] {}));
  EXPECT_TRUE(pool.TrySubmit([] {}));
  EXPECT_FALSE(pool.TrySubmit([] {}));  // two queued: full
  EXPECT_EQ(pool.queued(), 2U);
  release.set_value();
}

TEST(WorkerPoolTest, RefusesJobsAfterStop) {
  WorkerPool pool(1, 10, "test");
  pool.Stop();
  EXPECT_FALSE(pool.TrySubmit([] {}));
}

TEST(WorkerPoolTest, SurvivesAThrowingJob) {
  std::atomic<int> ran{0};
  {
    WorkerPool pool(1, 10, "test");
    ASSERT_TRUE(pool.TrySubmit([] { throw std::runtime_error("boom"); }));
    ASSERT_TRUE(pool.TrySubmit([&] { ++ran; }));
  }
  EXPECT_EQ(ran.load(), 1);
}

}  // namespace
}  // namespace ledger::http
