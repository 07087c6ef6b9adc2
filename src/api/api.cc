#include "api/api.h"

#include <charconv>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "api/json_body.h"
#include "api/json_out.h"
#include "api/jwt.h"
#include "api/post_as_of.h"
#include "api/query_params.h"
#include "api/rejections.h"
#include "api/service_metrics.h"
#include "common/ascii.h"
#include "common/json_writer.h"
#include "events/chain.h"
#include "events/codec.h"
#include "http/metrics.h"
#include "http/problem.h"

namespace ledger::api {

using http::MakeProblem;
using http::Problem;
using http::Request;
using http::Respond;
using http::Response;
using http::Router;
using http::ToResponse;
namespace {

constexpr std::string_view kJson = "application/json";
// Seconds a client should wait before retrying a 503.
constexpr std::string_view kRetryAfterSeconds = "1";
// An as-of answer is the same for ever (docs/api.md): any cache may keep it
// for a year, HTTP's longest conventional freshness, and need not revalidate.
constexpr std::string_view kImmutableCacheControl = "public, max-age=31536000, immutable";

// What a write's answer needs of its request once the sequencer is done.
struct WriteRequest {
  std::string path;
  std::string request_id;
  size_t posts_created = 0;   // create: how many
  bool create_array = false;  // create: the client sent an array
};

enum class WriteKind { kCreate, kEdit, kDelete, kFund };

Response Json(int status, std::string body) {
  Response r;
  r.status = status;
  r.content_type = std::string(kJson);
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

// Answers the problem of a failed `result` and returns true; returns false
// when it holds a value. The one way a handler turns a failed parse or check
// into its answer:
//   auto body = ParseFundBody(request.body);
//   if (Refused(body, request, respond)) return;
template <typename T>
bool Refused(const Result<T, Problem>& result, const Request& request, const Respond& respond) {
  if (result.ok()) return false;
  respond(ProblemAnswer(request, result.error()));
  return true;
}

Problem NoSuchPost() { return MakeProblem("not_found", "no such post"); }

// The post id of the path: decimal, 1..int64 max. Anything else names no
// post (404), like an unknown path.
Result<int64_t, Problem> PostId(const Request& request) {
  const std::optional<std::string_view> text = request.PathParam("id");
  if (!text || text->empty() || text->size() > 19) return NoSuchPost();
  int64_t id = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), id);
  if (ec != std::errc() || end != text->data() + text->size() || id < 1) return NoSuchPost();
  return id;
}

bool IsJsonContentType(std::optional<std::string_view> value) {
  if (!value) return false;
  if (!StartsWithIgnoreAsciiCase(*value, kJson)) return false;
  const std::string_view rest = value->substr(kJson.size());
  return rest.empty() || rest.front() == ';' || rest.front() == ' ';
}

// A body must be declared JSON; `optional_body`: an empty body needs no type.
Result<void, Problem> CheckContentType(const Request& request, bool optional_body) {
  if (optional_body && request.body.empty()) return {};
  if (IsJsonContentType(request.Header("content-type"))) return {};
  return MakeProblem("unsupported_media_type", "send the body as Content-Type: application/json");
}

// The detail of `p` with d_day and status as they are at `now`.
projections::PostDetail DetailAt(const commands::PostState& p, const TimeZone& zone,
                                 Timestamp now) {
  projections::PostDetail d;
  d.summary.id = p.id;
  d.summary.title = p.title;
  d.summary.uploader = p.uploader;
  d.summary.total_funded = p.total_funded;
  d.summary.achievement_rate = projections::AchievementRate(p.total_funded, p.target_amount);
  d.summary.d_day = projections::DaysUntil(p.end_date, zone.LocalDate(now));
  d.summary.status = projections::StatusAt(p.closes_at, p.total_funded, p.target_amount, now);
  d.description = p.description;
  d.target_amount = p.target_amount;
  d.funding_unit = p.funding_unit;
  d.end_date = p.end_date;
  d.participant_count = p.participant_count();
  d.created_at = p.created_at;
  d.version = p.version;
  return d;
}

projections::PostDetail DetailOf(const commands::PostState& p, const ApiContext& c) {
  return DetailAt(p, *c.time_zone, c.clock->Now());
}

std::string ReadinessJson(bool ready, int64_t log_position, int64_t projector_position,
                          const std::vector<std::string>& problems) {
  JsonWriter w;
  w.StartObject();
  w.Member("status", ready ? "ready" : "not_ready");
  w.Member("log_position", log_position);
  w.Member("projector_position", projector_position);
  w.Key("problems").StartArray();
  for (const std::string& p : problems) w.String(p);
  w.EndArray();
  w.EndObject();
  return std::move(w).Take();
}

std::string ETag(int64_t version) { return "\"" + std::to_string(version) + "\""; }

// The answer to an accepted write, built off the completion thread.
Response AcceptedAnswer(const ApiContext& c, const WriteRequest& w, WriteKind kind,
                        const commands::CommandOutcome& o) {
  const int64_t position = o.last_position;
  Response r;
  switch (kind) {
    case WriteKind::kCreate: {
      std::vector<projections::PostDetail> posts;
      for (size_t i = 0; i < w.posts_created; ++i) {
        const auto state = c.sequencer->FindPost(o.post_id + static_cast<int64_t>(i));
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
      const auto state = c.sequencer->FindPost(o.post_id);
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
      r.status = 204;
      break;
    case WriteKind::kFund: {
      std::vector<events::Event> written;
      const Status read = events::ReadEvents(*c.log, position, position, 1, &written);
      const events::PostFunded* funded =
          written.size() == 1 ? std::get_if<events::PostFunded>(&written.front().data) : nullptr;
      if (!read.ok() || funded == nullptr) {
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

Response WriteAnswer(const ApiContext& c, const WriteRequest& w, WriteKind kind,
                     const commands::CommandResult& result) {
  Response r;
  switch (result.status) {
    case commands::CommandStatus::kAccepted:
      r = AcceptedAnswer(c, w, kind, result.outcome);
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
  return r;
}

// The caller's verified token (401 unauthorized when there is none).
Result<TokenClaims, Problem> Authenticate(const ApiContext& c, const Request& request) {
  return VerifyBearer(request.Header("authorization"), c.jwt_secret, c.clock->Now());
}

void Submit(const ApiContext& c, const Request& request, Respond respond, commands::Command command,
            std::string actor, std::string idempotency_key, WriteKind kind) {
  WriteRequest w{request.path, request.request_id, 0, false};
  if (const auto* create = std::get_if<commands::CreatePosts>(&command)) {
    w.posts_created = create->posts.size();
    w.create_array = create->as_array;
  }
  commands::Submission submission{std::move(command), std::move(actor), request.request_id,
                                  std::move(idempotency_key)};
  const ApiContext* context = &c;
  c.sequencer->Submit(std::move(submission),
                      [context, w = std::move(w), kind,
                       respond = std::move(respond)](commands::CommandResult result) mutable {
                        // The completion thread answers every writer in turn: the answer,
                        // which may read the log and copy a post, is built elsewhere.
                        auto answer = [context, w, kind, respond, result = std::move(result)] {
                          respond(WriteAnswer(*context, w, kind, result));
                        };
                        if (!context->answers->TrySubmit(answer)) answer();
                      });
}

// Runs `work` on a worker thread. A full worker queue answers 503.
void RunOnWorker(const ApiContext& c, std::string_view request_path, std::string_view request_id,
                 const Respond& respond, std::function<Response()> work) {
  const bool queued = c.workers->TrySubmit([respond, work = std::move(work)] { respond(work()); });
  if (!queued) {
    respond(ToResponse(RetryLater("overloaded", "too many reads are waiting; retry shortly"),
                       request_path, request_id));
  }
}

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

// A read's failure: bad client input is 400; the database being away, or
// the log's storage failing a read (RocksDB's I/O errors), 503; anything else
// (a log that is corrupt) 500.
Response ReadFailure(const Request& request, const Status& status) {
  if (status.code() == Status::Code::kInvalidArgument) {
    return ProblemAnswer(request, MakeProblem("invalid_parameter", std::string(status.message())));
  }
  if (status.code() == Status::Code::kUnavailable || status.code() == Status::Code::kIOError) {
    return ProblemAnswer(request, RetryLater("unavailable", std::string(status.message())));
  }
  return ProblemAnswer(request, MakeProblem("internal", std::string(status.message())));
}

// ---- handlers -------------------------------------------------------------

void CreatePosts(const ApiContext& c, const Request& request, const Respond& respond) {
  if (Refused(CheckContentType(request, false), request, respond)) return;
  const auto claims = Authenticate(c, request);
  if (Refused(claims, request, respond)) return;
  auto key = ParseIdempotencyKey(request.Header("idempotency-key"));
  if (Refused(key, request, respond)) return;
  auto parsed = ParseCreateBody(request.body);
  if (Refused(parsed, request, respond)) return;
  Submit(c, request, respond, std::move(parsed).value(), claims->sub,
         std::move(key).value().value_or(""), WriteKind::kCreate);
}

void EditPost(const ApiContext& c, const Request& request, const Respond& respond) {
  const auto id = PostId(request);
  if (Refused(id, request, respond)) return;
  if (Refused(CheckContentType(request, false), request, respond)) return;
  const auto claims = Authenticate(c, request);
  if (Refused(claims, request, respond)) return;
  const auto expected = ParseIfMatch(request.Header("if-match"));
  if (Refused(expected, request, respond)) return;
  auto parsed = ParseEditBody(request.body);
  if (Refused(parsed, request, respond)) return;
  commands::EditPost edit = std::move(parsed).value();
  edit.post_id = *id;
  edit.expected_version = *expected;
  Submit(c, request, respond, std::move(edit), claims->sub, "", WriteKind::kEdit);
}

void DeletePost(const ApiContext& c, const Request& request, const Respond& respond) {
  const auto id = PostId(request);
  if (Refused(id, request, respond)) return;
  const auto claims = Authenticate(c, request);
  if (Refused(claims, request, respond)) return;
  const auto expected = ParseIfMatch(request.Header("if-match"));
  if (Refused(expected, request, respond)) return;
  commands::DeletePost del;
  del.post_id = *id;
  del.expected_version = *expected;
  Submit(c, request, respond, del, claims->sub, "", WriteKind::kDelete);
}

void FundPost(const ApiContext& c, const Request& request, const Respond& respond) {
  const auto id = PostId(request);
  if (Refused(id, request, respond)) return;
  if (Refused(CheckContentType(request, true), request, respond)) return;
  const auto claims = Authenticate(c, request);
  if (Refused(claims, request, respond)) return;
  auto key = ParseIdempotencyKey(request.Header("idempotency-key"));
  if (Refused(key, request, respond)) return;
  auto parsed = ParseFundBody(request.body);
  if (Refused(parsed, request, respond)) return;
  commands::FundPost fund = std::move(parsed).value();
  fund.post_id = *id;
  Submit(c, request, respond, fund, claims->sub, std::move(key).value().value_or(""),
         WriteKind::kFund);
}

void ListPosts(const ApiContext& c, const Request& request, const Respond& respond) {
  auto parsed = ParseListQuery(request.query);
  if (Refused(parsed, request, respond)) return;
  Read(c, request, respond, [&c, request, list = std::move(parsed).value()] {
    const Result<projections::PostPage> page = c.queries->List(list, c.clock->Now());
    if (!page.ok()) return ReadFailure(request, page.status());
    return Json(200, PageJson(*page));
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
  const Result<commands::PostState> post = FoldPostTo(*c.log, id, as_of);
  if (!post.ok()) return ReadFailure(request, post.status());
  // A deleted post reads as not found, as on a detail read of the tables.
  if (!post->exists() || post->deleted) return ProblemAnswer(request, NoSuchPost());
  const Result<Timestamp> at = RecordedAt(*c.log, as_of);
  if (!at.ok()) return ReadFailure(request, at.status());
  const projections::PostDetail detail = DetailAt(*post, *c.time_zone, *at);
  Response r = Json(200, PostJson(detail, std::nullopt));
  r.headers.emplace_back("ETag", ETag(detail.version));
  r.headers.emplace_back("X-Ledger-Position", std::to_string(as_of));
  r.headers.emplace_back("Cache-Control", std::string(kImmutableCacheControl));
  return r;
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

void Head(const ApiContext& c, const Request& /*request*/, const Respond& respond) {
  respond(Json(200, events::EncodeHeadJson(c.log->Head())));
}

void Ready(const ApiContext& c, const Request& /*request*/, const Respond& respond) {
  const int64_t head = c.log->Head().position;
  const int64_t position = c.projector->position();
  const std::vector<std::string> problems = ReadinessProblems(c);
  respond(Json(problems.empty() ? 200 : 503,
               ReadinessJson(problems.empty(), head, position, problems)));
}

}  // namespace

std::vector<std::string> ReadinessProblems(const ApiContext& c) {
  const int64_t head = c.log->Head().position;
  const int64_t position = c.projector->position();
  std::vector<std::string> problems;
  if (const Status failed = c.projector->failure(); !failed.ok()) {
    problems.push_back("projector stopped: " + std::string(failed.message()));
  }
  if (const Status err = c.projector->last_error(); !err.ok()) {
    problems.push_back("database: " + std::string(err.message()));
  }
  if (position < 0) {
    problems.emplace_back("projector has not reached the database yet");
  } else if (head - position > c.ready_max_lag_events) {
    problems.push_back("projector is " + std::to_string(head - position) + " events behind");
  }
  return problems;
}

void AddApiRoutes(const ApiContext* context, Router& router) {
  const ApiContext& c = *context;
  const auto bind = [&c](void (*fn)(const ApiContext&, const Request&, const Respond&)) {
    return [&c, fn](const Request& request, const Respond& respond) { fn(c, request, respond); };
  };
  router.Add("POST", "/api/posts", bind(CreatePosts));
  router.Add("GET", "/api/posts", bind(ListPosts));
  router.Add("GET", "/api/posts/{id}", bind(GetPost));
  router.Add("PATCH", "/api/posts/{id}", bind(EditPost));
  router.Add("DELETE", "/api/posts/{id}", bind(DeletePost));
  router.Add("POST", "/api/posts/{id}/fundings", bind(FundPost));
  router.Add("GET", "/api/posts/{id}/events", bind(PostEvents));
  router.Add("GET", "/api/events", bind(GlobalEvents));
  router.Add("GET", "/api/ledger/head", bind(Head));
  router.Add("GET", "/healthz", [](const Request& /*request*/, const Respond& respond) {
    respond(Json(200, "{\"status\":\"ok\"}"));
  });
  router.Add("GET", "/readyz", bind(Ready));
  router.Add("GET", "/openapi.json", [](const Request& /*request*/, const Respond& respond) {
    respond(Json(200, std::string(OpenApiDocument())));
  });
  if (c.http_metrics != nullptr) {
    // Collected on the I/O thread: atomics, one read of a recent (cached)
    // event for the projector's lag, and /proc. Queued behind the query
    // workers it would go dark exactly when they are saturated.
    router.Add("GET", "/metrics", [&c](const Request& /*request*/, const Respond& respond) {
      Response r;
      r.status = 200;
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      r.body = c.http_metrics->Expose(ServiceFamilies(c));
      respond(std::move(r));
    });
  }
}

}  // namespace ledger::api
