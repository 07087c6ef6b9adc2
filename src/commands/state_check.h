#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "commands/fold.h"
#include "common/result.h"
#include "events/event_log.h"

namespace ledger::commands {

// What the stored sequencer state looks like next to the fold of the log.
struct StateComparison {
  bool stored = false;  // false: the log has no state yet (the service builds one)
  int64_t records = 0;  // state records compared
  // The first difference in key order, naming the record, e.g. "post 17's
  // funding at position 1234: stored differs from the log's fold".
  std::optional<std::string> difference;
};

// Compares every record of the stored state with what the fold `folded` of
// the whole log (up to the log's head) makes of it, byte for byte, in one
// pass in key order; memory holds one post's records at a time. A state
// stored at another position than `folded` is a difference.
// Errors: the log's read errors.
Result<StateComparison> CompareState(const events::EventLog& log, const FoldedLog& folded);

}  // namespace ledger::commands
