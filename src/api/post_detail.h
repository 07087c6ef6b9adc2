#pragma once

// A post's detail computed from its folded state rather than read from the
// tables: what write answers and as-of reads serve.

#include "commands/post_state.h"
#include "common/clock.h"
#include "common/time_zone.h"
#include "projections/queries.h"

namespace ledger::api {

// The detail of `p` with d_day as it is at `now` in `zone` (status is the
// log's: `p` settled or not).
projections::PostDetail DetailAt(const commands::PostState& p, const TimeZone& zone, Timestamp now);

}  // namespace ledger::api
