#include "api/rejections.h"

#include <utility>

#include "common/check.h"

namespace ledger::api {

using commands::RejectReason;
using http::FieldError;
using http::MakeProblem;
using http::Problem;

Problem ProblemForRejection(const commands::Rejection& rejection) {
  std::string_view name;
  std::string pointer = rejection.field;
  std::string detail = rejection.detail;
  switch (rejection.reason) {
    case RejectReason::kInvalidField:
      name = "validation_failed";
      break;
    case RejectReason::kEndDateInPast:
      name = "end_date_in_past";
      if (pointer.empty()) pointer = "/end_date";
      break;
    case RejectReason::kTargetImmutable:
      name = "target_immutable";
      pointer = "/target_amount";
      break;
    case RejectReason::kPostNotFound:
      name = "not_found";
      break;
    case RejectReason::kPostDeleted:
      name = "post_deleted";
      break;
    case RejectReason::kNotOwner:
    case RejectReason::kOwnerCannotFund:
    case RejectReason::kNotYourFunding:
      // These reasons share 403; the detail names which, machine-readably first.
      name = "forbidden";
      detail = std::string(commands::ReasonName(rejection.reason)) + ": " + detail;
      break;
    case RejectReason::kVersionMismatch:
      name = "version_mismatch";
      break;
    case RejectReason::kFundingClosed:
      name = "funding_closed";
      break;
    case RejectReason::kAmountOverflow:
      name = "amount_overflow";
      break;
    case RejectReason::kTooManyBackers:
      name = "too_many_backers";
      break;
    case RejectReason::kPostSettled:
      name = "post_settled";
      break;
    case RejectReason::kFundingLimitReached:
      name = "funding_limit_reached";
      break;
    case RejectReason::kFundingNotFound:
      name = "funding_not_found";
      break;
    case RejectReason::kFundingAlreadyCancelled:
      name = "funding_already_cancelled";
      break;
    case RejectReason::kFundingTermsFixed:
      name = "funding_terms_fixed";
      break;
    case RejectReason::kNotYetClosed:
      // Only the service settles, and only when the deadline has passed: a
      // client never causes this, so it is the service's own fault.
      name = "internal";
      break;
  }
  LEDGER_CHECK(!name.empty(), "every RejectReason maps to a problem");
  const bool field_problem = rejection.reason == RejectReason::kInvalidField ||
                             rejection.reason == RejectReason::kEndDateInPast ||
                             rejection.reason == RejectReason::kTargetImmutable;
  Problem p = MakeProblem(name, detail);
  // A validation problem always lists its member ("" is the whole body); the
  // others list one only when the rejection named it (funding_closed on
  // /end_date, amount_overflow on /units).
  if (field_problem || !pointer.empty()) {
    p.errors.push_back(FieldError{std::move(pointer), "", rejection.detail});
  }
  return p;
}

}  // namespace ledger::api
