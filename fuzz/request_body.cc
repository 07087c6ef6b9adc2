// Request bodies (src/api/json_body.h, strict_json.h): the first byte picks
// the parser, the rest is the body as a client sends it.
//
//   'c' POST /api/posts           ParseCreateBody
//   'e' PATCH /api/posts/{id}     ParseEditBody
//   'f' POST .../fundings         ParseFundBody
//   any other byte                ReadStrictJson (and ReadInt64 on numbers)
//
// Properties beyond "does not crash": a refusal is 400 or 422 with at most
// kMaxReportedFieldErrors errors and renders as problem+json; an accepted
// body yields 1..kMaxPostsPerCreate posts; a strict document nests at most
// kMaxJsonDepth deep and holds only valid UTF-8.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/json_body.h"
#include "api/strict_json.h"
#include "commands/limits.h"
#include "common/check.h"
#include "common/utf8.h"
#include "http/problem.h"

namespace {

using ledger::api::JsonValue;

void CheckRefusal(const ledger::http::Problem& problem) {
  LEDGER_CHECK(problem.status == 400 || problem.status == 422, "a body refusal is 400 or 422");
  LEDGER_CHECK(problem.errors.size() <= ledger::api::kMaxReportedFieldErrors,
               "a refusal lists at most kMaxReportedFieldErrors errors");
  const ledger::http::Response r = ledger::http::ToResponse(problem, "/api/posts", "fuzz");
  LEDGER_CHECK(r.status == problem.status && !r.body.empty(), "a refusal renders");
  LEDGER_CHECK(ledger::CountCodePoints(r.body).has_value(), "problem+json is valid UTF-8");
}

// A raw NUL byte is refused, but "\u0000" is a string's (or a name's) NUL:
// judging it is the caller's (Decide refuses NUL in every text field).
bool ValidText(std::string_view text) { return ledger::CountCodePoints(text).has_value(); }

// REQUIRES: `value` came from ReadStrictJson; `depth` counts the containers
// around it.
void CheckValue(const JsonValue& value, size_t depth) {
  switch (value.kind) {
    case JsonValue::Kind::kString:
      LEDGER_CHECK(ValidText(value.text), "a strict string is UTF-8");
      break;
    case JsonValue::Kind::kNumber: {
      const ledger::Result<int64_t> n = ledger::api::ReadInt64(value);
      if (!n.ok()) LEDGER_CHECK(!n.status().message().empty(), "ReadInt64 says why");
      break;
    }
    case JsonValue::Kind::kArray:
      LEDGER_CHECK(depth < ledger::api::kMaxJsonDepth, "arrays nest at most kMaxJsonDepth");
      for (const JsonValue& e : value.elements) CheckValue(e, depth + 1);
      break;
    case JsonValue::Kind::kObject:
      LEDGER_CHECK(depth < ledger::api::kMaxJsonDepth, "objects nest at most kMaxJsonDepth");
      for (const ledger::api::JsonMember& m : value.members) {
        LEDGER_CHECK(ValidText(m.name), "a strict name is UTF-8");
        CheckValue(m.value, depth + 1);
      }
      break;
    default:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0]) {
    case 'c': {
      const auto parsed = ledger::api::ParseCreateBody(body);
      if (!parsed.ok()) {
        CheckRefusal(parsed.error());
      } else {
        LEDGER_CHECK(!parsed->posts.empty(), "a create makes at least one post");
        LEDGER_CHECK(parsed->posts.size() <= ledger::commands::kMaxPostsPerCreate,
                     "a create makes at most kMaxPostsPerCreate posts");
      }
      break;
    }
    case 'e': {
      const auto parsed = ledger::api::ParseEditBody(body);
      if (!parsed.ok()) CheckRefusal(parsed.error());
      break;
    }
    case 'f': {
      const auto parsed = ledger::api::ParseFundBody(body);
      if (!parsed.ok()) CheckRefusal(parsed.error());
      break;
    }
    default: {
      const auto read = ledger::api::ReadStrictJson(body);
      if (read.ok()) {
        CheckValue(*read, 0);
      } else {
        LEDGER_CHECK(!read.status().message().empty(), "a strict refusal says why");
      }
      break;
    }
  }
  return 0;
}
