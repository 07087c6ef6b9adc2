#pragma once

#include <cstdint>
#include <optional>

namespace ledger {

// Money is an int64 count of the currency's smallest unit (won for KRW).
// Every operation on amounts goes through these: an overflow is an empty
// optional, never a wrapped value.

[[nodiscard]] inline std::optional<int64_t> CheckedAdd(int64_t a, int64_t b) {
  int64_t out = 0;
  if (__builtin_add_overflow(a, b, &out)) {
    return std::nullopt;
  }
  return out;
}

[[nodiscard]] inline std::optional<int64_t> CheckedSub(int64_t a, int64_t b) {
  int64_t out = 0;
  if (__builtin_sub_overflow(a, b, &out)) {
    return std::nullopt;
  }
  return out;
}

[[nodiscard]] inline std::optional<int64_t> CheckedMul(int64_t a, int64_t b) {
  int64_t out = 0;
  if (__builtin_mul_overflow(a, b, &out)) {
    return std::nullopt;
  }
  return out;
}

}  // namespace ledger
