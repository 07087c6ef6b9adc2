#pragma once

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

}  // namespace ledger::events
