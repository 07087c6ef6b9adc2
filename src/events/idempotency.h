#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"
#include "events/hash.h"

namespace ledger::events {

// What the log keeps for one (actor, Idempotency-Key) pair: the fingerprint of
// the first request and its outcome, written in the same batch as that
// request's events so the two are durable together. `outcome` is opaque here;
// the command layer owns its format.
struct IdempotencyRecord {
  Hash fingerprint{};
  Timestamp recorded_at;
  std::string outcome;

  bool operator==(const IdempotencyRecord&) const = default;
};

// Stored value: version byte 1 | fingerprint (32) | recorded_at µs (8, BE) |
// outcome bytes.
std::string EncodeIdempotencyRecord(const IdempotencyRecord& record);
Result<IdempotencyRecord> DecodeIdempotencyRecord(std::string_view value);

// How much longer than the retention a record is kept before the log may
// drop it. The sequencer replays a record while its batch time minus
// recorded_at is under the retention, and its batch time is its clock's
// reading (never less than the last recorded_at); the purge compares with
// its own reading of the clock. The margin absorbs the clock stepping back
// (NTP) and the two readings differing, so that a record the sequencer may
// still replay is never dropped. An hour costs 1/24 more records at the
// default retention of a day.
inline constexpr std::chrono::seconds kIdempotencyPurgeMargin{3600};

// The newest recorded_at the purge may drop at `now`:
// now - retention - kIdempotencyPurgeMargin.
Timestamp IdempotencyPurgeCutoff(Timestamp now, std::chrono::seconds retention);

// True when the stored record `value` (EncodeIdempotencyRecord) was recorded
// at or before `cutoff`. A value that does not decode is never expired: the
// purge keeps what it cannot read.
bool IdempotencyRecordExpired(std::string_view value, Timestamp cutoff);

}  // namespace ledger::events
