#pragma once

// Internal to src/projections (it takes pqxx transactions): the parts of
// verify (verify.h) that audit the fundings table and the log's own books.

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <utility>

#include <pqxx/pqxx>

#include "commands/fold.h"
#include "projections/funding_history.h"
#include "projections/verify.h"

namespace ledger::projections {

// How long past a post's deadline, by the log's own clock, verify lets it
// stay unsettled: the sequencer settles within a second while it runs, and
// events of other posts may be appended between the deadline and the
// settlement. The same minute as the alert on unsettled posts.
inline constexpr int64_t kSettlementGraceSeconds = 60;

class Collector {
 public:
  explicit Collector(VerifyReport* report) : report_(report) {}

  void Add(int64_t post_id, std::string field, std::string expected, std::string found) {
    ++report_->mismatch_count;
    if (report_->mismatches.size() < kMaxReportedMismatches) {
      report_->mismatches.push_back(
          Mismatch{post_id, std::move(field), std::move(expected), std::move(found)});
    }
  }
  // Mismatches found in bulk whose details were not fetched.
  void Count(int64_t more) { report_->mismatch_count += more; }
  // Those of another report, after these: the same report as if this
  // collector had found them itself.
  void Merge(VerifyReport&& other) {
    report_->mismatch_count += other.mismatch_count;
    for (Mismatch& m : other.mismatches) {
      if (report_->mismatches.size() >= kMaxReportedMismatches) break;
      report_->mismatches.push_back(std::move(m));
    }
  }

 private:
  VerifyReport* report_;
};

// A range of positions, (after, last].
struct PositionRange {
  int64_t after = std::numeric_limits<int64_t>::min();
  int64_t last = std::numeric_limits<int64_t>::max();
};

// Compares the rows of the fundings table of `schema` (quoted) in `range`
// with the records of `all` (the fold's history) in it: every record's row
// present with the same columns, and no other rows. Mismatch fields: "fundings/<position>" (a
// whole row), "fundings/<position>/<column>". Ranges that together cover
// every position, compared in order, find what the whole range finds.
void CompareFundings(pqxx::dbtransaction& tx, const std::string& schema,
                     std::span<const FundingRecord> all, PositionRange range, Collector& out);

// The log's own books, from the fold and the history: per post, funded −
// cancelled − refunded is total_funded ("money/<post>", and "money/total"
// over all posts); a failed all_or_nothing post ends at 0
// ("settlement/refunds"); each PostSettled's outcome agrees with its total
// against the target ("settlement/outcome"); every live post whose deadline
// is kSettlementGraceSeconds before the log's latest recorded_at is settled
// ("settlement/missing").
void CheckBooks(const commands::FoldedLog& folded, const FundingHistory& history, Collector& out);

}  // namespace ledger::projections
