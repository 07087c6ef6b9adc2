#pragma once

// The read queries of the API over the read tables (GET /api/posts and
// GET /api/posts/{id}). No pqxx in this header: the HTTP layer uses it.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "common/time_format.h"
#include "common/time_zone.h"
#include "events/event.h"
#include "projections/cursor.h"
#include "projections/read_schema.h"

namespace ledger::projections {

class ConnectionPool;

// Named limits of the list query; a request outside them is kInvalidArgument
// naming the parameter.
inline constexpr int kDefaultListLimit = 20;
inline constexpr int kMaxListLimit = 100;
// Counted after trimming Unicode white space.
inline constexpr size_t kMaxSearchCodePoints = 100;

// created, -created, total_funded, -total_funded, end_date, -end_date, the
// Korean spellings 생성일, 총펀딩금액 and 마감일 (each with an optional leading
// '-'), and "" for the default -total_funded. Anything else is nullopt (HTTP
// 400).
std::optional<OrderBy> ParseOrderBy(std::string_view text);

// A campaign's state as the log has it: a business outcome, not an error.
enum class PostStatus : uint8_t {
  kFunding,     // not settled yet
  kSuccessful,  // settled with total_funded >= target_amount
  kFailed,      // settled short of the target
};
// "funding", "successful", "failed" (the API's spelling).
std::string_view PostStatusName(PostStatus status);
// The inverse of PostStatusName; nullopt for anything else.
std::optional<PostStatus> ParsePostStatus(std::string_view name);
// funding until the PostSettled, then its outcome.
PostStatus StatusOf(const std::optional<events::SettlementOutcome>& settlement);

// The derived figures, computed at read time because they depend on "now".
// floor(total_funded × 100 / target_amount), computed in 128 bits; it may
// exceed 100, and saturates at INT64_MAX (only reachable when target_amount
// < 100). REQUIRES: total_funded >= 0, target_amount > 0.
int64_t AchievementRate(int64_t total_funded, int64_t target_amount);
// Whole days from `today` to `end_date`: 0 on the last day, negative after.
int64_t DaysUntil(CivilDate end_date, CivilDate today);

// The list's filters as one string, what its cursors are made for: the
// search term alone when there is no status filter, so cursors made before
// the filter existed stay valid. (A search term holds no control character,
// so it cannot end like the status part.)
std::string ListFilterKey(std::string_view search, const std::optional<PostStatus>& status);

struct ListRequest {
  // Case-insensitive substring of the title; trimmed; empty: no filter.
  std::string search{};
  // Only posts in this status; nullopt: every status.
  std::optional<PostStatus> status{};
  OrderBy order = OrderBy::kTotalFundedDesc;
  int limit = kDefaultListLimit;  // 1..kMaxListLimit
  // next_cursor of the previous page, made for the same order, search and
  // status; empty: the first page.
  std::string cursor{};
};

struct PostSummary {
  int64_t id = 0;
  std::string title;
  std::string uploader;
  int64_t total_funded = 0;
  int64_t achievement_rate = 0;
  int64_t d_day = 0;
  PostStatus status = PostStatus::kFunding;

  friend bool operator==(const PostSummary&, const PostSummary&) = default;
};

struct PostPage {
  std::vector<PostSummary> items;
  // Absent on the last page.
  std::optional<std::string> next_cursor;
};

struct PostDetail {
  PostSummary summary;
  std::string description;
  int64_t target_amount = 0;
  int64_t funding_unit = 0;
  events::FundingModel funding_model = events::FundingModel::kKeepItAll;
  std::optional<int64_t> max_fundings_per_backer;  // nullopt: no limit
  CivilDate end_date;
  int64_t participant_count = 0;
  Timestamp created_at;
  int64_t version = 0;

  friend bool operator==(const PostDetail&, const PostDetail&) = default;
};

// One page of a keyset-paged listing other than the posts list.
struct PageRequest {
  int limit = kDefaultListLimit;  // 1..kMaxListLimit
  std::string cursor{};           // next_cursor of the previous page; empty: the first
};

// What became of a funding.
enum class FundingState : uint8_t { kLive, kCancelled, kRefunded };
// "live", "cancelled", "refunded" (the API's spelling).
std::string_view FundingStateName(FundingState state);

// One funding of a backer (GET /api/me/fundings).
struct FundingItem {
  int64_t position = 0;  // of its PostFunded
  int64_t post_id = 0;
  std::optional<std::string> title;  // nullopt once the post is deleted
  int64_t units = 0;
  int64_t amount = 0;
  Timestamp recorded_at;
  FundingState state = FundingState::kLive;

  friend bool operator==(const FundingItem&, const FundingItem&) = default;
};

struct FundingPage {
  std::vector<FundingItem> items;          // newest first (position descending)
  std::optional<std::string> next_cursor;  // absent on the last page
};

// One backer of a post with their live totals (GET /api/posts/{id}/backers).
struct BackerItem {
  std::string backer;
  int64_t units = 0;
  int64_t amount = 0;
  int64_t fundings = 0;  // live fundings

  friend bool operator==(const BackerItem&, const BackerItem&) = default;
};

struct BackerPage {
  std::string owner;                       // the post's owner, for the caller to check
  std::vector<BackerItem> items;           // by backer name, byte order
  std::optional<std::string> next_cursor;  // absent on the last page
};

// Connections in use by the read side, for metrics.
struct PoolUsage {
  size_t max_connections = 0;
  size_t open = 0;
  size_t in_use = 0;
  size_t waiting = 0;
};

// Answers the list and detail queries from the read tables of `schema`.
// Every query is one parameterised statement, prepared once per pooled
// connection and run without an explicit transaction. Errors: kInvalidArgument for a bad request;
// kUnavailable when no connection is free, the database is unreachable, or a
// statement timed out (retry later, HTTP 503); kInternal for anything else.
//
// BLOCKING (see ConnectionPool): call from a worker pool, never from an I/O
// thread. Thread-safe. REQUIRES: `pool` and `time_zone` outlive the service;
// `schema` is a lower-case SQL identifier (checked).
class QueryService {
 public:
  QueryService(ConnectionPool& pool, const TimeZone& time_zone,
               std::string_view schema = kReadSchema);

  // One page of posts in `request.order`, starting after `request.cursor`.
  // Keyset pagination: posts whose sort key does not change between page
  // fetches are seen exactly once, however others are created, edited,
  // funded or deleted meanwhile.
  Result<PostPage> List(const ListRequest& request, Timestamp now) const;

  // The post, or nullopt when there is no live post `id`.
  Result<std::optional<PostDetail>> Detail(int64_t id, Timestamp now) const;
  // The posts of `ids` that exist (not deleted), in id order. One query,
  // whatever the number of ids (the streams' figures after a projected batch).
  Result<std::vector<PostDetail>> Details(std::span<const int64_t> ids, Timestamp now) const;

  // `backer`'s fundings of every post, deleted ones included, newest first.
  // A backer with none gets an empty page.
  Result<FundingPage> BackerFundings(std::string_view backer, const PageRequest& request) const;

  // The live backers of post `id`, or nullopt when there is no live post
  // `id`. Who may see them is the caller's decision (BackerPage::owner).
  Result<std::optional<BackerPage>> PostBackers(int64_t id, const PageRequest& request) const;

  PoolUsage pool_usage() const;

 private:
  ConnectionPool& pool_;
  const TimeZone& time_zone_;
  const std::string schema_;  // quoted
  const std::string posts_;   // quoted "<schema>".post_view
};

}  // namespace ledger::projections
