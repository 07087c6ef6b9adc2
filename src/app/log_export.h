#pragma once

// `backup` of a log kept in PostgreSQL: a logical export into a RocksDB log
// directory, the same kind of copy `backup` makes of a RocksDB log, checked
// the same way (events/backup.h), so that the audit tools read it and
// `serve --data-dir` runs a single node on it.

#include <string>

#include "common/result.h"
#include "events/backup.h"
#include "projections/pg_event_log.h"

namespace ledger::app {

// Exports `log` (one snapshot: events, idempotency records, the sequencer's
// state) into `dir`, which must not exist. Records whose chain or bytes are
// wrong stop the export with kCorruption naming the position; nothing is
// left in `dir` on any error.
Result<events::BackupReport> ExportLog(const projections::PgEventLog& log, const std::string& dir,
                                       const events::BackupOptions& options = {});

}  // namespace ledger::app
