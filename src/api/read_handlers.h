#pragma once

// The routes that read: the list, a post (from the tables, or folded from
// the log as of a position), a post's events and the global feed. Queries
// and log reads run on the worker pool; a full pool answers 503, and
// X-Min-Position waits (bounded) for the tables to reach a position first.

#include "api/context.h"
#include "http/message.h"

namespace ledger::api {

// GET /api/posts
void ListPosts(const ApiContext& c, const http::Request& request, const http::Respond& respond);
// GET /api/posts/{id} (with ?as_of=N: folded from the log)
void GetPost(const ApiContext& c, const http::Request& request, const http::Respond& respond);
// GET /api/me/fundings (Bearer): the caller's fundings, newest first
void MyFundings(const ApiContext& c, const http::Request& request, const http::Respond& respond);
// GET /api/posts/{id}/backers (Bearer, the post's owner only)
void PostBackers(const ApiContext& c, const http::Request& request, const http::Respond& respond);
// GET /api/posts/{id}/events
void PostEvents(const ApiContext& c, const http::Request& request, const http::Respond& respond);
// GET /api/events
void GlobalEvents(const ApiContext& c, const http::Request& request, const http::Respond& respond);

}  // namespace ledger::api
