#include "projections/cursor.h"

#include <array>
#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "common/base64url.h"
#include "common/check.h"
#include "events/hash.h"

namespace ledger::projections {
namespace {

constexpr std::string_view kVersion = "v1";
constexpr std::string_view kTokenVersion = "p1";
// Fields of a page token: version, scope fingerprint, key, check.
constexpr size_t kTokenFields = 4;
constexpr char kSeparator = '|';
// Fields: version, order, search fingerprint, total_funded, id, check.
constexpr size_t kCursorFields = 6;
// Hex digits kept of a SHA-256 (8 bytes): plenty to tell search terms apart
// and to catch edits; a cursor is not a credential.
constexpr size_t kDigestHexDigits = 16;

std::string ShortDigest(std::string_view bytes) {
  return events::ToHex(events::Sha256(bytes)).substr(0, kDigestHexDigits);
}

// The cursor text without its check field, ending in the separator.
std::string Payload(OrderBy order, std::string_view filter, const CursorKey& key) {
  std::string out;
  out.append(kVersion).push_back(kSeparator);
  out.append(OrderByName(order)).push_back(kSeparator);
  out.append(ShortDigest(filter)).push_back(kSeparator);
  if (ByTotal(order)) out.append(std::to_string(key.total_funded));
  if (ByEndDate(order)) out.append(std::to_string(key.end_day));
  out.push_back(kSeparator);
  out.append(std::to_string(key.id)).push_back(kSeparator);
  return out;
}

// A non-negative int64 written the way std::to_string writes it: digits only,
// no sign, no leading zeros.
std::optional<int64_t> ParseCanonicalNonNegative(std::string_view text) {
  if (text.empty() || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t at = text.find(separator, start);
    if (at == std::string_view::npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, at - start));
    start = at + 1;
  }
}

Status Malformed() { return Status::InvalidArgument("cursor is malformed"); }

// Decodes `token` (at most `max_bytes`) and checks its version (the first
// of `field_count` fields split by the separator) and its check (the last:
// the digest of everything before it). Returns the decoded text; what the
// fields hold is the caller's to judge.
Result<std::string> OpenToken(std::string_view token, size_t max_bytes, std::string_view version,
                              size_t field_count) {
  if (token.size() > max_bytes) {
    return Status::InvalidArgument("cursor is longer than " + std::to_string(max_bytes) + " bytes");
  }
  std::optional<std::string> text = Base64UrlDecode(token);
  if (!text) return Malformed();
  const std::vector<std::string_view> fields = Split(*text, kSeparator);
  if (fields.size() != field_count || fields[0] != version) return Malformed();
  const std::string_view check = fields.back();
  const std::string_view payload = std::string_view(*text).substr(0, text->size() - check.size());
  if (check != ShortDigest(payload)) return Malformed();
  return std::move(*text);
}

}  // namespace

std::string_view OrderByName(OrderBy order) {
  switch (order) {
    case OrderBy::kCreatedAsc:
      return "created";
    case OrderBy::kCreatedDesc:
      return "-created";
    case OrderBy::kTotalFundedAsc:
      return "total_funded";
    case OrderBy::kTotalFundedDesc:
      return "-total_funded";
    case OrderBy::kEndDateAsc:
      return "end_date";
    case OrderBy::kEndDateDesc:
      return "-end_date";
  }
  LEDGER_CHECK(false, "unknown OrderBy");
  return {};
}

std::string EncodeCursor(OrderBy order, std::string_view filter, const CursorKey& key) {
  LEDGER_CHECK(key.id > 0 && key.total_funded >= 0 && key.end_day >= 0,
               "cursor keys come from read-table rows");
  std::string text = Payload(order, filter, key);
  text.append(ShortDigest(text));
  return Base64UrlEncode(text);
}

Result<CursorKey> DecodeCursor(std::string_view cursor, OrderBy order, std::string_view filter) {
  LEDGER_ASSIGN_OR_RETURN(const std::string text,
                          OpenToken(cursor, kMaxCursorBytes, kVersion, kCursorFields));
  const std::vector<std::string_view> fields = Split(text, kSeparator);
  // The cursor is intact: now it must belong to this query.
  if (fields[1] != OrderByName(order) || fields[2] != ShortDigest(filter)) {
    return Status::InvalidArgument("cursor does not belong to this query");
  }
  CursorKey key;
  if (ByTotal(order) || ByEndDate(order)) {
    const std::optional<int64_t> value = ParseCanonicalNonNegative(fields[3]);
    if (!value) return Malformed();
    (ByTotal(order) ? key.total_funded : key.end_day) = *value;
  } else if (!fields[3].empty()) {
    return Malformed();
  }
  const std::optional<int64_t> id = ParseCanonicalNonNegative(fields[4]);
  if (!id || *id == 0) return Malformed();
  key.id = *id;
  return key;
}

std::string EncodePageToken(std::string_view scope, std::string_view key) {
  std::string text;
  text.append(kTokenVersion).push_back(kSeparator);
  text.append(ShortDigest(scope)).push_back(kSeparator);
  text.append(Base64UrlEncode(key)).push_back(kSeparator);
  text.append(ShortDigest(text));
  return Base64UrlEncode(text);
}

Result<std::string> DecodePageToken(std::string_view token, std::string_view scope) {
  LEDGER_ASSIGN_OR_RETURN(const std::string text,
                          OpenToken(token, kMaxPageTokenBytes, kTokenVersion, kTokenFields));
  const std::vector<std::string_view> fields = Split(text, kSeparator);
  if (fields[1] != ShortDigest(scope)) {
    return Status::InvalidArgument("cursor does not belong to this query");
  }
  std::optional<std::string> key = Base64UrlDecode(fields[2]);
  if (!key) return Malformed();
  return std::move(*key);
}

}  // namespace ledger::projections
