#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "events/event_log.h"
#include "projections/read_schema.h"

namespace ledger::commands {
struct FoldedLog;
}  // namespace ledger::commands

namespace ledger::projections {

// Posts compared per pair of queries (their posts rows and backers rows):
// bounds the rows held in memory at once.
inline constexpr int64_t kVerifyPostsPerQuery = 500;
// Mismatches kept in a report; more are only counted (mismatch_count).
inline constexpr size_t kMaxReportedMismatches = 1'000;

// One difference between the log and the read tables.
struct Mismatch {
  int64_t post_id = 0;  // 0 for problems of the log, the schema or the checkpoint
  // "title", "total_funded", "row" (a whole posts row present or absent),
  // "backers/<backer>" (a whole backers row), "backers/<backer>/amount",
  // "total_funded/backers" (the row's total against its backers' sum),
  // "checkpoint", "schema", "log".
  std::string field;
  std::string expected;  // what the log says
  std::string found;     // what the read tables hold
};

struct VerifyReport {
  // The hash chain over the whole log (events/chain.h).
  bool chain_ok = true;
  int64_t first_bad_position = 0;  // 0 when chain_ok
  std::string chain_problem;
  int64_t events_checked = 0;
  // The read tables' checkpoint; the log is folded to it for the comparison.
  int64_t checkpoint_position = 0;
  // In log order (posts by id); the first kMaxReportedMismatches.
  std::vector<Mismatch> mismatches;
  int64_t mismatch_count = 0;  // all that were found

  bool ok() const { return chain_ok && mismatch_count == 0; }
};

struct VerifyOptions {
  // The read schema and the projector whose checkpoint it carries.
  std::string schema{kReadSchema};
  std::string projector_name = "read_model";
  // Called during the one pass over the log (the chain walk and the fold)
  // with (events read, head). Optional.
  std::function<void(int64_t done, int64_t total)> chain_progress;
  // Asked between chunks; true stops with kCancelled. Optional.
  std::function<bool()> stop;
  // Called inside the snapshot, after the checkpoint is read and before the
  // log is folded: a log opened as a secondary catches up here, so that it
  // holds every event the (running) projector had committed. Optional.
  std::function<Status()> catch_up;
  // Called with the fold of the log to the checkpoint (when it folds), after
  // the chain walk: a caller can check more against the same fold instead of
  // folding the log again. It runs on a thread of its own while the rows are
  // compared, so it may only read the fold (and what else it owns); Verify
  // returns after it. An error ends Verify with it. Optional.
  std::function<Status(const commands::FoldedLog&)> with_fold;
};

// Audits the read tables of options.schema against the log:
//  - walks the whole hash chain (a broken chain is reported, not an error);
//  - reads the checkpoint of `projector_name` and folds the log to its
//    position (in the same pass over the log as the chain walk, which goes
//    on to the head); a checkpoint whose hash is not the log's hash there is a
//    "checkpoint" mismatch, and so is one past the head (the log is then
//    folded to the head) or a missing one (the tables are then compared with
//    an empty log);
//  - compares every post, in log order, with its posts row (presence and
//    every column) and its backers rows, and checks that each post's backers
//    add up to its total_funded.
// Missing tables are one "schema" mismatch and a log that does not fold to
// the checkpoint one "log" mismatch (naming the position); rows are not
// compared then.
//
// The tables are locked (ACCESS SHARE) and read in one REPEATABLE READ,
// read-only transaction, so the checkpoint and the rows are one snapshot:
// verify may run while the projector writes, and a replay's swap waits for
// it. The log is read as of its head once the checkpoint is read and
// options.catch_up has run (as of its head when verify starts when the read
// tables are missing).
//
// Errors are only for I/O: the database down is kUnavailable, the log
// unreadable kIOError, a bad schema name kInvalidArgument. Everything wrong
// with the data is in the report.
Result<VerifyReport> Verify(const events::EventLog& log, const std::string& conninfo,
                            const VerifyOptions& options = {});

}  // namespace ledger::projections
