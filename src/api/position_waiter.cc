#include "api/position_waiter.h"

#include <vector>

#include <pthread.h>

namespace ledger::api {

PositionWaiter::PositionWaiter(std::function<int64_t()> position)
    : position_(std::move(position)), timer_([this] { RunTimer(); }) {}

PositionWaiter::~PositionWaiter() {
  std::map<uint64_t, Waiter> left;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    left.swap(waiters_);
  }
  cv_.notify_all();
  timer_.join();
  for (auto& [id, w] : left) w.done(false);
}

void PositionWaiter::Wait(int64_t target, std::chrono::milliseconds timeout,
                          std::function<void(bool)> done) {
  if (position_() >= target) {
    done(true);
    return;
  }
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      waiters_.emplace(next_id_++,
                       Waiter{target, std::chrono::steady_clock::now() + timeout, std::move(done)});
      done = nullptr;
    }
  }
  if (done) {
    done(false);  // shutting down
    return;
  }
  cv_.notify_all();
  // The projector may have passed `target` between the first look and the
  // registration, with its Notify finding nothing to wake: look again.
  Notify(position_());
}

void PositionWaiter::Notify(int64_t position) {
  std::vector<std::function<void(bool)>> ready;
  {
    std::lock_guard lock(mu_);
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->second.target <= position) {
        ready.push_back(std::move(it->second.done));
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& done : ready) done(true);
}

size_t PositionWaiter::parked() const {
  std::lock_guard lock(mu_);
  return waiters_.size();
}

void PositionWaiter::RunTimer() {
  pthread_setname_np(pthread_self(), "position-wait");
  std::unique_lock lock(mu_);
  while (!stopping_) {
    auto next = std::chrono::steady_clock::time_point::max();
    for (const auto& [id, w] : waiters_) next = std::min(next, w.deadline);
    if (next == std::chrono::steady_clock::time_point::max()) {
      cv_.wait(lock);
    } else {
      cv_.wait_until(lock, next);
    }
    const auto now = std::chrono::steady_clock::now();
    std::vector<std::function<void(bool)>> expired;
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->second.deadline <= now) {
        expired.push_back(std::move(it->second.done));
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
    if (expired.empty()) continue;
    lock.unlock();
    for (auto& done : expired) done(false);
    lock.lock();
  }
}

}  // namespace ledger::api
