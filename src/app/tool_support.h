#pragma once

// What the audit subcommands (head, events, verify, replay, backup) need for
// their work: interruption, progress on a terminal, and opening the log and
// the read-side database beside a running `serve`.

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "app/config.h"
#include "common/result.h"
#include "events/rocks_log.h"
#include "projections/embedded_postgres.h"

namespace ledger::app {

// While alive, SIGINT and SIGTERM set a flag that long work polls (through
// StopRequested) and stops at its next check, cleanly. A second signal ends
// the process at once with the default action, which is still safe: nothing
// a tool writes is visible before its final commit or rename. The previous
// handlers come back on destruction.
class InterruptScope {
 public:
  InterruptScope();
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;
};
bool StopRequested();

// Progress of long work on stderr, only when stderr is a terminal: one line
// rewritten in place, at most every kProgressInterval.
inline constexpr std::chrono::milliseconds kProgressInterval{200};
class Progress {
 public:
  // `enabled` false: every call does nothing.
  Progress(std::ostream& err, std::string label, bool enabled);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void Update(int64_t done, int64_t total);
  // Ends the line (if one was drawn).
  void Finish();

 private:
  std::ostream& err_;
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_;
};
// Whether progress should be drawn: stderr is a terminal.
bool StderrIsTerminal();
// "verify chain: 1 234 567 / 10 000 000 events (12.3 %), 1.52 M events/s, ETA 6 s".
std::string FormatProgress(std::string_view label, int64_t done, int64_t total, double seconds);

// The log opened as a RocksDB secondary instance (events/rocks_log.h) in
// DATA_DIR/log, so that it can be read, followed and backed up while
// `serve` holds it; the secondary's own directory is a private temporary one,
// removed on destruction.
class ToolLog {
 public:
  // `check_tail`: check the newest events' chain on open (RocksLogOptions),
  // refusing a log broken there. The tools that read every event they use
  // check it themselves, and report exactly where it breaks, so only `head`
  // asks for it.
  static Result<std::unique_ptr<ToolLog>> Open(const std::string& data_dir,
                                               bool check_tail = false);
  ~ToolLog();
  ToolLog(const ToolLog&) = delete;
  ToolLog& operator=(const ToolLog&) = delete;

  events::RocksEventLog& log() { return *log_; }

 private:
  ToolLog() = default;
  std::string secondary_dir_;
  std::unique_ptr<events::RocksEventLog> log_;
};

// The read-side PostgreSQL for verify and replay: --database-url when given;
// otherwise the embedded cluster in DATA_DIR/pg, used as it runs when `serve`
// has it up, else started here (durable) for the duration of the command.
// A missing cluster is created only with `create` (replay builds the read
// tables of a restored log); otherwise it is kNotFound.
struct ReadSide {
  std::string conninfo;
  std::unique_ptr<projections::EmbeddedPostgres> started;  // ours to stop, if any
};
Result<ReadSide> OpenReadSide(const Config& config, std::string_view command, bool create,
                              std::ostream& err);

}  // namespace ledger::app
