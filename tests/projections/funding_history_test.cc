#include "projections/funding_history.h"

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "commands/post_state.h"
#include "commands/post_state_fixture.h"
#include "events/event.h"
#include "support/status_matchers.h"
#include "support/time_literals.h"

namespace ledger::projections {
namespace {

using ::ledger::commands::testing::Created;
using ::ledger::testing::At;

// Folds events into per-post states and a FundingHistory, as FoldLog's
// observer sees them: each event with its post's state before it.
class FundingHistoryTest : public ::testing::Test {
 protected:
  // Appends `data` to post `post` at the next position.
  void Add(int64_t post, events::EventData data) {
    commands::PostState& state = posts_[post];
    events::Event e;
    e.position = ++position_;
    e.stream = post;
    e.stream_version = state.version + 1;
    e.recorded_at = At("2026-11-02T00:00:00.000000Z");
    e.actor = "someone";
    e.data = std::move(data);
    history_.Observe(e, state);
    ASSERT_OK(commands::Apply(state, e));
  }
  int64_t Fund(int64_t post, const std::string& backer, int64_t units) {
    Add(post, events::PostFunded{backer, units, units * 10'000});
    return position_;
  }

  // The state of each funding, by position.
  std::map<int64_t, FundingState> States() const {
    std::map<int64_t, FundingState> out;
    for (const FundingRecord& r : history_.records()) out[r.position] = r.state;
    return out;
  }

  std::map<int64_t, commands::PostState> posts_;
  FundingHistory history_;
  int64_t position_ = 0;
};

TEST_F(FundingHistoryTest, ACancellationEndsOnlyTheFundingItNames) {
  Add(1, Created());
  const int64_t first = Fund(1, "alice", 1);
  const int64_t second = Fund(1, "bob", 2);
  Add(2, Created());
  const int64_t other_post = Fund(2, "alice", 1);
  Add(1, events::FundingCancelled{"bob", second, 2, 20'000});

  const std::map<int64_t, FundingState> want = {{first, FundingState::kLive},
                                                {second, FundingState::kCancelled},
                                                {other_post, FundingState::kLive}};
  EXPECT_EQ(States(), want);
  EXPECT_EQ(history_.money(1).funded, 30'000);
  EXPECT_EQ(history_.money(1).cancelled, 20'000);
  EXPECT_EQ(history_.money(2).funded, 10'000);
  EXPECT_EQ(history_.money(3).funded, 0);
}

TEST_F(FundingHistoryTest, ARefundEndsEveryLiveFundingOfItsBackerOnItsPost) {
  Add(1, Created());
  Add(2, Created());
  const int64_t cancelled = Fund(1, "alice", 1);
  const int64_t bobs = Fund(1, "bob", 1);
  const int64_t alices = Fund(1, "alice", 2);
  const int64_t elsewhere = Fund(2, "alice", 3);
  Add(1, events::FundingCancelled{"alice", cancelled, 1, 10'000});
  const int64_t last = Fund(1, "alice", 4);
  Add(1, events::FundingRefunded{"alice", 6, 60'000});

  const std::map<int64_t, FundingState> want = {
      {cancelled, FundingState::kCancelled}, {bobs, FundingState::kLive},
      {alices, FundingState::kRefunded},     {elsewhere, FundingState::kLive},
      {last, FundingState::kRefunded},
  };
  EXPECT_EQ(States(), want);
  EXPECT_EQ(history_.money(1).refunded, 60'000);
}

TEST_F(FundingHistoryTest, ReservedRoomChangesNothing) {
  history_.Reserve(100);
  Add(1, Created());
  const int64_t funded = Fund(1, "alice", 1);
  Add(1, events::FundingCancelled{"alice", funded, 1, 10'000});
  const int64_t again = Fund(1, "alice", 2);

  const std::map<int64_t, FundingState> want = {{funded, FundingState::kCancelled},
                                                {again, FundingState::kLive}};
  EXPECT_EQ(States(), want);
  ASSERT_EQ(history_.records().size(), 2U);
  EXPECT_EQ(history_.records()[1].backer, "alice");
  EXPECT_EQ(history_.records()[1].amount, 20'000);
}

}  // namespace
}  // namespace ledger::projections
