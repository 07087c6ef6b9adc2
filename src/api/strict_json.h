#pragma once

// A strict JSON reader for what clients send (request bodies, the parts of
// a token): RapidJSON underneath, behind values of our own.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace ledger::api {

// Objects and arrays nest at most this deep. A valid body nests two levels
// (an array of objects); the bound keeps hostile input from costing stack or
// time, and anything deeper is refused as malformed_json before it is built.
inline constexpr size_t kMaxJsonDepth = 16;

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

// The name of a JSON kind for a message: "a string", "an object", "null".
std::string_view JsonKindName(JsonValue::Kind kind);

}  // namespace ledger::api
