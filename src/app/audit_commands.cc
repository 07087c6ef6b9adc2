#include "app/audit_commands.h"

#include <chrono>
#include <cstdio>
#include <limits>
#include <ostream>
#include <thread>

#include "app/command_support.h"
#include "app/event_filter.h"
#include "app/tool_support.h"
#include "common/json_writer.h"
#include "events/backup.h"
#include "events/codec.h"
#include "projections/replay.h"
#include "projections/verify.h"

namespace ledger::app {
namespace {

// Events read from the log per call while printing.
constexpr size_t kEventsChunk = 1'024;
// How often `events --follow` looks for new events once it has caught up.
constexpr std::chrono::milliseconds kFollowPollInterval{200};
// The sleep between two looks is cut into steps this long, so that an
// interrupt is seen promptly.
constexpr std::chrono::milliseconds kFollowSleepStep{20};

constexpr int64_t kMaxPosition = std::numeric_limits<int64_t>::max();

}  // namespace

// ---- head -------------------------------------------------------------

int HeadCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  const std::vector<FlagSpec>& specs = CommonToolFlags();
  const auto invocation = Begin(
      args, "[options]",
      "Prints the log head as {\"position\": N, \"hash\": \"<64 hex>\"}: the digest of the "
      "whole history, to record elsewhere (a later `verify` proves the log still leads to it).",
      specs, out, err);
  if (!invocation.ok()) return invocation.error().exit_code;
  auto tool = ToolLog::Open(invocation->config.data_dir, /*check_tail=*/true);
  if (!tool.ok()) return Fail(err, "head", tool.status());
  out << events::EncodeHeadJson((*tool)->log().Head()) << "\n";
  return kExitOk;
}

// ---- events -----------------------------------------------------------

namespace {

struct EventsRun {
  events::RocksEventLog& log;
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

}  // namespace

int EventsCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  const std::vector<FlagSpec> specs = WithCommonFlags({
      {"post", "ID", "only the events of this post"},
      {"from", "N", "from this log position on (default 1)"},
      {"to", "N", "up to this log position (default: the head; with --follow, for ever)"},
      {"type", "TYPES",
       "only these event types, comma-separated (PostCreated, PostEdited, PostDeleted, "
       "PostFunded, FundingRefunded)"},
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
  const ParsedFlags* const flags = &invocation->flags;
  const Config* const config = &invocation->config;

  EventFilter filter;
  EventFormat format = EventFormat::kNdjson;
  const auto usage = [&err](const Status& s) { return Fail(err, "events", s); };
  if (flags->Has("post")) {
    const auto post = IntegerFlag(*flags, "post", 1, kMaxPosition);
    if (!post.ok()) return usage(post.status());
    filter.post = *post;
  }
  if (flags->Has("from")) {
    const auto from = IntegerFlag(*flags, "from", 1, kMaxPosition);
    if (!from.ok()) return usage(from.status());
    filter.from = *from;
  }
  if (flags->Has("to")) {
    const auto to = IntegerFlag(*flags, "to", filter.from, kMaxPosition);
    if (!to.ok()) return usage(to.status());
    filter.to = *to;
  }
  if (flags->Has("type")) {
    auto types = ParseEventTypes(flags->values.at("type"));
    if (!types.ok()) return usage(types.status());
    filter.types = std::move(types).value();
  }
  if (flags->Has("since")) {
    const auto since = ParseSince(flags->values.at("since"));
    if (!since.ok()) return usage(since.status());
    filter.since = *since;
  }
  if (flags->Has("correlation-id")) {
    auto id = ParseCorrelationId(flags->values.at("correlation-id"));
    if (!id.ok()) return usage(id.status());
    filter.correlation_id = std::move(id).value();
  }
  if (flags->Has("format")) {
    const auto parsed = ParseEventFormat(flags->values.at("format"));
    if (!parsed.ok()) return usage(parsed.status());
    format = *parsed;
  }
  const bool follow = flags->Has("follow");

  const InterruptScope interrupts;
  auto tool = ToolLog::Open(config->data_dir);
  if (!tool.ok()) return Fail(err, "events", tool.status());
  events::RocksEventLog& log = (*tool)->log();
  const EventsRun run{log, filter, format, out};
  if (format == EventFormat::kTable) out << TableHeader() << '\n';

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
    if (StopRequested()) return follow ? kExitOk : kExitInterrupted;
    const bool reached_to =
        past_to || (filter.to && (filter.post ? head >= *filter.to : next > *filter.to));
    if (!follow || reached_to) return kExitOk;
    // Caught up: wait for the service to append more.
    for (auto waited = std::chrono::milliseconds(0); waited < kFollowPollInterval;
         waited += kFollowSleepStep) {
      if (StopRequested()) return kExitOk;
      std::this_thread::sleep_for(kFollowSleepStep);
    }
    if (const auto caught = log.CatchUp(); !caught.ok())
      return Fail(err, "events", caught.status());
  }
}

// ---- verify -----------------------------------------------------------

namespace {

void WriteVerifyJson(std::ostream& out, const events::LogHead& head,
                     const projections::VerifyReport& r, bool chain_only,
                     const std::string& schema) {
  JsonWriter w;
  w.StartObject();
  w.Member("ok", r.ok());
  w.Key("head").Raw(events::EncodeHeadJson(head));
  w.Key("chain").StartObject();
  w.Member("ok", r.chain_ok);
  w.Member("events_checked", r.events_checked);
  w.Key("first_bad_position");
  r.chain_ok ? w.Null() : w.Int64(r.first_bad_position);
  w.Key("problem");
  r.chain_ok ? w.Null() : w.String(r.chain_problem);
  w.EndObject();
  w.Key("read_tables");
  if (chain_only) {
    w.Null();
  } else {
    w.StartObject();
    w.Member("schema", schema);
    w.Member("checkpoint_position", r.checkpoint_position);
    w.Member("mismatch_count", r.mismatch_count);
    w.Key("mismatches").StartArray();
    for (const projections::Mismatch& m : r.mismatches) {
      w.StartObject();
      w.Key("post_id");
      m.post_id == 0 ? w.Null() : w.Int64(m.post_id);
      w.Member("field", m.field);
      w.Member("expected", m.expected);
      w.Member("found", m.found);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndObject();
  out << w.view() << "\n";
}

void WriteVerifyText(std::ostream& out, const events::LogHead& head,
                     const projections::VerifyReport& r, bool chain_only,
                     const std::string& schema) {
  if (r.chain_ok) {
    out << "chain ok: " << r.events_checked << " events, head " << head.position << " "
        << events::ToHex(head.hash) << "\n";
  } else {
    out << "chain broken: position " << r.first_bad_position << ": " << r.chain_problem << "\n";
  }
  if (chain_only) return;
  for (const projections::Mismatch& m : r.mismatches) {
    if (m.post_id != 0) {
      out << "post " << m.post_id << " " << m.field;
    } else {
      out << m.field;
    }
    out << ": expected " << QuoteForTerminal(m.expected) << ", found " << QuoteForTerminal(m.found)
        << "\n";
  }
  if (r.mismatch_count > static_cast<int64_t>(r.mismatches.size())) {
    out << "... and " << r.mismatch_count - static_cast<int64_t>(r.mismatches.size())
        << " more mismatches\n";
  }
  out << "read tables (" << schema << ") at position " << r.checkpoint_position << ": "
      << (r.mismatch_count == 0 ? "match the log"
                                : std::to_string(r.mismatch_count) + " mismatches")
      << "\n";
}

}  // namespace

int VerifyCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  const std::vector<FlagSpec> specs = WithCommonFlags({
      {"json", "", "print one JSON summary instead of text"},
      {"chain-only", "", "walk the hash chain only; no read tables (e.g. for a backup copy)"},
      {"schema", "NAME", "the read schema to reconcile (default ledger_read)"},
  });
  const auto invocation =
      Begin(args, "[options]",
            "Walks the whole hash chain of the log, then folds the log to the read tables' "
            "checkpoint and compares every post (every column, every backer, and the backers' sum "
            "against total_funded) with the PostgreSQL read tables. Each problem is printed: the "
            "position or post, the field, what the log says (expected) and what the tables hold "
            "(found).\n\nexit: 0 clean, 1 any mismatch or broken chain, 2 usage or I/O error, "
            "130 interrupted.",
            specs, out, err);
  if (!invocation.ok()) return invocation.error().exit_code;
  const ParsedFlags* const flags = &invocation->flags;
  const Config* const config = &invocation->config;
  const bool chain_only = flags->Has("chain-only");
  const bool as_json = flags->Has("json");
  const std::string schema =
      flags->Has("schema") ? flags->values.at("schema") : std::string(projections::kReadSchema);
  if (const Status name = projections::CheckSchemaName(schema); !name.ok()) {
    return Fail(err, "verify", name);
  }

  const InterruptScope interrupts;
  auto tool = ToolLog::Open(config->data_dir);
  if (!tool.ok()) return Fail(err, "verify", tool.status());
  events::RocksEventLog& log = (*tool)->log();
  const bool draw = StderrIsTerminal();
  Progress chain_progress(err, "verify chain", draw);
  Progress fold_progress(err, "verify fold", draw);

  projections::VerifyReport report;
  if (chain_only) {
    const int64_t head = log.Head().position;
    const auto chain = events::VerifyLogChain(
        log, 1, head, [&](int64_t done) { chain_progress.Update(done, head); });
    if (!chain.ok()) return Fail(err, "verify", chain.status());
    report.chain_ok = chain->ok;
    report.first_bad_position = chain->first_bad_position;
    report.chain_problem = chain->problem;
    report.events_checked = chain->events_checked;
  } else {
    auto side = OpenReadSide(*config, "verify", /*create=*/false, err);
    if (!side.ok()) return Fail(err, "verify", side.status());
    projections::VerifyOptions options;
    options.schema = schema;
    options.chain_progress = [&](int64_t done, int64_t total) {
      chain_progress.Update(done, total);
    };
    options.fold_progress = [&](int64_t done, int64_t total) {
      chain_progress.Finish();
      fold_progress.Update(done, total);
    };
    options.stop = StopRequested;
    options.catch_up = [&log] { return log.CatchUp().status(); };
    auto verified = projections::Verify(log, side->conninfo, options);
    if (!verified.ok()) return Fail(err, "verify", verified.status());
    report = std::move(verified).value();
  }
  chain_progress.Finish();
  fold_progress.Finish();
  if (StopRequested()) return Fail(err, "verify", Status::Cancelled("interrupted"));
  const events::LogHead head = log.Head();
  if (as_json) {
    WriteVerifyJson(out, head, report, chain_only, schema);
  } else {
    WriteVerifyText(out, head, report, chain_only, schema);
  }
  return report.ok() ? kExitOk : kExitMismatch;
}

// ---- replay -----------------------------------------------------------

int ReplayCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  const std::vector<FlagSpec> specs = WithCommonFlags({
      {"to-position", "N", "rebuild history as of log position N (default: the head)"},
      {"dry-run", "",
       "build the tables into SCHEMA_replay and stop there, without the swap: the live tables "
       "stay as they are and the built ones are left for inspection"},
      {"schema", "NAME",
       "the read schema to rebuild (default ledger_read, the one the service reads); another "
       "name builds an audit copy beside it"},
  });
  const auto invocation = Begin(
      args, "[options]",
      "Rebuilds the read tables from the log into a fresh schema (SCHEMA_replay) and swaps it "
      "in, atomically: the service keeps serving the old tables until the swap commits. The "
      "log's chain is checked as it is folded. Ctrl-C before the swap stops it with the live "
      "tables untouched (a second Ctrl-C ends the process at once, still without touching "
      "them).\n\nA replay to an earlier position of the live schema lasts only until the "
      "running service's projector catches up again from that position; to keep history as of "
      "N, replay into another --schema or use --dry-run.\n\nexit: 0 done, 1 the log does not "
      "fold (broken chain or events), 2 usage, I/O or database error, 130 interrupted.",
      specs, out, err);
  if (!invocation.ok()) return invocation.error().exit_code;
  const ParsedFlags* const flags = &invocation->flags;
  const Config* const config = &invocation->config;
  projections::ReplayOptions options;
  if (flags->Has("to-position")) {
    const auto to = IntegerFlag(*flags, "to-position", 1, kMaxPosition);
    if (!to.ok()) return Fail(err, "replay", to.status());
    options.to_position = *to;
  }
  options.dry_run = flags->Has("dry-run");
  if (flags->Has("schema")) options.schema = flags->values.at("schema");
  if (const Status name = projections::CheckSchemaName(options.schema); !name.ok()) {
    return Fail(err, "replay", name);
  }

  const InterruptScope interrupts;
  auto tool = ToolLog::Open(config->data_dir);
  if (!tool.ok()) return Fail(err, "replay", tool.status());
  events::RocksEventLog& log = (*tool)->log();
  auto side = OpenReadSide(*config, "replay", /*create=*/true, err);
  if (!side.ok()) return Fail(err, "replay", side.status());
  Progress progress(err, "replay fold", StderrIsTerminal());
  options.progress = [&progress](int64_t done, int64_t total) { progress.Update(done, total); };
  options.stop = StopRequested;
  const auto report = projections::Replay(log, side->conninfo, options);
  progress.Finish();
  if (!report.ok()) return Fail(err, "replay", report.status());
  char timing[160];
  std::snprintf(timing, sizeof timing, "%.2f s (fold %.2f s, build %.2f s, swap %.2f s)",
                report->seconds, report->fold_seconds, report->build_seconds, report->swap_seconds);
  out << "replayed " << report->events << " events to position " << report->position << " ("
      << events::ToHex(report->hash) << "): " << report->posts << " posts, " << report->backers
      << " backers rows, in " << timing << "\n";
  if (report->swapped) {
    out << "swapped in as " << report->built_schema << "\n";
  } else {
    out << "dry run: built into " << report->built_schema << "; " << options.schema
        << " is untouched\n";
  }
  return kExitOk;
}

// ---- backup -----------------------------------------------------------

int BackupCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  const std::vector<FlagSpec> specs = WithCommonFlags({
      {"to", "DIR",
       "where to write the copy; must not exist (its parent must). On the data directory's "
       "file system table files are hard links, elsewhere copies"},
  });
  const auto invocation = Begin(
      args, "--to DIR [options]",
      "Writes a consistent copy of the event log (a RocksDB checkpoint) while the service may "
      "be writing, then checks the copy: it is opened, its whole hash chain walked, and only "
      "then renamed to DIR. Prints the copy's head {\"backup\", \"position\", \"hash\"}: record "
      "it with the copy. The read tables are not in the copy (they are rebuilt from it with "
      "`replay`); see docs/operations.md.\n\nexit: 0 done, 1 the log's chain is broken, 2 "
      "usage or I/O error, 130 interrupted (nothing is left in DIR).",
      specs, out, err);
  if (!invocation.ok()) return invocation.error().exit_code;
  const ParsedFlags* const flags = &invocation->flags;
  const Config* const config = &invocation->config;
  if (!flags->Has("to")) {
    err << "funding-ledger backup: --to DIR is required\n";
    return kExitUsage;
  }
  const std::string dir = flags->values.at("to");

  const InterruptScope interrupts;
  auto tool = ToolLog::Open(config->data_dir);
  if (!tool.ok()) return Fail(err, "backup", tool.status());
  Progress progress(err, "backup check", StderrIsTerminal());
  events::BackupOptions options;
  options.progress = [&progress](int64_t done, int64_t total) { progress.Update(done, total); };
  options.stop = StopRequested;
  const auto report = events::BackupLog((*tool)->log(), dir, options);
  progress.Finish();
  if (!report.ok()) return Fail(err, "backup", report.status());
  JsonWriter w;
  w.StartObject()
      .Member("backup", dir)
      .Member("position", report->head.position)
      .Member("hash", events::ToHex(report->head.hash))
      .EndObject();
  out << w.view() << "\n";
  char timing[64];
  std::snprintf(timing, sizeof timing, "%.2f s", report->seconds);
  err << "funding-ledger backup: " << report->events_checked << " events copied and checked in "
      << timing
      << (report->attempts > 1 ? " (" + std::to_string(report->attempts) + " attempts)"
                               : std::string())
      << "\n";
  return kExitOk;
}

}  // namespace ledger::app
