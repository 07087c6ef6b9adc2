#pragma once

// Every funding of the log with what became of it, and the money each post
// moved, collected while the log is folded (commands::FoldLog's observer):
// what replay loads into the fundings table and what verify audits the
// tables and the log's own books with. No pqxx here.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "commands/post_state.h"
#include "common/clock.h"
#include "events/event.h"
#include "projections/queries.h"

namespace ledger::projections {

// One PostFunded and its fate, a row of the fundings table.
struct FundingRecord {
  int64_t position = 0;
  int64_t post_id = 0;
  std::string backer;
  int64_t units = 0;
  int64_t amount = 0;
  Timestamp recorded_at;
  FundingState state = FundingState::kLive;
};

// The money one post moved, summed over its events.
struct PostMoney {
  int64_t funded = 0;     // PostFunded amounts
  int64_t cancelled = 0;  // FundingCancelled amounts
  int64_t refunded = 0;   // FundingRefunded amounts
};

// A settlement whose outcome is not what its own figures say.
struct SettlementDisagreement {
  int64_t post_id = 0;
  int64_t position = 0;
  events::SettlementOutcome outcome = events::SettlementOutcome::kSuccessful;
  int64_t total_funded = 0;
  int64_t target_amount = 0;
};

class FundingHistory {
 public:
  // Records `event` of the post whose state before it is `before`.
  // REQUIRES: the events of one log in position order, each one that Apply
  // then accepts (the fold checks them and stops at the first it refuses;
  // sums saturate rather than overflow, the fold refuses overflows).
  void Observe(const events::Event& event, const commands::PostState& before);
  // Room for `fundings` records, so that the history does not grow by copies
  // (a fold of n events has at most n fundings; the room is only address
  // space until records fill it).
  void Reserve(size_t fundings) {
    records_.reserve(fundings);
    record_at_.reserve(fundings);
  }

  // By position, ascending.
  std::span<const FundingRecord> records() const { return records_; }
  // What post `post_id` moved; zeros for a post that moved none.
  PostMoney money(int64_t post_id) const;
  const std::vector<SettlementDisagreement>& disagreements() const { return disagreements_; }

 private:
  FundingRecord* Find(int64_t position);
  // Indexes the funding just recorded, at `position`.
  void Index(int64_t position);
  PostMoney& MoneyOf(int64_t post_id);

  std::vector<FundingRecord> records_;
  // By position - 1: one more than the index in records_ of the funding at
  // that position, 0 for a position that is no funding; up to the last
  // funding. A cancellation or a refund finds its fundings with one look
  // instead of a binary search of every record (about twenty cache misses
  // each in a million fundings). Four bytes per event; a history past
  // 2^32 - 1 fundings is searched beyond the last one indexed.
  std::vector<uint32_t> record_at_;
  bool indexing_ = true;
  // Index post id - 1 (ids are dense from 1, as the fold checks). A map of
  // posts, and one of live positions per (post, backer) beside it, were most
  // of a million-event verify's time: a tree descent that missed the cache
  // per funding. The live positions a refund returns are the post's own
  // (PostState::backers), which `before` carries.
  std::vector<PostMoney> money_;
  std::vector<SettlementDisagreement> disagreements_;
};

}  // namespace ledger::projections
