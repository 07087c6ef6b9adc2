#include "commands/settlement_schedule.h"

namespace ledger::commands {

void SettlementSchedule::Add(int64_t post_id, Timestamp closes_at) {
  heap_.emplace(closes_at, post_id);
}

std::vector<int64_t> SettlementSchedule::PopDue(Timestamp now, size_t max) {
  std::vector<int64_t> due;
  while (!heap_.empty() && due.size() < max && heap_.top().first <= now) {
    due.push_back(heap_.top().second);
    heap_.pop();
  }
  return due;
}

std::optional<Timestamp> SettlementSchedule::next_deadline() const {
  if (heap_.empty()) return std::nullopt;
  return heap_.top().first;
}

void SettlementSchedule::PublishPending(std::optional<Timestamp> settling) {
  std::optional<Timestamp> earliest = next_deadline();
  if (settling && (!earliest || *settling < *earliest)) earliest = settling;
  pending_us_.store(earliest ? earliest->time_since_epoch().count() : kNoPending,
                    std::memory_order_relaxed);
}

std::optional<Timestamp> SettlementSchedule::pending_deadline() const {
  const int64_t us = pending_us_.load(std::memory_order_relaxed);
  if (us == kNoPending) return std::nullopt;
  return Timestamp(std::chrono::microseconds(us));
}

}  // namespace ledger::commands
