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
  const auto it =
      std::lower_bound(records_.begin(), records_.end(), position,
                       [](const FundingRecord& r, int64_t p) { return r.position < p; });
  return it != records_.end() && it->position == position ? &*it : nullptr;
}

void FundingHistory::Observe(const events::Event& event, const commands::PostState& before) {
  const int64_t post = event.stream;
  std::visit(
      [&](const auto& d) {
        using T = std::decay_t<decltype(d)>;
        if constexpr (std::is_same_v<T, events::PostFunded>) {
          records_.push_back(FundingRecord{event.position, post, d.backer, d.units, d.amount,
                                           event.recorded_at, FundingState::kLive});
          live_[{post, d.backer}].push_back(event.position);
          money_[post].funded = Add(money_[post].funded, d.amount);
        } else if constexpr (std::is_same_v<T, events::FundingCancelled>) {
          if (FundingRecord* r = Find(d.funding_position)) r->state = FundingState::kCancelled;
          const auto live = live_.find({post, d.backer});
          if (live != live_.end()) std::erase(live->second, d.funding_position);
          money_[post].cancelled = Add(money_[post].cancelled, d.amount);
        } else if constexpr (std::is_same_v<T, events::FundingRefunded>) {
          const auto live = live_.find({post, d.backer});
          if (live != live_.end()) {
            for (const int64_t position : live->second) {
              if (FundingRecord* r = Find(position)) r->state = FundingState::kRefunded;
            }
            live_.erase(live);
          }
          money_[post].refunded = Add(money_[post].refunded, d.amount);
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
