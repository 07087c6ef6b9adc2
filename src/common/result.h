#pragma once

#include <utility>
#include <variant>

#include "common/check.h"
#include "common/status.h"

namespace ledger {

// Either a value or a non-OK Status. Reading the value of an error Result is a
// bug and stops the process (LEDGER_CHECK), so callers must test ok() first.
template <typename T>
class [[nodiscard]] Result {
 public:
  // NOLINTNEXTLINE(google-explicit-constructor): implicit by design, like StatusOr.
  Result(T value) : rep_(std::move(value)) {}
  // NOLINTNEXTLINE(google-explicit-constructor)
  Result(Status status) : rep_(std::move(status)) {
    LEDGER_CHECK(!std::get<Status>(rep_).ok(), "Result built from an OK status");
  }

  bool ok() const { return std::holds_alternative<T>(rep_); }

  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(rep_);
  }

  const T& value() const& {
    LEDGER_CHECK(ok(), "value() of an error Result");
    return std::get<T>(rep_);
  }
  T& value() & {
    LEDGER_CHECK(ok(), "value() of an error Result");
    return std::get<T>(rep_);
  }
  T&& value() && {
    LEDGER_CHECK(ok(), "value() of an error Result");
    return std::get<T>(std::move(rep_));
  }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

 private:
  std::variant<T, Status> rep_;
};

}  // namespace ledger

// Assigns the value of a Result expression to `lhs`, or returns its Status.
// `lhs` may be a declaration (`auto x`), so it cannot be parenthesised.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define LEDGER_ASSIGN_OR_RETURN(lhs, expr) \
  LEDGER_ASSIGN_OR_RETURN_IMPL(LEDGER_CONCAT(ledger_result_, __LINE__), lhs, expr)
#define LEDGER_CONCAT_INNER(a, b) a##b
#define LEDGER_CONCAT(a, b) LEDGER_CONCAT_INNER(a, b)
#define LEDGER_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) {                                   \
    return tmp.status();                             \
  }                                                  \
  lhs = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)
