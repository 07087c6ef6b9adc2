#include "app/event_filter.h"

#include <gtest/gtest.h>

#include "common/time_format.h"
#include "support/status_matchers.h"

namespace ledger::app {
namespace {

events::Event Funded(int64_t position, std::string_view recorded_at) {
  events::Event e;
  e.position = position;
  e.stream = 7;
  e.stream_version = 2;
  e.recorded_at = *ParseTimestamp(recorded_at);
  e.actor = "bob";
  e.data = events::PostFunded{"bob", 3, 30'000};
  return e;
}

TEST(EventFilterTest, TypesByName) {
  const auto one = ParseEventTypes("PostFunded");
  ASSERT_OK(one);
  EXPECT_EQ(*one, std::set<events::EventType>{events::EventType::kPostFunded});
  const auto two = ParseEventTypes("PostFunded,FundingRefunded,PostFunded");
  ASSERT_OK(two);
  EXPECT_EQ(two->size(), 2u);
  for (const std::string bad : {"", "postfunded", "PostFunded,", ",PostFunded", "Nope"}) {
    const auto parsed = ParseEventTypes(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.status().message().find("PostCreated, PostEdited"), std::string::npos);
  }
}

TEST(EventFilterTest, SinceInThreeForms) {
  EXPECT_EQ(FormatTimestamp(*ParseSince("2026-11-21")), "2026-11-21T00:00:00.000000Z");
  EXPECT_EQ(FormatTimestamp(*ParseSince("2026-11-21T03:04:05Z")), "2026-11-21T03:04:05.000000Z");
  EXPECT_EQ(FormatTimestamp(*ParseSince("2026-11-21T03:04:05.123456Z")),
            "2026-11-21T03:04:05.123456Z");
  for (const std::string bad : {"", "2026-02-30", "2026-11-21T03:04:05", "2026-11-21 03:04:05Z",
                                "2026-11-21T03:04:05+09:00", "yesterday"}) {
    EXPECT_FALSE(ParseSince(bad).ok()) << bad;
  }
}

TEST(EventFilterTest, MatchesTypesAndTime) {
  const events::Event e = Funded(5, "2026-11-21T10:00:00.000000Z");
  EventFilter all;
  EXPECT_TRUE(all.Matches(e));
  EventFilter created;
  created.types = {events::EventType::kPostCreated};
  EXPECT_FALSE(created.Matches(e));
  EventFilter funded;
  funded.types = {events::EventType::kPostCreated, events::EventType::kPostFunded};
  EXPECT_TRUE(funded.Matches(e));
  EventFilter since;
  since.since = *ParseSince("2026-11-21T10:00:00Z");
  EXPECT_TRUE(since.Matches(e));  // at the instant counts
  since.since = *ParseSince("2026-11-21T10:00:00.000001Z");
  EXPECT_FALSE(since.Matches(e));
}

TEST(EventFilterTest, MatchesTheCorrelationIdExactly) {
  events::Event e = Funded(5, "2026-11-21T10:00:00.000000Z");
  e.correlation_id = "fund-req-1";
  EventFilter filter;
  filter.correlation_id = "fund-req-1";
  EXPECT_TRUE(filter.Matches(e));
  for (const std::string other : {"fund-req-10", "fund-req-", "FUND-REQ-1", ""}) {
    e.correlation_id = other;
    EXPECT_FALSE(filter.Matches(e)) << other;
  }
  e.correlation_id = "fund-req-1";
  filter.types = {events::EventType::kPostCreated};
  EXPECT_FALSE(filter.Matches(e));  // every filter must pass
}

TEST(EventFilterTest, CorrelationIdsAsTheLogKeepsThem) {
  EXPECT_EQ(*ParseCorrelationId("fund-req-1"), "fund-req-1");
  EXPECT_EQ(*ParseCorrelationId("9f2c4e1d0a3b5c6d"), "9f2c4e1d0a3b5c6d");
  EXPECT_EQ(*ParseCorrelationId(std::string(128, 'x')), std::string(128, 'x'));
  for (const std::string& bad : {std::string(), std::string(129, 'x')}) {
    const auto parsed = ParseCorrelationId(bad);
    ASSERT_FALSE(parsed.ok()) << bad.size();
    EXPECT_EQ(parsed.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(parsed.status().message().find("--correlation-id"), std::string::npos);
  }
}

TEST(EventFilterTest, FormatsByName) {
  EXPECT_EQ(*ParseEventFormat("ndjson"), EventFormat::kNdjson);
  EXPECT_EQ(*ParseEventFormat("table"), EventFormat::kTable);
  EXPECT_FALSE(ParseEventFormat("json").ok());
}

TEST(EventFilterTest, TableRowsQuoteTextFromTheLog) {
  const std::string row = TableRow(Funded(5, "2026-11-21T10:00:00.000000Z"));
  EXPECT_EQ(row,
            "         5  2026-11-21T10:00:00.000000Z  PostFunded              7        2  "
            "\"bob\"           backer=\"bob\" units=3 amount=30000");
  EXPECT_EQ(TableHeader().rfind("  POSITION  RECORDED_AT", 0), 0u);
  events::Event created = Funded(1, "2026-11-21T10:00:00.000000Z");
  events::PostCreated data;
  data.title = "내 \"취미\"\x1b[2J";
  data.owner = "alice";
  data.end_date = *ParseDate("2030-12-31");
  created.data = data;
  const std::string text = TableRow(created);
  EXPECT_NE(text.find(R"(title="내 \"취미\"\x1b[2J")"), std::string::npos) << text;
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
}

TEST(EventFilterTest, TableRowsShowTheLifecycle) {
  events::Event created = Funded(1, "2026-11-21T10:00:00.000000Z");
  events::PostCreated data;
  data.title = "t";
  data.end_date = *ParseDate("2030-12-31");
  data.funding_model = events::FundingModel::kAllOrNothing;
  data.max_fundings_per_backer = 1;
  created.data = data;
  EXPECT_NE(TableRow(created).find("funding_model=all_or_nothing max_fundings_per_backer=1"),
            std::string::npos)
      << TableRow(created);
  events::Event edited = Funded(2, "2026-11-21T10:00:00.000000Z");
  events::PostEdited edit;
  edit.max_fundings_per_backer = std::optional<int64_t>{};  // the limit removed
  edited.data = edit;
  EXPECT_NE(TableRow(edited).find("max_fundings_per_backer=none"), std::string::npos)
      << TableRow(edited);
  events::Event settled = Funded(3, "2026-11-21T10:00:00.000000Z");
  settled.data = events::PostSettled{events::SettlementOutcome::kFailed, 4'000, 2, 4'000, 2};
  EXPECT_NE(TableRow(settled).find("outcome=failed total_funded=4000 participant_count=2 "
                                   "refunded_amount=4000 refunded_backers=2"),
            std::string::npos)
      << TableRow(settled);
}

TEST(EventFilterTest, QuotesControlCharactersAndKeepsUtf8) {
  EXPECT_EQ(QuoteForTerminal("a\tb\\c\x7f"), R"("a\x09b\\c\x7f")");
  EXPECT_EQ(QuoteForTerminal("취미"), "\"취미\"");
  EXPECT_EQ(QuoteForTerminal(""), "\"\"");
}

}  // namespace
}  // namespace ledger::app
