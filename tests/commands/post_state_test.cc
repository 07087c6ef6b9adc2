#include "commands/post_state.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "common/status.h"
#include "common/time_format.h"
#include "events/event.h"
#include "post_state_fixture.h"
#include "support/status_matchers.h"
#include "support/time_literals.h"

namespace ledger::commands {
namespace {

using events::Event;
using events::EventData;
using events::FundingRefunded;
using events::PostCreated;
using events::PostDeleted;
using events::PostEdited;
using events::PostFunded;
using testing::Created;
using testing::IsCorruption;
using testing::kPostId;
using testing::MakeEvent;
using testing::PostStateTest;

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

using ::ledger::testing::At;
using ::ledger::testing::D;

TEST_F(PostStateTest, DefaultStateIsAMissingPost) {
  EXPECT_FALSE(state_.exists());
  EXPECT_EQ(state_.version, 0);
  EXPECT_EQ(state_.participant_count(), 0);
}

TEST_F(PostStateTest, AppliesPostCreated) {
  const Timestamp at = At("2026-11-01T03:00:00.123456Z");
  ASSERT_OK(Apply(state_, MakeEvent(kPostId, 1, Created(), at)));
  EXPECT_TRUE(state_.exists());
  EXPECT_FALSE(state_.deleted);
  EXPECT_EQ(state_.id, kPostId);
  EXPECT_EQ(state_.version, 1);
  EXPECT_EQ(state_.owner, "owner-7");
  EXPECT_EQ(state_.title, "내 취미 만들기");
  EXPECT_EQ(state_.uploader, "홍길동");
  EXPECT_EQ(state_.description, "설명");
  EXPECT_EQ(state_.target_amount, 1'000'000);
  EXPECT_EQ(state_.funding_unit, 10'000);
  EXPECT_EQ(state_.end_date, D("2026-11-21"));
  EXPECT_EQ(state_.closes_at, At("2026-11-21T15:00:00.000000Z"));
  EXPECT_EQ(state_.created_at, at);
  EXPECT_EQ(state_.total_funded, 0);
  EXPECT_EQ(state_.funding_count, 0);
  EXPECT_TRUE(state_.backers.empty());
}

TEST_F(PostStateTest, FirstEventMustBePostCreated) {
  const std::vector<EventData> others = {
      PostEdited{"t", std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt,
                 std::nullopt, std::nullopt},
      PostDeleted{0, 0},
      PostFunded{"alice", 1, 10'000},
      FundingRefunded{"alice", 1, 10'000},
  };
  for (const EventData& data : others) {
    PostState s{};
    EXPECT_TRUE(IsCorruption(Apply(s, MakeEvent(kPostId, 1, data))))
        << events::TypeName(events::TypeOf(data));
  }
}

TEST_F(PostStateTest, RejectsPostCreatedTwice) {
  Create();
  EXPECT_TRUE(IsCorruption(Next(Created())));
}

TEST_F(PostStateTest, RejectsVersionGap) {
  Create();
  EXPECT_TRUE(IsCorruption(Apply(state_, MakeEvent(kPostId, 3, PostFunded{"a", 1, 10'000}))));
}

TEST_F(PostStateTest, RejectsRepeatedOrOldVersion) {
  Create();
  Fund("alice", 1, 10'000);
  // A failed Apply leaves its state unspecified, so each try gets a copy.
  for (const int64_t version : {int64_t{2}, int64_t{1}, int64_t{0}, int64_t{-1}}) {
    PostState s = state_;
    EXPECT_TRUE(IsCorruption(Apply(s, MakeEvent(kPostId, version, PostFunded{"a", 1, 10'000}))))
        << version;
  }
}

TEST_F(PostStateTest, FirstEventMustBeVersionOne) {
  PostState s{};
  EXPECT_TRUE(IsCorruption(Apply(s, MakeEvent(kPostId, 2, Created()))));
  EXPECT_TRUE(IsCorruption(Apply(s, MakeEvent(kPostId, 0, Created()))));
}

TEST_F(PostStateTest, RejectsEventOfAnotherPost) {
  Create();
  EXPECT_TRUE(IsCorruption(Apply(state_, MakeEvent(kPostId + 1, 2, PostFunded{"a", 1, 1}))));
}

TEST_F(PostStateTest, CorruptionMessageNamesPositionTypeAndPost) {
  Create();
  const Status s = Apply(state_, MakeEvent(kPostId, 5, PostFunded{"a", 1, 1}));
  ASSERT_TRUE(IsCorruption(s));
  EXPECT_NE(s.message().find("position 105"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("PostFunded"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("post 7"), std::string::npos) << s.message();
}

TEST_F(PostStateTest, AppliesOnlyThePresentFieldsOfPostEdited) {
  Create();
  PostEdited title_only;
  title_only.title = "새 제목";
  ASSERT_OK(Next(title_only));
  EXPECT_EQ(state_.version, 2);
  EXPECT_EQ(state_.title, "새 제목");
  EXPECT_EQ(state_.uploader, "홍길동");
  EXPECT_EQ(state_.description, "설명");
  EXPECT_EQ(state_.funding_unit, 10'000);
  EXPECT_EQ(state_.end_date, D("2026-11-21"));
  EXPECT_EQ(state_.closes_at, At("2026-11-21T15:00:00.000000Z"));

  PostEdited rest;
  rest.uploader = "김철수";
  rest.description = "";
  rest.funding_unit = 5'000;
  rest.end_date = D("2026-12-25");
  rest.closes_at = At("2026-12-25T15:00:00.000000Z");
  ASSERT_OK(Next(rest));
  EXPECT_EQ(state_.version, 3);
  EXPECT_EQ(state_.title, "새 제목");
  EXPECT_EQ(state_.uploader, "김철수");
  EXPECT_EQ(state_.description, "");
  EXPECT_EQ(state_.funding_unit, 5'000);
  EXPECT_EQ(state_.end_date, D("2026-12-25"));
  EXPECT_EQ(state_.closes_at, At("2026-12-25T15:00:00.000000Z"));
  EXPECT_EQ(state_.target_amount, 1'000'000);
  EXPECT_EQ(state_.owner, "owner-7");
}

TEST_F(PostStateTest, AppliesPostFunded) {
  Create();
  Fund("alice", 3, 30'000);
  EXPECT_EQ(state_.version, 2);
  EXPECT_EQ(state_.total_funded, 30'000);
  EXPECT_EQ(state_.funding_count, 1);
  EXPECT_EQ(state_.participant_count(), 1);
  ASSERT_EQ(state_.backers.count("alice"), 1u);
  EXPECT_EQ(state_.backers.at("alice"), (BackerTotal{3, 30'000, 1}));
}

TEST_F(PostStateTest, ParticipantCountCountsDistinctBackers) {
  Create();
  Fund("alice", 1, 10'000);
  Fund("bob", 2, 20'000);
  Fund("alice", 4, 40'000);
  Fund("alice", 1, 10'000);
  EXPECT_EQ(state_.participant_count(), 2);
  EXPECT_EQ(state_.funding_count, 4);
  EXPECT_EQ(state_.total_funded, 80'000);
  EXPECT_EQ(state_.backers.at("alice"), (BackerTotal{6, 60'000, 3}));
  EXPECT_EQ(state_.backers.at("bob"), (BackerTotal{2, 20'000, 1}));
}

TEST_F(PostStateTest, RejectsNonPositiveFunding) {
  Create();
  for (const PostFunded& f : {PostFunded{"a", 0, 10'000}, PostFunded{"a", 1, 0},
                              PostFunded{"a", -1, 10'000}, PostFunded{"a", 1, -10'000}}) {
    PostState s = state_;
    EXPECT_TRUE(IsCorruption(Apply(s, MakeEvent(kPostId, 2, f))))
        << f.units << " units, " << f.amount;
  }
}

TEST_F(PostStateTest, AppliesFundingRefundedOfABackersWholeLiveTotal) {
  Create();
  Fund("alice", 1, 10'000);
  Fund("bob", 2, 20'000);
  Fund("alice", 4, 40'000);
  ASSERT_OK(Next(FundingRefunded{"alice", 5, 50'000}));
  EXPECT_EQ(state_.version, 5);
  EXPECT_EQ(state_.total_funded, 20'000);
  EXPECT_EQ(state_.funding_count, 1);  // alice's two fundings are gone
  EXPECT_EQ(state_.participant_count(), 1);
  EXPECT_EQ(state_.backers.count("alice"), 0u);
  EXPECT_EQ(state_.backers.at("bob"), (BackerTotal{2, 20'000, 1}));
}

TEST_F(PostStateTest, BackerMayFundAgainAfterARefund) {
  Create();
  Fund("alice", 1, 10'000);
  ASSERT_OK(Next(FundingRefunded{"alice", 1, 10'000}));
  Fund("alice", 2, 20'000);
  EXPECT_EQ(state_.backers.at("alice"), (BackerTotal{2, 20'000, 1}));
  EXPECT_EQ(state_.total_funded, 20'000);
  EXPECT_EQ(state_.funding_count, 1);
}

TEST_F(PostStateTest, RejectsRefundThatDiffersFromLiveTotal) {
  Create();
  Fund("alice", 1, 10'000);
  Fund("alice", 2, 20'000);
  for (const FundingRefunded& r : {FundingRefunded{"alice", 1, 10'000},     // one funding only
                                   FundingRefunded{"alice", 3, 20'000},     // amount short
                                   FundingRefunded{"alice", 2, 30'000},     // units short
                                   FundingRefunded{"alice", 4, 40'000}}) {  // more than funded
    PostState s = state_;
    EXPECT_TRUE(IsCorruption(Apply(s, MakeEvent(kPostId, 4, r))))
        << r.units << " units, " << r.amount;
  }
}

TEST_F(PostStateTest, RejectsRefundOfUnknownBacker) {
  Create();
  Fund("alice", 1, 10'000);
  EXPECT_TRUE(IsCorruption(Next(FundingRefunded{"bob", 1, 10'000})));
}

TEST_F(PostStateTest, RejectsSecondRefundOfTheSameBacker) {
  Create();
  Fund("alice", 1, 10'000);
  ASSERT_OK(Next(FundingRefunded{"alice", 1, 10'000}));
  EXPECT_TRUE(IsCorruption(Next(FundingRefunded{"alice", 1, 10'000})));
}

TEST_F(PostStateTest, AppliesPostDeletedAfterEveryRefund) {
  Create();
  Fund("alice", 1, 10'000);
  Fund("bob", 2, 20'000);
  ASSERT_OK(Next(FundingRefunded{"alice", 1, 10'000}));
  ASSERT_OK(Next(FundingRefunded{"bob", 2, 20'000}));
  ASSERT_OK(Next(PostDeleted{30'000, 2}));
  EXPECT_TRUE(state_.deleted);
  EXPECT_TRUE(state_.exists());
  EXPECT_EQ(state_.version, 6);
  EXPECT_EQ(state_.total_funded, 0);
  EXPECT_EQ(state_.funding_count, 0);
  EXPECT_EQ(state_.participant_count(), 0);
}

TEST_F(PostStateTest, RejectsPostDeletedWithLiveFundings) {
  Create();
  Fund("alice", 1, 10'000);
  Fund("bob", 2, 20'000);
  ASSERT_OK(Next(FundingRefunded{"alice", 1, 10'000}));
  EXPECT_TRUE(IsCorruption(Next(PostDeleted{10'000, 1})));
}

TEST_F(PostStateTest, RejectsNegativeRefundTotals) {
  Create();
  EXPECT_TRUE(IsCorruption(Next(PostDeleted{-1, 0})));
  EXPECT_TRUE(IsCorruption(Next(PostDeleted{0, -1})));
}

TEST_F(PostStateTest, DeletedPostAcceptsNoFurtherEvents) {
  Create();
  ASSERT_OK(Next(PostDeleted{0, 0}));
  PostEdited edit;
  edit.title = "zombie";
  const std::vector<EventData> after = {
      Created(),
      edit,
      PostDeleted{0, 0},
      PostFunded{"alice", 1, 10'000},
      FundingRefunded{"alice", 1, 10'000},
  };
  for (const EventData& data : after) {
    PostState s = state_;
    EXPECT_TRUE(IsCorruption(Apply(s, MakeEvent(kPostId, 3, data))))
        << events::TypeName(events::TypeOf(data));
  }
}

TEST_F(PostStateTest, RejectsTotalOverflowInsteadOfWrapping) {
  Create();
  Fund("alice", 1, kInt64Max);
  EXPECT_TRUE(IsCorruption(Next(PostFunded{"bob", 1, 1})));
}

TEST_F(PostStateTest, RejectsBackerOverflowInsteadOfWrapping) {
  Create();
  Fund("alice", kInt64Max, 1);
  EXPECT_TRUE(IsCorruption(Next(PostFunded{"alice", 1, 1})));
}

TEST_F(PostStateTest, ReachesInt64MaxExactly) {
  Create();
  Fund("alice", 1, kInt64Max - 1);
  Fund("bob", 1, 1);
  EXPECT_EQ(state_.total_funded, kInt64Max);
  ASSERT_OK(Next(FundingRefunded{"alice", 1, kInt64Max - 1}));
  EXPECT_EQ(state_.total_funded, 1);
}

}  // namespace
}  // namespace ledger::commands
