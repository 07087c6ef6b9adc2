#include <cstdio>
#include <ostream>
#include <string>

#include "app/command_support.h"
#include "app/interrupt.h"
#include "app/progress.h"
#include "app/subcommands.h"
#include "app/tool_stores.h"
#include "events/codec.h"
#include "projections/replay.h"

namespace ledger::app {
namespace {

// The replay that replay's own flags ask for; a bad value is
// kInvalidArgument naming its flag.
Result<projections::ReplayOptions> ReadReplayOptions(const ParsedFlags& flags) {
  projections::ReplayOptions options;
  if (flags.Has("to-position")) {
    LEDGER_ASSIGN_OR_RETURN(options.to_position,
                            IntegerFlag(flags, "to-position", 1, kMaxPosition));
  }
  options.dry_run = flags.Has("dry-run");
  if (flags.Has("schema")) options.schema = flags.values.at("schema");
  LEDGER_RETURN_IF_ERROR(projections::CheckSchemaName(options.schema));
  return options;
}

// What was built and where it is now; `schema` is the one asked for.
void PrintReplayReport(std::ostream& out, const projections::ReplayReport& report,
                       const std::string& schema) {
  char timing[160];
  std::snprintf(timing, sizeof timing, "%.2f s (fold %.2f s, build %.2f s, swap %.2f s)",
                report.seconds, report.fold_seconds, report.build_seconds, report.swap_seconds);
  out << "replayed " << report.events << " events to position " << report.position << " ("
      << events::ToHex(report.hash) << "): " << report.posts << " posts, " << report.backers
      << " backers rows, in " << timing << "\n";
  if (report.swapped) {
    out << "swapped in as " << report.built_schema << "\n";
  } else {
    out << "dry run: built into " << report.built_schema << "; " << schema << " is untouched\n";
  }
}

}  // namespace

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
  auto options = ReadReplayOptions(invocation->flags);
  if (!options.ok()) return Fail(err, "replay", options.status());

  const InterruptScope interrupts;
  auto stores = OpenToolStores(invocation->config, "replay", /*create_read_side=*/true, err);
  if (!stores.ok()) return Fail(err, "replay", stores.status());
  events::EventLog& log = stores->log->log();
  Progress progress(err, "replay fold", StderrIsTerminal());
  options->progress = [&progress](int64_t done, int64_t total) { progress.Update(done, total); };
  options->stop = StopRequested;
  const auto report = projections::Replay(log, stores->read_side.conninfo, *options);
  progress.Finish();
  if (!report.ok()) return Fail(err, "replay", report.status());
  PrintReplayReport(out, *report, options->schema);
  return kExitOk;
}

}  // namespace ledger::app
