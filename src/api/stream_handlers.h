#pragma once

// GET /api/events/stream and GET /api/posts/{id}/stream (docs/api.md,
// "Streams"): Server-Sent Events from the StreamHub in the context.

#include "api/context.h"
#include "http/message.h"

namespace ledger::api {

// The whole ledger, from the start position on.
void EventsStream(const ApiContext& c, const http::Request& request, const http::Respond& respond);

// One post: its figures at open, then its events from the start position on
// and its figures after every projected change.
void PostStream(const ApiContext& c, const http::Request& request, const http::Respond& respond);

}  // namespace ledger::api
