// Decide for the end of a funding: a backer's cancellation, and the service's
// settlement at the deadline.

#include <string>

#include "commands/decide_parts.h"
#include "common/time_format.h"

namespace ledger::commands {

// Who may cancel what, in this order: the post must exist; the position must
// be a funding of this post (404 otherwise); it must be the actor's (403); it
// must still be live (409 when cancelled before; a refunded one is closed
// like the post that refunded it); and funding must still be open (409
// funding_closed after the deadline or the settlement).
Decision DecideCancel(const PostState* post, const CancelFunding& c, const DecideContext& ctx) {
  if (post == nullptr || !post->exists()) {
    return Reject(RejectReason::kPostNotFound, "", "no such post");
  }
  if (post->deleted) {
    return Reject(RejectReason::kPostDeleted, "", "the post was deleted");
  }
  const LiveFunding* live = post->live_fundings.Find(c.funding_position);
  const auto cancelled = post->cancelled_fundings.find(c.funding_position);
  const auto refunded = post->refunded_fundings.find(c.funding_position);
  const std::string* backer = nullptr;
  if (live != nullptr) {
    backer = &live->backer;
  } else if (cancelled != post->cancelled_fundings.end()) {
    backer = &cancelled->second.backer;
  } else if (refunded != post->refunded_fundings.end()) {
    backer = &refunded->second.backer;
  } else {
    return Reject(RejectReason::kFundingNotFound, "",
                  "position " + std::to_string(c.funding_position) + " is not a funding of post " +
                      std::to_string(post->id));
  }
  if (*backer != ctx.actor) {
    return Reject(RejectReason::kNotYourFunding, "", "only the backer may cancel a funding");
  }
  if (cancelled != post->cancelled_fundings.end()) {
    return Reject(
        RejectReason::kFundingAlreadyCancelled, "",
        "the funding at position " + std::to_string(c.funding_position) + " was already cancelled");
  }
  if (post->settled() || ctx.now >= post->closes_at) {
    return Reject(RejectReason::kFundingClosed, "",
                  "funding closed at the end of " + FormatDate(post->end_date) +
                      "; a funding can be cancelled only before");
  }
  if (live == nullptr) {
    return Reject(RejectReason::kFundingClosed, "",
                  "the funding at position " + std::to_string(c.funding_position) +
                      " was refunded when the post closed");
  }
  Decision d;
  d.events.push_back(NewEvent{
      post->id, events::FundingCancelled{*backer, c.funding_position, live->units, live->amount}});
  return d;
}

// The outcome is a function of the post's state alone: successful when the
// live total reached the target, else failed; a failed all_or_nothing post
// refunds every backer in the same append. There is no limit on the number
// of refunds: a settlement must happen, and it is one append however many
// backers it returns money to.
Decision DecideSettle(const PostState* post, const SettlePost& /*c*/, const DecideContext& ctx) {
  if (post == nullptr || !post->exists()) {
    return Reject(RejectReason::kPostNotFound, "", "no such post");
  }
  if (post->deleted) {
    return Reject(RejectReason::kPostDeleted, "", "a deleted post is never settled");
  }
  if (post->settled()) {
    return Reject(RejectReason::kPostSettled, "", "the post was settled already");
  }
  if (ctx.now < post->closes_at) {
    return Reject(RejectReason::kNotYetClosed, "",
                  "the post closes at " + FormatTimestamp(post->closes_at));
  }
  const bool reached = post->total_funded >= post->target_amount;
  events::PostSettled settled;
  settled.outcome =
      reached ? events::SettlementOutcome::kSuccessful : events::SettlementOutcome::kFailed;
  settled.total_funded = post->total_funded;
  settled.participant_count = post->participant_count();
  Decision d;
  if (!reached && post->funding_model == events::FundingModel::kAllOrNothing) {
    if (post->participant_count() > 0 && !ctx.whole_post) {
      d.needs_whole_post = true;
      return d;
    }
    d.events.reserve(post->backers.size() + 1);
    const RefundTotals refunded = AppendRefunds(*post, d.events);
    settled.refunded_amount = refunded.amount;
    settled.refunded_backers = refunded.backers;
  }
  d.events.push_back(NewEvent{post->id, settled});
  return d;
}

}  // namespace ledger::commands
