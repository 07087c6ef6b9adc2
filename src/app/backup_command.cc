#include <cstdio>
#include <ostream>
#include <string>

#include "app/command_support.h"
#include "app/interrupt.h"
#include "app/log_export.h"
#include "app/progress.h"
#include "app/subcommands.h"
#include "app/tool_stores.h"
#include "common/json_writer.h"
#include "events/backup.h"
#include "events/codec.h"

namespace ledger::app {

int BackupCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  const std::vector<FlagSpec> specs = WithCommonFlags({
      {"to", "DIR",
       "where to write the copy; must not exist (its parent must). On the data directory's "
       "file system table files are hard links, elsewhere copies"},
  });
  const auto invocation = Begin(
      args, "--to DIR [options]",
      "Writes a consistent copy of the event log (a RocksDB checkpoint; a log in PostgreSQL, "
      "--log-url, is exported as one snapshot into the same kind of RocksDB log) while the "
      "service may be writing, then checks the copy: it is opened, its whole hash chain walked, "
      "and only then renamed to DIR. Prints the copy's head {\"backup\", \"position\", \"hash\"}: "
      "record "
      "it with the copy. The read tables are not in the copy (they are rebuilt from it with "
      "`replay`); see docs/operations.md.\n\nexit: 0 done, 1 the log's chain is broken, 2 "
      "usage or I/O error, 130 interrupted (nothing is left in DIR).",
      specs, out, err);
  if (!invocation.ok()) return invocation.error().exit_code;
  if (!invocation->flags.Has("to")) {
    return FailUsage(err, "backup", Status::InvalidArgument("--to DIR is required"));
  }
  const std::string dir = invocation->flags.values.at("to");

  const InterruptScope interrupts;
  auto tool = ToolLog::Open(invocation->config);
  if (!tool.ok()) return Fail(err, "backup", tool.status());
  Progress progress(err, "backup check", StderrIsTerminal());
  events::BackupOptions options;
  options.progress = [&progress](int64_t done, int64_t total) { progress.Update(done, total); };
  options.stop = StopRequested;
  // A log in PostgreSQL is exported, as one snapshot, into the same kind of
  // copy.
  const auto report = (*tool)->pg() != nullptr ? ExportLog(*(*tool)->pg(), dir, options)
                                               : events::BackupLog(*(*tool)->rocks(), dir, options);
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
