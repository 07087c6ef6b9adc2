#include "api/answers.h"

#include <utility>

namespace ledger::api {

using http::MakeProblem;
using http::Problem;
using http::Request;
using http::Response;

Response Json(int status, std::string body) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

Response ProblemAnswer(const Request& request, const Problem& problem) {
  return ToResponse(problem, request.path, request.request_id);
}

Problem RetryLater(std::string_view name, std::string detail) {
  Problem p = MakeProblem(name, std::move(detail));
  p.headers.emplace_back("Retry-After", std::string(kRetryAfterSeconds));
  return p;
}

std::string ETag(int64_t version) { return "\"" + std::to_string(version) + "\""; }

}  // namespace ledger::api
