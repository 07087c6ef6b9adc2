#pragma once

#include <cstddef>
#include <cstdint>

namespace ledger::commands {

// Field limits of product.md, in Unicode code points after trimming.
inline constexpr size_t kTitleMaxCodePoints = 200;
inline constexpr size_t kUploaderMaxCodePoints = 100;
inline constexpr size_t kDescriptionMaxCodePoints = 20'000;

// A campaign may end at most this many days after today (about ten years).
// Bounds end_date so that every deadline is a representable timestamp.
inline constexpr int kMaxEndDateDaysAhead = 3'653;

// A single funding adds at most this many units (units × funding_unit won).
inline constexpr int64_t kMaxUnitsPerFunding = 10'000;

// max_fundings_per_backer, when a post sets it: 1 ("one participation per
// user") up to this.
inline constexpr int64_t kMaxFundingsPerBackerLimit = 10'000;

// A create request carrying an array makes at most this many posts, all or none.
inline constexpr size_t kMaxPostsPerCreate = 100;

// Deleting a post refunds every backer in the same append. Past this many
// backers the append would be unreasonably large, so the delete is refused
// (and support staff handle the campaign). Bounds the events of one command.
inline constexpr size_t kMaxRefundedBackersPerDelete = 10'000;

// Identity strings come from outside (JWT sub, headers); they are stored in
// every event, so they are bounded too.
inline constexpr size_t kActorMaxBytes = 255;
inline constexpr size_t kCorrelationIdMaxBytes = 128;
inline constexpr size_t kIdempotencyKeyMaxBytes = 255;

}  // namespace ledger::commands
