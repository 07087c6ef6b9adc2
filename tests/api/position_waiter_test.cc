#include "api/position_waiter.h"

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include <gtest/gtest.h>

namespace ledger::api {
namespace {

using std::chrono::milliseconds;

TEST(PositionWaiterTest, AnswersAtOnceWhenAlreadyThere) {
  std::atomic<int64_t> position{10};
  PositionWaiter waiter([&] { return position.load(); });
  bool answer = false;
  waiter.Wait(10, milliseconds(1000), [&](bool reached) { answer = reached; });
  EXPECT_TRUE(answer);
  EXPECT_EQ(waiter.parked(), 0U);
}

TEST(PositionWaiterTest, AnswersWhenTheProjectorGetsThere) {
  std::atomic<int64_t> position{1};
  PositionWaiter waiter([&] { return position.load(); });
  std::promise<bool> answer;
  waiter.Wait(5, milliseconds(10'000), [&](bool reached) { answer.set_value(reached); });
  EXPECT_EQ(waiter.parked(), 1U);
  position = 4;
  waiter.Notify(4);
  EXPECT_EQ(waiter.parked(), 1U);
  position = 6;
  waiter.Notify(6);
  EXPECT_TRUE(answer.get_future().get());
  EXPECT_EQ(waiter.parked(), 0U);
}

TEST(PositionWaiterTest, AnswersFalseAtTheDeadline) {
  PositionWaiter waiter([] { return int64_t{0}; });
  std::promise<bool> answer;
  const auto start = std::chrono::steady_clock::now();
  waiter.Wait(1, milliseconds(50), [&](bool reached) { answer.set_value(reached); });
  EXPECT_FALSE(answer.get_future().get());
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(50));
}

TEST(PositionWaiterTest, EarlierDeadlinesFireFirst) {
  PositionWaiter waiter([] { return int64_t{0}; });
  std::promise<void> late_done;
  std::atomic<bool> early_fired{false};
  std::atomic<bool> order_ok{false};
  waiter.Wait(1, milliseconds(300), [&](bool) {
    order_ok = early_fired.load();
    late_done.set_value();
  });
  waiter.Wait(1, milliseconds(20), [&](bool) { early_fired = true; });
  late_done.get_future().wait();
  EXPECT_TRUE(order_ok.load());
}

TEST(PositionWaiterTest, AnswersEveryParkedWaiterFalseWhenDestroyed) {
  int answered = 0;
  {
    PositionWaiter waiter([] { return int64_t{0}; });
    for (int i = 0; i < 3; ++i) {
      waiter.Wait(100, milliseconds(60'000), [&](bool reached) {
        EXPECT_FALSE(reached);
        ++answered;
      });
    }
  }
  EXPECT_EQ(answered, 3);
}

}  // namespace
}  // namespace ledger::api
