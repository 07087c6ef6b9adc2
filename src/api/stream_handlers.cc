#include "api/stream_handlers.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api/answers.h"
#include "api/json_out.h"
#include "api/query_params.h"
#include "api/read_support.h"
#include "api/request_parts.h"
#include "api/stream_frames.h"
#include "api/stream_hub.h"
#include "http/problem.h"

namespace ledger::api {
namespace {

// Where a stream starts: Last-Event-ID (an EventSource reconnecting) wins
// over `after` (the URL it first opened keeps it), and without either the
// stream starts at the head: only what happens from now on.
Result<int64_t, http::Problem> StartAfter(const ApiContext& c, const http::Request& request) {
  const auto after = ParseStreamQuery(request.query);
  if (!after.ok()) return after.error();
  if (const std::optional<std::string_view> last = request.Header("last-event-id")) {
    const std::optional<int64_t> position = ParseNonNegativeDecimal(*last);
    if (!position) {
      return InvalidParameter("Last-Event-ID",
                              "Last-Event-ID must be a log position: a decimal integer >= 0");
    }
    return *position;
  }
  if (*after) return **after;
  return c.log->Head().position;
}

http::Response StreamAnswer(const ApiContext& c, const http::Request& request,
                            std::shared_ptr<http::StreamSource> source) {
  if (source == nullptr) {
    return ProblemAnswer(request, RetryLater("too_many_streams",
                                             "the server is at its limit of " +
                                                 std::to_string(c.streams->options().max_streams) +
                                                 " open streams"));
  }
  http::Response response;
  response.status = 200;
  response.content_type = "text/event-stream; charset=utf-8";
  response.headers.emplace_back("Cache-Control", "no-store");
  // nginx and its kind would otherwise hold frames back to fill a buffer.
  response.headers.emplace_back("X-Accel-Buffering", "no");
  response.stream = std::move(source);
  response.heartbeat = c.streams->options().heartbeat;
  return response;
}

// The post's figures now (or that it was deleted), for the stream's first
// frame; nullopt with `answer` set when the read failed.
std::optional<std::string> OpeningFigures(const ApiContext& c, const http::Request& request,
                                          int64_t id, http::Response& answer) {
  // Read before the post, so the tables hold at least this position.
  const int64_t position = std::max<int64_t>(c.projector->position(), 0);
  const auto detail = c.queries->Detail(id, c.clock->Now());
  if (!detail.ok()) {
    answer = ReadFailure(request, detail.status());
    return std::nullopt;
  }
  if (!detail->has_value()) return DeletedFiguresJson(id, position);
  return PostJson(**detail, position);
}

// On a worker: the post's first event, so that its figures are read only
// once the tables hold at least its creation; nullopt with `answer` set for
// a post that never existed or a failed read.
std::optional<int64_t> CreatedAt(const ApiContext& c, const http::Request& request, int64_t id,
                                 http::Response& answer) {
  std::vector<events::Event> first;
  if (const Status s = events::ReadStream(*c.log, id, 1, 1, &first); !s.ok()) {
    answer = ReadFailure(request, s);
    return std::nullopt;
  }
  if (first.empty()) {
    answer = ProblemAnswer(request, NoSuchPost());
    return std::nullopt;
  }
  return first.front().position;
}

}  // namespace

void EventsStream(const ApiContext& c, const http::Request& request, const http::Respond& respond) {
  const auto after = StartAfter(c, request);
  if (Refused(after, request, respond)) return;
  respond(StreamAnswer(c, request, c.streams->Open(0, *after, std::nullopt)));
}

void PostStream(const ApiContext& c, const http::Request& request, const http::Respond& respond) {
  const auto id = PostId(request);
  if (Refused(id, request, respond)) return;
  const auto after = StartAfter(c, request);
  if (Refused(after, request, respond)) return;
  // The figures come from the read tables; a post created a moment ago may
  // not be in them yet (nor, just after a start, the tables themselves).
  const auto open = [&c, request, respond, id = *id, after = *after](bool reached) {
    if (!reached) {
      respond(ProblemAnswer(request, RetryLater("position_not_reached",
                                                "the read tables did not reach the post's "
                                                "creation within " +
                                                    std::to_string(c.read_wait.count()) + " ms")));
      return;
    }
    RunOnWorker(c, request.path, request.request_id, respond, [&c, request, id, after] {
      http::Response answer;
      std::optional<std::string> figures = OpeningFigures(c, request, id, answer);
      if (!figures) return answer;
      return StreamAnswer(c, request, c.streams->Open(id, after, std::move(figures)));
    });
  };
  SubmitRead(c, request.path, request.request_id, respond, [&c, request, respond, id = *id, open] {
    http::Response answer;
    const std::optional<int64_t> created = CreatedAt(c, request, id, answer);
    if (!created) {
      respond(std::move(answer));
      return;
    }
    c.waiter->Wait(*created, c.read_wait, open);
  });
}

}  // namespace ledger::api
