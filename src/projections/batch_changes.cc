#include "projections/batch_changes.h"

#include <type_traits>

#include "common/money.h"

namespace ledger::projections {
namespace {

Status Overflow(const events::Event& e) {
  return Status::Corruption("event at position " + std::to_string(e.position) +
                            " overflows a read-table total");
}

}  // namespace

bool HasRefund(const PostChange& change) {
  for (const auto& [backer, b] : change.backers) {
    if (b.reset) return true;
  }
  return false;
}

Result<PostChanges> CoalesceBatch(std::span<const events::Event> events) {
  PostChanges changes;
  for (const events::Event& e : events) {
    PostChange& c = changes[e.stream];
    c.id = e.stream;
    c.version = e.stream_version;
    c.last_position = e.position;
    Status status;
    std::visit(
        [&](const auto& d) {
          using T = std::decay_t<decltype(d)>;
          if constexpr (std::is_same_v<T, events::PostCreated>) {
            c.created = true;
            c.created_data = d;
            c.created_at = e.recorded_at;
            c.created_position = e.position;
          } else if constexpr (std::is_same_v<T, events::PostEdited>) {
            // Folded into the new row, or merged with earlier edits (an
            // optional field takes the later value).
            if (c.created) {
              events::ApplyEditTo(c.created_data, d);
            } else {
              events::ApplyEditTo(c.edits, d);
            }
          } else if constexpr (std::is_same_v<T, events::PostDeleted>) {
            c.deleted = true;
          } else if constexpr (std::is_same_v<T, events::PostFunded>) {
            BackerChange& b = c.backers[d.backer];
            const auto units = CheckedAdd(b.after.units, d.units);
            const auto amount = CheckedAdd(b.after.amount, d.amount);
            const auto total = CheckedAdd(c.total_delta, d.amount);
            if (!units || !amount || !total) {
              status = Overflow(e);
              return;
            }
            b.after = {*units, *amount, b.after.fundings + 1};
            c.total_delta = *total;
            c.fundings_delta += 1;
            c.new_fundings[e.position] =
                FundingRecord{e.position, e.stream,      d.backer,           d.units,
                              d.amount,   e.recorded_at, FundingState::kLive};
            b.new_positions.push_back(e.position);
          } else if constexpr (std::is_same_v<T, events::FundingCancelled>) {
            // One funding taken back: a negative change to the backer's row
            // (which may come from an earlier batch), removed at zero fundings.
            BackerChange& b = c.backers[d.backer];
            const auto units = CheckedSub(b.after.units, d.units);
            const auto amount = CheckedSub(b.after.amount, d.amount);
            const auto total = CheckedSub(c.total_delta, d.amount);
            if (!units || !amount || !total) {
              status = Overflow(e);
              return;
            }
            b.after = {*units, *amount, b.after.fundings - 1};
            c.total_delta = *total;
            c.fundings_delta -= 1;
            const auto made_here = c.new_fundings.find(d.funding_position);
            if (made_here != c.new_fundings.end()) {
              made_here->second.state = FundingState::kCancelled;
            } else {
              c.cancelled_earlier.push_back(d.funding_position);
            }
          } else if constexpr (std::is_same_v<T, events::PostSettled>) {
            c.settlement = d.outcome;
          } else {
            static_assert(std::is_same_v<T, events::FundingRefunded>);
            BackerChange& b = c.backers[d.backer];
            const auto total = CheckedSub(c.total_delta, d.amount);
            if (!total) {
              status = Overflow(e);
              return;
            }
            c.total_delta = *total;
            // The stored row's fundings are subtracted when it is deleted.
            c.fundings_delta -= b.after.fundings;
            b.before_reset_fundings += b.after.fundings;
            b.after = {};
            b.reset = true;
            for (const int64_t position : b.new_positions) {
              FundingRecord& funding = c.new_fundings.at(position);
              if (funding.state == FundingState::kLive) funding.state = FundingState::kRefunded;
            }
            b.new_positions.clear();
          }
        },
        e.data);
    LEDGER_RETURN_IF_ERROR(status);
  }
  return changes;
}

}  // namespace ledger::projections
