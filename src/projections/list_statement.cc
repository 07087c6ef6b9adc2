#include "projections/list_statement.h"

#include <string>
#include <utility>
#include <vector>

#include "common/utf8.h"

namespace ledger::projections {
namespace {

// posts.title_grams holds the title's substrings of up to this many
// characters (schemas/sql/003_title_grams.sql).
constexpr size_t kMaxGramCodePoints = 2;

// `term` as a LIKE pattern matching it anywhere: its own %, _ and \ are
// escaped with \ (the ESCAPE character of the query), so they match
// literally.
std::string ContainsPattern(std::string_view term) {
  std::string pattern = "%";
  for (const char c : term) {
    if (c == '%' || c == '_' || c == '\\') pattern += '\\';
    pattern += c;
  }
  pattern += '%';
  return pattern;
}

// Numbered parameters of one statement. Only fixed SQL text and the quoted
// schema go into a statement's text; every value the client chose is added
// here.
class StatementParams {
 public:
  // Hidden values are written as "(SELECT $n::text)": an InitPlan, computed once
  // when the statement starts, whose value the planner never sees. So a
  // custom plan of the prepared statement costs what its generic plan
  // costs, and PostgreSQL keeps the generic one after its first five runs
  // instead of planning every run (plan_cache_mode auto). For a statement
  // whose plan must not depend on the values.
  explicit StatementParams(bool hidden = false) : hidden_(hidden) {}

  // Adds `value`; returns its placeholder ($1, $2, ...).
  std::string Add(std::string value) {
    values_.push_back(std::move(value));
    const std::string placeholder = "$" + std::to_string(values_.size());
    return hidden_ ? "(SELECT " + placeholder + "::text)" : placeholder;
  }
  std::vector<std::string> Take() && { return std::move(values_); }

 private:
  bool hidden_;
  std::vector<std::string> values_;
};

// The condition that keeps titles containing `search`; empty for no search.
std::string SearchCondition(const std::string& search, StatementParams& params) {
  if (search.empty()) return "";
  if (CountCodePoints(search).value_or(0) <= kMaxGramCodePoints) {
    // pg_trgm takes nothing from a pattern this short; posts_title_grams
    // serves it (migration 003). The condition is exact: ILIKE lower-cases
    // both sides character by character, so the title contains the term
    // case-insensitively exactly when its grams contain the lower-cased
    // term. Without an ILIKE beside it the planner estimates the matches
    // from the array's statistics, and walks the sort order when they are
    // many.
    return " AND title_grams @> ARRAY[lower(" + params.Add(search) + ")]";
  }
  // Served by posts_title_trgm.
  return " AND title ILIKE " + params.Add(ContainsPattern(search)) + " ESCAPE '\\'";
}

// The condition that keeps posts in `status`; empty for every status.
std::string StatusCondition(const std::optional<PostStatus>& status, StatementParams& params) {
  if (!status) return "";
  return " AND status = " + params.Add(std::string(PostStatusName(*status)));
}

// The condition that keeps the posts after `after` in `order`; empty on the
// first page.
std::string AfterCondition(OrderBy order, const std::optional<CursorKey>& after,
                           StatementParams& params) {
  if (!after) return "";
  // Row comparison: the btree post_stats (total_funded, id), or the primary key, seeks
  // straight to the key; never OFFSET.
  const char* op = Descending(order) ? " < " : " > ";
  if (ByTotal(order)) {
    const std::string total = params.Add(std::to_string(after->total_funded));
    const std::string id = params.Add(std::to_string(after->id));
    return " AND (total_funded, id)" + std::string(op) + "(" + total + "::bigint, " + id +
           "::bigint)";
  }
  if (ByEndDate(order)) {
    // posts' own id (post_id), so that posts_end_date_id serves it.
    const std::string day = params.Add(std::to_string(after->end_day));
    const std::string id = params.Add(std::to_string(after->id));
    return " AND (end_date, post_id)" + std::string(op) + "(DATE '1970-01-01' + " + day +
           "::integer, " + id + "::bigint)";
  }
  return " AND id" + std::string(op) + params.Add(std::to_string(after->id)) + "::bigint";
}

// ORDER BY `order`, with id breaking ties of total_funded: keyset pages need
// a strict order.
std::string OrderClause(OrderBy order) {
  const std::string direction = Descending(order) ? " DESC" : "";
  if (ByTotal(order)) return " ORDER BY total_funded" + direction + ", id" + direction;
  if (ByEndDate(order)) return " ORDER BY end_date" + direction + ", post_id" + direction;
  return " ORDER BY id" + direction;
}

// The query for one page of a title search in an order by total, in
// `schema` (quoted), of any status, after `after` (nullopt: the first page),
// `limit` + 1 rows at most.
//
// Which plan is fast depends on how many titles match, and no estimate of a
// substring's frequency is good enough to choose (pg_trgm's missed "hobby" by
// a factor of 20). So the statement chooses at run time, with a structure the
// planner cannot rearrange (materialized CTEs):
//   - hits: walk at most kSearchWalkRows of the order from the cursor, through
//     post_stats_total_funded_id alone (it carries the lower-cased title), and keep the
//     first limit + 1 matches. A word in one title of fifty fills the page
//     within about a thousand rows.
//   - found: only when the walk did not fill the page, every match from the
//     title indexes of posts, which the outer query then sorts.
// The page is hits when hits is full: those are the first matches of the
// order. Otherwise it is found's first rows after the cursor, which hold all
// of hits. Either way it is what the plain query would answer. Planned once
// per connection: the plan no longer depends on the term.
ListStatement BuildSearchWalkStatement(const std::string& schema, OrderBy order,
                                       const std::string& search,
                                       const std::optional<CursorKey>& after, int limit) {
  // Hidden: pg_trgm's estimate for the pattern would make every custom plan
  // look cheaper than the generic one, and each run would be planned again
  // (1 ms; a third of the search's CPU).
  StatementParams params(/*hidden=*/true);
  const std::string pattern = params.Add(ContainsPattern(search));
  const std::string rows = params.Add(std::to_string(limit + 1)) + "::bigint";
  const std::string after_condition = AfterCondition(order, after, params);
  const std::string order_clause = OrderClause(order);
  const std::string in_posts = SearchCondition(search, params);
  // LIKE's escape character is \ by default, as ContainsPattern writes it;
  // the pattern is lower-cased once (an InitPlan), not per row.
  std::string sql =
      "WITH hits AS MATERIALIZED (SELECT id FROM (SELECT id, total_funded, title_lower FROM ";
  sql += schema + ".post_stats WHERE true" + after_condition + order_clause + " LIMIT " +
         std::to_string(kSearchWalkRows) + ") AS walk WHERE title_lower LIKE (SELECT lower(" +
         pattern + "))" + order_clause + " LIMIT " + rows + "), ";
  sql += "found AS MATERIALIZED (SELECT id FROM " + schema +
         ".posts WHERE (SELECT count(*) FROM hits) < " + rows + in_posts + ") ";
  sql += "SELECT " + std::string(kSummaryColumns) + " FROM " + schema +
         ".post_view WHERE id IN (SELECT id FROM hits WHERE (SELECT count(*) FROM hits) = " + rows +
         " UNION ALL SELECT id FROM found)" + after_condition + order_clause + " LIMIT " + rows;
  const bool grams = CountCodePoints(search).value_or(0) <= kMaxGramCodePoints;
  std::string name = std::string("search_") + (grams ? "grams_" : "trigrams_") +
                     (after ? "after_" : "first_") + std::to_string(static_cast<int>(order));
  return ListStatement{
      .sql = std::move(sql), .params = std::move(params).Take(), .prepared_name = std::move(name)};
}

// The query for one page of `posts` (the quoted view) in `order`, as
// BuildListStatement's, planned for its one shape.
ListStatement BuildPlainStatement(std::string_view posts, OrderBy order, const std::string& search,
                                  const std::optional<PostStatus>& status,
                                  const std::optional<CursorKey>& after, int limit) {
  StatementParams params;
  std::string sql =
      "SELECT " + std::string(kSummaryColumns) + " FROM " + std::string(posts) + " WHERE true";
  sql += SearchCondition(search, params);
  sql += StatusCondition(status, params);
  sql += AfterCondition(order, after, params);
  sql += OrderClause(order);
  // One row more than asked tells whether another page exists.
  sql += " LIMIT " + params.Add(std::to_string(limit + 1)) + "::bigint";
  // The statement's text depends only on the order, the status filter and
  // whether there is a cursor, so those name it. A search is planned on every run instead: how
  // many titles match decides between walking the sort order and collecting
  // the trigram index's matches first, and a generic plan cannot see that (it
  // walks every post for a rare term).
  std::string name;
  if (search.empty()) {
    name = std::string("list_") + (after ? "after_" : "first_") +
           std::to_string(static_cast<int>(order)) + (status ? "_status" : "");
  }
  return ListStatement{
      .sql = std::move(sql), .params = std::move(params).Take(), .prepared_name = std::move(name)};
}

}  // namespace

ListStatement BuildListStatement(std::string_view schema, OrderBy order, const std::string& search,
                                 const std::optional<PostStatus>& status,
                                 const std::optional<CursorKey>& after, int limit) {
  // The walk needs the order's keys and the title in one index; post_stats
  // has no status.
  if (!search.empty() && ByTotal(order) && !status) {
    return BuildSearchWalkStatement(std::string(schema), order, search, after, limit);
  }
  return BuildPlainStatement(std::string(schema) + ".post_view", order, search, status, after,
                             limit);
}

}  // namespace ledger::projections
