#pragma once

#include <optional>
#include <string_view>

#include <gtest/gtest.h>

#include "common/clock.h"
#include "common/time_format.h"

namespace ledger::testing {

// At("2026-11-21T15:00:00.000000Z"): a timestamp written the canonical way.
// A typo fails the test instead of silently meaning the epoch.
inline Timestamp At(std::string_view text) {
  const std::optional<Timestamp> t = ParseTimestamp(text);
  EXPECT_TRUE(t.has_value()) << text;
  return t.value_or(Timestamp{});
}

// D("2026-11-21"): a calendar date.
inline CivilDate D(std::string_view text) {
  const std::optional<CivilDate> d = ParseDate(text);
  EXPECT_TRUE(d.has_value()) << text;
  return d.value_or(CivilDate{});
}

}  // namespace ledger::testing
