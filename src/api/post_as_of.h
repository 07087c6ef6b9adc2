#pragma once

// GET /api/posts/{id}?as_of=N: a post as it was at a log position, folded
// from its stream in the log with the same commands::Apply the sequencer and
// the projector use, so the figures follow the same money rules. The read
// tables are never consulted.

#include <cstddef>
#include <cstdint>

#include "commands/post_state.h"
#include "common/clock.h"
#include "common/result.h"
#include "events/event_log.h"

namespace ledger::api {

// Stream positions FoldPostTo takes from the stream index per step (8 bytes
// each). Events are then read and applied one at a time, so memory stays
// bounded whatever the length of the post's history (a popular post has tens
// of thousands of events, an edit can carry 80 KB of description).
inline constexpr size_t kAsOfChunkEvents = 4'096;

// Folds the events of post `post_id` at positions <= `as_of` into a state,
// taking `chunk_events` positions from the stream index at a time, and stops
// at the first event past `as_of` without reading it. A post with no event by then comes back as a
// default state (!exists()); a deleted one with `deleted` set.
// REQUIRES: as_of <= log.Head().position (later positions could still be
// written, so the answer would not be final); chunk_events >= 1.
// Errors: the log's read errors as they are; kCorruption when the stream
// index and the events disagree or commands::Apply refuses an event.
Result<commands::PostState> FoldPostTo(const events::EventLog& log, int64_t post_id, int64_t as_of,
                                       size_t chunk_events = kAsOfChunkEvents);

// The recorded_at of the event at `position`: the instant an as-of answer's
// time-dependent fields (d_day, status) are computed for.
// REQUIRES: 1 <= position <= log.Head().position. A missing event is
// kCorruption (the log has no holes).
Result<Timestamp> RecordedAt(const events::EventLog& log, int64_t position);

}  // namespace ledger::api
