#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "common/time_format.h"
#include "pg_fixture.h"
#include "projections/database.h"
#include "projections/migrations.h"
#include "projections/read_schema.h"
#include "projections/verify_parts.h"
#include "support/status_matchers.h"

namespace ledger::projections {
namespace {

using std::chrono::microseconds;

// verify's comparison of the fundings table with the fold's history, on the
// migrated tables: each kind of difference named with the texts a report
// shows, the table's values read in binary and printed here as the server
// would print them.
class VerifyFundingsTest : public testing::PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    ASSERT_OK(ApplyMigrations(db(), kReadSchema));
    pqxx::work tx(db());
    tx.exec0(
        "INSERT INTO ledger_read.fundings (position, post_id, backer, units, amount, "
        "recorded_at, state) VALUES "
        "(4, 1, 'bob', 2, 2000, '2026-11-30T12:00:00.123456Z', 'live'), "
        "(5, 1, 'carol', 1, 1000, '2026-11-30T12:00:01Z', 'cancelled'), "
        "(7, 2, 'dave', 1, 1000, 'infinity', 'live'), "
        "(8, 2, '후원자', 3, 3000, '2026-11-30T12:00:03.000001Z', 'refunded'), "
        "(9, 2, 'mallory', 1, 1000, '2026-11-30T12:00:04Z', 'live')");
    tx.commit();
  }

  // The log's side: 9 is not a funding, 6 is one the table lost.
  static std::vector<FundingRecord> History() {
    return {
        {4, 1, "bob", 2, 2000, At("2026-11-30T12:00:00.123456Z"), FundingState::kLive},
        {5, 1, "carol", 1, 1000, At("2026-11-30T12:00:01.000000Z"), FundingState::kLive},
        {6, 1, "erin", 1, 1000, At("2026-11-30T12:00:01.000000Z"), FundingState::kLive},
        {7, 2, "dave", 1, 1000, At("2026-11-30T12:00:02.000000Z"), FundingState::kLive},
        {8, 2, "후원자", 3, 3000, At("2026-11-30T12:00:03.000000Z"), FundingState::kRefunded},
    };
  }

  // `text` in FormatTimestamp's form.
  static Timestamp At(std::string_view text) { return ParseTimestamp(text).value(); }

  VerifyReport Compare(PositionRange range) {
    VerifyReport report;
    Collector out(&report);
    pqxx::work tx(db());
    const std::vector<FundingRecord> history = History();
    CompareFundings(tx, QuoteIdentifier(kReadSchema), history, range, out);
    tx.commit();
    return report;
  }

  static std::vector<std::string> Lines(const VerifyReport& report) {
    std::vector<std::string> lines;
    for (const Mismatch& m : report.mismatches) {
      lines.push_back(std::to_string(m.post_id) + " " + m.field + ": " + m.expected + " / " +
                      m.found);
    }
    return lines;
  }
};

TEST_F(VerifyFundingsTest, NamesEachDifferenceWithTheTextsOfBothSides) {
  const VerifyReport report = Compare(PositionRange{});
  const std::vector<std::string> want = {
      "1 fundings/5/state: live / cancelled",
      "1 fundings/6: present / absent",
      "2 fundings/7/recorded_at: 2026-11-30T12:00:02.000000Z / infinity",
      "2 fundings/8/recorded_at: 2026-11-30T12:00:03.000000Z / 2026-11-30T12:00:03.000001Z",
      "2 fundings/9: absent / present",
  };
  EXPECT_EQ(Lines(report), want);
  EXPECT_EQ(report.mismatch_count, 5);
}

// A timestamp read in binary prints as the server's own to_char printed it
// when the comparison read text.
TEST_F(VerifyFundingsTest, PrintsATimestampAsTheServerDoes) {
  pqxx::work tx(db());
  const std::string server =
      tx.exec1(
            "SELECT to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') "
            "FROM ledger_read.fundings WHERE position = 8")[0]
          .as<std::string>();
  tx.commit();
  const VerifyReport report = Compare(PositionRange{.after = 7, .last = 8});
  ASSERT_EQ(report.mismatches.size(), 1U);
  EXPECT_EQ(report.mismatches[0].found, server);
}

// Ranges that cover every position, compared in order, find what the whole
// range finds: verify compares two halves at once.
TEST_F(VerifyFundingsTest, TwoRangesFindWhatTheWholeOneFinds) {
  std::vector<std::string> halves = Lines(Compare(PositionRange{.last = 6}));
  for (std::string& line : Lines(Compare(PositionRange{.after = 6}))) {
    halves.push_back(std::move(line));
  }
  EXPECT_EQ(halves, Lines(Compare(PositionRange{})));
}

// A row below every position the log has is still read: the whole range
// starts at the lowest key.
TEST_F(VerifyFundingsTest, ReadsRowsAtPositionsBelowOne) {
  {
    pqxx::work tx(db());
    tx.exec0(
        "INSERT INTO ledger_read.fundings VALUES "
        "(-9223372036854775807, 3, 'mallory', 1, 1000, now(), 'live')");
    tx.commit();
  }
  const std::vector<std::string> lines = Lines(Compare(PositionRange{}));
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.front(), "3 fundings/-9223372036854775807: absent / present");
}

}  // namespace
}  // namespace ledger::projections
