#pragma once

// Request bodies: strict JSON reading and its translation into commands.
//
// Only the shape is checked here (syntax, encoding, member names, JSON
// types, which members are required). The value rules (lengths, > 0, dates
// not in the past, units 1..10 000) belong to commands::Decide, which reports
// them as rejections with the same JSON pointers; checking them twice would
// let the two drift apart.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "commands/command.h"
#include "common/result.h"
#include "http/problem.h"

namespace ledger::api {

// Objects and arrays nest at most this deep. A valid body nests two levels
// (an array of objects); the bound keeps hostile input from costing stack or
// time, and anything deeper is refused as malformed_json before it is built.
inline constexpr size_t kMaxJsonDepth = 16;

// A validation_failed answer lists at most this many field errors; its detail
// still counts all of them. Bounds the answer to a hostile body of thousands
// of unknown members.
inline constexpr size_t kMaxReportedFieldErrors = 100;

struct JsonMember;

// A JSON value as the strict reader saw it. Numbers keep their literal text
// so that integers are judged exactly (no detour through double): "1.0",
// "1e3" and "99999999999999999999" are numbers but not int64 integers.
struct JsonValue {
  enum class Kind : uint8_t { kNull, kFalse, kTrue, kNumber, kString, kArray, kObject };

  Kind kind = Kind::kNull;
  std::string text;                 // kString: the decoded UTF-8; kNumber: the literal
  std::vector<JsonValue> elements;  // kArray
  std::vector<JsonMember> members;  // kObject: in document order, names unique
};

struct JsonMember {
  std::string name;
  JsonValue value;
};

// Reads one JSON document (RFC 8259) and refuses what a lenient parser would
// let through: bytes that are not UTF-8 (overlong forms and encoded
// surrogates included), NUL bytes, \u escapes that leave a lone surrogate,
// anything after the value, duplicate member names in one object, and nesting
// deeper than kMaxJsonDepth. Errors: kInvalidArgument whose message is what
// is wrong as a predicate for the caller's subject ("the body " + "has a
// duplicate member /title"); it names JSON pointers and byte offsets but
// never echoes values.
Result<JsonValue> ReadStrictJson(std::string_view text);

// `value` as an int64, when it is a JSON integer within int64. "-0" is the
// integer 0: RFC 8259 allows it and it names the same number. Errors:
// kInvalidArgument saying how the value was written instead, for a
// FieldError detail ("must be an integer, not a string").
Result<int64_t> ReadInt64(const JsonValue& value);

// RFC 6901 escaping of one reference token ("a/b~c" → "a~1b~0c").
std::string EscapePointerToken(std::string_view name);

// POST /api/posts. An object makes one post (pointers "/title"), an array of
// 1..commands::kMaxPostsPerCreate objects makes several (pointers "/2/title").
// Required members: title, uploader, target_amount, funding_unit, end_date;
// description may be omitted (""). JSON null is a wrong type, never "absent".
// Errors: 400 malformed_json (see ReadStrictJson; also an empty body);
// 422 validation_failed listing every wrong member.
Result<commands::CreatePosts, http::Problem> ParseCreateBody(std::string_view body);

// PATCH /api/posts/{id}: any non-empty subset of title, uploader,
// description, funding_unit, end_date. post_id and expected_version are left
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
