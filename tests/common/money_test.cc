#include "common/money.h"

#include <cstdint>
#include <limits>
#include <optional>

#include <gtest/gtest.h>

namespace ledger {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr std::optional<int64_t> kOverflow = std::nullopt;

TEST(MoneyTest, AddsWithinRange) {
  EXPECT_EQ(CheckedAdd(2, 3), 5);
  EXPECT_EQ(CheckedAdd(-2, 3), 1);
  EXPECT_EQ(CheckedAdd(kMax, 0), kMax);
  EXPECT_EQ(CheckedAdd(kMax - 1, 1), kMax);
  EXPECT_EQ(CheckedAdd(kMin, 0), kMin);
  EXPECT_EQ(CheckedAdd(kMin, kMax), -1);
  EXPECT_EQ(CheckedAdd(kMin + 1, -1), kMin);
}

TEST(MoneyTest, AddRejectsOverflowInsteadOfWrapping) {
  EXPECT_EQ(CheckedAdd(kMax, 1), kOverflow);
  EXPECT_EQ(CheckedAdd(1, kMax), kOverflow);
  EXPECT_EQ(CheckedAdd(kMax, kMax), kOverflow);
  EXPECT_EQ(CheckedAdd(kMin, -1), kOverflow);
  EXPECT_EQ(CheckedAdd(-1, kMin), kOverflow);
  EXPECT_EQ(CheckedAdd(kMin, kMin), kOverflow);
}

TEST(MoneyTest, SubtractsWithinRange) {
  EXPECT_EQ(CheckedSub(5, 3), 2);
  EXPECT_EQ(CheckedSub(3, 5), -2);
  EXPECT_EQ(CheckedSub(kMin + 1, 1), kMin);
  EXPECT_EQ(CheckedSub(-1, kMin), kMax);
  EXPECT_EQ(CheckedSub(kMax, kMax), 0);
  EXPECT_EQ(CheckedSub(kMin, kMin), 0);
  EXPECT_EQ(CheckedSub(0, kMax), kMin + 1);
}

TEST(MoneyTest, SubRejectsOverflowInsteadOfWrapping) {
  EXPECT_EQ(CheckedSub(kMin, 1), kOverflow);
  EXPECT_EQ(CheckedSub(0, kMin), kOverflow);
  EXPECT_EQ(CheckedSub(kMax, -1), kOverflow);
  EXPECT_EQ(CheckedSub(kMax, kMin), kOverflow);
  EXPECT_EQ(CheckedSub(kMin, kMax), kOverflow);
}

TEST(MoneyTest, MultipliesWithinRange) {
  EXPECT_EQ(CheckedMul(10'000, 5'000), 50'000'000);
  EXPECT_EQ(CheckedMul(kMax, 1), kMax);
  EXPECT_EQ(CheckedMul(kMax, -1), -kMax);
  EXPECT_EQ(CheckedMul(kMin, 1), kMin);
  EXPECT_EQ(CheckedMul(kMin, 0), 0);
  EXPECT_EQ(CheckedMul(0, kMin), 0);
  EXPECT_EQ(CheckedMul(kMax / 2, 2), kMax - 1);
  EXPECT_EQ(CheckedMul(-(int64_t{1} << 62), 2), kMin);
  // floor(sqrt(2^63 - 1)) squared still fits.
  EXPECT_EQ(CheckedMul(3'037'000'499, 3'037'000'499), 9'223'372'030'926'249'001);
}

TEST(MoneyTest, MulRejectsOverflowInsteadOfWrapping) {
  // The one product of a negation that leaves int64.
  EXPECT_EQ(CheckedMul(kMin, -1), kOverflow);
  EXPECT_EQ(CheckedMul(-1, kMin), kOverflow);
  EXPECT_EQ(CheckedMul(kMax / 2 + 1, 2), kOverflow);
  EXPECT_EQ(CheckedMul(int64_t{1} << 62, 2), kOverflow);
  EXPECT_EQ(CheckedMul(int64_t{1} << 32, int64_t{1} << 31), kOverflow);
  EXPECT_EQ(CheckedMul(3'037'000'500, 3'037'000'500), kOverflow);
  EXPECT_EQ(CheckedMul(kMin, 2), kOverflow);
  EXPECT_EQ(CheckedMul(kMax, kMax), kOverflow);
  EXPECT_EQ(CheckedMul(kMin, kMin), kOverflow);
  EXPECT_EQ(CheckedMul(kMax, -2), kOverflow);
}

}  // namespace
}  // namespace ledger
