// Decide for schema version 2: funding terms on create and edit, the limit of
// fundings per backer, cancellations, settlement, and what a settled post
// still takes.

#include <cstdint>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "commands/decide.h"
#include "commands/limits.h"
#include "decide_fixture.h"

namespace ledger::commands {
namespace {

using events::FundingCancelled;
using events::FundingModel;
using events::FundingRefunded;
using events::PostCreated;
using events::PostSettled;
using events::SettlementOutcome;
using std::chrono::hours;
using testing::At;
using testing::DataAt;
using testing::IsAccepted;
using testing::IsRejected;
using testing::kBacker;
using testing::kOwner;
using testing::kPostId;
using testing::kUnit;
using testing::PostHistory;

// The standard post closes at 2026-11-21T15:00:00Z.
const Timestamp kAtDeadline = At("2026-11-21T15:00:00.000000Z");

class LifecycleDecideTest : public testing::DecideTest {
 protected:
  // The standard post with other funding terms.
  PostHistory PostWith(FundingModel model, std::optional<int64_t> limit) const {
    PostHistory h = OpenPost();
    h.mutable_state().funding_model = model;
    h.mutable_state().max_fundings_per_backer = limit;
    return h;
  }

  // Funds as `backer` through Decide; returns the funding's position.
  int64_t FundThrough(PostHistory& h, std::string_view backer, int64_t units = 1) {
    const Decision d = Run(h, FundPost{kPostId, units}, backer);
    EXPECT_TRUE(IsAccepted(d));
    h.AppendAll(d.events, now_);
    return h.state().live_fundings.Positions().back();
  }

  Decision Cancel(const PostHistory& h, int64_t position, std::string_view actor) const {
    return Run(h, CancelFunding{kPostId, position}, actor);
  }

  Decision Settle(const PostHistory& h) const { return Run(h, SettlePost{kPostId}, kSystemActor); }
};

// --------------------------------------------------------- funding terms

TEST_F(LifecycleDecideTest, CreateCarriesTheFundingTerms) {
  PostDraft p = ValidDraft();
  p.funding_model = FundingModel::kAllOrNothing;
  p.max_fundings_per_backer = 1;
  const Decision d = Create(p);
  ASSERT_TRUE(IsAccepted(d));
  const auto* created = DataAt<PostCreated>(d, 0);
  ASSERT_NE(created, nullptr);
  EXPECT_EQ(created->funding_model, FundingModel::kAllOrNothing);
  EXPECT_EQ(created->max_fundings_per_backer, 1);
}

TEST_F(LifecycleDecideTest, CreateRefusesALimitOutsideItsRange) {
  for (const int64_t limit : {int64_t{0}, int64_t{-1}, kMaxFundingsPerBackerLimit + 1}) {
    PostDraft p = ValidDraft();
    p.max_fundings_per_backer = limit;
    EXPECT_TRUE(IsRejected(Create(p), RejectReason::kInvalidField, "/max_fundings_per_backer"))
        << limit;
  }
  PostDraft p = ValidDraft();
  p.max_fundings_per_backer = kMaxFundingsPerBackerLimit;
  EXPECT_TRUE(IsAccepted(Create(p)));
}

TEST_F(LifecycleDecideTest, TheTermsAreEditableUntilTheFirstFunding) {
  PostHistory h = OpenPost();
  EditPost e = Edit();
  e.funding_model = FundingModel::kAllOrNothing;
  e.max_fundings_per_backer = std::optional<int64_t>(2);
  const Decision d = Run(h, e, kOwner);
  ASSERT_TRUE(IsAccepted(d));
  h.AppendAll(d.events, now_);
  EXPECT_EQ(h.state().funding_model, FundingModel::kAllOrNothing);
  EXPECT_EQ(h.state().max_fundings_per_backer, 2);

  EditPost remove_limit = Edit();
  remove_limit.max_fundings_per_backer = std::optional<int64_t>();
  const Decision removed = Run(h, remove_limit, kOwner);
  ASSERT_TRUE(IsAccepted(removed));
  h.AppendAll(removed.events, now_);
  EXPECT_EQ(h.state().max_fundings_per_backer, std::nullopt);

  const int64_t funding = FundThrough(h, kBacker);
  EXPECT_TRUE(IsRejected(Run(h, e, kOwner), RejectReason::kFundingTermsFixed, "/funding_model"));
  // Cancelling the only funding does not reopen them.
  h.AppendAll(Cancel(h, funding, kBacker).events, now_);
  EditPost limit_only = Edit();
  limit_only.max_fundings_per_backer = std::optional<int64_t>(1);
  EXPECT_TRUE(IsRejected(Run(h, limit_only, kOwner), RejectReason::kFundingTermsFixed,
                         "/max_fundings_per_backer"));
}

// ------------------------------------------------------------- the limit

TEST_F(LifecycleDecideTest, ABackerFundsAtMostTheLimitOfLiveFundings) {
  PostHistory h = PostWith(FundingModel::kKeepItAll, 2);
  FundThrough(h, kBacker);
  const int64_t second = FundThrough(h, kBacker);
  EXPECT_TRUE(
      IsRejected(Run(h, FundPost{kPostId, 1}, kBacker), RejectReason::kFundingLimitReached, ""));
  // Others are not limited by this backer's fundings.
  FundThrough(h, "someone-else");
  // A cancellation frees a place.
  h.AppendAll(Cancel(h, second, kBacker).events, now_);
  FundThrough(h, kBacker);
}

// ----------------------------------------------------------- cancellation

TEST_F(LifecycleDecideTest, ABackerCancelsTheirOwnLiveFunding) {
  PostHistory h = OpenPost();
  const int64_t position = FundThrough(h, kBacker, 3);
  const Decision d = Cancel(h, position, kBacker);
  ASSERT_TRUE(IsAccepted(d));
  ASSERT_EQ(d.events.size(), 1u);
  const auto* cancelled = DataAt<FundingCancelled>(d, 0);
  ASSERT_NE(cancelled, nullptr);
  EXPECT_EQ(*cancelled, (FundingCancelled{std::string(kBacker), position, 3, 3 * kUnit}));
  h.AppendAll(d.events, now_);
  EXPECT_EQ(h.state().total_funded, 0);
  EXPECT_EQ(h.state().participant_count(), 0);
}

TEST_F(LifecycleDecideTest, CancellationRefusalsInTheirOrder) {
  PostHistory h = OpenPost();
  const int64_t position = FundThrough(h, kBacker);
  EXPECT_TRUE(IsRejected(Run(nullptr, CancelFunding{kPostId, position}, kBacker),
                         RejectReason::kPostNotFound, ""));
  EXPECT_TRUE(IsRejected(Cancel(h, position + 1, kBacker), RejectReason::kFundingNotFound, ""));
  EXPECT_TRUE(IsRejected(Cancel(h, 1, kBacker), RejectReason::kFundingNotFound, ""));
  EXPECT_TRUE(IsRejected(Cancel(h, position, "someone-else"), RejectReason::kNotYourFunding, ""));
  h.AppendAll(Cancel(h, position, kBacker).events, now_);
  EXPECT_TRUE(IsRejected(Cancel(h, position, kBacker), RejectReason::kFundingAlreadyCancelled, ""));
  EXPECT_TRUE(IsRejected(Cancel(h, position, "someone-else"), RejectReason::kNotYourFunding, ""));
}

TEST_F(LifecycleDecideTest, NoCancellationAfterTheDeadline) {
  PostHistory h = OpenPost();
  const int64_t position = FundThrough(h, kBacker);
  now_ = kAtDeadline;
  EXPECT_TRUE(IsRejected(Cancel(h, position, kBacker), RejectReason::kFundingClosed, ""));
  h.AppendAll(Settle(h).events, now_);
  EXPECT_TRUE(IsRejected(Cancel(h, position, kBacker), RejectReason::kFundingClosed, ""));
}

// ------------------------------------------- deciding on a post's summary

// The sequencer decides on a post's summary (PostState without its backers)
// and reads the post whole only when a deletion or settlement would refund
// someone: a refused one, or one with nobody to refund, is decided on the
// summary alone.
TEST_F(LifecycleDecideTest, OnlyARefundingDeletionAsksForTheWholePost) {
  PostHistory h = OpenPost();
  const PostState empty = SummaryOf(h.state());
  DecideContext ctx = Ctx(kOwner);
  ctx.whole_post = false;
  const Decision nobody = Decide(&empty, DeletePost{kPostId, std::nullopt}, ctx);
  EXPECT_TRUE(IsAccepted(nobody));
  EXPECT_EQ(nobody.events.size(), 1u);
  FundThrough(h, kBacker, 2);
  const PostState funded = SummaryOf(h.state());
  const Decision refunding = Decide(&funded, DeletePost{kPostId, std::nullopt}, ctx);
  EXPECT_TRUE(refunding.needs_whole_post);
  EXPECT_TRUE(refunding.events.empty());
  EXPECT_FALSE(refunding.rejection.has_value());
  DecideContext stranger = Ctx(kBacker);
  stranger.whole_post = false;
  const Decision refused = Decide(&funded, DeletePost{kPostId, std::nullopt}, stranger);
  EXPECT_FALSE(refused.needs_whole_post);
  EXPECT_TRUE(IsRejected(refused, RejectReason::kNotOwner, ""));
  // With the whole post, the same command is decided.
  ctx.whole_post = true;
  const Decision whole = Decide(&h.state(), DeletePost{kPostId, std::nullopt}, ctx);
  ASSERT_TRUE(IsAccepted(whole));
  EXPECT_EQ(whole.events.size(), 2u);
}

TEST_F(LifecycleDecideTest, OnlyARefundingSettlementAsksForTheWholePost) {
  PostHistory failing = PostWith(FundingModel::kAllOrNothing, std::nullopt);
  FundThrough(failing, kBacker, 5);
  PostHistory reached = PostWith(FundingModel::kAllOrNothing, std::nullopt);
  FundThrough(reached, kBacker, 100);
  now_ = kAtDeadline;
  DecideContext ctx = Ctx(kSystemActor);
  ctx.whole_post = false;
  const PostState failing_summary = SummaryOf(failing.state());
  EXPECT_TRUE(Decide(&failing_summary, SettlePost{kPostId}, ctx).needs_whole_post);
  const PostState reached_summary = SummaryOf(reached.state());
  const Decision settled = Decide(&reached_summary, SettlePost{kPostId}, ctx);
  ASSERT_TRUE(IsAccepted(settled));
  EXPECT_EQ(*DataAt<PostSettled>(settled, 0),
            (PostSettled{SettlementOutcome::kSuccessful, 1'000'000, 1, 0, 0}));
}

// -------------------------------------------------------------- settlement

TEST_F(LifecycleDecideTest, SettlementWaitsForTheDeadline) {
  PostHistory h = OpenPost();
  now_ = kAtDeadline - std::chrono::microseconds(1);
  EXPECT_TRUE(IsRejected(Settle(h), RejectReason::kNotYetClosed, ""));
  now_ = kAtDeadline;
  EXPECT_TRUE(IsAccepted(Settle(h)));
}

TEST_F(LifecycleDecideTest, AReachedTargetSettlesSuccessful) {
  PostHistory h = PostWith(FundingModel::kAllOrNothing, std::nullopt);
  FundThrough(h, kBacker, 60);
  FundThrough(h, "someone-else", 40);  // 100 units of 10 000: the target
  now_ = kAtDeadline + hours(1);
  const Decision d = Settle(h);
  ASSERT_TRUE(IsAccepted(d));
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(*DataAt<PostSettled>(d, 0),
            (PostSettled{SettlementOutcome::kSuccessful, 1'000'000, 2, 0, 0}));
  h.AppendAll(d.events, now_);
  EXPECT_EQ(h.state().settlement, SettlementOutcome::kSuccessful);
}

TEST_F(LifecycleDecideTest, AFailedKeepItAllPostRefundsNobody) {
  PostHistory h = OpenPost();
  FundThrough(h, kBacker, 5);
  now_ = kAtDeadline;
  const Decision d = Settle(h);
  ASSERT_TRUE(IsAccepted(d));
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(*DataAt<PostSettled>(d, 0),
            (PostSettled{SettlementOutcome::kFailed, 5 * kUnit, 1, 0, 0}));
}

TEST_F(LifecycleDecideTest, AFailedAllOrNothingPostRefundsEveryBackerInOneDecision) {
  PostHistory h = PostWith(FundingModel::kAllOrNothing, std::nullopt);
  FundThrough(h, "zed", 2);
  FundThrough(h, "amy", 1);
  FundThrough(h, "zed", 3);
  now_ = kAtDeadline;
  const Decision d = Settle(h);
  ASSERT_TRUE(IsAccepted(d));
  ASSERT_EQ(d.events.size(), 3u);
  EXPECT_EQ(*DataAt<FundingRefunded>(d, 0), (FundingRefunded{"amy", 1, kUnit}));
  EXPECT_EQ(*DataAt<FundingRefunded>(d, 1), (FundingRefunded{"zed", 5, 5 * kUnit}));
  EXPECT_EQ(*DataAt<PostSettled>(d, 2),
            (PostSettled{SettlementOutcome::kFailed, 6 * kUnit, 2, 6 * kUnit, 2}));
  h.AppendAll(d.events, now_);
  EXPECT_EQ(h.state().total_funded, 0);
  EXPECT_TRUE(h.state().settled());
}

TEST_F(LifecycleDecideTest, ARefundedFundingIsClosedNotUnknown) {
  PostHistory h = PostWith(FundingModel::kAllOrNothing, std::nullopt);
  const int64_t zed = FundThrough(h, "zed", 2);
  now_ = kAtDeadline;
  const Decision settled = Settle(h);
  ASSERT_TRUE(IsAccepted(settled));
  h.AppendAll(settled.events, now_);
  // The refund did not make the funding unknown: its backer hears it is
  // closed, anyone else that it is not theirs.
  EXPECT_TRUE(IsRejected(Cancel(h, zed, "zed"), RejectReason::kFundingClosed, ""));
  EXPECT_TRUE(IsRejected(Cancel(h, zed, "amy"), RejectReason::kNotYourFunding, ""));
  EXPECT_TRUE(IsRejected(Cancel(h, zed + 100, "zed"), RejectReason::kFundingNotFound, ""));
}

TEST_F(LifecycleDecideTest, TenThousandBackersSettleInOneDecision) {
  PostHistory h = PostWith(FundingModel::kAllOrNothing, std::nullopt);
  h.mutable_state().target_amount = 1'000'000'000'000;
  for (int i = 0; i < 10'000; ++i) {
    h.Fund("backer-" + std::to_string(i), 1);
  }
  now_ = kAtDeadline;
  const Decision d = Settle(h);
  ASSERT_TRUE(IsAccepted(d));
  EXPECT_EQ(d.events.size(), 10'001u);
  h.AppendAll(d.events, now_);
  EXPECT_TRUE(h.state().settled());
}

TEST_F(LifecycleDecideTest, SettlementHappensOnce) {
  PostHistory h = OpenPost();
  now_ = kAtDeadline;
  h.AppendAll(Settle(h).events, now_);
  EXPECT_TRUE(IsRejected(Settle(h), RejectReason::kPostSettled, ""));
}

TEST_F(LifecycleDecideTest, ADeletedOrMissingPostIsNeverSettled) {
  PostHistory h = OpenPost();
  h.AppendAll(Run(h, DeletePost{kPostId, std::nullopt}, kOwner).events, now_);
  now_ = kAtDeadline;
  EXPECT_TRUE(IsRejected(Settle(h), RejectReason::kPostDeleted, ""));
  EXPECT_TRUE(
      IsRejected(Run(nullptr, SettlePost{kPostId}, kSystemActor), RejectReason::kPostNotFound, ""));
}

// ---------------------------------------------------- after the deadline

TEST_F(LifecycleDecideTest, ASettledPostRefusesFundsDeletesAndTermsButTakesTextEdits) {
  PostHistory h = OpenPost();
  now_ = kAtDeadline;
  h.AppendAll(Settle(h).events, now_);
  EXPECT_TRUE(IsRejected(Run(h, FundPost{kPostId, 1}, kBacker), RejectReason::kPostSettled, ""));
  EXPECT_TRUE(IsRejected(Run(h, DeletePost{kPostId, std::nullopt}, kOwner),
                         RejectReason::kPostSettled, ""));
  EditPost unit = Edit();
  unit.funding_unit = 5;
  EXPECT_TRUE(IsRejected(Run(h, unit, kOwner), RejectReason::kPostSettled, ""));
  EditPost texts = Edit();
  texts.title = "새 제목";
  texts.uploader = "u";
  texts.description = "d";
  EXPECT_TRUE(IsAccepted(Run(h, texts, kOwner)));
}

TEST_F(LifecycleDecideTest, AClosedPostAwaitingSettlementCannotBeDeleted) {
  PostHistory h = OpenPost();
  now_ = kAtDeadline;
  EXPECT_TRUE(IsRejected(Run(h, DeletePost{kPostId, std::nullopt}, kOwner),
                         RejectReason::kFundingClosed, ""));
}

}  // namespace
}  // namespace ledger::commands
