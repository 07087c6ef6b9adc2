#pragma once

// From the command layer's vocabulary to the API's: business rejections as
// problem details.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "commands/rejection.h"
#include "common/result.h"
#include "http/problem.h"

namespace ledger::api {

// The problem of docs/api.md for `rejection`: its detail is the rejection's,
// and a rejection that names a field (rejection.field, a JSON pointer into
// the body) lists it in `errors`.
//   kInvalidField     422 validation_failed
//   kEndDateInPast    422 end_date_in_past   (pointer defaults to /end_date)
//   kTargetImmutable  422 target_immutable   (pointer /target_amount)
//   kPostNotFound     404 not_found
//   kPostDeleted      404 post_deleted
//   kNotOwner         403 forbidden          (detail begins "not_owner: ")
//   kOwnerCannotFund  403 forbidden          (detail begins "owner_cannot_fund: ")
//   kVersionMismatch  412 version_mismatch
//   kFundingClosed    409 funding_closed
//   kAmountOverflow   409 amount_overflow
//   kTooManyBackers   409 too_many_backers
http::Problem ProblemForRejection(const commands::Rejection& rejection);

}  // namespace ledger::api
