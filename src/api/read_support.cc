#include "api/read_support.h"

#include <string>
#include <utility>

#include "api/answers.h"
#include "http/problem.h"

namespace ledger::api {

void SubmitRead(const ApiContext& c, std::string_view request_path, std::string_view request_id,
                const http::Respond& respond, std::function<void()> job) {
  if (!c.workers->TrySubmit(std::move(job))) {
    respond(http::ToResponse(RetryLater("overloaded", "too many reads are waiting; retry shortly"),
                             request_path, request_id));
  }
}

void RunOnWorker(const ApiContext& c, std::string_view request_path, std::string_view request_id,
                 const http::Respond& respond, std::function<http::Response()> work) {
  SubmitRead(c, request_path, request_id, respond,
             [respond, work = std::move(work)] { respond(work()); });
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
