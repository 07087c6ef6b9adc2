#pragma once

// The pieces every handler answers with: JSON bodies, problem details for
// the request at hand, 503s that say when to retry, entity tags, and the one
// way a failed parse or check becomes the answer.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "http/message.h"
#include "http/problem.h"

namespace ledger::api {

// Seconds a client should wait before retrying a 503.
inline constexpr std::string_view kRetryAfterSeconds = "1";

// A 2xx answer whose body is `body`, as application/json.
http::Response Json(int status, std::string body);

// The problem+json answer of `problem` to `request`.
http::Response ProblemAnswer(const http::Request& request, const http::Problem& problem);

// The problem `name` with Retry-After: kRetryAfterSeconds.
http::Problem RetryLater(std::string_view name, std::string detail);

// The strong entity tag of a post version: "\"7\"".
std::string ETag(int64_t version);

// Answers the problem of a failed `result` and returns true; returns false
// when it holds a value. The one way a handler turns a failed parse or check
// into its answer:
//   auto body = ParseFundBody(request.body);
//   if (Refused(body, request, respond)) return;
template <typename T>
bool Refused(const Result<T, http::Problem>& result, const http::Request& request,
             const http::Respond& respond) {
  if (result.ok()) return false;
  respond(ProblemAnswer(request, result.error()));
  return true;
}

}  // namespace ledger::api
