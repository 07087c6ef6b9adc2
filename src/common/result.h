#pragma once

#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include "common/check.h"
#include "common/status.h"

namespace ledger {

// Either a value or an error. The error is a non-OK Status (the default, for
// operational failures) or, in a layer whose failures carry more than a code
// and a message, that layer's one error type (the API's Problem). Reading the
// value of an error Result, or the error of a value, is a bug and stops the
// process (LEDGER_CHECK), so callers must test ok() first.
template <typename T, typename E = Status>
class [[nodiscard]] Result {
 public:
  // NOLINTNEXTLINE(google-explicit-constructor): implicit by design, like StatusOr.
  Result(T value) : rep_(std::in_place_index<0>, std::move(value)) {}
  // NOLINTNEXTLINE(google-explicit-constructor)
  Result(E error) : rep_(std::in_place_index<1>, std::move(error)) {
    if constexpr (std::is_same_v<E, Status>) {
      LEDGER_CHECK(!std::get<1>(rep_).ok(), "Result built from an OK status");
    }
  }

  bool ok() const { return rep_.index() == 0; }

  // The Status of a Status result: OK when it holds a value.
  const Status& status() const requires std::is_same_v<E, Status> {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<1>(rep_);
  }
  // REQUIRES: !ok().
  const E& error() const& {
    LEDGER_CHECK(!ok(), "error() of a Result that holds a value");
    return std::get<1>(rep_);
  }
  E&& error() && {
    LEDGER_CHECK(!ok(), "error() of a Result that holds a value");
    return std::get<1>(std::move(rep_));
  }

  const T& value() const& {
    LEDGER_CHECK(ok(), "value() of an error Result");
    return std::get<0>(rep_);
  }
  T& value() & {
    LEDGER_CHECK(ok(), "value() of an error Result");
    return std::get<0>(rep_);
  }
  T&& value() && {
    LEDGER_CHECK(ok(), "value() of an error Result");
    return std::get<0>(std::move(rep_));
  }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

 private:
  std::variant<T, E> rep_;
};

// A check that yields nothing but may fail with a layer's error type. (For
// Status itself, a plain Status is that.)
template <typename E>
class [[nodiscard]] Result<void, E> {
  static_assert(!std::is_same_v<E, Status>, "return a Status instead of Result<void>");

 public:
  Result() = default;
  // NOLINTNEXTLINE(google-explicit-constructor)
  Result(E error) : error_(std::move(error)) {}

  bool ok() const { return !error_.has_value(); }
  // REQUIRES: !ok().
  const E& error() const& {
    LEDGER_CHECK(!ok(), "error() of a Result that succeeded");
    return *error_;
  }

 private:
  std::optional<E> error_;
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
