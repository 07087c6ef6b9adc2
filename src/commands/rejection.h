#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ledger::commands {

// Why a command was refused. A business outcome, not an error: each maps to a
// stable problem type and HTTP status in the API layer. Values are stored in
// idempotency records: append only, never renumber.
enum class RejectReason : uint8_t {
  kInvalidField = 1,     // a field breaks its rule; `field` points at it
  kEndDateInPast = 2,    // end_date before today in the service time zone
  kTargetImmutable = 3,  // an edit tried to change target_amount
  kPostNotFound = 4,
  kPostDeleted = 5,
  kNotOwner = 6,         // edit or delete by someone other than the owner
  kVersionMismatch = 7,  // expected version (If-Match) differs
  kOwnerCannotFund = 8,
  kFundingClosed = 9,         // the deadline has passed
  kAmountOverflow = 10,       // a total would leave int64
  kTooManyBackers = 11,       // delete would refund more than the limit
  kPostSettled = 12,          // fund, cancel, delete or a terms edit of a settled post
  kFundingLimitReached = 13,  // the backer has max_fundings_per_backer live
  kFundingNotFound = 14,      // no funding of the post at that position
  kNotYourFunding = 15,       // a cancellation by someone other than the backer
  kFundingAlreadyCancelled = 16,
  kFundingTermsFixed = 17,  // funding_model or the limit edited after the first funding
  kNotYetClosed = 18,       // a settlement before the deadline (the service's own)
};

inline constexpr uint8_t kMaxRejectReason = 18;

// True exactly for the enumerators of RejectReason. The switch has no
// default, so a reason added without a case here does not compile; the
// static_assert below then holds kMaxRejectReason to the enumerators (which
// ReasonFromValue and the metrics' outcome slots take to be 1..max).
#pragma GCC diagnostic push
#pragma GCC diagnostic error "-Wswitch"
constexpr bool IsRejectReason(RejectReason reason) {
  switch (reason) {
    case RejectReason::kInvalidField:
    case RejectReason::kEndDateInPast:
    case RejectReason::kTargetImmutable:
    case RejectReason::kPostNotFound:
    case RejectReason::kPostDeleted:
    case RejectReason::kNotOwner:
    case RejectReason::kVersionMismatch:
    case RejectReason::kOwnerCannotFund:
    case RejectReason::kFundingClosed:
    case RejectReason::kAmountOverflow:
    case RejectReason::kTooManyBackers:
    case RejectReason::kPostSettled:
    case RejectReason::kFundingLimitReached:
    case RejectReason::kFundingNotFound:
    case RejectReason::kNotYourFunding:
    case RejectReason::kFundingAlreadyCancelled:
    case RejectReason::kFundingTermsFixed:
    case RejectReason::kNotYetClosed:
      return true;
  }
  return false;
}
#pragma GCC diagnostic pop
static_assert(
    [] {
      for (unsigned value = 0; value <= UINT8_MAX; ++value) {
        const bool counted = value >= 1 && value <= kMaxRejectReason;
        if (IsRejectReason(static_cast<RejectReason>(value)) != counted) return false;
      }
      return true;
    }(),
    "the RejectReason enumerators must be exactly 1 .. kMaxRejectReason");

// snake_case name, used in metrics labels and problem type URIs.
std::string_view ReasonName(RejectReason reason);
std::optional<RejectReason> ReasonFromValue(uint8_t value);

struct Rejection {
  RejectReason reason = RejectReason::kInvalidField;
  std::string field;   // JSON pointer into the request body, or empty
  std::string detail;  // a sentence for humans

  bool operator==(const Rejection&) const = default;
};

}  // namespace ledger::commands
