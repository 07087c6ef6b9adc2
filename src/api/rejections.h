#pragma once

// From the command layer's vocabulary to the API's: business rejections as
// problem details, and the request headers that feed commands and reads
// (If-Match, X-Min-Position, Idempotency-Key) checked into values.

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

// If-Match on PATCH and DELETE: absent or `*` → nullopt (unconditional);
// `"<version>"`, one strong entity tag holding a canonical decimal int64
// (what ETag sends), → that version. Anything else (weak tags, lists,
// unquoted or non-numeric tags) is 400 invalid_parameter naming If-Match:
// such a tag can never match, and saying so beats a puzzling 412.
Result<std::optional<int64_t>, http::Problem> ParseIfMatch(std::optional<std::string_view> header);

// X-Min-Position on reads: absent → nullopt; else decimal digits naming an
// int64 >= 0, or 400 invalid_parameter naming X-Min-Position.
Result<std::optional<int64_t>, http::Problem> ParseMinPosition(
    std::optional<std::string_view> header);

// Idempotency-Key on POSTs: absent → nullopt; else 1..
// commands::kIdempotencyKeyMaxBytes visible ASCII characters (0x21..0x7E), or
// 400 invalid_parameter naming Idempotency-Key.
Result<std::optional<std::string>, http::Problem> ParseIdempotencyKey(
    std::optional<std::string_view> header);

}  // namespace ledger::api
