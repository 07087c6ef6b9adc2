#pragma once

// Pieces of Decide shared between its files (decide.cc: create, edit, delete,
// fund; decide_lifecycle.cc: cancel, settle). Not for use outside Decide.

#include <cstdint>
#include <string>
#include <vector>

#include "commands/command.h"
#include "commands/decide.h"
#include "commands/post_state.h"
#include "commands/rejection.h"

namespace ledger::commands {

Decision Reject(RejectReason reason, std::string field, std::string detail);

struct RefundTotals {
  int64_t amount = 0;
  int64_t backers = 0;
};

// Appends one FundingRefunded per live backer of `post`, in backer order (the
// same state always yields the same events), and returns what they total:
// always the post's total_funded.
RefundTotals AppendRefunds(const PostState& post, std::vector<NewEvent>& events);

Decision DecideCancel(const PostState* post, const CancelFunding& c, const DecideContext& ctx);
Decision DecideSettle(const PostState* post, const SettlePost& c, const DecideContext& ctx);

}  // namespace ledger::commands
