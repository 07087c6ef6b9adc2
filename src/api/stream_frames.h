#pragma once

// The Server-Sent Events frames of the streams (docs/api.md "Streams"). Every
// data line is one line of compact JSON: the JSON writer escapes CR and LF
// inside strings, so no payload can end a field early.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "events/event.h"

namespace ledger::api {

// A comment: keeps proxies from closing an idle stream.
inline constexpr std::string_view kSseHeartbeat = ": heartbeat\n\n";

// "retry: MS": how long EventSource waits before it reconnects.
std::string SseRetryFrame(std::chrono::milliseconds retry);

// id: <position> / event: ledger / data: <the envelope, as GET /api/events
// serves it>.
std::string SseLedgerFrame(const events::Event& event);
// The same from an envelope already encoded (events::EnvelopeFromRecord).
std::string SseLedgerFrame(int64_t position, std::string_view envelope_json);

// event: figures / data: `json` (no id: figures are not log positions).
std::string SseFiguresFrame(std::string_view json);

// event: cut / data: {"reason": …, "resume_after": N}: the last frame before
// the server closes a stream; reconnecting after N misses nothing.
std::string SseCutFrame(std::string_view reason, int64_t resume_after);

// The figures of a post that was deleted: {"id", "deleted": true, "position"}.
std::string DeletedFiguresJson(int64_t post_id, int64_t position);

}  // namespace ledger::api
