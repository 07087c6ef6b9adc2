#include "common/time_zone.h"

#include <chrono>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "common/time_format.h"
#include "support/status_matchers.h"
#include "support/time_literals.h"

namespace ledger {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::sys_days;

using ::ledger::testing::At;
using ::ledger::testing::D;

TimeZone Zone(std::string_view name) {
  Result<TimeZone> zone = TimeZone::Load(name);
  EXPECT_OK(zone);
  return std::move(zone).value();
}

TEST(TimeZoneTest, LoadsZoneByName) {
  const Result<TimeZone> zone = TimeZone::Load("Asia/Seoul");
  ASSERT_OK(zone);
  EXPECT_EQ(zone->name(), "Asia/Seoul");
}

TEST(TimeZoneTest, UnknownZoneIsInvalidArgument) {
  for (const std::string_view name :
       {"Mars/Olympus_Mons", "", "Asia/Seoul ", "+09:00", "../../../etc/passwd"}) {
    const Result<TimeZone> zone = TimeZone::Load(name);
    ASSERT_FALSE(zone.ok()) << "loaded '" << name << "'";
    EXPECT_EQ(zone.status().code(), Status::Code::kInvalidArgument) << zone.status().ToString();
  }
}

TEST(TimeZoneTest, UnknownZoneMessageNamesTheZone) {
  const Result<TimeZone> zone = TimeZone::Load("Mars/Olympus_Mons");
  ASSERT_FALSE(zone.ok());
  EXPECT_NE(zone.status().message().find("Mars/Olympus_Mons"), std::string::npos)
      << zone.status().ToString();
}

TEST(TimeZoneTest, SeoulLocalDateTurnsAtFifteenUtc) {
  const TimeZone seoul = Zone("Asia/Seoul");
  EXPECT_EQ(seoul.LocalDate(At("2026-11-21T14:59:59.999999Z")), D("2026-11-21"));
  EXPECT_EQ(seoul.LocalDate(At("2026-11-21T15:00:00.000000Z")), D("2026-11-22"));
  EXPECT_EQ(seoul.LocalDate(At("2026-11-20T15:00:00.000000Z")), D("2026-11-21"));
}

TEST(TimeZoneTest, SeoulStartOfDayAndClosesAt) {
  const TimeZone seoul = Zone("Asia/Seoul");
  EXPECT_EQ(seoul.StartOfDay(D("2026-11-21")), At("2026-11-20T15:00:00.000000Z"));
  EXPECT_EQ(seoul.StartOfDay(D("2026-11-22")), At("2026-11-21T15:00:00.000000Z"));
  EXPECT_EQ(seoul.ClosesAt(D("2026-11-21")), At("2026-11-21T15:00:00.000000Z"));
  // Month and year ends.
  EXPECT_EQ(seoul.ClosesAt(D("2026-12-31")), At("2026-12-31T15:00:00.000000Z"));
  EXPECT_EQ(seoul.ClosesAt(D("2024-02-28")), At("2024-02-28T15:00:00.000000Z"));
}

TEST(TimeZoneTest, UtcHasNoOffset) {
  const TimeZone utc = Zone("UTC");
  EXPECT_EQ(utc.LocalDate(At("2026-11-21T23:59:59.999999Z")), D("2026-11-21"));
  EXPECT_EQ(utc.ClosesAt(D("2026-11-21")), At("2026-11-22T00:00:00.000000Z"));
}

TEST(TimeZoneTest, NewYorkSpringForwardDayIsTwentyThreeHours) {
  const TimeZone ny = Zone("America/New_York");
  // 2026-03-08 02:00 EST jumps to 03:00 EDT.
  EXPECT_EQ(ny.StartOfDay(D("2026-03-08")), At("2026-03-08T05:00:00.000000Z"));
  EXPECT_EQ(ny.StartOfDay(D("2026-03-09")), At("2026-03-09T04:00:00.000000Z"));
  EXPECT_EQ(ny.ClosesAt(D("2026-03-07")), At("2026-03-08T05:00:00.000000Z"));
  EXPECT_EQ(ny.ClosesAt(D("2026-03-08")), At("2026-03-09T04:00:00.000000Z"));
  EXPECT_EQ(ny.ClosesAt(D("2026-03-08")) - ny.StartOfDay(D("2026-03-08")), hours(23));
  EXPECT_EQ(ny.LocalDate(At("2026-03-08T04:59:59.999999Z")), D("2026-03-07"));
  EXPECT_EQ(ny.LocalDate(At("2026-03-08T05:00:00.000000Z")), D("2026-03-08"));
  EXPECT_EQ(ny.LocalDate(At("2026-03-09T03:59:59.999999Z")), D("2026-03-08"));
  EXPECT_EQ(ny.LocalDate(At("2026-03-09T04:00:00.000000Z")), D("2026-03-09"));
}

TEST(TimeZoneTest, NewYorkFallBackDayIsTwentyFiveHours) {
  const TimeZone ny = Zone("America/New_York");
  // 2026-11-01 02:00 EDT falls back to 01:00 EST.
  EXPECT_EQ(ny.StartOfDay(D("2026-11-01")), At("2026-11-01T04:00:00.000000Z"));
  EXPECT_EQ(ny.ClosesAt(D("2026-10-31")), At("2026-11-01T04:00:00.000000Z"));
  EXPECT_EQ(ny.ClosesAt(D("2026-11-01")), At("2026-11-02T05:00:00.000000Z"));
  EXPECT_EQ(ny.ClosesAt(D("2026-11-01")) - ny.StartOfDay(D("2026-11-01")), hours(25));
  EXPECT_EQ(ny.LocalDate(At("2026-11-02T04:30:00.000000Z")), D("2026-11-01"));
  EXPECT_EQ(ny.LocalDate(At("2026-11-02T05:00:00.000000Z")), D("2026-11-02"));
}

TEST(TimeZoneTest, MissingMidnightStartsDayWhenTheGapEnds) {
  // Sao Paulo sprang forward at midnight on 2018-11-04: 00:00 -03 became
  // 01:00 -02, so that day began at 03:00 UTC and lasted 23 hours.
  const TimeZone sao_paulo = Zone("America/Sao_Paulo");
  EXPECT_EQ(sao_paulo.StartOfDay(D("2018-11-04")), At("2018-11-04T03:00:00.000000Z"));
  EXPECT_EQ(sao_paulo.ClosesAt(D("2018-11-03")), At("2018-11-04T03:00:00.000000Z"));
  EXPECT_EQ(sao_paulo.ClosesAt(D("2018-11-04")), At("2018-11-05T02:00:00.000000Z"));
  EXPECT_EQ(sao_paulo.LocalDate(At("2018-11-04T02:59:59.999999Z")), D("2018-11-03"));
  EXPECT_EQ(sao_paulo.LocalDate(At("2018-11-04T03:00:00.000000Z")), D("2018-11-04"));
}

// For every day of a year with DST: the day starts at StartOfDay, the
// instant before belongs to the previous day, and ClosesAt is the next start.
void ExpectDaysTile(const TimeZone& zone, int year) {
  const sys_days first = sys_days(CivilDate{std::chrono::year(year) / 1 / 1});
  const sys_days last = sys_days(CivilDate{std::chrono::year(year) / 12 / 31});
  for (sys_days d = first; d <= last; d += days(1)) {
    const CivilDate date(d);
    const CivilDate previous(d - days(1));
    const Timestamp start = zone.StartOfDay(date);
    ASSERT_EQ(zone.LocalDate(start), date) << zone.name() << " " << FormatDate(date);
    ASSERT_EQ(zone.LocalDate(start - microseconds(1)), previous)
        << zone.name() << " " << FormatDate(date);
    ASSERT_EQ(zone.ClosesAt(previous), start) << zone.name() << " " << FormatDate(date);
    const auto length = zone.ClosesAt(date) - start;
    ASSERT_GE(length, hours(23)) << zone.name() << " " << FormatDate(date);
    ASSERT_LE(length, hours(25)) << zone.name() << " " << FormatDate(date);
  }
}

TEST(TimeZoneTest, LocalDaysTileTheTimeline) {
  ExpectDaysTile(Zone("Asia/Seoul"), 2026);
  ExpectDaysTile(Zone("America/New_York"), 2026);
  ExpectDaysTile(Zone("America/Sao_Paulo"), 2018);
}

}  // namespace
}  // namespace ledger
