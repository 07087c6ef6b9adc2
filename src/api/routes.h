#pragma once

// The routes of docs/api.md, each bound to its handler.

#include "api/context.h"
#include "http/router.h"

namespace ledger::api {

// Adds every route to `router`. `context` and everything it points to must
// outlive the server. /metrics is added only when context->http_metrics is
// set (metrics off: 404).
void AddApiRoutes(const ApiContext* context, http::Router& router);

}  // namespace ledger::api
