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

Result<std::map<int64_t, PostChange>> CoalesceBatch(std::span<const events::Event> events) {
  std::map<int64_t, PostChange> changes;
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
          } else if constexpr (std::is_same_v<T, events::PostEdited>) {
            events::PostCreated& p = c.created_data;
            events::PostEdited& x = c.edits;
            if (c.created) {
              if (d.title) p.title = *d.title;
              if (d.uploader) p.uploader = *d.uploader;
              if (d.description) p.description = *d.description;
              if (d.funding_unit) p.funding_unit = *d.funding_unit;
              if (d.end_date) p.end_date = *d.end_date;
              if (d.closes_at) p.closes_at = *d.closes_at;
            } else {
              if (d.title) x.title = d.title;
              if (d.uploader) x.uploader = d.uploader;
              if (d.description) x.description = d.description;
              if (d.funding_unit) x.funding_unit = d.funding_unit;
              if (d.end_date) x.end_date = d.end_date;
              if (d.closes_at) x.closes_at = d.closes_at;
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
          } else {  // FundingRefunded
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
          }
        },
        e.data);
    LEDGER_RETURN_IF_ERROR(status);
  }
  return changes;
}

}  // namespace ledger::projections
