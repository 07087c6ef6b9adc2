#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace ledger {

using CivilDate = std::chrono::year_month_day;

// "2026-11-21T03:04:05.123456Z": always UTC, always six fractional digits, so
// that the text of a timestamp is canonical (it is hashed into the chain).
std::string FormatTimestamp(Timestamp t);
// Accepts exactly the form FormatTimestamp writes.
std::optional<Timestamp> ParseTimestamp(std::string_view text);

// "YYYY-MM-DD", years 0001..9999.
std::string FormatDate(CivilDate d);
// Accepts exactly "YYYY-MM-DD" naming a real calendar day in years 0001..9999.
std::optional<CivilDate> ParseDate(std::string_view text);

}  // namespace ledger
