#include "api/json_out.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "events/codec.h"
#include "support/time_literals.h"

namespace ledger::api {
namespace {

using testing::At;
using testing::D;

projections::PostSummary Summary() {
  projections::PostSummary s;
  s.id = 42;
  s.title = "내 취미 만들기";
  s.uploader = "김철수";
  s.total_funded = 5'000'000;
  s.achievement_rate = 500;
  s.d_day = -3;
  s.status = projections::PostStatus::kSuccessful;
  return s;
}

projections::PostDetail Detail() {
  projections::PostDetail d;
  d.summary = Summary();
  d.description = "줄 1\n\"인용\" \\ 끝";
  d.target_amount = 1'000'000;
  d.funding_unit = 5'000;
  d.end_date = D("2026-12-31");
  d.participant_count = 7;
  d.created_at = At("2026-11-21T03:04:05.123456Z");
  d.version = 9;
  return d;
}

rapidjson::Document Parse(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(json.c_str(), json.size());
  EXPECT_FALSE(doc.HasParseError()) << json;
  return doc;
}

// Member names of an object, in order.
std::vector<std::string> Names(const rapidjson::Value& object) {
  std::vector<std::string> names;
  for (const auto& m : object.GetObject()) names.emplace_back(m.name.GetString());
  return names;
}

const std::vector<std::string> kSummaryNames = {
    "id", "title", "uploader", "total_funded", "achievement_rate", "d_day", "status"};

std::vector<std::string> DetailNames() {
  std::vector<std::string> names = kSummaryNames;
  for (const char* n :
       {"description", "target_amount", "funding_unit", "funding_model", "max_fundings_per_backer",
        "end_date", "participant_count", "created_at", "version"}) {
    names.emplace_back(n);
  }
  return names;
}

TEST(JsonOutTest, SummaryIsExact) {
  EXPECT_EQ(SummaryJson(Summary()),
            R"({"id":42,"title":"내 취미 만들기","uploader":"김철수","total_funded":5000000,)"
            R"("achievement_rate":500,"d_day":-3,"status":"successful"})");
}

TEST(JsonOutTest, StatusSpellings) {
  projections::PostSummary s = Summary();
  s.status = projections::PostStatus::kFunding;
  EXPECT_STREQ(Parse(SummaryJson(s))["status"].GetString(), "funding");
  s.status = projections::PostStatus::kFailed;
  EXPECT_STREQ(Parse(SummaryJson(s))["status"].GetString(), "failed");
}

TEST(JsonOutTest, DetailHasEveryFieldInOrder) {
  const rapidjson::Document doc = Parse(PostJson(Detail(), std::nullopt));
  EXPECT_EQ(Names(doc), DetailNames());
  EXPECT_STREQ(doc["description"].GetString(), "줄 1\n\"인용\" \\ 끝");
  EXPECT_EQ(doc["target_amount"].GetInt64(), 1'000'000);
  EXPECT_EQ(doc["funding_unit"].GetInt64(), 5'000);
  EXPECT_STREQ(doc["funding_model"].GetString(), "keep_it_all");
  EXPECT_TRUE(doc["max_fundings_per_backer"].IsNull());
  EXPECT_STREQ(doc["end_date"].GetString(), "2026-12-31");
  EXPECT_EQ(doc["participant_count"].GetInt64(), 7);
  EXPECT_STREQ(doc["created_at"].GetString(), "2026-11-21T03:04:05.123456Z");
  EXPECT_EQ(doc["version"].GetInt64(), 9);
}

TEST(JsonOutTest, DetailShowsTheFundingTerms) {
  projections::PostDetail d = Detail();
  d.funding_model = events::FundingModel::kAllOrNothing;
  d.max_fundings_per_backer = 1;
  const rapidjson::Document doc = Parse(PostJson(d, std::nullopt));
  EXPECT_STREQ(doc["funding_model"].GetString(), "all_or_nothing");
  EXPECT_EQ(doc["max_fundings_per_backer"].GetInt64(), 1);
}

TEST(JsonOutTest, FundingAndBackerPagesHaveTheirMembers) {
  projections::FundingPage fundings;
  fundings.items.push_back(
      projections::FundingItem{.position = 9,
                               .post_id = 2,
                               .title = std::nullopt,
                               .units = 3,
                               .amount = 3'000,
                               .recorded_at = Timestamp(std::chrono::seconds(1)),
                               .state = projections::FundingState::kRefunded});
  EXPECT_EQ(FundingsPageJson(fundings),
            R"({"items":[{"position":9,"post_id":2,"title":null,"units":3,"amount":3000,)"
            R"("recorded_at":"1970-01-01T00:00:01.000000Z","state":"refunded"}],)"
            R"("next_cursor":null})");
  projections::BackerPage backers;
  backers.items.push_back(projections::BackerItem{"bob", 2, 2'000, 1});
  backers.next_cursor = "abc";
  EXPECT_EQ(BackersPageJson(backers),
            R"({"items":[{"backer":"bob","units":2,"amount":2000,"fundings":1}],)"
            R"("next_cursor":"abc"})");
}

TEST(JsonOutTest, WriteAnswersCarryThePosition) {
  const rapidjson::Document doc = Parse(PostJson(Detail(), 1234));
  std::vector<std::string> names = DetailNames();
  names.emplace_back("position");
  EXPECT_EQ(Names(doc), names);
  EXPECT_EQ(doc["position"].GetInt64(), 1234);
}

TEST(JsonOutTest, KoreanTextIsWrittenAsUtf8NotEscaped) {
  const std::string json = PostJson(Detail(), std::nullopt);
  EXPECT_NE(json.find("\"title\":\"내 취미 만들기\""), std::string::npos) << json;
  EXPECT_EQ(json.find("\\u"), std::string::npos) << json;
}

TEST(JsonOutTest, ControlCharactersAreEscaped) {
  projections::PostDetail d = Detail();
  d.description = std::string("a\0b\x01\x1F", 5);
  const std::string json = PostJson(d, std::nullopt);
  EXPECT_NE(json.find(R"("description":"a\u0000b\u0001\u001F")"), std::string::npos) << json;
  const rapidjson::Document doc = Parse(json);
  EXPECT_EQ(std::string(doc["description"].GetString(), doc["description"].GetStringLength()),
            d.description);
}

TEST(JsonOutTest, Int64ExtremesRoundTrip) {
  projections::PostDetail d = Detail();
  d.summary.total_funded = std::numeric_limits<int64_t>::max();
  d.summary.achievement_rate = std::numeric_limits<int64_t>::max();
  d.summary.d_day = std::numeric_limits<int64_t>::min();
  const std::string json = PostJson(d, std::numeric_limits<int64_t>::max());
  EXPECT_NE(json.find(R"("total_funded":9223372036854775807)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("d_day":-9223372036854775808)"), std::string::npos) << json;
}

TEST(JsonOutTest, PostsArrayKeepsOrderAndSharesThePosition) {
  projections::PostDetail second = Detail();
  second.summary.id = 43;
  second.summary.title = "두번째";
  const rapidjson::Document doc = Parse(PostsArrayJson({Detail(), second}, 77));
  ASSERT_TRUE(doc.IsArray());
  ASSERT_EQ(doc.Size(), 2U);
  EXPECT_EQ(doc[0]["id"].GetInt64(), 42);
  EXPECT_EQ(doc[1]["id"].GetInt64(), 43);
  EXPECT_STREQ(doc[1]["title"].GetString(), "두번째");
  EXPECT_EQ(doc[0]["position"].GetInt64(), 77);
  EXPECT_EQ(doc[1]["position"].GetInt64(), 77);
  EXPECT_EQ(PostsArrayJson({}, 1), "[]");
}

TEST(JsonOutTest, PageWithCursor) {
  projections::PostPage page;
  page.items = {Summary(), Summary()};
  page.items[1].id = 7;
  page.next_cursor = "djF8LXRvdGFs";
  const rapidjson::Document doc = Parse(PageJson(page));
  EXPECT_EQ(Names(doc), (std::vector<std::string>{"items", "next_cursor"}));
  ASSERT_EQ(doc["items"].Size(), 2U);
  EXPECT_EQ(Names(doc["items"][0]), kSummaryNames);
  EXPECT_EQ(doc["items"][1]["id"].GetInt64(), 7);
  EXPECT_STREQ(doc["next_cursor"].GetString(), "djF8LXRvdGFs");
}

TEST(JsonOutTest, LastPageHasNullCursor) {
  EXPECT_EQ(PageJson(projections::PostPage{}), R"({"items":[],"next_cursor":null})");
}

TEST(JsonOutTest, FundingIsExact) {
  EXPECT_EQ(FundingJson(42, "user-7", 3, 15'000, 1001),
            R"({"post_id":42,"backer":"user-7","units":3,"amount":15000,"position":1001})");
}

events::Event Funded(int64_t position) {
  events::Event e;
  e.position = position;
  e.stream = 42;
  e.stream_version = position + 1;
  e.recorded_at = At("2026-11-21T03:04:05.000001Z");
  e.actor = "후원자";
  e.correlation_id = "req-1";
  e.data = events::PostFunded{"후원자", 2, 10'000};
  e.hash[0] = 0xAB;
  e.prev_hash[31] = 0x01;
  return e;
}

TEST(JsonOutTest, EventsPageSplicesEnvelopesUnchanged) {
  const std::vector<events::Event> items = {Funded(5), Funded(6)};
  const std::string json = EventsPageJson(items, 6);
  const std::string expected = R"({"items":[)" + events::EncodeEnvelopeJson(items[0]) + "," +
                               events::EncodeEnvelopeJson(items[1]) + R"(],"next_after":6})";
  EXPECT_EQ(json, expected);
  const rapidjson::Document doc = Parse(json);
  ASSERT_EQ(doc["items"].Size(), 2U);
  EXPECT_EQ(doc["items"][0]["position"].GetInt64(), 5);
  EXPECT_STREQ(doc["items"][0]["type"].GetString(), "PostFunded");
  EXPECT_STREQ(doc["items"][1]["data"]["backer"].GetString(), "후원자");
}

TEST(JsonOutTest, EmptyEventsPage) {
  EXPECT_EQ(EventsPageJson({}, 17), R"({"items":[],"next_after":17})");
  EXPECT_EQ(EventsPageJson({}, std::nullopt), R"({"items":[],"next_after":null})");
}

}  // namespace
}  // namespace ledger::api
