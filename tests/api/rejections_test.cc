#include "api/rejections.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "commands/limits.h"

namespace ledger::api {

using http::Problem;
namespace {

using commands::Rejection;
using commands::RejectReason;

TEST(RejectionsTest, EveryReasonMapsToItsProblem) {
  const std::map<RejectReason, std::pair<std::string, int>> expected = {
      {RejectReason::kInvalidField, {"validation_failed", 422}},
      {RejectReason::kEndDateInPast, {"end_date_in_past", 422}},
      {RejectReason::kTargetImmutable, {"target_immutable", 422}},
      {RejectReason::kPostNotFound, {"not_found", 404}},
      {RejectReason::kPostDeleted, {"post_deleted", 404}},
      {RejectReason::kNotOwner, {"forbidden", 403}},
      {RejectReason::kVersionMismatch, {"version_mismatch", 412}},
      {RejectReason::kOwnerCannotFund, {"forbidden", 403}},
      {RejectReason::kFundingClosed, {"funding_closed", 409}},
      {RejectReason::kAmountOverflow, {"amount_overflow", 409}},
      {RejectReason::kTooManyBackers, {"too_many_backers", 409}},
      {RejectReason::kPostSettled, {"post_settled", 409}},
      {RejectReason::kFundingLimitReached, {"funding_limit_reached", 409}},
      {RejectReason::kFundingNotFound, {"funding_not_found", 404}},
      {RejectReason::kNotYourFunding, {"forbidden", 403}},
      {RejectReason::kFundingAlreadyCancelled, {"funding_already_cancelled", 409}},
      {RejectReason::kFundingTermsFixed, {"funding_terms_fixed", 409}},
      {RejectReason::kNotYetClosed, {"internal", 500}},
  };
  for (uint8_t v = 1; v <= commands::kMaxRejectReason; ++v) {
    const std::optional<RejectReason> reason = commands::ReasonFromValue(v);
    ASSERT_TRUE(reason) << int{v};
    const auto it = expected.find(*reason);
    ASSERT_NE(it, expected.end()) << "reason " << int{v} << " has no expectation here";
    const Problem p = ProblemForRejection(Rejection{*reason, "", "why"});
    EXPECT_EQ(p.name, it->second.first) << commands::ReasonName(*reason);
    EXPECT_EQ(p.status, it->second.second) << commands::ReasonName(*reason);
    EXPECT_NE(p.detail.find("why"), std::string::npos) << p.detail;
  }
  EXPECT_EQ(expected.size(), commands::kMaxRejectReason);
}

TEST(RejectionsTest, InvalidFieldListsItsPointer) {
  const Problem p =
      ProblemForRejection(Rejection{RejectReason::kInvalidField, "/2/title", "must not be blank"});
  EXPECT_EQ(p.name, "validation_failed");
  EXPECT_EQ(p.detail, "must not be blank");
  ASSERT_EQ(p.errors.size(), 1U);
  EXPECT_EQ(p.errors[0].pointer, "/2/title");
  EXPECT_EQ(p.errors[0].parameter, "");
  EXPECT_EQ(p.errors[0].detail, "must not be blank");
}

TEST(RejectionsTest, InvalidFieldWithoutAFieldPointsAtTheBody) {
  const Problem p = ProblemForRejection(
      Rejection{RejectReason::kInvalidField, "", "an edit must change at least one field"});
  ASSERT_EQ(p.errors.size(), 1U);
  EXPECT_EQ(p.errors[0].pointer, "");
}

TEST(RejectionsTest, EndDateInPastPointsAtEndDate) {
  const Problem own = ProblemForRejection(
      Rejection{RejectReason::kEndDateInPast, "/1/end_date", "must not be before today"});
  ASSERT_EQ(own.errors.size(), 1U);
  EXPECT_EQ(own.errors[0].pointer, "/1/end_date");
  const Problem fallback =
      ProblemForRejection(Rejection{RejectReason::kEndDateInPast, "", "must not be before today"});
  ASSERT_EQ(fallback.errors.size(), 1U);
  EXPECT_EQ(fallback.errors[0].pointer, "/end_date");
}

TEST(RejectionsTest, TargetImmutableAlwaysNamesTargetAmount) {
  for (const std::string_view field : {"", "/target_amount", "/elsewhere"}) {
    const Problem p = ProblemForRejection(
        Rejection{RejectReason::kTargetImmutable, std::string(field), "cannot change"});
    EXPECT_EQ(p.name, "target_immutable");
    ASSERT_EQ(p.errors.size(), 1U);
    EXPECT_EQ(p.errors[0].pointer, "/target_amount");
  }
}

TEST(RejectionsTest, ForbiddenSaysWhich) {
  const Problem not_owner =
      ProblemForRejection(Rejection{RejectReason::kNotOwner, "", "only the owner may change it"});
  EXPECT_EQ(not_owner.detail, "not_owner: only the owner may change it");
  EXPECT_TRUE(not_owner.errors.empty());
  const Problem own_post = ProblemForRejection(
      Rejection{RejectReason::kOwnerCannotFund, "", "the owner cannot fund their own post"});
  EXPECT_EQ(own_post.detail, "owner_cannot_fund: the owner cannot fund their own post");
}

TEST(RejectionsTest, OtherProblemsListAFieldOnlyWhenNamed) {
  EXPECT_TRUE(ProblemForRejection(Rejection{RejectReason::kPostNotFound, "", "no such post"})
                  .errors.empty());
  EXPECT_TRUE(ProblemForRejection(Rejection{RejectReason::kVersionMismatch, "", "expected 3"})
                  .errors.empty());
  const Problem closed = ProblemForRejection(
      Rejection{RejectReason::kFundingClosed, "/end_date", "the end date is final"});
  ASSERT_EQ(closed.errors.size(), 1U);
  EXPECT_EQ(closed.errors[0].pointer, "/end_date");
  const Problem overflow =
      ProblemForRejection(Rejection{RejectReason::kAmountOverflow, "/units", "would overflow"});
  ASSERT_EQ(overflow.errors.size(), 1U);
  EXPECT_EQ(overflow.errors[0].pointer, "/units");
}

}  // namespace
}  // namespace ledger::api
