#pragma once

// What `funding-ledger events` selects and how it prints it: pure functions,
// kept apart from the log reading so that they can be tested alone.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"
#include "events/event.h"

namespace ledger::app {

struct EventFilter {
  std::optional<int64_t> post;        // --post: one stream
  int64_t from = 1;                   // --from: first position
  std::optional<int64_t> to;          // --to: last position (none: the head, or for ever)
  std::set<events::EventType> types;  // --type: empty = every type
  std::optional<Timestamp> since;     // --since: recorded at or after
  // --correlation-id: the request id of the request that appended the event
  // (X-Request-Id, the request_id of its access log line).
  std::optional<std::string> correlation_id;

  // Whether `event` passes the type, time and correlation id filters
  // (positions and post are applied by the reader, which never reads outside
  // them).
  bool Matches(const events::Event& event) const;
};

// --type: one or more comma-separated names ("PostFunded,FundingRefunded").
Result<std::set<events::EventType>> ParseEventTypes(std::string_view text);

// --since: "YYYY-MM-DD" (midnight UTC), "YYYY-MM-DDTHH:MM:SSZ" or the
// envelope's own form with microseconds; always UTC.
Result<Timestamp> ParseSince(std::string_view text);

// --correlation-id: 1..kCorrelationIdMaxBytes bytes, the longest the log
// keeps (a request id is 1..128 visible ASCII characters, docs/api.md).
Result<std::string> ParseCorrelationId(std::string_view text);

enum class EventFormat { kNdjson, kTable };
Result<EventFormat> ParseEventFormat(std::string_view text);

// The header line of the table format, and one event's line in it:
// position, recorded_at, type, post, stream version, actor and the data in
// key=value form. Text from the log is quoted with control characters
// escaped, so that no event can move the terminal's cursor or colour.
std::string TableHeader();
std::string TableRow(const events::Event& event);

// `text` in double quotes, with ", \ and control characters escaped.
std::string QuoteForTerminal(std::string_view text);

}  // namespace ledger::app
