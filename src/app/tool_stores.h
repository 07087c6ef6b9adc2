#pragma once

// The ledger's stores as the audit tools (head, events, verify, replay,
// backup) open them: beside a running `serve`, which may hold them.

#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>

#include "app/config.h"
#include "common/result.h"
#include "events/rocks_log.h"
#include "projections/embedded_postgres.h"
#include "projections/pg_event_log.h"

namespace ledger::app {

// The service's log as the tools read it while `serve` may be writing it:
// with --log-url, the PostgreSQL log opened read-only; otherwise DATA_DIR/log
// opened as a RocksDB secondary instance (events/rocks_log.h), whose own
// directory is a private temporary one, removed on destruction.
class ToolLog {
 public:
  // `check_tail`: check the newest events' chain on open, refusing a log
  // broken there. The tools that read every event they use check it
  // themselves, and report exactly where it breaks, so only `head` asks for
  // it.
  static Result<std::unique_ptr<ToolLog>> Open(const Config& config, bool check_tail = false);
  ~ToolLog();
  ToolLog(const ToolLog&) = delete;
  ToolLog& operator=(const ToolLog&) = delete;

  events::EventLog& log() { return *log_; }
  // The RocksDB log, or nullptr when the log is in PostgreSQL.
  events::RocksEventLog* rocks() { return rocks_; }
  // The PostgreSQL log, or nullptr when the log is RocksDB's.
  projections::PgEventLog* pg() { return pg_; }

 private:
  ToolLog() = default;
  std::string secondary_dir_;
  std::unique_ptr<events::EventLog> log_;
  events::RocksEventLog* rocks_ = nullptr;  // log_, when it is RocksDB's
  projections::PgEventLog* pg_ = nullptr;   // log_, when it is PostgreSQL's
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

// The log (ToolLog::Open) and the read side (OpenReadSide), opened at once:
// opening a RocksDB log replays its write-ahead log (about half a second
// after a busy service) and starting the embedded PostgreSQL takes a
// quarter of one, and neither needs the other. The read side starts only
// once the log is known to be there, so a mistyped --data-dir creates no
// cluster. On failure the log's error comes first, as when they were opened
// in turn, and a PostgreSQL started meanwhile is stopped.
struct ToolStores {
  std::unique_ptr<ToolLog> log;
  ReadSide read_side;
};
Result<ToolStores> OpenToolStores(const Config& config, std::string_view command,
                                  bool create_read_side, std::ostream& err);

}  // namespace ledger::app
