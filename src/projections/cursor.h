#pragma once

// The list's sort orders and its keyset cursor. No pqxx here: the HTTP layer
// sees these types through queries.h.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace ledger::projections {

// The orders of GET /api/posts. Every order is total: `created` is id order
// (ids are assigned in creation order and never reused), `total_funded` and
// `end_date` break ties by id in the same direction, so keyset pages never
// repeat or skip.
enum class OrderBy : uint8_t {
  kCreatedAsc,       // created
  kCreatedDesc,      // -created
  kTotalFundedAsc,   // total_funded
  kTotalFundedDesc,  // -total_funded (the default)
  kEndDateAsc,       // end_date: closing soonest first
  kEndDateDesc,      // -end_date
};

// Whether `order` sorts by total_funded, by end_date, and downwards.
inline bool ByTotal(OrderBy order) {
  return order == OrderBy::kTotalFundedAsc || order == OrderBy::kTotalFundedDesc;
}
inline bool ByEndDate(OrderBy order) {
  return order == OrderBy::kEndDateAsc || order == OrderBy::kEndDateDesc;
}
inline bool Descending(OrderBy order) {
  return order == OrderBy::kCreatedDesc || order == OrderBy::kTotalFundedDesc ||
         order == OrderBy::kEndDateDesc;
}

// The canonical English spelling ("-total_funded"); the Korean aliases map to
// the same value, so a cursor made under one spelling is valid under the other.
std::string_view OrderByName(OrderBy order);

// Where a page ended: the sort key of its last item. `total_funded` is only
// meaningful (and only encoded) for the total_funded orders, `end_day` (the
// end date as days since 1970-01-01) for the end_date orders.
struct CursorKey {
  int64_t total_funded = 0;
  int64_t id = 0;
  int64_t end_day = 0;

  friend bool operator==(const CursorKey&, const CursorKey&) = default;
};

// A cursor longer than this is refused before it is decoded.
inline constexpr size_t kMaxCursorBytes = 256;

// The opaque cursor of the page after `key`: base64url without padding of
// "v1|<order>|<filter fingerprint>|<total_funded, end_day or empty>|<id>|<check>".
// `filter` is the list's filters as one string (the search term alone when
// there is no other filter, so cursors of earlier versions stay valid). Its
// fingerprint is 16 hex digits of SHA-256(filter) and the check 16
// hex digits of SHA-256 of everything before it. The check is not a secret
// (a cursor only positions a reader in a public list, so forging one gains
// nothing); it makes an edited or truncated cursor a clear error instead of a
// silently different page.
// REQUIRES: key.id > 0, key.total_funded >= 0, key.end_day >= 0.
std::string EncodeCursor(OrderBy order, std::string_view filter, const CursorKey& key);

// Decodes a cursor made by EncodeCursor for the same `order` and `filter`.
// Anything else (not base64url, wrong version, wrong check, a cursor of
// another order or filter, non-canonical numbers, too long) is
// kInvalidArgument.
Result<CursorKey> DecodeCursor(std::string_view cursor, OrderBy order, std::string_view filter);

// A page token longer than this is refused before it is decoded: room for a
// key of commands::kActorMaxBytes (a backer's name) twice base64-encoded.
inline constexpr size_t kMaxPageTokenBytes = 1'024;

// The cursors of the other keyset-paged reads (a backer's fundings, a post's
// backers): base64url of "p1|<scope fingerprint>|<base64url of key>|<check>",
// fingerprint and check as above. `scope` names the listing (which backer's,
// which post's), `key` is where the page ended.
std::string EncodePageToken(std::string_view scope, std::string_view key);

// The key of a token EncodePageToken made for the same `scope`; anything
// else (malformed, edited, too long, another scope) is kInvalidArgument.
Result<std::string> DecodePageToken(std::string_view token, std::string_view scope);

}  // namespace ledger::projections
