#pragma once

// Which PostgreSQL server of a Patroni cluster is the primary, as Patroni's
// REST API says (GET /cluster on any member). A node takes the sequencer
// lease only on the server Patroni names, at the timeline Patroni names: an
// old primary cut off from the others (still writable until Patroni demotes
// it) is on an older timeline and is refused, never trusted.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "http/forwarder.h"

namespace ledger::app {

struct PatroniLeader {
  std::string name;
  std::string host;
  int64_t port = 0;
  int64_t timeline = 0;
};

// The leader in a /cluster answer: the member whose role is "leader" and
// whose state is "running". kUnavailable when there is none (a failover
// under way); kInvalidArgument when `body` is not a /cluster answer.
Result<PatroniLeader> ParsePatroniCluster(std::string_view body);

// OK when a /config answer has synchronous_mode and synchronous_mode_strict
// on; kFailedPrecondition otherwise (a failover could lose acknowledged
// writes, which was measured: strict mode is required).
Status CheckPatroniConfig(std::string_view body);

// Asks each of `urls` (http://HOST:PORT of Patroni's REST API) in turn for
// /config (CheckPatroniConfig) and /cluster through `client` and returns the
// leader of the first usable answers; kFailedPrecondition for a cluster not
// in strict synchronous mode, kUnavailable naming every failure when no
// member answers.
Result<PatroniLeader> FindPatroniLeader(http::Forwarder& client,
                                        const std::vector<std::string>& urls);

// The comma-separated URLs of --patroni-url, each checked as http://HOST:PORT.
Result<std::vector<std::string>> SplitPatroniUrls(std::string_view list);

}  // namespace ledger::app
