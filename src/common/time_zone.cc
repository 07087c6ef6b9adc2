#include "common/time_zone.h"

#include <exception>

#include <date/tz.h>

namespace ledger {

Result<TimeZone> TimeZone::Load(std::string_view name) {
  try {
    const date::time_zone* zone = date::locate_zone(name);
    return TimeZone(std::string(name), zone);
  } catch (const std::exception& e) {
    return Status::InvalidArgument("unknown time zone '" + std::string(name) + "': " + e.what());
  }
}

CivilDate TimeZone::LocalDate(Timestamp t) const {
  const auto local = zone_->to_local(t);
  const date::year_month_day ymd(date::floor<date::days>(local));
  return CivilDate{std::chrono::year(static_cast<int>(ymd.year())),
                   std::chrono::month(static_cast<unsigned>(ymd.month())),
                   std::chrono::day(static_cast<unsigned>(ymd.day()))};
}

Timestamp TimeZone::StartOfDay(CivilDate d) const {
  const date::local_days local{date::year_month_day(date::year(static_cast<int>(d.year())),
                                                    date::month(static_cast<unsigned>(d.month())),
                                                    date::day(static_cast<unsigned>(d.day())))};
  // A nonexistent local midnight (a DST gap) maps to the instant the gap ends.
  const auto sys = zone_->to_sys(local, date::choose::earliest);
  return std::chrono::time_point_cast<std::chrono::microseconds>(sys);
}

Timestamp TimeZone::ClosesAt(CivilDate end_date) const {
  const std::chrono::sys_days next = std::chrono::sys_days(end_date) + std::chrono::days(1);
  return StartOfDay(CivilDate(next));
}

}  // namespace ledger
