#include "common/time_format.h"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/clock.h"

namespace ledger {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using std::chrono::sys_days;

CivilDate Date(int y, unsigned m, unsigned d) {
  return CivilDate{std::chrono::year(y), std::chrono::month(m), std::chrono::day(d)};
}

Timestamp At(CivilDate d, int h, int min, int s, int64_t us) {
  return Timestamp(sys_days(d)) + hours(h) + minutes(min) + seconds(s) + microseconds(us);
}

TEST(TimeFormatTest, FormatsTimestampWithSixFractionDigitsAndZ) {
  EXPECT_EQ(FormatTimestamp(At(Date(2026, 11, 21), 3, 4, 5, 123'456)),
            "2026-11-21T03:04:05.123456Z");
  EXPECT_EQ(FormatTimestamp(At(Date(2026, 1, 2), 0, 0, 0, 7)), "2026-01-02T00:00:00.000007Z");
  EXPECT_EQ(FormatTimestamp(Timestamp{}), "1970-01-01T00:00:00.000000Z");
}

TEST(TimeFormatTest, FormatsInstantsBeforeTheEpoch) {
  EXPECT_EQ(FormatTimestamp(Timestamp(microseconds(-1))), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatTimestamp(At(Date(1, 1, 1), 0, 0, 0, 0)), "0001-01-01T00:00:00.000000Z");
}

// Found by fuzz/event_record (a state key's deadline is any int64): the day
// was converted back to microseconds, which overflowed within a day of the
// earliest Timestamp. The years there do not fit a CivilDate, so only the
// time of day is meaningful.
TEST(TimeFormatTest, FormatsTheExtremeTimestampsWithoutOverflow) {
  EXPECT_TRUE(FormatTimestamp(Timestamp::min()).ends_with("T19:59:05.224192Z"))
      << FormatTimestamp(Timestamp::min());
  EXPECT_TRUE(FormatTimestamp(Timestamp::max()).ends_with("T04:00:54.775807Z"))
      << FormatTimestamp(Timestamp::max());
}

// Each check runs on a thread of its own, so no earlier call on the thread
// can have primed any per-thread state of the formatter.
std::string FormatOnFreshThread(Timestamp t) {
  std::string text;
  std::thread([&text, t] { text = FormatTimestamp(t); }).join();
  return text;
}

TEST(TimeFormatTest, FormatsEveryInstantAsTheFirstCallOnAThread) {
  EXPECT_EQ(FormatOnFreshThread(Timestamp(microseconds(-1))), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatOnFreshThread(Timestamp{}), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatOnFreshThread(At(Date(2026, 11, 21), 3, 4, 5, 123'456)),
            "2026-11-21T03:04:05.123456Z");
}

TEST(TimeFormatTest, RepeatedAndAlternatingCallsGiveTheSameText) {
  const Timestamp a = At(Date(2026, 11, 21), 3, 4, 5, 123'456);
  const Timestamp b = a + microseconds(1);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(FormatTimestamp(a), "2026-11-21T03:04:05.123456Z");
    EXPECT_EQ(FormatTimestamp(a), "2026-11-21T03:04:05.123456Z");
    EXPECT_EQ(FormatTimestamp(b), "2026-11-21T03:04:05.123457Z");
  }
}

TEST(TimeFormatTest, TimestampRoundTrips) {
  const std::vector<Timestamp> instants = {
      Timestamp{},
      Timestamp(microseconds(-1)),
      At(Date(1, 1, 1), 0, 0, 0, 0),
      At(Date(2024, 2, 29), 23, 59, 59, 999'999),
      At(Date(2026, 11, 21), 15, 0, 0, 0),
      At(Date(9999, 12, 31), 23, 59, 59, 999'999),
  };
  for (const Timestamp t : instants) {
    const std::string text = FormatTimestamp(t);
    const std::optional<Timestamp> parsed = ParseTimestamp(text);
    ASSERT_TRUE(parsed.has_value()) << text;
    EXPECT_EQ(*parsed, t) << text;
    EXPECT_EQ(FormatTimestamp(*parsed), text);
  }
}

TEST(TimeFormatTest, ParsesExactInstant) {
  EXPECT_EQ(ParseTimestamp("2026-11-21T03:04:05.123456Z"),
            At(Date(2026, 11, 21), 3, 4, 5, 123'456));
  EXPECT_EQ(ParseTimestamp("2026-11-21T23:59:59.999999Z"),
            At(Date(2026, 11, 22), 0, 0, 0, 0) - microseconds(1));
}

TEST(TimeFormatTest, RejectsEveryMalformedTimestamp) {
  const std::vector<std::string_view> bad = {
      "",
      "2026-11-21",
      "2026-11-21T03:04:05.12345Z",    // 5 fraction digits
      "2026-11-21T03:04:05.1234567Z",  // 7 fraction digits
      "2026-11-21T03:04:05Z",          // no fraction
      "2026-11-21T03:04:05.123456",    // no Z
      "2026-11-21T03:04:05.123456z",   // lower-case z
      "2026-11-21T03:04:05.1234567",   // right length, no Z
      "2026-11-21T03:04:05.123456+00:00",
      "2026-11-21T03:04:05.123456ZZ",
      " 2026-11-21T03:04:05.123456Z",
      "2026-11-21 03:04:05.123456Z",  // space for T
      "2026-11-21t03:04:05.123456Z",  // lower-case t
      "2026-11-21T03-04-05.123456Z",
      "2026-11-21T03:04:05,123456Z",  // comma decimal
      "2026-11-21T24:00:00.000000Z",  // hour 24
      "2026-11-21T23:60:00.000000Z",  // minute 60
      "2026-11-21T23:59:60.000000Z",  // leap second
      "2026-02-30T00:00:00.000000Z",  // Feb 30
      "2023-02-29T00:00:00.000000Z",  // not a leap year
      "0000-01-01T00:00:00.000000Z",  // year 0000
      "2026-13-01T00:00:00.000000Z",
      "2026-00-01T00:00:00.000000Z",
      "2026-11-00T00:00:00.000000Z",
      "2026-11-21T0a:04:05.123456Z",
      "2026-11-21T03:04:05.12345aZ",
      "2026-11-21T03:04:05.-12345Z",
      "2026-11-21T+3:04:05.123456Z",
      "-026-11-21T03:04:05.123456Z",
      "10000-01-01T00:00:00.00000Z",
  };
  for (const std::string_view text : bad) {
    EXPECT_EQ(ParseTimestamp(text), std::nullopt) << "accepted: " << text;
  }
}

TEST(TimeFormatTest, RejectsTimestampWithNulByte) {
  const std::string text("2026-11-21T03:04:05.123456Z\0", 28);
  EXPECT_EQ(ParseTimestamp(text), std::nullopt);
  std::string inner = "2026-11-21T03:04:05.123456Z";
  inner[5] = '\0';
  EXPECT_EQ(ParseTimestamp(inner), std::nullopt);
}

TEST(TimeFormatTest, FormatsDateWithZeroPadding) {
  EXPECT_EQ(FormatDate(Date(2026, 1, 5)), "2026-01-05");
  EXPECT_EQ(FormatDate(Date(1, 1, 1)), "0001-01-01");
  EXPECT_EQ(FormatDate(Date(9999, 12, 31)), "9999-12-31");
}

TEST(TimeFormatTest, ParsesDates) {
  EXPECT_EQ(ParseDate("2026-11-21"), Date(2026, 11, 21));
  EXPECT_EQ(ParseDate("0001-01-01"), Date(1, 1, 1));
  EXPECT_EQ(ParseDate("9999-12-31"), Date(9999, 12, 31));
}

TEST(TimeFormatTest, AcceptsLeapDaysOnlyInLeapYears) {
  EXPECT_EQ(ParseDate("2024-02-29"), Date(2024, 2, 29));
  EXPECT_EQ(ParseDate("2000-02-29"), Date(2000, 2, 29));
  EXPECT_EQ(ParseDate("2023-02-29"), std::nullopt);
  EXPECT_EQ(ParseDate("1900-02-29"), std::nullopt);
  EXPECT_EQ(ParseDate("2100-02-29"), std::nullopt);
}

TEST(TimeFormatTest, RejectsEveryMalformedDate) {
  const std::vector<std::string_view> bad = {
      "",
      "2026-1-05",
      "2026-01-5",
      "26-01-05",
      "2026-01-051",
      "20260105",
      "2026/01/05",
      "2026.01.05",
      "2026-01-05 ",
      " 2026-01-05",
      "abcd-01-05",
      "2026-0a-05",
      "2026-01-0x",
      "2026-+1-05",
      "-026-01-05",
      "+2026-01-05",
      "2026-13-01",
      "2026-00-10",
      "2026-01-00",
      "2026-01-32",
      "2026-04-31",
      "2026-02-30",
      "0000-01-01",
      "2026-01-05T00:00:00.000000Z",
      "\xef\xbc\x92\xef\xbc\x90\xef\xbc\x92\xef\xbc\x96-01-05",  // full-width digits
  };
  for (const std::string_view text : bad) {
    EXPECT_EQ(ParseDate(text), std::nullopt) << "accepted: " << text;
  }
}

TEST(TimeFormatTest, EveryDayOfTwoYearsRoundTrips) {
  for (sys_days d = sys_days(Date(2023, 1, 1)); d <= sys_days(Date(2024, 12, 31)); d += days(1)) {
    const CivilDate date(d);
    const std::string text = FormatDate(date);
    EXPECT_EQ(ParseDate(text), date) << text;
  }
}

}  // namespace
}  // namespace ledger
