// The SQL of one page of the post list (QueryService::List): its filters,
// its keyset cursor and, for a title search, the plan it runs.

#ifndef LEDGER_PROJECTIONS_LIST_STATEMENT_H_
#define LEDGER_PROJECTIONS_LIST_STATEMENT_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "projections/cursor.h"
#include "projections/queries.h"

namespace ledger::projections {

// Columns of a PostSummary plus what its derived figures need. end_date as
// days since 1970-01-01 and closes_at as µs since the epoch: exact integers,
// no text parsing. EXTRACT returns numeric since PostgreSQL 14, so the
// multiplication is exact.
inline constexpr std::string_view kSummaryColumns =
    "id, title, uploader, total_funded, target_amount, "
    "(end_date - DATE '1970-01-01') AS end_day, status";
inline constexpr int kSummaryColumnCount = 7;

// A title search in an order by total first walks at most this many posts of
// the order for its page, then collects every match from the title indexes.
// Break-even at 100 000 posts: a word in about one title of 150.
inline constexpr int kSearchWalkRows = 2000;
static_assert(kSearchWalkRows > kMaxListLimit);

// One page's query: its SQL, its parameters, and the name it is prepared under
// on each connection (empty: planned on every run).
struct ListStatement {
  std::string sql;
  std::vector<std::string> params;
  std::string prepared_name;
};

// The query for one page of the posts of `schema` (quoted) in `order`: titles
// containing `search` (trimmed, as NormalizeSearch leaves it; empty: all) in
// `status` (nullopt: any), after `after` (nullopt: the first page), `limit` + 1
// rows of kSummaryColumns at most, in `order`.
ListStatement BuildListStatement(std::string_view schema, OrderBy order, const std::string& search,
                                 const std::optional<PostStatus>& status,
                                 const std::optional<CursorKey>& after, int limit);

}  // namespace ledger::projections

#endif  // LEDGER_PROJECTIONS_LIST_STATEMENT_H_
