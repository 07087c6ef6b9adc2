#pragma once

// What the PostgreSQL log's tests share: the session options the log needs
// on the test cluster, and batches of fundings to append.

#include <cstdint>
#include <string>
#include <vector>

#include "events/event_fixtures.h"
#include "events/event_log.h"

namespace ledger::projections::testing {

// The test cluster runs with synchronous_commit off (and fsync off: it is
// thrown away); the log refuses such a session, so its own turns it on.
inline std::string LogConninfo(const std::string& conninfo) {
  return conninfo + " options='-c synchronous_commit=on'";
}

// Fundings of `stream`, continuing `head` (moved to the last of them),
// versions from `first_version`.
inline std::vector<events::EncodedEvent> FundingsOf(events::LogHead& head, int64_t stream,
                                                    int64_t first_version, int64_t count,
                                                    std::vector<events::Event>* out = nullptr) {
  std::vector<events::Event> events;
  for (int64_t i = 0; i < count; ++i) {
    events.push_back(events::testing::Funded(head.position + 1 + i, stream, first_version + i));
  }
  auto encoded = events::testing::SealAll(events, head);
  if (out != nullptr) *out = events;
  return encoded;
}

}  // namespace ledger::projections::testing
