#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace ledger {

// An instant in UTC with microsecond resolution, the resolution of recorded_at.
using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;

// Source of "now". Domain code never reads the wall clock; the sequencer reads
// a Clock once per batch and hands the time to Decide, so tests inject time.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Timestamp Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  Timestamp Now() const override;
};

// A clock that moves only when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Timestamp start) : now_us_(start.time_since_epoch().count()) {}
  Timestamp Now() const override {
    return Timestamp(std::chrono::microseconds(now_us_.load(std::memory_order_acquire)));
  }
  void Set(Timestamp t) { now_us_.store(t.time_since_epoch().count(), std::memory_order_release); }
  void Advance(std::chrono::microseconds d) {
    now_us_.fetch_add(d.count(), std::memory_order_acq_rel);
  }

 private:
  std::atomic<int64_t> now_us_;
};

}  // namespace ledger
