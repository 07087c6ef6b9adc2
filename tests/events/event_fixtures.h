#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "common/status.h"
#include "events/codec.h"
#include "events/event.h"
#include "events/event_log.h"
#include "events/record.h"

namespace ledger::events::testing {

inline Timestamp At(int64_t unix_us) { return Timestamp(std::chrono::microseconds(unix_us)); }

// A PostFunded event of post `stream` at `position` (hashes not set).
inline Event Funded(int64_t position, int64_t stream, int64_t version, std::string backer = "bob") {
  Event e;
  e.position = position;
  e.stream = stream;
  e.stream_version = version;
  e.recorded_at = At(1'790'000'000'000'000 + position);
  e.actor = backer;
  e.correlation_id = "req-" + std::to_string(position);
  e.data = PostFunded{backer, 2, 2000};
  return e;
}

// Seals `events` one after another onto `head` (setting prev_hash, hash) and
// encodes them for Append. Updates `head`.
inline std::vector<EncodedEvent> SealAll(std::vector<Event>& events, LogHead& head) {
  std::vector<EncodedEvent> out;
  for (Event& e : events) {
    e.prev_hash = head.hash;
    std::string record = SealRecord(e, EncodeCanonical(e));
    out.push_back(EncodedEvent{e.position, e.stream, e.stream_version, e.prev_hash, e.hash,
                               std::move(record)});
    head = LogHead{e.position, e.hash};
  }
  return out;
}

// `count` funding events of post 1 continuing `head`.
inline std::vector<EncodedEvent> NextFundings(LogHead& head, int64_t count,
                                              std::vector<Event>* events_out = nullptr) {
  std::vector<Event> events;
  for (int64_t i = 1; i <= count; ++i) {
    events.push_back(Funded(head.position + i, 1, head.position + i));
  }
  auto encoded = SealAll(events, head);
  if (events_out != nullptr) *events_out = events;
  return encoded;
}

// Appends to `log` a well-formed, correctly chained event that the post's
// state refuses (a funding of post 1 that skips to stream version 99), as a
// buggy writer might. Returns that event's position.
inline Result<int64_t> AppendRefusedFunding(EventLog& log) {
  LogHead head = log.Head();
  std::vector<Event> events{Funded(head.position + 1, 1, 99)};
  if (Status appended = log.Append(SealAll(events, head), {}); !appended.ok()) return appended;
  return head.position;
}

}  // namespace ledger::events::testing
