#include "http/worker_pool.h"

#include <exception>
#include <string_view>

#include <pthread.h>

#include "common/check.h"
#include "common/log.h"

namespace ledger::http {
namespace {

void LogJobThrew(std::string_view error) {
  // The pool's name is its threads' name (set in the constructor).
  char name[16] = {};
  pthread_getname_np(pthread_self(), name, sizeof name);
  LEDGER_LOG(LogLevel::kError, "worker", "job threw").Str("pool", name).Str("error", error);
}

}  // namespace

WorkerPool::WorkerPool(size_t threads, size_t queue_capacity, const std::string& name)
    : capacity_(queue_capacity) {
  LEDGER_CHECK(threads >= 1 && queue_capacity >= 1, "a worker pool has threads and room");
  for (size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([this, name] {
      pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
      Run();
    });
  }
}

WorkerPool::~WorkerPool() { Stop(); }

bool WorkerPool::TrySubmit(std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || jobs_.size() >= capacity_) return false;
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

void WorkerPool::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

size_t WorkerPool::queued() const {
  std::lock_guard lock(mu_);
  return jobs_.size();
}

void WorkerPool::Run() {
  while (true) {
    std::function<void()> job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, and everything queued has run
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    // A job answers its own request; one that throws is a bug, but it must
    // not take the pool (and every later request) down with it.
    try {
      job();
    } catch (const std::exception& e) {
      LogJobThrew(e.what());
    } catch (...) {
      LogJobThrew("a non-standard exception");
    }
  }
}

}  // namespace ledger::http
