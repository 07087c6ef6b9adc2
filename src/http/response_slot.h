#pragma once

// Internal to src/http: where a handler's answer meets the connection
// coroutine waiting for it.

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

// The Boost headers must stay between these two.
// clang-format off
#include "http/boost_warnings_begin.h"
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include "http/boost_warnings_end.h"
// clang-format on

#include "http/message.h"

namespace ledger::http {

// Where a handler's answer meets the connection waiting for it. The Respond
// callback holds the slot, never the connection or the io_context, so a call
// after the connection (or the server) is gone does nothing.
class ResponseSlot {
 public:
  // The first call wins; later ones do nothing. `response` is nullopt when
  // the server gives up waiting (Stop past its grace). Any thread.
  void Complete(std::optional<Response> response) {
    std::unique_lock lock(mu_);
    if (done_) return;
    done_ = true;
    if (!resume_) {
      result_ = std::move(response);
      return;
    }
    Resume resume = std::move(resume_);
    resume_ = nullptr;
    lock.unlock();
    resume(std::move(response));
  }

  // Completes with the answer once Complete has been called. The connection's
  // coroutine resumes on its own executor (strand), whichever thread answers.
  template <typename CompletionToken>
  auto AsyncWait(CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, void(std::optional<Response>)>(
        [this](auto handler) {
          // Shared so the resume function can be a copyable std::function.
          auto shared = std::make_shared<decltype(handler)>(std::move(handler));
          const auto executor = boost::asio::get_associated_executor(*shared);
          Resume resume = [shared, executor](std::optional<Response> response) {
            // Posted, never run inline: Complete may be called from inside
            // the initiation or from a thread outside the io_context.
            boost::asio::post(executor, [shared, response = std::move(response)]() mutable {
              auto& waiting = *shared;
              std::move(waiting)(std::move(response));
            });
          };
          std::unique_lock lock(mu_);
          if (!done_) {
            resume_ = std::move(resume);
            return;
          }
          std::optional<Response> result = std::move(result_);
          lock.unlock();
          resume(std::move(result));
        },
        token);
  }

 private:
  using Resume = std::function<void(std::optional<Response>)>;

  std::mutex mu_;
  bool done_ = false;               // guarded by mu_
  std::optional<Response> result_;  // guarded by mu_: answered before the wait began
  Resume resume_;                   // guarded by mu_: the waiting coroutine
};

}  // namespace ledger::http
