#include "api/rejections.h"

#include <limits>
#include <utility>

#include "api/query_params.h"
#include "commands/limits.h"
#include "common/check.h"

namespace ledger::api {

using http::FieldError;
using http::MakeProblem;
using http::Problem;
namespace {

using commands::RejectReason;

Problem InvalidHeader(std::string_view header, std::string detail) {
  Problem p = MakeProblem("invalid_parameter", std::string(header) + " " + detail);
  p.errors.push_back(FieldError{"", std::string(header), std::move(detail)});
  return p;
}

}  // namespace

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
      // Two reasons share 403; the detail names which, machine-readably first.
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

Result<std::optional<int64_t>, Problem> ParseIfMatch(std::optional<std::string_view> header) {
  if (!header || *header == "*") return std::optional<int64_t>();
  const std::string_view v = *header;
  if (v.size() < 3 || v.front() != '"' || v.back() != '"') {
    return InvalidHeader("If-Match", "must be * or one quoted version such as \"3\"");
  }
  const std::string_view digits = v.substr(1, v.size() - 2);
  const std::optional<int64_t> version = ParseNonNegativeDecimal(digits);
  // Entity tags compare as text, so "07" could never equal the ETag "7".
  if (!version || (digits.size() > 1 && digits.front() == '0')) {
    return InvalidHeader("If-Match", "must be * or one quoted version such as \"3\"");
  }
  return std::optional<int64_t>(*version);
}

Result<std::optional<int64_t>, Problem> ParseMinPosition(std::optional<std::string_view> header) {
  if (!header) return std::optional<int64_t>();
  const std::optional<int64_t> position = ParseNonNegativeDecimal(*header);
  if (!position) {
    return InvalidHeader("X-Min-Position", "must be a log position: an integer from 0 to " +
                                               std::to_string(std::numeric_limits<int64_t>::max()));
  }
  return std::optional<int64_t>(*position);
}

Result<std::optional<std::string>, Problem> ParseIdempotencyKey(
    std::optional<std::string_view> header) {
  if (!header) return std::optional<std::string>();
  const std::string_view key = *header;
  bool visible = true;
  for (const char c : key) visible = visible && c >= 0x21 && c <= 0x7E;
  if (key.empty() || key.size() > commands::kIdempotencyKeyMaxBytes || !visible) {
    return InvalidHeader("Idempotency-Key", "must be 1 to " +
                                                std::to_string(commands::kIdempotencyKeyMaxBytes) +
                                                " visible ASCII characters");
  }
  return std::optional<std::string>(std::string(key));
}

}  // namespace ledger::api
