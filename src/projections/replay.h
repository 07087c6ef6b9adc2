#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "events/event_log.h"
#include "events/hash.h"
#include "projections/read_schema.h"

namespace ledger::projections {

// Appended to the live schema's name for the schema a replay builds.
inline constexpr std::string_view kReplaySchemaSuffix = "_replay";
// The live schema's name while a swap is in progress (never seen outside the
// swap's transaction).
inline constexpr std::string_view kRetiredSchemaSuffix = "_old";
// PostgreSQL truncates longer identifiers silently; names are refused instead.
inline constexpr size_t kMaxIdentifierBytes = 63;
// maintenance_work_mem of the load transaction, which builds the tables'
// indexes after the COPY: enough to sort a few million backers rows in memory.
inline constexpr int kReplayIndexMemoryMb = 256;
// How long the swap waits for readers' locks on the live tables before giving
// up (kUnavailable; the built schema is kept). While it waits, new readers of
// the live tables queue behind it, so the wait is short.
inline constexpr int kSwapLockTimeoutMs = 5'000;
// Swap attempts before giving up, with kSwapRetryDelayMs between them.
inline constexpr int kSwapAttempts = 3;
inline constexpr int kSwapRetryDelayMs = 500;

// A replay holds the session advisory lock (kReplayLockClass,
// hashtext(schema)) while it runs, so two replays of one schema never build
// into the same <schema>_replay. (The two-key lock space is apart from the
// one-key space migrations use.)
inline constexpr int kReplayLockClass = 0x52504c59;  // "RPLY"

// A schema name replay and verify accept: [a-z_][a-z0-9_]*, short enough for
// the suffixes above within kMaxIdentifierBytes. Otherwise kInvalidArgument.
Status CheckSchemaName(std::string_view schema);

struct ReplayOptions {
  // Rebuild as of this position; 0 = the head when the replay starts.
  int64_t to_position = 0;
  // Build <schema>_replay and stop: the live schema is not touched and the
  // built one is left for inspection. The next replay of the same schema
  // drops it.
  bool dry_run = false;
  // The live read schema to rebuild.
  std::string schema{kReadSchema};
  // The checkpoint row written for the rebuilt tables: the projector that
  // will continue from them.
  std::string projector_name = "read_model";
  // Called during the fold with (events done, total). Optional.
  std::function<void(int64_t done, int64_t total)> progress;
  // Asked during the fold, between the loaded tables and before the swap;
  // true stops the replay with kCancelled, the live schema untouched (once
  // the swap has begun it is finished instead). Optional.
  std::function<bool()> stop;
};

struct ReplayReport {
  int64_t position = 0;  // the checkpoint written
  events::Hash hash = events::kGenesisHash;
  int64_t events = 0;        // events folded
  int64_t posts = 0;         // posts rows written
  int64_t backers = 0;       // backers rows written
  int64_t fundings = 0;      // fundings rows written
  double seconds = 0;        // wall time of the whole replay, of which:
  double fold_seconds = 0;   // reading and folding the log
  double build_seconds = 0;  // creating and loading <schema>_replay
  double swap_seconds = 0;   // the swap transaction (0 for a dry run)
  bool swapped = false;
  // Where the built tables are now: `schema` after a swap, <schema>_replay
  // after a dry run.
  std::string built_schema;
};

// Rebuilds the read tables of `options.schema` from the log:
//  1. folds the log up to options.to_position (commands/fold.h), checking the chain;
//  2. drops and recreates <schema>_replay with the migrations, then loads
//     posts, backers, fundings and the checkpoint with COPY in one
//     transaction;
//  3. unless dry_run, swaps it in with one transaction: the live schema is
//     renamed away, the built one renamed to the live name, the old one
//     dropped (when no live schema exists yet, the built one is just
//     renamed).
// Readers keep reading the old tables until the swap commits (the swap waits
// for their open transactions); a replay that fails or is interrupted before
// then leaves the live schema untouched. Two replays of the same schema at
// once: the second is kFailedPrecondition. The rebuilt tables carry the
// checkpoint of `projector_name` at the replayed position, so a projector
// that re-reads its checkpoint in each batch continues from there.
//
// Errors: a log that does not fold is kCorruption (nothing written); a stop
// asked for by options.stop is kCancelled;
// to_position past the head or a bad schema name is kInvalidArgument; the
// database down is kUnavailable; a swap that cannot get its locks within
// kSwapAttempts × kSwapLockTimeoutMs is kUnavailable.
Result<ReplayReport> Replay(const events::EventLog& log, const std::string& conninfo,
                            const ReplayOptions& options);

}  // namespace ledger::projections
