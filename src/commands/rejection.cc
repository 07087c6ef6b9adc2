#include "commands/rejection.h"

namespace ledger::commands {

std::string_view ReasonName(RejectReason reason) {
  switch (reason) {
    case RejectReason::kInvalidField:
      return "invalid_field";
    case RejectReason::kEndDateInPast:
      return "end_date_in_past";
    case RejectReason::kTargetImmutable:
      return "target_immutable";
    case RejectReason::kPostNotFound:
      return "post_not_found";
    case RejectReason::kPostDeleted:
      return "post_deleted";
    case RejectReason::kNotOwner:
      return "not_owner";
    case RejectReason::kVersionMismatch:
      return "version_mismatch";
    case RejectReason::kOwnerCannotFund:
      return "owner_cannot_fund";
    case RejectReason::kFundingClosed:
      return "funding_closed";
    case RejectReason::kAmountOverflow:
      return "amount_overflow";
    case RejectReason::kTooManyBackers:
      return "too_many_backers";
    case RejectReason::kPostSettled:
      return "post_settled";
    case RejectReason::kFundingLimitReached:
      return "funding_limit_reached";
    case RejectReason::kFundingNotFound:
      return "funding_not_found";
    case RejectReason::kNotYourFunding:
      return "not_your_funding";
    case RejectReason::kFundingAlreadyCancelled:
      return "funding_already_cancelled";
    case RejectReason::kFundingTermsFixed:
      return "funding_terms_fixed";
    case RejectReason::kNotYetClosed:
      return "not_yet_closed";
  }
  return "unknown";
}

std::optional<RejectReason> ReasonFromValue(uint8_t value) {
  if (value < 1 || value > kMaxRejectReason) {
    return std::nullopt;
  }
  return static_cast<RejectReason>(value);
}

}  // namespace ledger::commands
