#include "api/query_params.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "projections/cursor.h"
#include "support/status_matchers.h"

namespace ledger::api {

using http::FieldError;
using http::Problem;
namespace {

using ledger::testing::ErrorOf;

using projections::OrderBy;

// The parameter names of the problem's errors, in order.
std::vector<std::string> Parameters(const Problem& p) {
  std::vector<std::string> out;
  for (const FieldError& e : p.errors) {
    EXPECT_EQ(e.pointer, "");
    out.push_back(e.parameter);
  }
  return out;
}

projections::ListRequest List(std::string_view raw) {
  auto r = ParseListQuery(raw);
  EXPECT_TRUE(r.ok()) << raw << ": " << ErrorOf(r).detail;
  if (!r.ok()) return {};
  return std::move(r).value();
}

// --- ParseQuery ---------------------------------------------------------------

TEST(QueryParamsTest, SplitsAndDecodes) {
  const Result<QueryParams> q = ParseQuery("a=1&b=x+y&c=%ED%95%9C%EA%B8%80&d=%2b%26%3D&e");
  ASSERT_OK(q);
  EXPECT_EQ(*q, (QueryParams{{"a", "1"}, {"b", "x y"}, {"c", "한글"}, {"d", "+&="}, {"e", ""}}));
}

TEST(QueryParamsTest, EmptyQueryAndEmptyPiecesAreNothing) {
  ASSERT_OK(ParseQuery(""));
  EXPECT_TRUE(ParseQuery("")->empty());
  const Result<QueryParams> q = ParseQuery("&a=1&&b=&");
  ASSERT_OK(q);
  EXPECT_EQ(*q, (QueryParams{{"a", "1"}, {"b", ""}}));
}

TEST(QueryParamsTest, OnlyTheFirstEqualsSplits) {
  const Result<QueryParams> q = ParseQuery("cursor=abc==&x==");
  ASSERT_OK(q);
  EXPECT_EQ(*q, (QueryParams{{"cursor", "abc=="}, {"x", "="}}));
}

TEST(QueryParamsTest, NamesAreDecodedToo) {
  const Result<QueryParams> q = ParseQuery("order%5Fby=created&%EC%A0%95=1");
  ASSERT_OK(q);
  EXPECT_EQ(*q, (QueryParams{{"order_by", "created"}, {"정", "1"}}));
}

TEST(QueryParamsTest, RefusesBrokenEscapes) {
  for (const std::string_view raw :
       {"a=%", "a=%4", "a=%zz", "a=%4g", "%=1", "a=1&b=%E", "a=%%41"}) {
    const Result<QueryParams> q = ParseQuery(raw);
    EXPECT_FALSE(q.ok()) << raw;
    EXPECT_EQ(q.status().code(), Status::Code::kInvalidArgument) << raw;
  }
  EXPECT_NE(ParseQuery("a=1&b=%E").status().message().find("query parameter 2"), std::string::npos);
}

TEST(QueryParamsTest, RefusesBytesThatAreNotUtf8) {
  for (const std::string_view raw : {"search=%C3%28", "search=%C0%AF", "search=%ED%A0%80",
                                     "search=%FF", "%C3=1", "search=\xC3\x28"}) {
    EXPECT_FALSE(ParseQuery(raw).ok()) << raw;
  }
}

TEST(QueryParamsTest, RefusesNul) {
  EXPECT_FALSE(ParseQuery("search=a%00b").ok());
  EXPECT_FALSE(ParseQuery("a%00=1").ok());
}

TEST(QueryParamsTest, RefusesAnEmptyName) {
  EXPECT_FALSE(ParseQuery("=1").ok());
  EXPECT_FALSE(ParseQuery("a=1&=").ok());
}

TEST(QueryParamsTest, CountIsBounded) {
  std::string raw;
  for (size_t i = 0; i < kMaxQueryParameters; ++i) raw += "p" + std::to_string(i) + "=1&";
  ASSERT_OK(ParseQuery(raw));
  EXPECT_EQ(ParseQuery(raw)->size(), kMaxQueryParameters);
  EXPECT_FALSE(ParseQuery(raw + "one=more").ok());
  // Empty pieces do not count.
  EXPECT_OK(ParseQuery(raw + std::string(1000, '&')));
}

// --- ParseNonNegativeDecimal --------------------------------------------------

TEST(QueryParamsTest, DecimalsAreDigitsOnly) {
  EXPECT_EQ(ParseNonNegativeDecimal("0"), 0);
  EXPECT_EQ(ParseNonNegativeDecimal("0042"), 42);
  EXPECT_EQ(ParseNonNegativeDecimal("9223372036854775807"), INT64_MAX);
  for (const std::string_view bad :
       {"", "-1", "+1", " 1", "1 ", "1.0", "1e3", "0x10", "9223372036854775808", "١"}) {
    EXPECT_EQ(ParseNonNegativeDecimal(bad), std::nullopt) << bad;
  }
}

// --- ParseListQuery -----------------------------------------------------------

TEST(QueryParamsTest, ListDefaults) {
  const projections::ListRequest r = List("");
  EXPECT_EQ(r.search, "");
  EXPECT_EQ(r.order, OrderBy::kTotalFundedDesc);
  EXPECT_EQ(r.limit, projections::kDefaultListLimit);
  EXPECT_EQ(r.cursor, "");
}

TEST(QueryParamsTest, ListReadsEveryParameter) {
  const projections::ListRequest r =
      List("search=+%EC%B7%A8%EB%AF%B8%E3%80%80&order_by=created&limit=5");
  EXPECT_EQ(r.search, "취미");  // trimmed, ideographic space included
  EXPECT_EQ(r.order, OrderBy::kCreatedAsc);
  EXPECT_EQ(r.limit, 5);
}

TEST(QueryParamsTest, ListOrderSpellings) {
  EXPECT_EQ(List("order_by=-created").order, OrderBy::kCreatedDesc);
  EXPECT_EQ(List("order_by=total_funded").order, OrderBy::kTotalFundedAsc);
  EXPECT_EQ(List("order_by=-total_funded").order, OrderBy::kTotalFundedDesc);
  EXPECT_EQ(List("order_by=%EC%83%9D%EC%84%B1%EC%9D%BC").order, OrderBy::kCreatedAsc);  // 생성일
  EXPECT_EQ(List("order_by=-%EC%B4%9D%ED%8E%80%EB%94%A9%EA%B8%88%EC%95%A1").order,
            OrderBy::kTotalFundedDesc);  // -총펀딩금액
  EXPECT_EQ(List("order_by=").order, OrderBy::kTotalFundedDesc);
}

TEST(QueryParamsTest, ListLimitBounds) {
  EXPECT_EQ(List("limit=1").limit, 1);
  EXPECT_EQ(List("limit=100").limit, projections::kMaxListLimit);
  for (const std::string_view raw : {"limit=0", "limit=101", "limit=-1", "limit=", "limit=abc",
                                     "limit=1.5", "limit=+5", "limit=99999999999999999999"}) {
    const Problem p = ErrorOf(ParseListQuery(raw));
    EXPECT_EQ(p.name, "invalid_parameter") << raw;
    EXPECT_EQ(p.status, 400);
    EXPECT_EQ(Parameters(p), std::vector<std::string>{"limit"}) << raw;
    EXPECT_EQ(p.errors[0].detail, "must be an integer from 1 to 100");
  }
}

TEST(QueryParamsTest, ListRefusesUnknownAndRepeatedParameters) {
  const Problem p = ErrorOf(ParseListQuery("limit=5&page=2&limit=6&sort=x"));
  EXPECT_EQ(p.name, "invalid_parameter");
  EXPECT_EQ(Parameters(p), (std::vector<std::string>{"page", "limit", "sort"}));
  EXPECT_EQ(p.errors[0].detail, "is not a parameter of this endpoint");
  EXPECT_EQ(p.errors[1].detail, "is given more than once");
  EXPECT_EQ(p.detail, "3 query parameters are invalid");
}

TEST(QueryParamsTest, ListCollectsEveryError) {
  const Problem p = ErrorOf(ParseListQuery("order_by=newest&limit=0&search=%01"));
  EXPECT_EQ(Parameters(p), (std::vector<std::string>{"search", "order_by", "limit"}));
}

TEST(QueryParamsTest, ListSearchIsBounded) {
  std::string hundred;
  for (int i = 0; i < 100; ++i) hundred += "%EA%B0%80";  // 가
  EXPECT_EQ(List("search=" + hundred + "++").search.size(), 300U);
  const Problem p = ErrorOf(ParseListQuery("search=" + hundred + "%EA%B0%80"));
  EXPECT_EQ(Parameters(p), std::vector<std::string>{"search"});
  EXPECT_EQ(p.errors[0].detail, "must be at most 100 characters after trimming");
  EXPECT_EQ(Parameters(ErrorOf(ParseListQuery("search=a%0Ab"))),
            std::vector<std::string>{"search"});
}

TEST(QueryParamsTest, MalformedQueryStringIsInvalidParameter) {
  const Problem p = ErrorOf(ParseListQuery("search=%C3%28"));
  EXPECT_EQ(p.name, "invalid_parameter");
  EXPECT_NE(p.detail.find("not UTF-8"), std::string::npos) << p.detail;
}

TEST(QueryParamsTest, ListAcceptsACursorOfTheSameQuery) {
  const std::string cursor =
      projections::EncodeCursor(OrderBy::kCreatedDesc, "취미", projections::CursorKey{0, 17});
  const projections::ListRequest r =
      List("order_by=-created&search=%EC%B7%A8%EB%AF%B8&cursor=" + cursor);
  EXPECT_EQ(r.cursor, cursor);
  EXPECT_EQ(List("cursor=").cursor, "");
}

TEST(QueryParamsTest, ListRefusesACursorOfAnotherQuery) {
  const std::string cursor =
      projections::EncodeCursor(OrderBy::kCreatedDesc, "취미", projections::CursorKey{0, 17});
  for (const std::string& raw :
       {"order_by=created&search=%EC%B7%A8%EB%AF%B8&cursor=" + cursor,      // another order
        "order_by=-created&search=other&cursor=" + cursor,                  // another search
        "order_by=-created&cursor=" + cursor.substr(0, cursor.size() - 2),  // truncated
        std::string("cursor=not-a-cursor"), "cursor=" + std::string(300, 'A')}) {
    const Problem p = ErrorOf(ParseListQuery(raw));
    EXPECT_EQ(Parameters(p), std::vector<std::string>{"cursor"}) << raw;
  }
}

TEST(QueryParamsTest, CursorIsNotJudgedWhenItsQueryIsWrong) {
  const Problem p = ErrorOf(ParseListQuery("order_by=bogus&cursor=garbage"));
  EXPECT_EQ(Parameters(p), std::vector<std::string>{"order_by"});
}

// --- ParseEventsQuery ---------------------------------------------------------

TEST(QueryParamsTest, EventsDefaults) {
  const auto r = ParseEventsQuery("");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().after, 0);
  EXPECT_EQ(r.value().limit, kDefaultEventsLimit);
}

TEST(QueryParamsTest, EventsReadsAfterAndLimit) {
  const auto r = ParseEventsQuery("after=9223372036854775807&limit=1000");
  ASSERT_TRUE(r.ok()) << ErrorOf(r).detail;
  EXPECT_EQ(r.value().after, INT64_MAX);
  EXPECT_EQ(r.value().limit, kMaxEventsLimit);
  const auto one = ParseEventsQuery("limit=1&after=0");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one.value().limit, 1);
}

TEST(QueryParamsTest, EventsRefusesBadValues) {
  EXPECT_EQ(Parameters(ErrorOf(ParseEventsQuery("after=-1"))), std::vector<std::string>{"after"});
  EXPECT_EQ(Parameters(ErrorOf(ParseEventsQuery("after=9223372036854775808"))),
            std::vector<std::string>{"after"});
  EXPECT_EQ(Parameters(ErrorOf(ParseEventsQuery("after="))), std::vector<std::string>{"after"});
  EXPECT_EQ(Parameters(ErrorOf(ParseEventsQuery("limit=0"))), std::vector<std::string>{"limit"});
  EXPECT_EQ(Parameters(ErrorOf(ParseEventsQuery("limit=1001"))), std::vector<std::string>{"limit"});
  EXPECT_EQ(Parameters(ErrorOf(ParseEventsQuery("after=1&after=2&search=x"))),
            (std::vector<std::string>{"after", "search"}));
  EXPECT_EQ(ErrorOf(ParseEventsQuery("limit=%")).name, "invalid_parameter");
}

// --- ParseDetailQuery ---------------------------------------------------------

// The as_of of a query that must parse; nullopt when absent.
std::optional<int64_t> AsOf(std::string_view raw) {
  auto r = ParseDetailQuery(raw);
  EXPECT_TRUE(r.ok()) << raw << ": " << ErrorOf(r).detail;
  if (!r.ok()) return std::nullopt;
  return r.value();
}

TEST(QueryParamsTest, DetailWithoutAsOfIsTheCurrentPost) {
  EXPECT_EQ(AsOf(""), std::nullopt);
  EXPECT_EQ(AsOf("&&"), std::nullopt);
}

TEST(QueryParamsTest, DetailReadsAsOf) {
  EXPECT_EQ(AsOf("as_of=0"), 0);
  EXPECT_EQ(AsOf("as_of=42"), 42);
  EXPECT_EQ(AsOf("as_of=0042"), 42);  // digits, as every numeric parameter
  EXPECT_EQ(AsOf("as_of=9223372036854775807"), INT64_MAX);
  EXPECT_EQ(AsOf("as%5Fof=7"), 7);  // the name is percent-decoded too
  EXPECT_EQ(AsOf("as_of=%37"), 7);
}

TEST(QueryParamsTest, DetailRefusesAMalformedAsOf) {
  for (const std::string_view raw :
       {"as_of=", "as_of", "as_of=-1", "as_of=+1", "as_of=1.0", "as_of=1e3", "as_of=0x10",
        "as_of=abc", "as_of=+5", "as_of=%201", "as_of=1%20", "as_of=%", "as_of=%zz",
        "as_of=9223372036854775808", "as_of=99999999999999999999"}) {
    const Problem p = ErrorOf(ParseDetailQuery(raw));
    EXPECT_EQ(p.name, "invalid_parameter") << raw;
    EXPECT_EQ(p.status, 400) << raw;
    EXPECT_EQ(p.detail, "1 query parameter is invalid") << raw;
    ASSERT_EQ(Parameters(p), std::vector<std::string>{"as_of"}) << raw;
    EXPECT_EQ(p.errors[0].detail,
              "must be a log position: an integer from 0 to 9223372036854775807")
        << raw;
  }
}

TEST(QueryParamsTest, DetailRefusesARepeatedAsOf) {
  for (const std::string_view raw : {"as_of=1&as_of=1", "as_of=1&as_of=2", "as_of=x&as%5Fof=2"}) {
    const Problem p = ErrorOf(ParseDetailQuery(raw));
    EXPECT_EQ(p.name, "invalid_parameter") << raw;
    ASSERT_EQ(Parameters(p), std::vector<std::string>{"as_of"}) << raw;
    EXPECT_EQ(p.errors[0].detail, "is given more than once") << raw;
  }
}

// The route ignored its query before as_of existed; it still does for every
// other name, and for pieces that are not well-formed.
TEST(QueryParamsTest, DetailIgnoresEverythingButAsOf) {
  EXPECT_EQ(AsOf("utm_source=mail&limit=0&limit=1"), std::nullopt);
  EXPECT_EQ(AsOf("x=%zz&%C3=1&=5&a%00=1"), std::nullopt);
  EXPECT_EQ(AsOf("as_of=5&x=%zz&as_ofx=1&AS_OF=2&as_of%20=3"), 5);
  std::string many;
  for (size_t i = 0; i <= kMaxQueryParameters; ++i) many += "p" + std::to_string(i) + "=1&";
  EXPECT_EQ(AsOf(many + "as_of=3"), 3);
}

TEST(QueryParamsTest, InvalidParameterNamesItsParameter) {
  const Problem p = InvalidParameter("as_of", "as_of 9 is past the log head 8");
  EXPECT_EQ(p.name, "invalid_parameter");
  EXPECT_EQ(p.status, 400);
  EXPECT_EQ(p.detail, "as_of 9 is past the log head 8");
  ASSERT_EQ(Parameters(p), std::vector<std::string>{"as_of"});
  EXPECT_EQ(p.errors[0].detail, "as_of 9 is past the log head 8");
}

}  // namespace
}  // namespace ledger::api
