#pragma once

// A StreamSource that a test feeds by hand, for the server's stream tests.

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "http/stream_source.h"

namespace ledger::http::test_support {

// A source the test feeds by hand.
class TestSource final : public StreamSource {
 public:
  void Start(Wake wake) override {
    const std::lock_guard lock(mu_);
    wake_ = std::move(wake);
  }
  bool Take(std::vector<Chunk>& out) override {
    const std::lock_guard lock(mu_);
    if (said_ended_) takes_after_end.fetch_add(1);
    said_ended_ = ended_;
    for (std::string& text : ready_) out.push_back(std::make_shared<const std::string>(text));
    ready_.clear();
    return !ended_;
  }
  Chunk Heartbeat() override { return std::make_shared<const std::string>("<beat>"); }
  Chunk Farewell() override { return std::make_shared<const std::string>("<bye>"); }
  void Close() override { closes.fetch_add(1); }

  void Push(std::string text) {
    Wake wake;
    {
      const std::lock_guard lock(mu_);
      ready_.push_back(std::move(text));
      wake = wake_;
    }
    if (wake) wake();
  }
  void End() {
    Wake wake;
    {
      const std::lock_guard lock(mu_);
      ended_ = true;
      wake = wake_;
    }
    if (wake) wake();
  }
  bool started() {
    const std::lock_guard lock(mu_);
    return static_cast<bool>(wake_);
  }

  std::atomic<int> closes{0};
  // Calls of Take after it returned false, which the contract rules out.
  std::atomic<int> takes_after_end{0};

 private:
  std::mutex mu_;
  Wake wake_;
  std::vector<std::string> ready_;
  bool ended_ = false;
  bool said_ended_ = false;
};

}  // namespace ledger::http::test_support
