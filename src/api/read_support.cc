#include "api/read_support.h"

#include <string>
#include <utility>

#include "api/answers.h"
#include "http/problem.h"

namespace ledger::api {

void RunOnWorker(const ApiContext& c, std::string_view request_path, std::string_view request_id,
                 const http::Respond& respond, std::function<http::Response()> work) {
  const bool queued = c.workers->TrySubmit([respond, work = std::move(work)] { respond(work()); });
  if (!queued) {
    respond(http::ToResponse(RetryLater("overloaded", "too many reads are waiting; retry shortly"),
                             request_path, request_id));
  }
}

http::Response ReadFailure(const http::Request& request, const Status& status) {
  if (status.code() == Status::Code::kInvalidArgument) {
    return ProblemAnswer(request,
                         http::MakeProblem("invalid_parameter", std::string(status.message())));
  }
  if (status.code() == Status::Code::kUnavailable || status.code() == Status::Code::kIOError) {
    return ProblemAnswer(request, RetryLater("unavailable", std::string(status.message())));
  }
  return ProblemAnswer(request, http::MakeProblem("internal", std::string(status.message())));
}

}  // namespace ledger::api
