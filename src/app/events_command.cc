#include <algorithm>
#include <chrono>
#include <optional>
#include <ostream>
#include <thread>

#include "app/command_support.h"
#include "app/event_filter.h"
#include "app/interrupt.h"
#include "app/subcommands.h"
#include "app/tool_stores.h"
#include "events/codec.h"

namespace ledger::app {
namespace {

// Events read from the log per call while printing.
constexpr size_t kEventsChunk = 1'024;
// How often `events --follow` looks for new events once it has caught up.
constexpr std::chrono::milliseconds kFollowPollInterval{200};
// The sleep between two looks is cut into steps this long, so that an
// interrupt is seen promptly.
constexpr std::chrono::milliseconds kFollowSleepStep{20};

struct EventsRun {
  events::EventLog& log;
  const EventFilter& filter;
  EventFormat format;
  std::ostream& out;

  void Print(const events::Event& e) const {
    if (!filter.Matches(e)) return;
    out << (format == EventFormat::kNdjson ? events::EncodeEnvelopeJson(e) : TableRow(e)) << '\n';
  }

  // Prints the events of the whole log from *next up to `last`; *next moves
  // past what was printed.
  Status PrintRange(int64_t* next, int64_t last, std::optional<events::LogHead>* previous) const {
    std::vector<events::Event> chunk;
    while (*next <= last && !StopRequested()) {
      chunk.clear();
      // Events decoded before a bad one are printed first, so the output
      // stops exactly where the log breaks.
      const Status read = events::ReadEvents(log, *next, last, kEventsChunk, &chunk);
      if (read.ok() && (chunk.empty() || chunk.front().position != *next)) {
        return Status::Corruption("event at position " + std::to_string(*next) + " is missing");
      }
      for (const events::Event& e : chunk) {
        // Continuity with the event before, once one was read.
        if (*previous) LEDGER_RETURN_IF_ERROR(events::CheckFollows(**previous, e));
        *previous = events::LogHead{e.position, e.hash};
        Print(e);
        *next = e.position + 1;
      }
      out.flush();
      LEDGER_RETURN_IF_ERROR(read);
    }
    return Status::Ok();
  }

  // Prints the events of one post from *version on, up to position `last`;
  // sets *past_to once an event beyond filter.to was seen.
  Status PrintStream(int64_t* version, int64_t last, bool* past_to) const {
    std::vector<events::Event> chunk;
    while (!StopRequested()) {
      chunk.clear();
      LEDGER_RETURN_IF_ERROR(events::ReadStream(log, *filter.post, *version, kEventsChunk, &chunk));
      for (const events::Event& e : chunk) {
        if (e.position > last) return Status::Ok();  // not reached yet
        if (filter.to && e.position > *filter.to) {
          *past_to = true;
          return Status::Ok();
        }
        *version = e.stream_version + 1;
        if (e.position >= filter.from) Print(e);
      }
      out.flush();
      if (chunk.size() < kEventsChunk) return Status::Ok();
    }
    return Status::Ok();
  }
};

// What `events` was asked to print.
struct EventsRequest {
  EventFilter filter;
  EventFormat format = EventFormat::kNdjson;
  bool follow = false;
};

// The request that events' own flags make; a bad value is
// kInvalidArgument naming its flag, checked in the order of the help.
Result<EventsRequest> ReadEventsRequest(const ParsedFlags& flags) {
  EventsRequest request;
  EventFilter& filter = request.filter;
  if (flags.Has("post")) {
    LEDGER_ASSIGN_OR_RETURN(filter.post, IntegerFlag(flags, "post", 1, kMaxPosition));
  }
  if (flags.Has("from")) {
    LEDGER_ASSIGN_OR_RETURN(filter.from, IntegerFlag(flags, "from", 1, kMaxPosition));
  }
  if (flags.Has("to")) {
    LEDGER_ASSIGN_OR_RETURN(filter.to, IntegerFlag(flags, "to", filter.from, kMaxPosition));
  }
  if (flags.Has("type")) {
    LEDGER_ASSIGN_OR_RETURN(filter.types, ParseEventTypes(flags.values.at("type")));
  }
  if (flags.Has("since")) {
    LEDGER_ASSIGN_OR_RETURN(filter.since, ParseSince(flags.values.at("since")));
  }
  if (flags.Has("correlation-id")) {
    LEDGER_ASSIGN_OR_RETURN(filter.correlation_id,
                            ParseCorrelationId(flags.values.at("correlation-id")));
  }
  if (flags.Has("format")) {
    LEDGER_ASSIGN_OR_RETURN(request.format, ParseEventFormat(flags.values.at("format")));
  }
  request.follow = flags.Has("follow");
  return request;
}

// Sleeps kFollowPollInterval, looking for an interrupt every
// kFollowSleepStep; false when one came.
bool WaitForAppends() {
  for (auto waited = std::chrono::milliseconds(0); waited < kFollowPollInterval;
       waited += kFollowSleepStep) {
    if (StopRequested()) return false;
    std::this_thread::sleep_for(kFollowSleepStep);
  }
  return true;
}

// Prints what `request` selects, up to the head or --to; with --follow, then
// what the service appends, until --to or an interrupt. Returns the exit
// code.
int PrintEvents(events::EventLog& log, const EventsRequest& request, std::ostream& out,
                std::ostream& err) {
  const EventFilter& filter = request.filter;
  const EventsRun run{log, filter, request.format, out};
  if (request.format == EventFormat::kTable) out << TableHeader() << '\n';

  int64_t next = filter.from;  // whole log: the next position to print
  int64_t version = 1;         // one post: the next stream version to look at
  std::optional<events::LogHead> previous;
  while (true) {
    const int64_t head = log.Head().position;
    const int64_t last = filter.to ? std::min(*filter.to, head) : head;
    bool past_to = false;
    const Status printed = filter.post ? run.PrintStream(&version, last, &past_to)
                                       : run.PrintRange(&next, last, &previous);
    out.flush();
    if (!printed.ok()) return Fail(err, "events", printed);
    if (StopRequested()) return request.follow ? kExitOk : kExitInterrupted;
    const bool reached_to =
        past_to || (filter.to && (filter.post ? head >= *filter.to : next > *filter.to));
    if (!request.follow || reached_to) return kExitOk;
    // Caught up: wait for the service to append more.
    if (!WaitForAppends()) return kExitOk;
    if (const auto caught = log.CatchUp(); !caught.ok()) {
      return Fail(err, "events", caught.status());
    }
  }
}

}  // namespace

int EventsCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  const std::vector<FlagSpec> specs = WithCommonFlags({
      {"post", "ID", "only the events of this post"},
      {"from", "N", "from this log position on (default 1)"},
      {"to", "N", "up to this log position (default: the head; with --follow, for ever)"},
      {"type", "TYPES",
       "only these event types, comma-separated (PostCreated, PostEdited, PostDeleted, "
       "PostFunded, FundingRefunded, FundingCancelled, PostSettled)"},
      {"since", "TIME",
       "only events recorded at or after TIME: YYYY-MM-DD (midnight UTC), "
       "YYYY-MM-DDTHH:MM:SSZ or YYYY-MM-DDTHH:MM:SS.ffffffZ"},
      {"correlation-id", "ID",
       "only events appended by the request with this id (the X-Request-Id it was answered "
       "with, the request_id of its log lines); every event from --from on is read"},
      {"follow", "",
       "after the head, keep printing new events as the service appends them, "
       "until --to or Ctrl-C"},
      {"format", "FORMAT",
       "ndjson (default: one event envelope per line, as GET /api/events serves it) or table"},
  });
  const auto invocation = Begin(
      args, "[options]",
      "Prints events of the log in position order. Each event's hash is checked as it is read, "
      "and so is the chain between consecutive events; a broken log stops the output with exit "
      "code 1.",
      specs, out, err);
  if (!invocation.ok()) return invocation.error().exit_code;
  const Result<EventsRequest> request = ReadEventsRequest(invocation->flags);
  if (!request.ok()) return Fail(err, "events", request.status());

  const InterruptScope interrupts;
  auto tool = ToolLog::Open(invocation->config);
  if (!tool.ok()) return Fail(err, "events", tool.status());
  return PrintEvents((*tool)->log(), *request, out, err);
}

}  // namespace ledger::app
