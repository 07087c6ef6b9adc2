#pragma once

// Query strings (application/x-www-form-urlencoded, as browsers send them)
// and the parameters of the list and event-feed endpoints.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "http/problem.h"
#include "projections/queries.h"

namespace ledger::api {

// A query with more parameters than this is refused: no endpoint takes more
// than four, and the bound keeps the work per request small.
inline constexpr size_t kMaxQueryParameters = 32;

// GET /api/events and GET /api/posts/{id}/events.
inline constexpr int kDefaultEventsLimit = 100;
inline constexpr int kMaxEventsLimit = 1'000;

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// Splits `raw` (the target after '?') on '&' into name=value pairs in order,
// percent-decoding both with '+' as a space. Empty pieces ("a=1&&b=2", a
// trailing '&') are skipped; a piece without '=' has the value "". Errors
// (kInvalidArgument, naming the piece by position): a '%' not followed by two
// hex digits, decoded bytes that are not UTF-8 or hold a NUL, more than
// kMaxQueryParameters parameters.
Result<QueryParams> ParseQuery(std::string_view raw);

// GET /api/posts: search, order_by, status, limit, cursor (docs/api.md, "List
// parameters"). `search` comes back trimmed, as the read side expects, and a
// cursor is checked against the order and search it must have been made for.
// Every problem (unknown or repeated names, bad values) is a 400
// invalid_parameter listing each parameter in `errors`.
Result<projections::ListRequest, http::Problem> ParseListQuery(std::string_view raw);

// GET /api/me/fundings and GET /api/posts/{id}/backers: limit (1..100,
// default 20) and cursor. The cursor is judged by the query, which knows
// whose listing it must belong to. Errors as for ParseListQuery.
Result<projections::PageRequest, http::Problem> ParsePageQuery(std::string_view raw);

// The feeds' parameters: events after `after` (a position for the global
// feed, a stream version for a post's), at most `limit` of them.
struct EventsQuery {
  int64_t after = 0;                // >= 0
  int limit = kDefaultEventsLimit;  // 1..kMaxEventsLimit
};

// after: decimal int64 >= 0 (default 0); limit: 1..kMaxEventsLimit (default
// kDefaultEventsLimit). Errors as for ParseListQuery.
Result<EventsQuery, http::Problem> ParseEventsQuery(std::string_view raw);

// The streams (GET /api/events/stream, GET /api/posts/{id}/stream): `after`,
// a log position (decimal int64 >= 0); nullopt when absent. Errors as for
// ParseListQuery (unknown names included).
Result<std::optional<int64_t>, http::Problem> ParseStreamQuery(std::string_view raw);

// GET /api/posts/{id}: `as_of`, a log position (decimal int64 >= 0; see
// docs/api.md, "The post as of a log position"); nullopt when absent. Only
// as_of is judged: the route took no parameters before it and ignored every
// name, so other names (known or not) and pieces that are not well-formed
// are still ignored. A malformed or repeated as_of is 400 invalid_parameter
// naming it, as for ParseListQuery.
Result<std::optional<int64_t>, http::Problem> ParseDetailQuery(std::string_view raw);

// A 400 invalid_parameter whose `detail` and single error both say `detail`
// about `parameter`: for rules only the handler can check (as_of past the
// log head).
http::Problem InvalidParameter(std::string parameter, std::string detail);

// Digits only (no sign, no blanks), at most int64's maximum: the form of
// every numeric parameter and header. nullopt otherwise.
std::optional<int64_t> ParseNonNegativeDecimal(std::string_view text);

}  // namespace ledger::api
