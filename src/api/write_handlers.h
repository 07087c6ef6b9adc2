#pragma once

// The routes that submit commands: create, edit, delete and fund. Each
// checks the request (path, Content-Type, token, headers, body) in that
// order, answers the first failure, or submits the command; the answer
// comes once the command is durable (write_answers.h).

#include "api/context.h"
#include "http/message.h"

namespace ledger::api {

// POST /api/posts
void CreatePosts(const ApiContext& c, const http::Request& request, const http::Respond& respond);
// PATCH /api/posts/{id}
void EditPost(const ApiContext& c, const http::Request& request, const http::Respond& respond);
// DELETE /api/posts/{id}
void DeletePost(const ApiContext& c, const http::Request& request, const http::Respond& respond);
// DELETE /api/posts/{id}/fundings/{position}: the backer takes one of their
// live fundings back. 204 with X-Ledger-Position, as a deleted post.
void CancelFunding(const ApiContext& c, const http::Request& request, const http::Respond& respond);
// POST /api/posts/{id}/fundings
void FundPost(const ApiContext& c, const http::Request& request, const http::Respond& respond);

}  // namespace ledger::api
