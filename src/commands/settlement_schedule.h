#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <queue>
#include <utility>
#include <vector>

#include "common/clock.h"

namespace ledger::commands {

// The posts awaiting settlement, ordered by deadline, so that finding the due
// ones costs O(due · log n) and never a scan of every post. An entry may be
// stale (the post's deadline moved, or it was deleted or settled since): the
// sequencer checks each popped post against its state, and Decide refuses a
// second settlement in any case. A post whose deadline moves is added again
// with the new one.
class SettlementSchedule {
 public:
  void Add(int64_t post_id, Timestamp closes_at);

  // Removes and returns, earliest deadline first, at most `max` posts whose
  // deadline is at or before `now`.
  std::vector<int64_t> PopDue(Timestamp now, size_t max);

  // The earliest deadline waiting, if any.
  std::optional<Timestamp> next_deadline() const;
  size_t size() const { return heap_.size(); }

  // For readers on other threads (metrics): the earliest deadline of a post
  // not yet durably settled. The thread that owns the schedule publishes it
  // when it takes due posts for a batch, passing the earliest deadline among
  // them as `settling` (they are out of the schedule but not yet written),
  // and after each batch's write, without. The value is next_deadline(), or
  // `settling` when that is earlier.
  void PublishPending(std::optional<Timestamp> settling);
  // Thread-safe. nullopt: nothing is waiting.
  std::optional<Timestamp> pending_deadline() const;

 private:
  static constexpr int64_t kNoPending = INT64_MAX;

  using Entry = std::pair<Timestamp, int64_t>;  // (closes_at, post id)
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap_;
  std::atomic<int64_t> pending_us_{kNoPending};  // microseconds since the epoch
};

}  // namespace ledger::commands
