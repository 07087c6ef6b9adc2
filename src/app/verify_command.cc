#include <optional>
#include <ostream>
#include <string>
#include <utility>

#include "app/command_support.h"
#include "app/event_filter.h"
#include "app/interrupt.h"
#include "app/progress.h"
#include "app/subcommands.h"
#include "app/tool_stores.h"
#include "commands/fold.h"
#include "commands/state_check.h"
#include "commands/state_codec.h"
#include "common/json_writer.h"
#include "events/codec.h"
#include "projections/replay.h"
#include "projections/verify.h"

namespace ledger::app {
namespace {

// The sequencer's durable state next to the fold of the log up to the
// state's own head.
struct StateReport {
  commands::StateComparison comparison;
  int64_t position = 0;  // the state's head position

  bool ok() const { return !comparison.difference.has_value(); }
};

// The state's head record against the log: `head` is set when the state
// is to be compared with the fold of the log to it; otherwise `report` is
// already the whole answer (no state yet, or a head that cannot be right).
struct StateHeadCheck {
  StateReport report;
  std::optional<commands::state::StateHead> head;
};

Result<StateHeadCheck> CheckStateHead(const events::EventLog& log) {
  StateHeadCheck check;
  StateReport& report = check.report;
  LEDGER_ASSIGN_OR_RETURN(const auto head_record, log.ReadState(commands::state::HeadKey()));
  if (!head_record) return check;  // none yet: the service builds it at its start
  report.comparison.stored = true;
  const auto head = commands::state::DecodeHead(*head_record);
  if (!head.ok()) {
    report.comparison.difference = "the head record: " + head.status().message();
    return check;
  }
  report.position = head->position;
  // The same test serve makes at its start, so that verify passes no state
  // serve would refuse.
  if (const auto differs = commands::state::HeadDisagreement(*head, log.Head())) {
    report.comparison.difference =
        "the head record: " + *differs + "; serve refuses it (start it with --rebuild-state)";
    return check;
  }
  check.head = *head;
  return check;
}

// The state checked against the read tables' fold when the state's head is
// where that fold ended (a quiet ledger: the projector and the state at the
// log's head), so the log is folded once. Unset otherwise.
Result<std::optional<StateReport>> VerifyStateOnFold(const events::EventLog& log,
                                                     const commands::FoldedLog& folded) {
  LEDGER_ASSIGN_OR_RETURN(StateHeadCheck check, CheckStateHead(log));
  if (!check.head || check.head->position != folded.position || check.head->hash != folded.hash) {
    return std::optional<StateReport>();
  }
  LEDGER_ASSIGN_OR_RETURN(check.report.comparison, commands::CompareState(log, folded));
  return std::optional<StateReport>(std::move(check.report));
}

Result<StateReport> VerifyState(const events::EventLog& log, Progress& progress) {
  LEDGER_ASSIGN_OR_RETURN(StateHeadCheck check, CheckStateHead(log));
  if (!check.head) return std::move(check.report);
  const auto update = [&progress](int64_t done, int64_t total) { progress.Update(done, total); };
  Result<commands::FoldedLog> folded =
      commands::FoldLog(log, check.head->position, update, StopRequested);
  // A log that does not fold has no state to equal: a finding of the audit,
  // reported with the rest of it, not an error that drops the report.
  if (!folded.ok() && folded.status().code() == Status::Code::kCorruption) {
    check.report.comparison.difference =
        "the log does not fold to the state's head: " + folded.status().message();
    return std::move(check.report);
  }
  LEDGER_RETURN_IF_ERROR(folded.status());
  LEDGER_ASSIGN_OR_RETURN(check.report.comparison, commands::CompareState(log, *folded));
  return std::move(check.report);
}

void WriteStateJson(JsonWriter& w, const StateReport& s) {
  w.Key("state").StartObject();
  w.Member("ok", s.ok());
  w.Member("stored", s.comparison.stored);
  w.Member("position", s.position);
  w.Member("records_checked", s.comparison.records);
  w.Key("difference");
  s.comparison.difference ? w.String(*s.comparison.difference) : w.Null();
  w.EndObject();
}

void WriteStateText(std::ostream& out, const StateReport& s) {
  if (!s.comparison.stored) {
    out << "sequencer state: none stored yet (the service builds it at its next start)\n";
  } else if (s.comparison.difference) {
    out << "sequencer state differs from the log: " << *s.comparison.difference << "\n";
  } else {
    out << "sequencer state at position " << s.position << ": " << s.comparison.records
        << " records match the log\n";
  }
}

void WriteVerifyJson(std::ostream& out, const events::LogHead& head,
                     const projections::VerifyReport& r, bool chain_only, const StateReport* state,
                     const std::string& schema) {
  JsonWriter w;
  w.StartObject();
  w.Member("ok", r.ok() && (state == nullptr || state->ok()));
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
  if (state == nullptr) {
    w.Key("state").Null();  // --chain-only, or a broken chain
  } else {
    WriteStateJson(w, *state);
  }
  w.EndObject();
  out << w.view() << "\n";
}

void WriteVerifyText(std::ostream& out, const events::LogHead& head,
                     const projections::VerifyReport& r, bool chain_only, const StateReport* state,
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
  if (state != nullptr) WriteStateText(out, *state);
}

// What verify compares, and how it prints the result.
struct VerifyRequest {
  bool chain_only = false;
  bool as_json = false;
  std::string schema;
};

Result<VerifyRequest> ReadVerifyRequest(const ParsedFlags& flags) {
  VerifyRequest request;
  request.chain_only = flags.Has("chain-only");
  request.as_json = flags.Has("json");
  request.schema =
      flags.Has("schema") ? flags.values.at("schema") : std::string(projections::kReadSchema);
  LEDGER_RETURN_IF_ERROR(projections::CheckSchemaName(request.schema));
  return request;
}

// --chain-only: the whole hash chain, and nothing else.
Result<projections::VerifyReport> VerifyChainOnly(events::EventLog& log, Progress& progress) {
  const int64_t head = log.Head().position;
  const auto update = [&progress, head](int64_t done) { progress.Update(done, head); };
  LEDGER_ASSIGN_OR_RETURN(const auto chain, events::VerifyLogChain(log, 1, head, update));
  projections::VerifyReport report;
  report.chain_ok = chain.ok;
  report.first_bad_position = chain.first_bad_position;
  report.chain_problem = chain.problem;
  report.events_checked = chain.events_checked;
  return report;
}

// The whole hash chain, then the read tables of `schema` in `side` against
// the log folded to their checkpoint.
// `state` is set when the sequencer's state could be checked on the same
// fold (VerifyStateOnFold).
Result<projections::VerifyReport> VerifyReadTables(events::EventLog& log, const ReadSide& side,
                                                   const std::string& schema,
                                                   Progress& chain_progress,
                                                   std::optional<StateReport>* state) {
  projections::VerifyOptions options;
  options.schema = schema;
  options.chain_progress = [&](int64_t done, int64_t total) { chain_progress.Update(done, total); };
  options.stop = StopRequested;
  options.catch_up = [&log] { return log.CatchUp().status(); };
  options.with_fold = [&log, state](const commands::FoldedLog& folded) -> Status {
    LEDGER_ASSIGN_OR_RETURN(*state, VerifyStateOnFold(log, folded));
    return Status::Ok();
  };
  return projections::Verify(log, side.conninfo, options);
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
            "(found). Then folds the log to the head of the sequencer's durable state and compares "
            "every state record with it.\n\nexit: 0 clean, 1 any mismatch or broken chain, 2 usage "
            "or I/O error, "
            "130 interrupted.",
            specs, out, err);
  if (!invocation.ok()) return invocation.error().exit_code;
  const Result<VerifyRequest> request = ReadVerifyRequest(invocation->flags);
  if (!request.ok()) return Fail(err, "verify", request.status());

  const InterruptScope interrupts;
  // The read-side database (not with --chain-only) is open until the end.
  ToolStores stores;
  if (request->chain_only) {
    auto tool = ToolLog::Open(invocation->config);
    if (!tool.ok()) return Fail(err, "verify", tool.status());
    stores.log = std::move(tool).value();
  } else {
    auto opened = OpenToolStores(invocation->config, "verify", /*create_read_side=*/false, err);
    if (!opened.ok()) return Fail(err, "verify", opened.status());
    stores = std::move(opened).value();
  }
  events::EventLog& log = stores.log->log();
  const bool draw = StderrIsTerminal();
  Progress chain_progress(err, "verify chain", draw);
  std::optional<StateReport> state;
  const Result<projections::VerifyReport> report =
      request->chain_only
          ? VerifyChainOnly(log, chain_progress)
          : VerifyReadTables(log, stores.read_side, request->schema, chain_progress, &state);
  if (!report.ok()) return Fail(err, "verify", report.status());
  chain_progress.Finish();
  // The sequencer's durable state, once the chain is known to hold (on the
  // read tables' fold when it ended at the state's head, or folded to it).
  if (!report->chain_ok) state.reset();
  if (!request->chain_only && report->chain_ok && !state) {
    Progress state_progress(err, "verify state", draw);
    auto checked = VerifyState(log, state_progress);
    if (!checked.ok()) return Fail(err, "verify", checked.status());
    state_progress.Finish();
    state = std::move(checked).value();
  }
  if (StopRequested()) return Fail(err, "verify", Status::Cancelled("interrupted"));
  const events::LogHead head = log.Head();
  const StateReport* shown = state ? &*state : nullptr;
  if (request->as_json) {
    WriteVerifyJson(out, head, *report, request->chain_only, shown, request->schema);
  } else {
    WriteVerifyText(out, head, *report, request->chain_only, shown, request->schema);
  }
  return report->ok() && (!state || state->ok()) ? kExitOk : kExitMismatch;
}

}  // namespace ledger::app
