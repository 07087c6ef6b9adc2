#pragma once

// What the API's handlers work with: the service's parts, bound once at
// start-up. Handlers never block an I/O thread: commands go to the sequencer
// (answered from its completion thread through `answers`), queries and log
// reads to `workers`.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "api/position_waiter.h"
#include "api/sequencer_slot.h"
#include "api/verified_tokens.h"
#include "api/write_limiter.h"
#include "commands/sequencer.h"
#include "common/clock.h"
#include "common/time_zone.h"
#include "events/event_log.h"
#include "http/forwarder.h"
#include "http/metrics.h"
#include "http/worker_pool.h"
#include "projections/projector.h"
#include "projections/queries.h"

namespace ledger::api {

class StreamHub;

struct ApiContext {
  // Where writes go (empty on a node that does not sequence).
  const SequencerSlot* sequencers = nullptr;
  // This node's id on a cluster (empty on a single node).
  std::string node_id;
  // A cluster node passes the writes it cannot sequence to the node that
  // does (null: it answers 503 naming that node).
  http::Forwarder* forwarder = nullptr;
  const events::EventLog* log = nullptr;
  const projections::QueryService* queries = nullptr;
  const projections::Projector* projector = nullptr;
  const Clock* clock = nullptr;
  const TimeZone* time_zone = nullptr;
  std::string jwt_secret;
  // Tokens verified under jwt_secret (shared: the context is copied).
  std::shared_ptr<VerifiedTokens> tokens = std::make_shared<VerifiedTokens>();
  // Writes per user (null: not limited). Counted where they are
  // sequenced, so a cluster limits a user once, on the sequencing node.
  WriteLimiter* write_limiter = nullptr;
  // Queries and log reads.
  http::WorkerPool* workers = nullptr;
  // Building the answers of accepted writes (reads the log, copies state).
  http::WorkerPool* answers = nullptr;
  PositionWaiter* waiter = nullptr;
  // The live streams (null: their routes are not served).
  StreamHub* streams = nullptr;
  // /metrics serves these (the HTTP front's metrics) and the service's own
  // (service_metrics.h); null: 404.
  const http::HttpMetrics* http_metrics = nullptr;
  std::chrono::milliseconds read_wait{2'000};
  int64_t ready_max_lag_events = 100'000;
};

}  // namespace ledger::api
