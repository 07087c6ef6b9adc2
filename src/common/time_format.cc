#include "common/time_format.h"

#include <cstdint>
#include <cstdio>

namespace ledger {
namespace {

// Parses exactly `width` ASCII digits at text[pos...].
std::optional<int> Digits(std::string_view text, size_t pos, size_t width) {
  if (pos + width > text.size()) {
    return std::nullopt;
  }
  int value = 0;
  for (size_t i = pos; i < pos + width; ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    value = value * 10 + (c - '0');
  }
  return value;
}

}  // namespace

std::string FormatDate(CivilDate d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(d.year()),
                static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
  return buf;
}

std::optional<CivilDate> ParseDate(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') {
    return std::nullopt;
  }
  const auto y = Digits(text, 0, 4);
  const auto m = Digits(text, 5, 2);
  const auto d = Digits(text, 8, 2);
  if (!y || !m || !d || *y < 1) {
    return std::nullopt;
  }
  const CivilDate date{std::chrono::year(*y), std::chrono::month(static_cast<unsigned>(*m)),
                       std::chrono::day(static_cast<unsigned>(*d))};
  if (!date.ok()) {
    return std::nullopt;
  }
  return date;
}

std::string FormatTimestamp(Timestamp t) {
  using namespace std::chrono;
  // A batch of events shares one recorded_at: remember the last answer.
  thread_local std::optional<Timestamp> last_t;
  thread_local std::string last_text;
  if (last_t && t == *last_t) {
    return last_text;
  }
  // Floor division by hand: floor<days>(t) and t - day convert the day back
  // to microseconds, which overflows int64 within a day of the earliest
  // Timestamp (a corrupt state key can hold any value; DescribeKey formats it).
  constexpr int64_t kDayUs = int64_t{86'400} * 1'000'000;
  int64_t day_count = t.time_since_epoch().count() / kDayUs;
  int64_t tod_us = t.time_since_epoch().count() % kDayUs;
  if (tod_us < 0) {
    tod_us += kDayUs;
    --day_count;
  }
  const CivilDate date{sys_days(days(day_count))};
  const hh_mm_ss<microseconds> tod{microseconds(tod_us)};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%sT%02d:%02d:%02d.%06lldZ", FormatDate(date).c_str(),
                static_cast<int>(tod.hours().count()), static_cast<int>(tod.minutes().count()),
                static_cast<int>(tod.seconds().count()),
                static_cast<long long>(tod.subseconds().count()));
  last_t = t;
  last_text = buf;
  return last_text;
}

std::optional<Timestamp> ParseTimestamp(std::string_view text) {
  using namespace std::chrono;
  // YYYY-MM-DDTHH:MM:SS.ffffffZ
  if (text.size() != 27 || text[10] != 'T' || text[13] != ':' || text[16] != ':' ||
      text[19] != '.' || text[26] != 'Z') {
    return std::nullopt;
  }
  const auto date = ParseDate(text.substr(0, 10));
  const auto hh = Digits(text, 11, 2);
  const auto mm = Digits(text, 14, 2);
  const auto ss = Digits(text, 17, 2);
  const auto us = Digits(text, 20, 6);
  if (!date || !hh || !mm || !ss || !us || *hh > 23 || *mm > 59 || *ss > 59) {
    return std::nullopt;
  }
  return Timestamp(sys_days(*date)) + hours(*hh) + minutes(*mm) + seconds(*ss) + microseconds(*us);
}

}  // namespace ledger
