#pragma once

// The routes for operators and tools rather than for posts: the ledger head,
// liveness and readiness, the OpenAPI document and the metrics.

#include <string>
#include <vector>

#include "api/context.h"
#include "http/message.h"

namespace ledger::api {

// GET /api/ledger/head
void Head(const ApiContext& c, const http::Request& request, const http::Respond& respond);
// GET /healthz
void Healthz(const ApiContext& c, const http::Request& request, const http::Respond& respond);
// GET /readyz
void Ready(const ApiContext& c, const http::Request& request, const http::Respond& respond);
// GET /openapi.json
void OpenApi(const ApiContext& c, const http::Request& request, const http::Respond& respond);
// GET /metrics. REQUIRES: c.http_metrics is set.
void Metrics(const ApiContext& c, const http::Request& request, const http::Respond& respond);

// Why the service is not ready, as GET /readyz lists it; empty when ready.
std::vector<std::string> ReadinessProblems(const ApiContext& c);

}  // namespace ledger::api
