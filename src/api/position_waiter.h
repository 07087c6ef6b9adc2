#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace ledger::api {

// Parks requests until the read tables reach a log position
// (X-Min-Position), each with a deadline. Notify() is called with every
// position the projector commits; a thread fires the deadlines.
class PositionWaiter {
 public:
  // `position` reads the projector's current position.
  explicit PositionWaiter(std::function<int64_t()> position);
  // Answers every parked waiter with false.
  ~PositionWaiter();
  PositionWaiter(const PositionWaiter&) = delete;
  PositionWaiter& operator=(const PositionWaiter&) = delete;

  // Calls done(true) once the position is at least `target` (at once, on this
  // thread, when it already is), or done(false) when `timeout` passes first.
  // done runs on the notifying or the timer thread and must not block.
  void Wait(int64_t target, std::chrono::milliseconds timeout, std::function<void(bool)> done);

  // The projector committed up to `position`.
  void Notify(int64_t position);

  size_t parked() const;

 private:
  struct Waiter {
    int64_t target;
    std::chrono::steady_clock::time_point deadline;
    std::function<void(bool)> done;
  };
  void RunTimer();

  const std::function<int64_t()> position_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t next_id_ = 0;                // guarded by mu_
  std::map<uint64_t, Waiter> waiters_;  // guarded by mu_
  bool stopping_ = false;               // guarded by mu_
  std::thread timer_;
};

}  // namespace ledger::api
