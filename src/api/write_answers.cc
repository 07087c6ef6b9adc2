#include "api/write_answers.h"

#include <optional>
#include <variant>
#include <vector>

#include "api/answers.h"
#include "api/json_out.h"
#include "api/post_detail.h"
#include "api/rejections.h"
#include "http/problem.h"

namespace ledger::api {

using http::MakeProblem;
using http::Problem;
using http::Response;
using http::ToResponse;

namespace {

projections::PostDetail DetailOf(const commands::PostState& p, const ApiContext& c) {
  return DetailAt(p, *c.time_zone, c.clock->Now());
}

// The answer to an accepted write (off the completion thread when
// AnswerMayRead).
Response AcceptedAnswer(const ApiContext& c, const commands::Sequencer& sequencer,
                        const WriteRequest& w, WriteKind kind,
                        const commands::CommandResult& result) {
  const commands::CommandOutcome& o = result.outcome;
  const int64_t position = o.last_position;
  Response r;
  switch (kind) {
    case WriteKind::kCreate: {
      std::vector<projections::PostDetail> posts;
      for (size_t i = 0; i < w.posts_created; ++i) {
        const auto state = sequencer.FindPost(o.post_id + static_cast<int64_t>(i));
        if (!state) {
          return ToResponse(MakeProblem("internal", "a created post is missing"), w.path,
                            w.request_id);
        }
        posts.push_back(DetailOf(*state, c));
      }
      if (!w.create_array) {
        r = Json(201, PostJson(posts.front(), position));
        r.headers.emplace_back("ETag", ETag(posts.front().version));
      } else {
        r = Json(201, PostsArrayJson(posts, position));
      }
      r.headers.emplace_back("Location", "/api/posts/" + std::to_string(o.post_id));
      break;
    }
    case WriteKind::kEdit: {
      const auto state = sequencer.FindPost(o.post_id);
      if (!state) {
        return ToResponse(MakeProblem("internal", "an edited post is missing"), w.path,
                          w.request_id);
      }
      const projections::PostDetail detail = DetailOf(*state, c);
      r = Json(200, PostJson(detail, position));
      r.headers.emplace_back("ETag", ETag(detail.version));
      break;
    }
    case WriteKind::kDelete:
    case WriteKind::kCancel:
      r.status = 204;
      break;
    case WriteKind::kFund: {
      // Decided now, the funding came with the result; a replay reads it
      // back from the log.
      std::optional<events::PostFunded> funded = result.funded;
      if (!funded) {
        const Result<events::Event> written = events::ReadEvent(*c.log, position);
        const auto* read = written.ok() ? std::get_if<events::PostFunded>(&written->data) : nullptr;
        if (read != nullptr) funded = *read;
      }
      if (!funded) {
        return ToResponse(
            RetryLater("unavailable", "the funding was recorded at position " +
                                          std::to_string(position) + " but could not be read back"),
            w.path, w.request_id);
      }
      r = Json(201,
               FundingJson(o.post_id, funded->backer, funded->units, funded->amount, position));
      break;
    }
  }
  r.headers.emplace_back("X-Ledger-Position", std::to_string(position));
  return r;
}

}  // namespace

bool AnswerMayRead(WriteKind kind, const commands::CommandResult& result) {
  if (result.status != commands::CommandStatus::kAccepted) return false;
  switch (kind) {
    case WriteKind::kCreate:
    case WriteKind::kEdit:
      return true;
    case WriteKind::kFund:
      return !result.funded.has_value();
    case WriteKind::kDelete:
    case WriteKind::kCancel:
      return false;
  }
  return true;
}

Response WriteAnswer(const ApiContext& c, const commands::Sequencer& sequencer,
                     const WriteRequest& w, WriteKind kind, const commands::CommandResult& result) {
  Response r;
  switch (result.status) {
    case commands::CommandStatus::kAccepted:
      r = AcceptedAnswer(c, sequencer, w, kind, result);
      break;
    case commands::CommandStatus::kRejected:
      r = ToResponse(ProblemForRejection(result.outcome.rejection), w.path, w.request_id);
      break;
    case commands::CommandStatus::kIdempotencyMismatch:
      r = ToResponse(MakeProblem("idempotency_key_reused",
                                 "this Idempotency-Key was used for a different request"),
                     w.path, w.request_id);
      break;
    case commands::CommandStatus::kIdempotencyInFlight:
      r = ToResponse(MakeProblem("idempotency_key_in_flight",
                                 "the first request with this Idempotency-Key is in progress"),
                     w.path, w.request_id);
      break;
    case commands::CommandStatus::kOverloaded:
      r = ToResponse(RetryLater("overloaded", "too many commands are waiting; retry shortly"),
                     w.path, w.request_id);
      break;
    case commands::CommandStatus::kUnavailable:
      r = ToResponse(RetryLater("unavailable", "the log cannot be written: " +
                                                   std::string(result.error.message())),
                     w.path, w.request_id);
      break;
    case commands::CommandStatus::kInvalid: {
      Problem p = MakeProblem("invalid_parameter", std::string(result.error.message()));
      r = ToResponse(p, w.path, w.request_id);
      break;
    }
  }
  if (result.replayed) r.headers.emplace_back("Idempotent-Replayed", "true");
  r.headers.insert(r.headers.end(), w.rate_fields.begin(), w.rate_fields.end());
  return r;
}

}  // namespace ledger::api
