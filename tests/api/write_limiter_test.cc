#include "api/write_limiter.h"

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "support/time_literals.h"

namespace ledger::api {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::At;

Timestamp Start() { return At("2026-12-06T03:00:00.000000Z"); }

std::string Field(const WriteLimiter& limiter, const RateDecision& d, const std::string& name) {
  for (const auto& [n, v] : limiter.Fields(d)) {
    if (n == name) return v;
  }
  return "(absent)";
}

TEST(WriteLimiterTest, AllowsTheBurstAtOnceThenRefusesWithRetryAfter) {
  WriteLimiter limiter({.per_second = 2, .burst = 5});
  for (int i = 0; i < 5; ++i) {
    const RateDecision d = limiter.Take("alice", Start());
    ASSERT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.remaining, 4 - i);
  }
  const RateDecision refused = limiter.Take("alice", Start());
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.remaining, 0);
  EXPECT_EQ(refused.retry_after_s, 1);  // one write back in 0.5 s, rounded up
  EXPECT_EQ(refused.reset_s, 1);        // the same moment as Retry-After
  EXPECT_EQ(limiter.refused(), 1u);
  EXPECT_EQ(Field(limiter, refused, "Retry-After"), "1");
  EXPECT_EQ(Field(limiter, refused, "RateLimit"), "\"writes\";r=0;t=1");
  EXPECT_EQ(Field(limiter, refused, "RateLimit-Policy"), "\"writes\";q=5;w=3");
}

TEST(WriteLimiterTest, RefillsAtTheRateAndNeverPastTheBurst) {
  WriteLimiter limiter({.per_second = 2, .burst = 5});
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(limiter.Take("alice", Start()).allowed);
  EXPECT_FALSE(limiter.Take("alice", Start() + milliseconds(400)).allowed);  // 0.8 back
  EXPECT_TRUE(limiter.Take("alice", Start() + milliseconds(500)).allowed);   // 1.0 back
  EXPECT_FALSE(limiter.Take("alice", Start() + milliseconds(600)).allowed);
  // An hour later the bucket is full, not 7 200 writes deep.
  const Timestamp later = Start() + std::chrono::hours(1);
  const RateDecision first = limiter.Take("alice", later);
  ASSERT_TRUE(first.allowed);
  EXPECT_EQ(first.remaining, 4);
  EXPECT_EQ(first.reset_s, 1);  // one write to refill at 2 a second: 0.5 s, rounded up
  EXPECT_EQ(Field(limiter, first, "Retry-After"), "(absent)");
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(limiter.Take("alice", later).allowed);
  EXPECT_FALSE(limiter.Take("alice", later).allowed);
}

TEST(WriteLimiterTest, KeepsOneBucketPerUser) {
  WriteLimiter limiter({.per_second = 1, .burst = 1});
  EXPECT_TRUE(limiter.Take("alice", Start()).allowed);
  EXPECT_FALSE(limiter.Take("alice", Start()).allowed);
  EXPECT_TRUE(limiter.Take("bob", Start()).allowed);
  EXPECT_EQ(limiter.users(), 2u);
}

TEST(WriteLimiterTest, AClockThatGoesBackRefillsNothing) {
  WriteLimiter limiter({.per_second = 1, .burst = 2});
  ASSERT_TRUE(limiter.Take("alice", Start()).allowed);
  ASSERT_TRUE(limiter.Take("alice", Start()).allowed);
  EXPECT_FALSE(limiter.Take("alice", Start() - seconds(30)).allowed);
  // Back to the present: still empty, and one second later one write back.
  EXPECT_FALSE(limiter.Take("alice", Start()).allowed);
  EXPECT_TRUE(limiter.Take("alice", Start() + seconds(1)).allowed);
}

TEST(WriteLimiterTest, ASlowRateSaysHowLongToWait) {
  WriteLimiter limiter({.per_second = 0.1, .burst = 1});
  ASSERT_TRUE(limiter.Take("alice", Start()).allowed);
  const RateDecision refused = limiter.Take("alice", Start() + seconds(3));
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_s, 7);  // 0.3 back of the 1 needed, at 0.1 a second
  EXPECT_EQ(Field(limiter, refused, "RateLimit-Policy"), "\"writes\";q=1;w=10");
}

TEST(WriteLimiterTest, StaysWithinItsUserBoundAndForgetsFullBucketsFirst) {
  WriteLimiter limiter({.per_second = 1, .burst = 3, .max_users = 160});
  // A busy user, then many one-off users: the table stays bounded.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(limiter.Take("busy", Start()).allowed);
  for (int i = 0; i < 5'000; ++i) {
    ASSERT_TRUE(limiter.Take("user-" + std::to_string(i), Start() + seconds(10)).allowed);
    ASSERT_LE(limiter.users(), 160u);
  }
  // By now every bucket but the newest ones is full again: the busy user
  // was forgotten with a full bucket, which is what it would have had.
  const RateDecision busy = limiter.Take("busy", Start() + seconds(10));
  EXPECT_TRUE(busy.allowed);
  EXPECT_EQ(busy.remaining, 2);
}

TEST(WriteLimiterTest, CountsEveryWriteOfManyThreadsOnce) {
  WriteLimiter limiter({.per_second = 1, .burst = 1'000});
  std::vector<std::thread> threads;
  std::atomic<int> allowed{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        if (limiter.Take("shared", Start()).allowed) allowed.fetch_add(1);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(allowed.load(), 1'000);
  EXPECT_EQ(limiter.refused(), 1'000u);
}

}  // namespace
}  // namespace ledger::api
