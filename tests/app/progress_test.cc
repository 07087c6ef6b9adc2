#include "app/progress.h"

#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace ledger::app {
namespace {

TEST(ProgressTest, FormatsCountsRateAndEta) {
  EXPECT_EQ(FormatProgress("verify chain", 1'234'567, 10'000'000, 1.0),
            "verify chain: 1 234 567 / 10 000 000 events (12.3 %), 1.23 M events/s, ETA 8 s");
  EXPECT_EQ(FormatProgress("fold", 500, 1'000, 0.5),
            "fold: 500 / 1 000 events (50.0 %), 1.0 k "
            "events/s, ETA 1 s");
  EXPECT_EQ(FormatProgress("x", 10, 0, 0), "x: 10 events");
  EXPECT_EQ(FormatProgress("x", 100, 100, 2.0), "x: 100 / 100 events (100.0 %), 50 events/s");
  EXPECT_EQ(FormatProgress("x", 1, 100'000, 1.0),
            "x: 1 / 100 000 events (0.0 %), 1 events/s, ETA 27 h 46 min");
}

TEST(ProgressTest, DrawsOneLineInPlaceOnlyWhenEnabled) {
  std::ostringstream off;
  {
    Progress progress(off, "work", false);
    progress.Update(1, 2);
    progress.Update(2, 2);
  }
  EXPECT_EQ(off.str(), "");
  std::ostringstream on;
  {
    Progress progress(on, "work", true);
    progress.Update(1, 4);
    progress.Update(2, 4);  // within the interval: skipped
    progress.Update(4, 4);  // the end is always drawn
  }
  const std::string text = on.str();
  EXPECT_EQ(text.rfind("\rwork: 1 / 4 events", 0), 0u) << text;
  EXPECT_EQ(text.find("work: 2 / 4"), std::string::npos) << text;
  EXPECT_NE(text.find("\rwork: 4 / 4 events (100.0 %)"), std::string::npos) << text;
  EXPECT_EQ(text.back(), '\n');
}

}  // namespace
}  // namespace ledger::app
