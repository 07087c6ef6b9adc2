// Query strings and cursors (src/api/query_params.h, src/projections/
// cursor.h). The first byte picks what the rest is:
//
//   'l' 'p' 'e' 's' 'd'  the query of GET /api/posts, a paged read
//                        (/api/me/fundings, backers), the event feeds, the
//                        streams, GET /api/posts/{id}
//   'c' 'C'              a list cursor for order byte[1] % 6 and filter "":
//                        'c' as sent; 'C' a payload the target seals (appends
//                        the check and base64url-encodes), so that the fuzzer
//                        reaches the fields behind the check
//   't' 'T'              a page token for scope "alice", as sent / sealed
//   'r'                  round trips: EncodeCursor then DecodeCursor, and
//                        EncodePageToken then DecodePageToken, give the key back
//   any other byte       ParseQuery and ParseNonNegativeDecimal
//
// A refusal must be 400 invalid_parameter; an accepted query must hold values
// in their documented ranges, and a list query's cursor must decode for the
// order and filter it was accepted with.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "api/query_params.h"
#include "common/base64url.h"
#include "common/check.h"
#include "common/utf8.h"
#include "events/hash.h"
#include "projections/cursor.h"
#include "projections/queries.h"

namespace {

namespace api = ledger::api;
namespace projections = ledger::projections;

void CheckRefusal(const ledger::http::Problem& problem) {
  // A query string that is not well-formed (a bad escape, a NUL) names the
  // piece in the detail only; docs/api.md, "Query strings".
  LEDGER_CHECK(problem.status == 400 && problem.name == "invalid_parameter",
               "a query refusal is 400 invalid_parameter");
  const ledger::http::Response r = ledger::http::ToResponse(problem, "/api/posts", "fuzz");
  LEDGER_CHECK(ledger::CountCodePoints(r.body).has_value(), "problem+json is valid UTF-8");
}

projections::OrderBy OrderFrom(uint8_t byte) { return static_cast<projections::OrderBy>(byte % 6); }

// What cursor.cc appends as the check: 16 hex digits of SHA-256.
std::string Seal(std::string_view payload) {
  std::string text(payload);
  text += ledger::events::ToHex(ledger::events::Sha256(payload)).substr(0, 16);
  return ledger::Base64UrlEncode(text);
}

void ListQuery(std::string_view raw) {
  const auto parsed = api::ParseListQuery(raw);
  if (!parsed.ok()) return CheckRefusal(parsed.error());
  const projections::ListRequest& list = *parsed;
  LEDGER_CHECK(list.limit >= 1 && list.limit <= projections::kMaxListLimit, "list limit range");
  LEDGER_CHECK(ledger::TrimUnicodeSpace(list.search) == list.search, "search comes trimmed");
  if (!list.cursor.empty()) {
    const auto key = projections::DecodeCursor(
        list.cursor, list.order, projections::ListFilterKey(list.search, list.status));
    LEDGER_CHECK(key.ok(), "an accepted cursor decodes for its query");
  }
}

void OtherQuery(char kind, std::string_view raw) {
  switch (kind) {
    case 'p': {
      const auto parsed = api::ParsePageQuery(raw);
      if (!parsed.ok()) return CheckRefusal(parsed.error());
      LEDGER_CHECK(parsed->limit >= 1 && parsed->limit <= projections::kMaxListLimit,
                   "page limit range");
      break;
    }
    case 'e': {
      const auto parsed = api::ParseEventsQuery(raw);
      if (!parsed.ok()) return CheckRefusal(parsed.error());
      LEDGER_CHECK(parsed->after >= 0, "after >= 0");
      LEDGER_CHECK(parsed->limit >= 1 && parsed->limit <= api::kMaxEventsLimit, "events limit");
      break;
    }
    case 's': {
      const auto parsed = api::ParseStreamQuery(raw);
      if (!parsed.ok()) return CheckRefusal(parsed.error());
      LEDGER_CHECK(!parsed->has_value() || **parsed >= 0, "stream after >= 0");
      break;
    }
    default: {
      const auto parsed = api::ParseDetailQuery(raw);
      if (!parsed.ok()) return CheckRefusal(parsed.error());
      LEDGER_CHECK(!parsed->has_value() || **parsed >= 0, "as_of >= 0");
      break;
    }
  }
}

void Cursor(std::string_view rest, bool sealed) {
  if (rest.empty()) return;
  const projections::OrderBy order = OrderFrom(static_cast<uint8_t>(rest[0]));
  const std::string cursor = sealed ? Seal(rest.substr(1)) : std::string(rest.substr(1));
  const auto key = projections::DecodeCursor(cursor, order, "");
  if (!key.ok()) return;
  LEDGER_CHECK(key->id > 0 && key->total_funded >= 0 && key->end_day >= 0,
               "a decoded cursor key is what EncodeCursor accepts");
  LEDGER_CHECK(projections::EncodeCursor(order, "", *key) == cursor,
               "a cursor that decodes is the one EncodeCursor makes");
}

void PageToken(std::string_view rest, bool sealed) {
  const std::string token = sealed ? Seal(rest) : std::string(rest);
  const auto key = projections::DecodePageToken(token, "alice");
  if (!key.ok()) return;
  LEDGER_CHECK(
      projections::DecodePageToken(projections::EncodePageToken("alice", *key), "alice").value() ==
          *key,
      "a decoded page key round-trips");
}

int64_t Int64At(std::string_view bytes, size_t offset) {
  uint64_t raw = 0;
  if (bytes.size() >= offset + sizeof raw) std::memcpy(&raw, bytes.data() + offset, sizeof raw);
  return static_cast<int64_t>(raw & 0x7fff'ffff'ffff'ffffULL);
}

void RoundTrips(std::string_view rest) {
  if (rest.size() < 25) return;
  const projections::OrderBy order = OrderFrom(static_cast<uint8_t>(rest[0]));
  projections::CursorKey key;
  key.id = Int64At(rest, 1);
  if (key.id == 0) key.id = 1;
  if (projections::ByTotal(order)) key.total_funded = Int64At(rest, 9);
  if (projections::ByEndDate(order)) key.end_day = Int64At(rest, 17);
  const std::string_view filter = rest.substr(25);
  const auto decoded =
      projections::DecodeCursor(projections::EncodeCursor(order, filter, key), order, filter);
  LEDGER_CHECK(decoded.ok() && *decoded == key, "a cursor round-trips");
  const std::string_view scope = rest.substr(25, rest.size() / 2);
  const std::string_view page_key = rest.substr(rest.size() / 2);
  // Tokens are bounded (kMaxPageTokenBytes, room for any backer's name);
  // EncodePageToken is not, so a longer key makes a token that is refused.
  const std::string token = projections::EncodePageToken(scope, page_key);
  const auto page = projections::DecodePageToken(token, scope);
  LEDGER_CHECK(page.ok() == (token.size() <= projections::kMaxPageTokenBytes),
               "a page token decodes exactly when it is within the bound");
  if (page.ok()) LEDGER_CHECK(*page == page_key, "a page token round-trips");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const char kind = static_cast<char>(data[0]);
  switch (kind) {
    case 'l':
      ListQuery(rest);
      break;
    case 'p':
    case 'e':
    case 's':
    case 'd':
      OtherQuery(kind, rest);
      break;
    case 'c':
    case 'C':
      Cursor(rest, kind == 'C');
      break;
    case 't':
    case 'T':
      PageToken(rest, kind == 'T');
      break;
    case 'r':
      RoundTrips(rest);
      break;
    default: {
      const auto parsed = api::ParseQuery(rest);
      if (parsed.ok()) {
        LEDGER_CHECK(parsed->size() <= api::kMaxQueryParameters, "at most 32 parameters");
        for (const auto& [name, value] : *parsed) {
          LEDGER_CHECK(ledger::CountCodePoints(name) && ledger::CountCodePoints(value) &&
                           name.find('\0') == std::string::npos &&
                           value.find('\0') == std::string::npos,
                       "decoded parameters are UTF-8 without NUL");
        }
      }
      if (const auto n = api::ParseNonNegativeDecimal(rest)) {
        LEDGER_CHECK(*n >= 0, "a non-negative decimal is >= 0");
      }
      break;
    }
  }
  return 0;
}
