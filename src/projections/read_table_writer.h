#pragma once

// Internal to src/projections (it takes pqxx transactions): writes what one
// batch of events did (batch_changes.h) to the read tables, with a fixed
// number of set-based statements however many events the batch holds. Each
// statement takes a column of the batch as one array parameter
// (array_literal.h): no value is ever part of the SQL text.
//
// Every function below runs in the caller's transaction, sends nothing when
// it has nothing to write, and throws what pqxx throws: call under Guard.
// REQUIRES of each: `schema` holds the read tables and is a lower-case SQL
// identifier (checked).

#include <cstdint>
#include <map>
#include <string_view>

#include <pqxx/transaction>

#include "common/result.h"
#include "projections/batch_changes.h"

namespace ledger::projections {

// What the stored backers rows held, per post id, learned from the database
// while the batch is written: CoalesceBatch cannot know it, UpdateFigures
// adds it to the figures.
struct StoredBackerDeltas {
  std::map<int64_t, int64_t> fundings;      // minus the fundings of each deleted row
  std::map<int64_t, int64_t> participants;  // -1 per deleted row, +1 per new row
};

// Writes `changes`, the coalesced events first_position..last_position, with
// the statements below in the order they must run. Returns the number of
// post_stats rows rewritten.
// Errors: kCorruption as UpdateFigures (nothing is to be committed then).
Result<int64_t> WriteChanges(pqxx::work& tx, std::string_view schema, const PostChanges& changes,
                             int64_t first_position, int64_t last_position);

// Inserts the posts created in the batch and alive at its end, each with a
// post_stats row that UpdateFigures completes.
void InsertCreatedPosts(pqxx::work& tx, std::string_view schema, const PostChanges& changes);

// Sets the edited fields of posts created before the batch and alive at its
// end; a field no edit touched keeps its value.
void UpdateEditedPosts(pqxx::work& tx, std::string_view schema, const PostChanges& changes);

// Deletes the stored rows of the backers a refund reset, on posts alive at
// the batch's end, and records what each row held in `deltas`.
void RemoveRefundedBackers(pqxx::work& tx, std::string_view schema, const PostChanges& changes,
                           StoredBackerDeltas* deltas);

// Adds each backer's fundings after their last reset to their row, creating
// the row if there is none (recorded in `deltas` as a new participant), on
// posts alive at the batch's end. REQUIRES: RemoveRefundedBackers ran first.
void UpsertFundings(pqxx::work& tx, std::string_view schema, const PostChanges& changes,
                    StoredBackerDeltas* deltas);

// Subtracts from each backer's row what cancellations took back, where the
// batch's change to the row is not a plain growth (UpsertFundings has that),
// and deletes the rows left without a live funding, recording each as a
// participant less in `deltas`. REQUIRES: UpsertFundings ran first.
void TakeCancelledFundings(pqxx::work& tx, std::string_view schema, const PostChanges& changes,
                           StoredBackerDeltas* deltas);

// Adds the batch's and `deltas`' figures to the post_stats row of every post
// alive at the batch's end and sets its version and last position. Returns
// the number of rows rewritten. REQUIRES: the functions above ran first.
// Errors: kCorruption naming first_position..last_position when a post the
// events changed has no row (the read tables are out of step with the log).
Result<int64_t> UpdateFigures(pqxx::work& tx, std::string_view schema, const PostChanges& changes,
                              const StoredBackerDeltas& deltas, int64_t first_position,
                              int64_t last_position);

// Sets the status of the posts settled in the batch and alive at its end.
// REQUIRES: InsertCreatedPosts ran first.
void SetSettledStatus(pqxx::work& tx, std::string_view schema, const PostChanges& changes);

// Records every funding the batch made, cancelled or refunded in the
// fundings table, deleted posts' included: earlier fundings' new states
// first, then this batch's fundings with their states at its end.
void WriteFundings(pqxx::work& tx, std::string_view schema, const PostChanges& changes);

// The statement with which WriteFundings marks refunded the live fundings of
// each ($1 post, $2 backer), walking the backer's fundings made after $3 (the
// post's creation). Open for the test of its plan.
std::string RefundStatement(std::string_view schema);

// Deletes the posts created before the batch and deleted in it, with their
// post_stats and backers rows.
void DeleteDeletedPosts(pqxx::work& tx, std::string_view schema, const PostChanges& changes);

}  // namespace ledger::projections
