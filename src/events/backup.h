#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/result.h"
#include "events/event_log.h"
#include "events/rocks_log.h"

namespace ledger::events {

// A checkpoint taken through a secondary instance can miss events when the
// primary flushes and deletes a write-ahead log at that very moment; such a
// copy is found short when it is checked, and taken again, this many times at
// most.
inline constexpr int kBackupAttempts = 3;

struct BackupReport {
  LogHead head;                // the copy's head: record it next to the copy
  int64_t events_checked = 0;  // the copy's chain, walked in full
  int attempts = 0;
  double seconds = 0;
};

struct BackupOptions {
  // Called during the copy's chain walk with (events checked, total).
  std::function<void(int64_t done, int64_t total)> progress;
  // Asked after the copy's chain walk, before the rename; true stops with
  // kCancelled and removes the partial copy.
  std::function<bool()> stop;
};

// Writes a RocksDB log into the (new) directory it is given and returns the
// head the copy must reach at least.
using CopyWriter = std::function<Result<LogHead>(const std::string& dir)>;

// The checked copy every backup makes: `write` fills a temporary directory
// next to `dir` (which must not exist; its parent must); the copy is opened
// read-only (which checks its head record against its newest events), its
// whole chain walked, its head required to reach what `write` returned
// (else `write` runs again, up to `attempts` times); only then is it
// renamed to `dir` and the rename made durable. Errors as BackupLog's.
Result<BackupReport> WriteCheckedCopy(const std::string& dir, const CopyWriter& write, int attempts,
                                      const BackupOptions& options = {});

// Writes a consistent copy of `log` into `dir`, which must not exist (its
// parent must): catches the log up with its primary, writes a RocksDB
// checkpoint into a sibling temporary directory, opens that copy read-only
// (which checks its head record against its newest events), walks its whole
// chain, and requires it to reach at least the head seen before the
// checkpoint. Only a copy that passes is renamed to `dir` (and the rename
// made durable), so `dir` either holds a verified copy or does not exist.
//
// Errors: `dir` existing is kInvalidArgument; a copy still short after
// kBackupAttempts is kUnavailable; a copy whose chain is broken is
// kCorruption naming the position; a stop is kCancelled.
Result<BackupReport> BackupLog(RocksEventLog& log, const std::string& dir,
                               const BackupOptions& options = {});

}  // namespace ledger::events
