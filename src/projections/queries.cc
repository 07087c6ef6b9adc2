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
#include "projections/list_statement.h"
#include "projections/query_support.h"

namespace ledger::projections {
namespace {

static_assert(kDefaultListLimit >= 1 && kDefaultListLimit <= kMaxListLimit);

// 128 bits hold total_funded × 100 for any int64 total (GCC extension).
__extension__ using Int128 = __int128;

constexpr std::string_view kDetailColumns =
    ", description, funding_unit, participant_count, "
    "(EXTRACT(EPOCH FROM created_at) * 1000000)::bigint AS created_at_us, version, "
    "funding_model, max_fundings_per_backer";

}  // namespace

std::string ListFilterKey(std::string_view search, const std::optional<PostStatus>& status) {
  if (!status) return std::string(search);
  return std::string(search) + "\x1fstatus=" + std::string(PostStatusName(*status));
}

namespace {

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
      BuildListStatement(schema_, request.order, search, request.status, after, request.limit);
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
