#include "api/post_as_of.h"

#include <string>
#include <vector>

#include "common/check.h"

namespace ledger::api {
namespace {

Status StreamBroken(int64_t post_id, int64_t position, const std::string& problem) {
  return Status::Corruption("stream of post " + std::to_string(post_id) + ", event at position " +
                            std::to_string(position) + ": " + problem);
}

}  // namespace

Result<commands::PostState> FoldPostTo(const events::EventLog& log, int64_t post_id, int64_t as_of,
                                       size_t chunk_events) {
  LEDGER_CHECK(chunk_events >= 1, "FoldPostTo needs chunks of at least one event");
  commands::PostState state;
  std::vector<int64_t> positions;
  std::vector<events::Event> read;
  // Every step but the last applies chunk_events events, each at its own
  // position <= as_of, so there are at most as_of / chunk_events + 1 steps.
  for (;;) {
    positions.clear();
    LEDGER_RETURN_IF_ERROR(
        log.StreamPositions(post_id, state.version + 1, chunk_events, &positions));
    for (const int64_t position : positions) {
      // Positions grow with the stream version: the first one past as_of
      // ends the walk, and nothing after it is read.
      if (position > as_of) return state;
      read.clear();
      LEDGER_RETURN_IF_ERROR(events::ReadEvents(log, position, position, 1, &read));
      if (read.size() != 1) return StreamBroken(post_id, position, "the index names no event");
      const events::Event& event = read.front();
      if (event.stream != post_id) {
        return StreamBroken(post_id, position,
                            "the index names an event of post " + std::to_string(event.stream));
      }
      // Checks the version sequence and every money rule.
      LEDGER_RETURN_IF_ERROR(commands::Apply(state, event));
    }
    if (positions.size() < chunk_events) return state;
  }
}

Result<Timestamp> RecordedAt(const events::EventLog& log, int64_t position) {
  std::vector<events::Event> found;
  LEDGER_RETURN_IF_ERROR(events::ReadEvents(log, position, position, 1, &found));
  if (found.size() != 1) {
    return Status::Corruption("event at position " + std::to_string(position) + ": event missing");
  }
  return found.front().recorded_at;
}

}  // namespace ledger::api
