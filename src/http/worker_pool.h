#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ledger::http {

// Threads that run blocking work (PostgreSQL queries, log reads) off the I/O
// threads, with a bounded queue: when it is full a job is refused at once
// (the caller answers 503) instead of memory growing.
class WorkerPool {
 public:
  // REQUIRES: threads >= 1, queue_capacity >= 1.
  WorkerPool(size_t threads, size_t queue_capacity, const std::string& name);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `job`; false when the queue is full or the pool stopped (the job
  // is then dropped without running).
  [[nodiscard]] bool TrySubmit(std::function<void()> job);

  // Runs what is queued, then joins the threads. Idempotent.
  void Stop();

  size_t queued() const;
  size_t capacity() const { return capacity_; }

 private:
  void Run();

  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;  // guarded by mu_
  bool stopping_ = false;                   // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace ledger::http
