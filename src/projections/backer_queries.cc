// QueryService's reads of the fundings and backers tables (queries.h):
// GET /api/me/fundings and GET /api/posts/{id}/backers.

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <pqxx/pqxx>

#include "common/check.h"
#include "projections/queries.h"
#include "projections/query_support.h"

namespace ledger::projections {
namespace {

// Both listings page with PageRequest's limits, as the posts list does.
Status CheckLimit(int limit) {
  if (limit < 1 || limit > kMaxListLimit) {
    return Status::InvalidArgument("limit must be between 1 and " + std::to_string(kMaxListLimit));
  }
  return Status::Ok();
}

FundingState StateFromName(std::string_view name) {
  for (const FundingState s :
       {FundingState::kLive, FundingState::kCancelled, FundingState::kRefunded}) {
    if (name == FundingStateName(s)) return s;
  }
  LEDGER_CHECK(false, "the table's check allows only the three states");
  return FundingState::kLive;
}

// A page token's scope: whose fundings, which post's backers.
std::string FundingsScope(std::string_view backer) { return "fundings:" + std::string(backer); }
std::string BackersScope(int64_t post_id) { return "backers:" + std::to_string(post_id); }

// The position a fundings token holds: canonical decimal, > 0.
Result<int64_t> PositionKey(const std::string& key) {
  int64_t position = 0;
  const bool canonical = !key.empty() && key.size() <= 19 && key[0] != '0' &&
                         key.find_first_not_of("0123456789") == std::string::npos;
  if (canonical) position = std::stoll(key);
  if (!canonical || position <= 0) return Status::InvalidArgument("cursor is malformed");
  return position;
}

}  // namespace

Result<FundingPage> QueryService::BackerFundings(std::string_view backer,
                                                 const PageRequest& request) const {
  LEDGER_RETURN_IF_ERROR(CheckLimit(request.limit));
  const std::string scope = FundingsScope(backer);
  // Newest first; a cursor is the position of the last item shown.
  int64_t before = std::numeric_limits<int64_t>::max();
  if (!request.cursor.empty()) {
    LEDGER_ASSIGN_OR_RETURN(const std::string key, DecodePageToken(request.cursor, scope));
    LEDGER_ASSIGN_OR_RETURN(before, PositionKey(key));
  }
  // fundings_backer_position serves the walk; the title is the post's while
  // it is alive.
  const std::string sql =
      "SELECT f.position, f.post_id, p.title, f.units, f.amount, "
      "(EXTRACT(EPOCH FROM f.recorded_at) * 1000000)::bigint, f.state "
      "FROM " +
      schema_ + ".fundings f LEFT JOIN " + schema_ +
      ".posts p ON p.id = f.post_id "
      "WHERE f.backer = $1 AND f.position < $2 ORDER BY f.position DESC LIMIT $3";
  FundingPage page;
  LEDGER_RETURN_IF_ERROR(ReadOnly(pool_, "listing fundings", [&](pqxx::transaction_base& tx) {
    const pqxx::result rows = ExecPrepared(tx, "backer_fundings", sql, std::string(backer), before,
                                           static_cast<int64_t>(request.limit) + 1);
    page = FundingPage{};
    for (const pqxx::row& row : rows) {
      if (page.items.size() == static_cast<size_t>(request.limit)) {
        page.next_cursor = EncodePageToken(scope, std::to_string(page.items.back().position));
        break;
      }
      FundingItem f;
      f.position = row[0].as<int64_t>();
      f.post_id = row[1].as<int64_t>();
      if (!row[2].is_null()) f.title = row[2].as<std::string>();
      f.units = row[3].as<int64_t>();
      f.amount = row[4].as<int64_t>();
      f.recorded_at = Timestamp(std::chrono::microseconds(row[5].as<int64_t>()));
      f.state = StateFromName(row[6].as<std::string>());
      page.items.push_back(std::move(f));
    }
  }));
  return page;
}

Result<std::optional<BackerPage>> QueryService::PostBackers(int64_t id,
                                                            const PageRequest& request) const {
  LEDGER_RETURN_IF_ERROR(CheckLimit(request.limit));
  std::optional<BackerPage> result;
  if (id <= 0) return result;
  const std::string scope = BackersScope(id);
  std::string after;
  if (!request.cursor.empty()) {
    LEDGER_ASSIGN_OR_RETURN(after, DecodePageToken(request.cursor, scope));
  }
  // One statement, so the owner and the backers are one snapshot: the post's
  // row, and its backers after `after` in name order (the primary key)
  // beside it, or one row of NULLs when there are none.
  const std::string sql =
      "SELECT p.owner, b.backer, b.units, b.amount, b.fundings FROM " + schema_ +
      ".posts p LEFT JOIN LATERAL (SELECT backer, units, amount, fundings FROM " + schema_ +
      ".backers WHERE post_id = p.id AND backer > $2 ORDER BY backer LIMIT $3) b ON true "
      "WHERE p.id = $1";
  LEDGER_RETURN_IF_ERROR(ReadOnly(pool_, "listing backers", [&](pqxx::transaction_base& tx) {
    const pqxx::result rows =
        ExecPrepared(tx, "post_backers", sql, id, after, static_cast<int64_t>(request.limit) + 1);
    result.reset();
    if (rows.empty()) return;
    BackerPage page;
    page.owner = rows[0][0].as<std::string>();
    for (const pqxx::row& row : rows) {
      if (row[1].is_null()) break;
      if (page.items.size() == static_cast<size_t>(request.limit)) {
        page.next_cursor = EncodePageToken(scope, page.items.back().backer);
        break;
      }
      page.items.push_back(BackerItem{row[1].as<std::string>(), row[2].as<int64_t>(),
                                      row[3].as<int64_t>(), row[4].as<int64_t>()});
    }
    result = std::move(page);
  }));
  return result;
}

}  // namespace ledger::projections
