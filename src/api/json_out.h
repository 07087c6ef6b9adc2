#pragma once

// Response bodies of docs/api.md, written with common/json_writer.h (strings
// escaped, UTF-8 kept as is, so Korean text is served unescaped).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/event.h"
#include "projections/queries.h"

namespace ledger::api {

// A list item: {id, title, uploader, total_funded, achievement_rate, d_day,
// status}.
std::string SummaryJson(const projections::PostSummary& post);

// The detail: the summary's members followed by description, target_amount,
// funding_unit, end_date ("YYYY-MM-DD"), participant_count, created_at
// (RFC 3339 UTC with microseconds) and version; then `position` when given
// (write answers: the log position of the write's last event).
std::string PostJson(const projections::PostDetail& post, std::optional<int64_t> position);

// The answer to an array create: the posts in the order they were sent, each
// with the create's `position`.
std::string PostsArrayJson(const std::vector<projections::PostDetail>& posts, int64_t position);

// {"items": [summary...], "next_cursor": "..." | null}.
std::string PageJson(const projections::PostPage& page);

// {"post_id", "backer", "units", "amount", "position"}.
// GET /api/me/fundings: {"items":[{position, post_id, title (null once the
// post is deleted), units, amount, recorded_at, state}], "next_cursor"}.
std::string FundingsPageJson(const projections::FundingPage& page);

// GET /api/posts/{id}/backers: {"items":[{backer, units, amount, fundings}],
// "next_cursor"}.
std::string BackersPageJson(const projections::BackerPage& page);

std::string FundingJson(int64_t post_id, std::string_view backer, int64_t units, int64_t amount,
                        int64_t position);

// {"items": [envelope...], "next_after": N | null}; each item is
// events::EncodeEnvelopeJson of the event, spliced in unchanged so that the
// served envelope is byte for byte what audit tools get from the CLI.
std::string EventsPageJson(const std::vector<events::Event>& items,
                           std::optional<int64_t> next_after);

}  // namespace ledger::api
