#include "api/read_handlers.h"

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api/answers.h"
#include "api/json_out.h"
#include "api/jwt.h"
#include "api/post_detail.h"
#include "api/query_params.h"
#include "api/read_support.h"
#include "api/request_parts.h"
#include "commands/fold.h"
#include "http/problem.h"

namespace ledger::api {

using http::MakeProblem;
using http::Request;
using http::Respond;
using http::Response;
using http::ToResponse;

namespace {

// An as-of answer is the same for ever (docs/api.md): any cache may keep it
// for a year, HTTP's longest conventional freshness, and need not revalidate.
constexpr std::string_view kImmutableCacheControl = "public, max-age=31536000, immutable";

// Runs `work` on a worker thread, after waiting for X-Min-Position if the
// request asks for it. A full worker queue answers 503.
void Read(const ApiContext& c, const Request& request, const Respond& respond,
          std::function<Response()> work) {
  const auto run = [&c, request_path = request.path, request_id = request.request_id, respond,
                    work = std::move(work)]() {
    RunOnWorker(c, request_path, request_id, respond, work);
  };
  const auto min_position = ParseMinPosition(request.Header("x-min-position"));
  if (Refused(min_position, request, respond)) return;
  const std::optional<int64_t> target = *min_position;
  if (!target) {
    run();
    return;
  }
  c.waiter->Wait(*target, c.read_wait,
                 [run, respond, path = request.path, id = request.request_id,
                  wait_ms = c.read_wait.count(), target = *target](bool reached) {
                   if (reached) {
                     run();
                     return;
                   }
                   respond(ToResponse(RetryLater("position_not_reached",
                                                 "the read tables did not reach position " +
                                                     std::to_string(target) + " within " +
                                                     std::to_string(wait_ms) + " ms"),
                                      path, id));
                 });
}

// GET /api/posts/{id}?as_of=N on a worker: the post folded from the log up
// to position N, its time-dependent fields as of that event's recorded_at.
Response PostAsOfAnswer(const ApiContext& c, const Request& request, int64_t id, int64_t as_of) {
  // Positions past the head could still be written: no final answer yet.
  const int64_t head = c.log->Head().position;
  if (as_of > head) {
    return ProblemAnswer(
        request, InvalidParameter("as_of", "as_of " + std::to_string(as_of) +
                                               " is past the log head " + std::to_string(head)));
  }
  const Result<commands::PostState> post = commands::FoldPostStream(*c.log, id, as_of);
  if (!post.ok()) return ReadFailure(request, post.status());
  // A deleted post reads as not found, as on a detail read of the tables.
  if (!post->exists() || post->deleted) return ProblemAnswer(request, NoSuchPost());
  // d_day and status as of that event's own time, so the answer never changes.
  const Result<events::Event> at = events::ReadEvent(*c.log, as_of);
  if (!at.ok()) return ReadFailure(request, at.status());
  const projections::PostDetail detail = DetailAt(*post, *c.time_zone, at->recorded_at);
  Response r = Json(200, PostJson(detail, std::nullopt));
  r.headers.emplace_back("ETag", ETag(detail.version));
  r.headers.emplace_back("X-Ledger-Position", std::to_string(as_of));
  r.headers.emplace_back("Cache-Control", std::string(kImmutableCacheControl));
  return r;
}

}  // namespace

void ListPosts(const ApiContext& c, const Request& request, const Respond& respond) {
  auto parsed = ParseListQuery(request.query);
  if (Refused(parsed, request, respond)) return;
  Read(c, request, respond, [&c, request, list = std::move(parsed).value()] {
    const Result<projections::PostPage> page = c.queries->List(list, c.clock->Now());
    if (!page.ok()) return ReadFailure(request, page.status());
    return Json(200, PageJson(*page));
  });
}

void GetPost(const ApiContext& c, const Request& request, const Respond& respond) {
  const auto id = PostId(request);
  if (Refused(id, request, respond)) return;
  const auto query = ParseDetailQuery(request.query);
  if (Refused(query, request, respond)) return;
  if (const std::optional<int64_t> as_of = *query) {
    // The log already holds every position up to its head, so there is
    // nothing to wait for: X-Min-Position is checked for form, as on every
    // read, and otherwise ignored.
    if (Refused(ParseMinPosition(request.Header("x-min-position")), request, respond)) return;
    RunOnWorker(
        c, request.path, request.request_id, respond,
        [&c, request, id = *id, as_of = *as_of] { return PostAsOfAnswer(c, request, id, as_of); });
    return;
  }
  Read(c, request, respond, [&c, request, id = *id] {
    const auto detail = c.queries->Detail(id, c.clock->Now());
    if (!detail.ok()) return ReadFailure(request, detail.status());
    if (!detail->has_value()) return ProblemAnswer(request, NoSuchPost());
    Response r = Json(200, PostJson(**detail, std::nullopt));
    r.headers.emplace_back("ETag", ETag((*detail)->version));
    return r;
  });
}

void MyFundings(const ApiContext& c, const Request& request, const Respond& respond) {
  const auto claims =
      c.tokens->Verify(request.Header("authorization"), c.jwt_secret, c.clock->Now());
  if (Refused(claims, request, respond)) return;
  auto page_request = ParsePageQuery(request.query);
  if (Refused(page_request, request, respond)) return;
  Read(c, request, respond,
       [&c, request, backer = claims->sub, page_request = std::move(page_request).value()] {
         const Result<projections::FundingPage> page =
             c.queries->BackerFundings(backer, page_request);
         if (!page.ok()) return ReadFailure(request, page.status());
         return Json(200, FundingsPageJson(*page));
       });
}

void PostBackers(const ApiContext& c, const Request& request, const Respond& respond) {
  const auto id = PostId(request);
  if (Refused(id, request, respond)) return;
  const auto claims =
      c.tokens->Verify(request.Header("authorization"), c.jwt_secret, c.clock->Now());
  if (Refused(claims, request, respond)) return;
  auto page_request = ParsePageQuery(request.query);
  if (Refused(page_request, request, respond)) return;
  Read(c, request, respond,
       [&c, request, id = *id, caller = claims->sub,
        page_request = std::move(page_request).value()] {
         const auto page = c.queries->PostBackers(id, page_request);
         if (!page.ok()) return ReadFailure(request, page.status());
         if (!page->has_value()) return ProblemAnswer(request, NoSuchPost());
         // Who backed a post, and with how much, is the owner's business.
         if ((*page)->owner != caller) {
           // "forbidden" with the reason first in the detail, as the
           // write rejections of 403 say it.
           return ProblemAnswer(
               request,
               MakeProblem("forbidden", "not_owner: only the post's owner may see its backers"));
         }
         return Json(200, BackersPageJson(**page));
       });
}

void PostEvents(const ApiContext& c, const Request& request, const Respond& respond) {
  const auto id = PostId(request);
  if (Refused(id, request, respond)) return;
  const auto parsed = ParseEventsQuery(request.query);
  if (Refused(parsed, request, respond)) return;
  const EventsQuery query = *parsed;
  Read(c, request, respond, [&c, request, id = *id, query] {
    std::vector<events::Event> found;
    if (const Status s = events::ReadStream(*c.log, id, query.after + 1,
                                            static_cast<size_t>(query.limit), &found);
        !s.ok()) {
      return ReadFailure(request, s);
    }
    if (found.empty()) {
      std::vector<events::Event> first;
      if (const Status s = events::ReadStream(*c.log, id, 1, 1, &first); !s.ok()) {
        return ReadFailure(request, s);
      }
      if (first.empty()) return ProblemAnswer(request, NoSuchPost());
      return Json(200, EventsPageJson(found, std::nullopt));
    }
    return Json(200, EventsPageJson(found, found.back().stream_version));
  });
}

void GlobalEvents(const ApiContext& c, const Request& request, const Respond& respond) {
  const auto parsed = ParseEventsQuery(request.query);
  if (Refused(parsed, request, respond)) return;
  const EventsQuery query = *parsed;
  Read(c, request, respond, [&c, request, query] {
    std::vector<events::Event> found;
    const int64_t head = c.log->Head().position;
    if (query.after < head) {
      if (const Status s = events::ReadEvents(*c.log, query.after + 1, head,
                                              static_cast<size_t>(query.limit), &found);
          !s.ok()) {
        return ReadFailure(request, s);
      }
    }
    return Json(200, EventsPageJson(found, found.empty() ? query.after : found.back().position));
  });
}

}  // namespace ledger::api
