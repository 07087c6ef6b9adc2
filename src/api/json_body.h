#pragma once

// Request bodies: their translation into commands (read by strict_json.h).
//
// Only the shape is checked here (syntax, encoding, member names, JSON
// types, which members are required). The value rules (lengths, > 0, dates
// not in the past, units 1..10 000) belong to commands::Decide, which reports
// them as rejections with the same JSON pointers; checking them twice would
// let the two drift apart.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/strict_json.h"
#include "commands/command.h"
#include "common/result.h"
#include "http/problem.h"

namespace ledger::api {

// A validation_failed answer lists at most this many field errors; its detail
// still counts all of them. Bounds the answer to a hostile body of thousands
// of unknown members.
inline constexpr size_t kMaxReportedFieldErrors = 100;

// POST /api/posts. An object makes one post (pointers "/title"), an array of
// 1..commands::kMaxPostsPerCreate objects makes several (pointers "/2/title").
// Required members: title, uploader, target_amount, funding_unit, end_date;
// description may be omitted (""); funding_model ("keep_it_all", the
// default, or "all_or_nothing") and max_fundings_per_backer (an integer, or
// null and absent alike for no limit) too. Elsewhere JSON null is a wrong
// type, never "absent".
// Errors: 400 malformed_json (see ReadStrictJson; also an empty body);
// 422 validation_failed listing every wrong member.
Result<commands::CreatePosts, http::Problem> ParseCreateBody(std::string_view body);

// PATCH /api/posts/{id}: any non-empty subset of title, uploader,
// description, funding_unit, end_date, funding_model,
// max_fundings_per_backer (null removes the limit). post_id and expected_version are left
// for the caller. A `target_amount` member, of any type and whatever else is
// wrong with the body, is answered 422 target_immutable: it is the one
// mistake a client must be told about by name (product.md), and listing it
// among generic field errors would hide it. Malformed JSON and a body that is
// not an object still come first, since then there are no members to judge.
Result<commands::EditPost, http::Problem> ParseEditBody(std::string_view body);

// POST /api/posts/{id}/fundings: {"units": n}, n optional (default 1). An
// empty body (zero bytes) means {}; whitespace alone is not JSON.
Result<commands::FundPost, http::Problem> ParseFundBody(std::string_view body);

}  // namespace ledger::api
