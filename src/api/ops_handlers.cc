#include "api/ops_handlers.h"

#include <utility>

#include "api/answers.h"
#include "api/openapi.h"
#include "api/service_metrics.h"
#include "common/json_writer.h"
#include "events/codec.h"

namespace ledger::api {

using http::Request;
using http::Respond;
using http::Response;

namespace {

std::string ReadinessJson(const ApiContext& c, bool ready, int64_t log_position,
                          int64_t projector_position, const std::vector<std::string>& problems) {
  JsonWriter w;
  w.StartObject();
  w.Member("status", ready ? "ready" : "not_ready");
  w.Member("log_position", log_position);
  w.Member("projector_position", projector_position);
  w.Key("problems").StartArray();
  for (const std::string& p : problems) w.String(p);
  w.EndArray();
  if (!c.node_id.empty()) {
    // A node of a cluster: whether it sequences, and who does.
    const LeaderInfo leader = c.sequencers->leader();
    w.Key("cluster").StartObject();
    w.Member("node", c.node_id);
    w.Member("role", c.sequencers->Get() != nullptr ? "sequencer" : "follower");
    w.Member("leader", leader.node_id);
    w.Member("leader_url", leader.url);
    w.Member("lease_epoch", leader.epoch);
    w.EndObject();
  }
  w.EndObject();
  return std::move(w).Take();
}

}  // namespace

void Head(const ApiContext& c, const Request& /*request*/, const Respond& respond) {
  respond(Json(200, events::EncodeHeadJson(c.log->Head())));
}

void Healthz(const ApiContext& /*c*/, const Request& /*request*/, const Respond& respond) {
  respond(Json(200, "{\"status\":\"ok\"}"));
}

void Ready(const ApiContext& c, const Request& /*request*/, const Respond& respond) {
  const int64_t head = c.log->Head().position;
  const int64_t position = c.projector->position();
  const std::vector<std::string> problems = ReadinessProblems(c);
  respond(Json(problems.empty() ? 200 : 503,
               ReadinessJson(c, problems.empty(), head, position, problems)));
}

void OpenApi(const ApiContext& /*c*/, const Request& /*request*/, const Respond& respond) {
  respond(Json(200, std::string(OpenApiDocument())));
}

// Collected on the I/O thread: atomics, one read of a recent (cached) event
// for the projector's lag, and /proc. Queued behind the query workers it
// would go dark exactly when they are saturated.
void Metrics(const ApiContext& c, const Request& /*request*/, const Respond& respond) {
  Response r;
  r.status = 200;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = c.http_metrics->Expose(ServiceFamilies(c));
  respond(std::move(r));
}

std::vector<std::string> ReadinessProblems(const ApiContext& c) {
  const int64_t head = c.log->Head().position;
  const int64_t position = c.projector->position();
  std::vector<std::string> problems;
  // A cluster node that does not sequence serves reads; its writes are
  // answered by naming the node that does.
  const bool writes_here = c.node_id.empty() || c.sequencers->Get() != nullptr;
  if (const Status writable = c.log->WriteHealth(); writes_here && !writable.ok()) {
    problems.push_back(writable.message());
  }
  if (const Status failed = c.projector->failure(); !failed.ok()) {
    problems.push_back("projector stopped: " + std::string(failed.message()));
  }
  if (const Status err = c.projector->last_error(); !err.ok()) {
    problems.push_back("database: " + std::string(err.message()));
  }
  if (position < 0) {
    problems.emplace_back("projector has not reached the database yet");
  } else if (head - position > c.ready_max_lag_events) {
    problems.push_back("projector is " + std::to_string(head - position) + " events behind");
  }
  return problems;
}

}  // namespace ledger::api
