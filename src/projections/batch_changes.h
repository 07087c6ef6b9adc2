#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "commands/post_state.h"
#include "common/result.h"
#include "events/event.h"
#include "projections/funding_history.h"

namespace ledger::projections {

// What one batch of events does to one backer of one post. A refund returns
// everything the backer had live, so it "resets" the backer: the row as
// stored before the batch is removed, and fundings of this batch that came
// before the refund are cancelled with it.
struct BackerChange {
  bool reset = false;
  int64_t before_reset_fundings = 0;   // fundings in this batch before the last reset
  commands::BackerTotal after;         // fundings in this batch after the last reset
  std::vector<int64_t> new_positions;  // this batch's fundings of the backer
};

// What one batch does to one post, coalesced so that it can be written with
// a fixed number of statements however many events touched the post.
struct PostChange {
  int64_t id = 0;
  bool created = false;              // PostCreated is in this batch
  events::PostCreated created_data;  // with this batch's edits folded in
  Timestamp created_at;
  // Where the post's PostCreated is in the log: set by CoalesceBatch when it
  // is in this batch, else by the projector for a post with a refund (0:
  // not known). Every funding of the post comes after it, which bounds a
  // refund's walk through a backer's fundings.
  int64_t created_position = 0;
  events::PostEdited edits;  // for a post created before this batch
  bool deleted = false;
  std::optional<events::SettlementOutcome> settlement;  // PostSettled is in this batch
  int64_t total_delta = 0;     // sum of fundings minus cancellations and refunds
  int64_t fundings_delta = 0;  // PostFunded events, less those a reset cancels
  std::map<std::string, BackerChange> backers;
  // Every funding: made in this batch (by position), cancelled from an
  // earlier batch (positions). Refunds of earlier fundings are the backers
  // with `reset`. Written even when the post is deleted in the batch.
  std::map<int64_t, FundingRecord> new_fundings;  // with their state at the batch's end
  std::vector<int64_t> cancelled_earlier;
  int64_t version = 0;  // stream_version of the post's last event here
  int64_t last_position = 0;

  bool has_edits() const {
    return edits.title || edits.uploader || edits.description || edits.funding_unit ||
           edits.end_date || edits.funding_model || edits.max_fundings_per_backer;
  }
};

// One batch's changes, by post id.
using PostChanges = std::map<int64_t, PostChange>;

// True when a refund in this batch resets one of the post's backers.
bool HasRefund(const PostChange& change);

// Coalesces `events` per post. REQUIRES: consecutive events of the log in
// position order; the projector checks the chain (FollowChain) before it
// calls this, and nothing about the order is checked here. Fails with
// kCorruption only when a sum over the batch overflows int64: a post's
// total_delta, or a backer's units or amount.
Result<PostChanges> CoalesceBatch(std::span<const events::Event> events);

}  // namespace ledger::projections
