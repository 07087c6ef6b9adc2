#pragma once

// Internal to src/events: the fast path of DecodeCanonical (codec.h).

#include <optional>
#include <string_view>

#include "events/event.h"

namespace ledger::events {

// Decodes bytes laid out exactly as EncodeCanonical writes them: no white
// space, the keys in their fixed order, integers in their shortest form,
// strings of printable ASCII without escapes. Anything else (including every
// malformed input) is nullopt, and the caller decodes it with the general
// parser instead. So this function never accepts an input the general
// parser refuses, and gives the same event for every input it accepts:
// every value goes through the same checks (positive position and version,
// the stream name, a known type and schema version, the enum names, dates
// and timestamps). It exists because the audit tools decode every event of
// the log, and a DOM parse with member lookups was most of that cost.
std::optional<Event> DecodeCanonicalFast(std::string_view bytes);

}  // namespace ledger::events
