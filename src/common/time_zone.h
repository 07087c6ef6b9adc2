#pragma once

#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"
#include "common/time_format.h"

namespace date {
class time_zone;
}

namespace ledger {

// The service time zone, from the system tz database (Howard Hinnant's date
// library stands in for C++20's std::chrono tzdb, which GCC 12 lacks). Never a
// fixed offset: daylight-saving rules of zones that have them are honoured.
class TimeZone {
 public:
  // Fails with kInvalidArgument for a name the tz database does not know.
  static Result<TimeZone> Load(std::string_view name);

  const std::string& name() const { return name_; }

  // The calendar day it is at instant `t` in this zone.
  CivilDate LocalDate(Timestamp t) const;
  // The first instant of local day `d` (if midnight does not exist that day,
  // the instant the day begins).
  Timestamp StartOfDay(CivilDate d) const;
  // Funding for `end_date` closes at the end of that day: the first instant of
  // the following local day.
  Timestamp ClosesAt(CivilDate end_date) const;

 private:
  TimeZone(std::string name, const date::time_zone* zone) : name_(std::move(name)), zone_(zone) {}

  std::string name_;
  const date::time_zone* zone_;
};

}  // namespace ledger
