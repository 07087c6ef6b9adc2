#include "projections/funding_history.h"

#include <algorithm>
#include <limits>
#include <type_traits>
#include <variant>

#include "common/money.h"

namespace ledger::projections {
namespace {

// The fold refuses an overflowing post, so a saturated sum only shows up in
// a log the fold reports as corrupt anyway.
int64_t Add(int64_t a, int64_t b) {
  return CheckedAdd(a, b).value_or(std::numeric_limits<int64_t>::max());
}

}  // namespace

FundingRecord* FundingHistory::Find(int64_t position) {
  if (position >= 1 && static_cast<uint64_t>(position - 1) < record_at_.size()) {
    const uint32_t at = record_at_[static_cast<size_t>(position - 1)];
    return at == 0 ? nullptr : &records_[at - 1];
  }
  const auto it =
      std::lower_bound(records_.begin(), records_.end(), position,
                       [](const FundingRecord& r, int64_t p) { return r.position < p; });
  return it != records_.end() && it->position == position ? &*it : nullptr;
}

void FundingHistory::Index(int64_t position) {
  // Once a position cannot be indexed, neither can any after it: Find
  // searches from there on.
  if (indexing_ && records_.size() < std::numeric_limits<uint32_t>::max() &&
      position > static_cast<int64_t>(record_at_.size())) {
    record_at_.resize(static_cast<size_t>(position), 0);
    record_at_.back() = static_cast<uint32_t>(records_.size());
  } else {
    indexing_ = false;
  }
}

PostMoney FundingHistory::money(int64_t post_id) const {
  const auto index = static_cast<size_t>(post_id - 1);
  return post_id >= 1 && index < money_.size() ? money_[index] : PostMoney{};
}

PostMoney& FundingHistory::MoneyOf(int64_t post_id) {
  const auto index = static_cast<size_t>(post_id - 1);
  if (index >= money_.size()) money_.resize(index + 1);
  return money_[index];
}

void FundingHistory::Observe(const events::Event& event, const commands::PostState& before) {
  const int64_t post = event.stream;
  // A stream id the fold refuses (below 1) is never folded: nothing to keep.
  if (post < 1) return;
  std::visit(
      [&](const auto& d) {
        using T = std::decay_t<decltype(d)>;
        if constexpr (std::is_same_v<T, events::PostFunded>) {
          records_.push_back(FundingRecord{event.position, post, d.backer, d.units, d.amount,
                                           event.recorded_at, FundingState::kLive});
          Index(event.position);
          PostMoney& m = MoneyOf(post);
          m.funded = Add(m.funded, d.amount);
        } else if constexpr (std::is_same_v<T, events::FundingCancelled>) {
          if (FundingRecord* r = Find(d.funding_position)) r->state = FundingState::kCancelled;
          PostMoney& m = MoneyOf(post);
          m.cancelled = Add(m.cancelled, d.amount);
        } else if constexpr (std::is_same_v<T, events::FundingRefunded>) {
          // A refund returns all of the backer's live fundings (Apply).
          const auto backer = before.backers.find(d.backer);
          if (backer != before.backers.end()) {
            for (const int64_t position : backer->second.live_positions) {
              if (FundingRecord* r = Find(position)) r->state = FundingState::kRefunded;
            }
          }
          PostMoney& m = MoneyOf(post);
          m.refunded = Add(m.refunded, d.amount);
        } else if constexpr (std::is_same_v<T, events::PostSettled>) {
          const bool reached = d.total_funded >= before.target_amount;
          const bool says_reached = d.outcome == events::SettlementOutcome::kSuccessful;
          if (reached != says_reached) {
            disagreements_.push_back(SettlementDisagreement{post, event.position, d.outcome,
                                                            d.total_funded, before.target_amount});
          }
        }
      },
      event.data);
}

}  // namespace ledger::projections
