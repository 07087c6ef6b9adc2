#include "http/problem.h"

#include <array>
#include <utility>

#include "common/check.h"
#include "common/json_writer.h"

namespace ledger::http {
namespace {

struct Entry {
  std::string_view name;
  int status;
  std::string_view title;
};

constexpr std::array kProblems = {
    Entry{"malformed_json", 400, "The body is not valid JSON"},
    Entry{"invalid_parameter", 400, "A parameter or header is malformed"},
    Entry{"unauthorized", 401, "Authentication is required"},
    Entry{"forbidden", 403, "Not allowed for this user"},
    Entry{"not_found", 404, "Not found"},
    Entry{"post_deleted", 404, "The post was deleted"},
    Entry{"funding_not_found", 404, "The post has no funding at that position"},
    Entry{"method_not_allowed", 405, "Method not allowed"},
    Entry{"request_timeout", 408, "The request took too long to arrive"},
    Entry{"idempotency_key_in_flight", 409, "A request with this key is still in progress"},
    Entry{"funding_closed", 409, "Funding has closed"},
    Entry{"amount_overflow", 409, "The amount is too large"},
    Entry{"too_many_backers", 409, "The post has too many backers to delete"},
    Entry{"post_settled", 409, "The post was settled"},
    Entry{"funding_limit_reached", 409, "The backer has reached the post's limit of fundings"},
    Entry{"funding_already_cancelled", 409, "The funding was already cancelled"},
    Entry{"funding_terms_fixed", 409, "The funding terms are fixed once the post is funded"},
    Entry{"version_mismatch", 412, "The post has changed"},
    Entry{"payload_too_large", 413, "The body is too large"},
    Entry{"unsupported_media_type", 415, "The body must be application/json"},
    Entry{"validation_failed", 422, "The request is not valid"},
    Entry{"end_date_in_past", 422, "The end date is in the past"},
    Entry{"target_immutable", 422, "The target amount cannot change"},
    Entry{"idempotency_key_reused", 422, "The idempotency key was used for another request"},
    Entry{"too_many_requests", 429, "Too many requests"},
    Entry{"header_fields_too_large", 431, "The request headers are too large"},
    Entry{"internal", 500, "Internal error"},
    Entry{"overloaded", 503, "The service is overloaded"},
    Entry{"unavailable", 503, "The service is unavailable"},
    Entry{"position_not_reached", 503, "The read tables have not reached that position yet"},
    Entry{"too_many_connections", 503, "Too many connections"},
    Entry{"too_many_streams", 503, "Too many open streams"},
};

}  // namespace

Problem MakeProblem(std::string_view name, std::string detail) {
  for (const Entry& e : kProblems) {
    if (e.name == name) {
      Problem p;
      p.name = std::string(e.name);
      p.status = e.status;
      p.title = std::string(e.title);
      p.detail = std::move(detail);
      return p;
    }
  }
  LEDGER_CHECK(false, "problem names come from the table in problem.cc");
  return {};
}

std::string ProblemType(std::string_view name) {
  return "urn:funding-ledger:problem:" + std::string(name);
}

Response ToResponse(const Problem& problem, std::string_view path, std::string_view request_id) {
  JsonWriter w;
  w.StartObject();
  w.Member("type", ProblemType(problem.name));
  w.Member("title", problem.title);
  w.Member("status", problem.status);
  w.Member("detail", problem.detail);
  w.Member("instance", path);
  w.Member("request_id", request_id);
  if (!problem.errors.empty()) {
    w.Key("errors");
    w.StartArray();
    for (const FieldError& e : problem.errors) {
      w.StartObject();
      if (!e.pointer.empty() || e.parameter.empty()) {
        w.Member("pointer", e.pointer);
      } else {
        w.Member("parameter", e.parameter);
      }
      w.Member("detail", e.detail);
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  Response r;
  r.status = problem.status;
  r.content_type = "application/problem+json";
  r.body = std::move(w).Take();
  r.headers = problem.headers;
  r.close = problem.close;
  return r;
}

const std::vector<std::string_view>& ProblemNames() {
  static const std::vector<std::string_view> kNames = [] {
    std::vector<std::string_view> names;
    names.reserve(kProblems.size());
    for (const Entry& e : kProblems) names.push_back(e.name);
    return names;
  }();
  return kNames;
}

}  // namespace ledger::http
