#include "projections/queries.h"

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

#include "common/check.h"
#include "common/utf8.h"
#include "projections/array_literal.h"
#include "projections/connection_pool.h"
#include "projections/database.h"
#include "projections/query_support.h"

namespace ledger::projections {
namespace {

static_assert(kDefaultListLimit >= 1 && kDefaultListLimit <= kMaxListLimit);

// 128 bits hold total_funded × 100 for any int64 total (GCC extension).
__extension__ using Int128 = __int128;

// posts.title_grams holds the title's substrings of up to this many
// characters (schemas/sql/003_title_grams.sql).
constexpr size_t kMaxGramCodePoints = 2;

// Columns of a PostSummary plus what its derived figures need. end_date as
// days since 1970-01-01 and closes_at as µs since the epoch: exact integers,
// no text parsing. EXTRACT returns numeric since PostgreSQL 14, so the
// multiplication is exact.
constexpr std::string_view kSummaryColumns =
    "id, title, uploader, total_funded, target_amount, "
    "(end_date - DATE '1970-01-01') AS end_day, status";
constexpr int kSummaryColumnCount = 7;

constexpr std::string_view kDetailColumns =
    ", description, funding_unit, participant_count, "
    "(EXTRACT(EPOCH FROM created_at) * 1000000)::bigint AS created_at_us, version, "
    "funding_model, max_fundings_per_backer";

bool ByTotal(OrderBy order) {
  return order == OrderBy::kTotalFundedAsc || order == OrderBy::kTotalFundedDesc;
}
bool ByEndDate(OrderBy order) {
  return order == OrderBy::kEndDateAsc || order == OrderBy::kEndDateDesc;
}
bool Descending(OrderBy order) {
  return order == OrderBy::kCreatedDesc || order == OrderBy::kTotalFundedDesc ||
         order == OrderBy::kEndDateDesc;
}

}  // namespace

std::string ListFilterKey(std::string_view search, const std::optional<PostStatus>& status) {
  if (!status) return std::string(search);
  return std::string(search) + "\x1fstatus=" + std::string(PostStatusName(*status));
}

namespace {

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

// The trimmed search term, or kInvalidArgument.
Result<std::string> NormalizeSearch(std::string_view raw) {
  if (!CountCodePoints(raw)) return Status::InvalidArgument("search is not valid UTF-8");
  const std::string_view term = TrimUnicodeSpace(raw);
  if (HasControlCharacter(term)) {
    return Status::InvalidArgument("search must not contain control characters");
  }
  if (CountCodePoints(term).value_or(0) > kMaxSearchCodePoints) {
    return Status::InvalidArgument("search must be at most " +
                                   std::to_string(kMaxSearchCodePoints) + " characters");
  }
  return std::string(term);
}

// `today` is the service time zone's date at `now`.
PostSummary SummaryFromRow(const pqxx::row& row, CivilDate today) {
  PostSummary s;
  s.id = row[0].as<int64_t>();
  s.title = row[1].as<std::string>();
  s.uploader = row[2].as<std::string>();
  s.total_funded = row[3].as<int64_t>();
  const auto target_amount = row[4].as<int64_t>();
  const std::chrono::sys_days end_day{std::chrono::days(row[5].as<int64_t>())};
  s.achievement_rate = AchievementRate(s.total_funded, target_amount);
  s.d_day = DaysUntil(CivilDate(end_day), today);
  const std::optional<PostStatus> status = ParsePostStatus(row[6].as<std::string>());
  LEDGER_CHECK(status.has_value(), "the table's check allows only the three statuses");
  s.status = *status;
  return s;
}

// Numbered parameters of one statement. Only fixed SQL text and the quoted
// schema go into a statement's text; every value the client chose is added
// here.
class StatementParams {
 public:
  // Adds `value`; returns its placeholder ($1, $2, ...).
  std::string Add(std::string value) {
    values_.push_back(std::move(value));
    return "$" + std::to_string(values_.size());
  }
  std::vector<std::string> Take() && { return std::move(values_); }

 private:
  std::vector<std::string> values_;
};

// One list query: its SQL, its parameters, and the name it is prepared under
// on each connection (empty: planned on every run).
struct ListStatement {
  std::string sql;
  std::vector<std::string> params;
  std::string prepared_name;
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

// The query for one page of `posts` (the quoted view) in `order`: titles
// containing `search` (trimmed; empty: all) in `status` (nullopt: any), after
// `after` (nullopt: the first page), `limit` + 1 rows at most.
ListStatement BuildListStatement(std::string_view posts, OrderBy order, const std::string& search,
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

// The page of `rows` (up to `limit` + 1 rows of kSummaryColumns): the first
// `limit` of them, and a cursor after the last of those when there are more.
// `filter` is FilterKey's; `today` the service time zone's date now.
// REQUIRES: limit >= 1.
PostPage PageFromRows(const pqxx::result& rows, OrderBy order, const std::string& filter, int limit,
                      CivilDate today) {
  LEDGER_CHECK(rows.columns() == kSummaryColumnCount, "the select list of kSummaryColumns");
  PostPage page;
  int64_t last_end_day = 0;
  for (const pqxx::row& row : rows) {
    if (page.items.size() == static_cast<size_t>(limit)) {
      const PostSummary& last = page.items.back();
      page.next_cursor =
          EncodeCursor(order, filter, CursorKey{last.total_funded, last.id, last_end_day});
      break;
    }
    page.items.push_back(SummaryFromRow(row, today));
    last_end_day = row[5].as<int64_t>();
  }
  return page;
}

}  // namespace

std::optional<OrderBy> ParseOrderBy(std::string_view text) {
  if (text.empty()) return OrderBy::kTotalFundedDesc;
  const bool descending = text.front() == '-';
  if (descending) text.remove_prefix(1);
  if (text == "created" || text == "생성일") {
    return descending ? OrderBy::kCreatedDesc : OrderBy::kCreatedAsc;
  }
  if (text == "total_funded" || text == "총펀딩금액") {
    return descending ? OrderBy::kTotalFundedDesc : OrderBy::kTotalFundedAsc;
  }
  if (text == "end_date" || text == "마감일") {
    return descending ? OrderBy::kEndDateDesc : OrderBy::kEndDateAsc;
  }
  return std::nullopt;
}

std::string_view PostStatusName(PostStatus status) {
  switch (status) {
    case PostStatus::kFunding:
      return "funding";
    case PostStatus::kSuccessful:
      return "successful";
    case PostStatus::kFailed:
      return "failed";
  }
  LEDGER_CHECK(false, "unknown PostStatus");
  return {};
}

int64_t AchievementRate(int64_t total_funded, int64_t target_amount) {
  LEDGER_CHECK(total_funded >= 0 && target_amount > 0, "read tables guarantee these");
  // Non-negative operands: integer division is the floor.
  const Int128 rate = static_cast<Int128>(total_funded) * 100 / target_amount;
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  return rate > kMax ? kMax : static_cast<int64_t>(rate);
}

int64_t DaysUntil(CivilDate end_date, CivilDate today) {
  return (std::chrono::sys_days(end_date) - std::chrono::sys_days(today)).count();
}

std::optional<PostStatus> ParsePostStatus(std::string_view name) {
  for (const PostStatus s : {PostStatus::kFunding, PostStatus::kSuccessful, PostStatus::kFailed}) {
    if (name == PostStatusName(s)) return s;
  }
  return std::nullopt;
}

PostStatus StatusOf(const std::optional<events::SettlementOutcome>& settlement) {
  if (!settlement) return PostStatus::kFunding;
  return *settlement == events::SettlementOutcome::kSuccessful ? PostStatus::kSuccessful
                                                               : PostStatus::kFailed;
}

std::string_view FundingStateName(FundingState state) {
  switch (state) {
    case FundingState::kLive:
      return "live";
    case FundingState::kCancelled:
      return "cancelled";
    case FundingState::kRefunded:
      return "refunded";
  }
  LEDGER_CHECK(false, "unknown FundingState");
  return {};
}

QueryService::QueryService(ConnectionPool& pool, const TimeZone& time_zone, std::string_view schema)
    : pool_(pool),
      time_zone_(time_zone),
      schema_(QuoteIdentifier(schema)),
      posts_(schema_ + ".post_view") {}

Result<PostPage> QueryService::List(const ListRequest& request, Timestamp now) const {
  if (request.limit < 1 || request.limit > kMaxListLimit) {
    return Status::InvalidArgument("limit must be between 1 and " + std::to_string(kMaxListLimit));
  }
  LEDGER_ASSIGN_OR_RETURN(const std::string search, NormalizeSearch(request.search));
  const std::string filter = ListFilterKey(search, request.status);
  std::optional<CursorKey> after;
  if (!request.cursor.empty()) {
    LEDGER_ASSIGN_OR_RETURN(after, DecodeCursor(request.cursor, request.order, filter));
  }

  const ListStatement statement =
      BuildListStatement(posts_, request.order, search, request.status, after, request.limit);
  const CivilDate today = time_zone_.LocalDate(now);
  PostPage page;
  LEDGER_RETURN_IF_ERROR(ReadOnly(pool_, "listing posts", [&](pqxx::transaction_base& tx) {
    const auto values = pqxx::prepare::make_dynamic_params(statement.params);
    const pqxx::result rows =
        statement.prepared_name.empty()
            ? tx.exec_params(statement.sql, values)
            : ExecPrepared(tx, statement.prepared_name, statement.sql, values);
    page = PageFromRows(rows, request.order, filter, request.limit, today);
  }));
  return page;
}

namespace {

// A row of kSummaryColumns followed by kDetailColumns.
PostDetail DetailFromRow(const pqxx::row& row, CivilDate today) {
  PostDetail d;
  d.summary = SummaryFromRow(row, today);
  d.target_amount = row[4].as<int64_t>();
  d.end_date = CivilDate(std::chrono::sys_days(std::chrono::days(row[5].as<int64_t>())));
  d.description = row[kSummaryColumnCount].as<std::string>();
  d.funding_unit = row[kSummaryColumnCount + 1].as<int64_t>();
  d.participant_count = row[kSummaryColumnCount + 2].as<int64_t>();
  d.created_at = Timestamp(std::chrono::microseconds(row[kSummaryColumnCount + 3].as<int64_t>()));
  d.version = row[kSummaryColumnCount + 4].as<int64_t>();
  const std::optional<events::FundingModel> model =
      events::FundingModelFromName(row[kSummaryColumnCount + 5].as<std::string>());
  LEDGER_CHECK(model.has_value(), "the table's check allows only the two models");
  d.funding_model = *model;
  const pqxx::field limit = row[kSummaryColumnCount + 6];
  if (!limit.is_null()) d.max_fundings_per_backer = limit.as<int64_t>();
  return d;
}

}  // namespace

Result<std::optional<PostDetail>> QueryService::Detail(int64_t id, Timestamp now) const {
  std::optional<PostDetail> detail;
  if (id <= 0) return detail;  // ids start at 1
  const std::string sql = "SELECT " + std::string(kSummaryColumns) + std::string(kDetailColumns) +
                          " FROM " + posts_ + " WHERE id = $1";
  LEDGER_RETURN_IF_ERROR(ReadOnly(pool_, "reading a post", [&](pqxx::transaction_base& tx) {
    const pqxx::result rows = ExecPrepared(tx, "detail", sql, id);
    detail.reset();
    if (rows.empty()) return;
    detail = DetailFromRow(rows[0], time_zone_.LocalDate(now));
  }));
  return detail;
}

Result<std::vector<PostDetail>> QueryService::Details(std::span<const int64_t> ids,
                                                      Timestamp now) const {
  std::vector<PostDetail> details;
  if (ids.empty()) return details;
  ArrayLiteral wanted;
  for (const int64_t id : ids) wanted.Add(id);
  const std::string sql = "SELECT " + std::string(kSummaryColumns) + std::string(kDetailColumns) +
                          " FROM " + posts_ + " WHERE id = ANY($1::bigint[]) ORDER BY id";
  LEDGER_RETURN_IF_ERROR(ReadOnly(pool_, "reading posts", [&](pqxx::transaction_base& tx) {
    const pqxx::result rows = ExecPrepared(tx, "details", sql, wanted.Finish());
    details.clear();
    const CivilDate today = time_zone_.LocalDate(now);
    for (const pqxx::row& row : rows) details.push_back(DetailFromRow(row, today));
  }));
  return details;
}

PoolUsage QueryService::pool_usage() const {
  return PoolUsage{.max_connections = pool_.max_connections(),
                   .open = pool_.open(),
                   .in_use = pool_.in_use(),
                   .waiting = pool_.waiting()};
}

}  // namespace ledger::projections
