// Apply of the lifecycle of schema version 2: cancellations, settlement, and
// the funding model and limit that PostCreated carries.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "commands/post_state.h"
#include "events/event.h"
#include "post_state_fixture.h"
#include "support/status_matchers.h"

namespace ledger::commands {
namespace {

using events::FundingCancelled;
using events::FundingModel;
using events::FundingRefunded;
using events::PostCreated;
using events::PostDeleted;
using events::PostEdited;
using events::PostFunded;
using events::PostSettled;
using events::SettlementOutcome;
using testing::At;
using testing::Created;
using testing::IsCorruption;
using testing::PostStateTest;

// After the deadline of Created() (2026-11-21T15:00Z).
const Timestamp kAfterDeadline = At("2026-11-21T15:00:01.000000Z");

PostCreated AllOrNothing(std::optional<int64_t> limit = std::nullopt) {
  PostCreated created = Created();
  created.funding_model = FundingModel::kAllOrNothing;
  created.max_fundings_per_backer = limit;
  return created;
}

class LifecycleTest : public PostStateTest {
 protected:
  // The position MakeEvent gives the next event.
  int64_t NextPosition() const { return 100 + state_.version + 1; }
};

TEST_F(LifecycleTest, PostCreatedSetsTheModelAndTheLimit) {
  ASSERT_OK(Next(AllOrNothing(1)));
  EXPECT_EQ(state_.funding_model, FundingModel::kAllOrNothing);
  EXPECT_EQ(state_.max_fundings_per_backer, 1);
  EXPECT_FALSE(state_.ever_funded);
  EXPECT_FALSE(state_.settled());
}

TEST_F(LifecycleTest, FundingsAreLiveByPosition) {
  Create();
  const int64_t first = NextPosition();
  Fund("bob", 2, 20'000);
  Fund("bob", 1, 10'000);
  EXPECT_TRUE(state_.ever_funded);
  ASSERT_EQ(state_.live_fundings.size(), 2u);
  ASSERT_NE(state_.live_fundings.Find(first), nullptr);
  EXPECT_EQ(*state_.live_fundings.Find(first), (LiveFunding{"bob", 2, 20'000, 2}));
}

TEST_F(LifecycleTest, CancellationTakesBackOneFunding) {
  Create();
  const int64_t first = NextPosition();
  Fund("bob", 2, 20'000);
  Fund("bob", 1, 10'000);
  Fund("carol", 1, 10'000);
  ASSERT_OK(Next(FundingCancelled{"bob", first, 2, 20'000}));
  EXPECT_EQ(state_.total_funded, 20'000);
  EXPECT_EQ(state_.funding_count, 2);
  EXPECT_EQ(state_.participant_count(), 2);
  EXPECT_EQ(state_.backers.at("bob"), (BackerTotal{1, 10'000, 1}));
  EXPECT_EQ(state_.live_fundings.Find(first), nullptr);
  EXPECT_TRUE(state_.ever_funded);
}

TEST_F(LifecycleTest, CancellingABackersLastFundingRemovesTheBacker) {
  Create();
  const int64_t only = NextPosition();
  Fund("bob", 2, 20'000);
  ASSERT_OK(Next(FundingCancelled{"bob", only, 2, 20'000}));
  EXPECT_EQ(state_.participant_count(), 0);
  EXPECT_EQ(state_.total_funded, 0);
  EXPECT_TRUE(state_.live_fundings.empty());
}

TEST_F(LifecycleTest, RefusesACancellationThatNamesNoLiveFundingOfItsBacker) {
  Create();
  const int64_t bobs = NextPosition();
  Fund("bob", 2, 20'000);
  const std::vector<FundingCancelled> bad = {
      {"bob", bobs + 1, 2, 20'000},  // no funding there
      {"bob", bobs - 1, 2, 20'000},  // the PostCreated
      {"eve", bobs, 2, 20'000},      // someone else's
      {"bob", bobs, 1, 10'000},      // not what was funded
  };
  for (const FundingCancelled& c : bad) {
    PostState kept = state_;
    EXPECT_TRUE(IsCorruption(Next(c))) << c.backer << " " << c.funding_position;
    state_ = kept;
  }
  ASSERT_OK(Next(FundingCancelled{"bob", bobs, 2, 20'000}));
  EXPECT_TRUE(IsCorruption(Next(FundingCancelled{"bob", bobs, 2, 20'000})));
}

TEST_F(LifecycleTest, ARefundEndsEveryLiveFundingOfItsBacker) {
  Create();
  Fund("bob", 2, 20'000);
  const int64_t carols = NextPosition();
  Fund("carol", 1, 10'000);
  Fund("bob", 1, 10'000);
  ASSERT_OK(Next(FundingRefunded{"bob", 3, 30'000}));
  ASSERT_EQ(state_.live_fundings.size(), 1u);
  EXPECT_EQ(state_.live_fundings.Positions(), std::vector<int64_t>{carols});
}

TEST_F(LifecycleTest, SettlesASuccessfulPost) {
  Create();
  Fund("bob", 100, 1'000'000);
  ASSERT_OK(
      NextAt(PostSettled{SettlementOutcome::kSuccessful, 1'000'000, 1, 0, 0}, kAfterDeadline));
  EXPECT_EQ(state_.settlement, SettlementOutcome::kSuccessful);
  EXPECT_EQ(state_.total_funded, 1'000'000);
}

TEST_F(LifecycleTest, AFailedKeepItAllPostKeepsItsMoney) {
  Create();
  Fund("bob", 1, 10'000);
  ASSERT_OK(NextAt(PostSettled{SettlementOutcome::kFailed, 10'000, 1, 0, 0}, kAfterDeadline));
  EXPECT_EQ(state_.settlement, SettlementOutcome::kFailed);
  EXPECT_EQ(state_.total_funded, 10'000);
}

TEST_F(LifecycleTest, AFailedAllOrNothingPostSettlesAfterItsRefunds) {
  ASSERT_OK(Next(AllOrNothing()));
  Fund("bob", 2, 20'000);
  Fund("carol", 1, 10'000);
  ASSERT_OK(NextAt(FundingRefunded{"bob", 2, 20'000}, kAfterDeadline));
  ASSERT_OK(NextAt(FundingRefunded{"carol", 1, 10'000}, kAfterDeadline));
  ASSERT_OK(NextAt(PostSettled{SettlementOutcome::kFailed, 30'000, 2, 30'000, 2}, kAfterDeadline));
  EXPECT_EQ(state_.settlement, SettlementOutcome::kFailed);
  EXPECT_EQ(state_.total_funded, 0);
  EXPECT_TRUE(state_.live_fundings.empty());
}

TEST_F(LifecycleTest, RefusesSettlementsThatDoNotMatchThePost) {
  ASSERT_OK(Next(AllOrNothing()));
  Fund("bob", 2, 20'000);
  const std::vector<std::pair<PostSettled, Timestamp>> bad = {
      // Before the deadline.
      {{SettlementOutcome::kFailed, 20'000, 1, 0, 0}, At("2026-11-21T14:59:59.999999Z")},
      // Under the target but called successful.
      {{SettlementOutcome::kSuccessful, 20'000, 1, 0, 0}, kAfterDeadline},
      // Figures that are not the post's.
      {{SettlementOutcome::kFailed, 10'000, 1, 0, 0}, kAfterDeadline},
      {{SettlementOutcome::kFailed, 20'000, 2, 0, 0}, kAfterDeadline},
      // A failed all_or_nothing post whose fundings were not refunded.
      {{SettlementOutcome::kFailed, 20'000, 1, 0, 0}, kAfterDeadline},
  };
  for (const auto& [settled, at] : bad) {
    PostState kept = state_;
    EXPECT_TRUE(IsCorruption(NextAt(settled, at))) << settled.total_funded;
    state_ = kept;
  }
}

TEST_F(LifecycleTest, RefusesRefundsThatKeepItAllDoesNotOwe) {
  Create();
  Fund("bob", 2, 20'000);
  ASSERT_OK(NextAt(FundingRefunded{"bob", 2, 20'000}, kAfterDeadline));
  EXPECT_TRUE(IsCorruption(
      NextAt(PostSettled{SettlementOutcome::kFailed, 20'000, 1, 20'000, 1}, kAfterDeadline)));
}

TEST_F(LifecycleTest, ASettledPostTakesOnlyEditsOfItsTexts) {
  Create();
  Fund("bob", 1, 10'000);
  ASSERT_OK(NextAt(PostSettled{SettlementOutcome::kFailed, 10'000, 1, 0, 0}, kAfterDeadline));
  PostEdited texts;
  texts.title = "새 제목";
  texts.uploader = "u";
  texts.description = "d";
  ASSERT_OK(NextAt(texts, kAfterDeadline));
  EXPECT_EQ(state_.title, "새 제목");

  PostEdited unit;
  unit.funding_unit = 5;
  PostEdited end;
  end.end_date = testing::D("2027-01-01");
  end.closes_at = At("2027-01-01T15:00:00.000000Z");
  const std::vector<events::EventData> refused = {
      unit,
      end,
      PostFunded{"carol", 1, 10'000},
      FundingCancelled{"bob", 102, 1, 10'000},
      PostDeleted{0, 0},
      PostSettled{SettlementOutcome::kFailed, 10'000, 1, 0, 0},
  };
  for (const events::EventData& data : refused) {
    PostState kept = state_;
    EXPECT_TRUE(IsCorruption(NextAt(data, kAfterDeadline)))
        << events::TypeName(events::TypeOf(data));
    state_ = kept;
  }
}

TEST_F(LifecycleTest, ADeletedPostIsNeverSettled) {
  Create();
  ASSERT_OK(Next(PostDeleted{0, 0}));
  EXPECT_TRUE(
      IsCorruption(NextAt(PostSettled{SettlementOutcome::kFailed, 0, 0, 0, 0}, kAfterDeadline)));
}

TEST(LiveFundingsTest, AppendsInOrderFindsAndRemoves) {
  LiveFundings f;
  EXPECT_TRUE(f.Append(3, LiveFunding{"bob", 1, 10}));
  EXPECT_TRUE(f.Append(7, LiveFunding{"amy", 2, 20}));
  EXPECT_FALSE(f.Append(7, LiveFunding{"amy", 2, 20}));  // not after the last one
  EXPECT_FALSE(f.Append(5, LiveFunding{"cat", 1, 10}));
  EXPECT_EQ(f.size(), 2u);
  ASSERT_NE(f.Find(7), nullptr);
  EXPECT_EQ(*f.Find(7), (LiveFunding{"amy", 2, 20}));
  EXPECT_EQ(f.Find(5), nullptr);
  EXPECT_TRUE(f.Remove(3));
  EXPECT_FALSE(f.Remove(3));
  EXPECT_EQ(f.Find(3), nullptr);
  EXPECT_EQ(f.Positions(), std::vector<int64_t>{7});
}

TEST(LiveFundingsTest, CompactsWithoutChangingWhatIsLive) {
  LiveFundings f;
  LiveFundings expected;
  for (int64_t p = 1; p <= 1'000; ++p) {
    ASSERT_TRUE(f.Append(p, LiveFunding{"b" + std::to_string(p % 7), p, p}));
    if (p % 3 == 0) {
      ASSERT_TRUE(expected.Append(p, LiveFunding{"b" + std::to_string(p % 7), p, p}));
    }
  }
  // Removing two thirds compacts along the way; lookups stay right.
  for (int64_t p = 1; p <= 1'000; ++p) {
    if (p % 3 != 0) {
      ASSERT_TRUE(f.Remove(p));
    }
  }
  EXPECT_EQ(f.size(), 333u);
  EXPECT_EQ(f, expected);
  for (int64_t p = 1; p <= 1'000; ++p) EXPECT_EQ(f.Find(p) != nullptr, p % 3 == 0) << p;
  EXPECT_TRUE(f.Append(1'001, LiveFunding{"z", 1, 1}));
  EXPECT_FALSE(f == expected);
}

std::vector<int64_t> Listed(const LivePositions& p) { return {p.begin(), p.end()}; }

TEST(LivePositionsTest, HoldsOneInlineAndMoreInAVector) {
  LivePositions p;
  EXPECT_TRUE(p.empty());
  EXPECT_EQ(Listed(p), std::vector<int64_t>{});
  p.push_back(4);
  EXPECT_EQ(Listed(p), std::vector<int64_t>{4});
  p.push_back(9);
  p.push_back(12);
  EXPECT_EQ(p.size(), 3u);
  EXPECT_EQ(Listed(p), (std::vector<int64_t>{4, 9, 12}));
  p.erase(9);
  EXPECT_EQ(Listed(p), (std::vector<int64_t>{4, 12}));
  p.erase(4);  // back to one: inline again
  EXPECT_EQ(Listed(p), std::vector<int64_t>{12});
  p.erase(7);  // not there: nothing changes
  EXPECT_EQ(Listed(p), std::vector<int64_t>{12});
  p.push_back(15);
  EXPECT_EQ(Listed(p), (std::vector<int64_t>{12, 15}));
  p.erase(15);
  p.erase(12);
  EXPECT_TRUE(p.empty());
  EXPECT_EQ(Listed(p), std::vector<int64_t>{});
  p.push_back(20);
  EXPECT_EQ(Listed(p), std::vector<int64_t>{20});
}

TEST(LivePositionsTest, EqualWhenTheSamePositionsHoweverTheyAreHeld) {
  LivePositions one;
  one.push_back(5);
  LivePositions shrunk;  // held in the vector once, then inline
  shrunk.push_back(3);
  shrunk.push_back(5);
  shrunk.erase(3);
  EXPECT_EQ(one, shrunk);
  LivePositions copy = shrunk;
  copy.push_back(8);
  EXPECT_NE(copy, one);
  LivePositions moved = std::move(copy);
  EXPECT_EQ(Listed(moved), (std::vector<int64_t>{5, 8}));
  EXPECT_NE(LivePositions(), one);
}

TEST(LivePositionsDeathTest, RefusesAPositionBeforeTheLogsFirst) {
  LivePositions p;
  EXPECT_DEATH(p.push_back(0), "a log position starts at 1");
}

}  // namespace
}  // namespace ledger::commands
