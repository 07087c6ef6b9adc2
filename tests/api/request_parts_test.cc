#include "api/request_parts.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "commands/limits.h"
#include "support/status_matchers.h"

namespace ledger::api {
namespace {

using ledger::testing::ErrorOf;

using http::Problem;
using http::Request;

void ExpectHeaderProblem(const Problem& p, std::string_view header) {
  EXPECT_EQ(p.name, "invalid_parameter");
  EXPECT_EQ(p.status, 400);
  ASSERT_EQ(p.errors.size(), 1U);
  EXPECT_EQ(p.errors[0].parameter, header);
  EXPECT_EQ(p.errors[0].pointer, "");
}

Request WithPathId(std::string id) {
  Request r;
  r.path_params.emplace_back("id", std::move(id));
  return r;
}

// --- the post id of the path ---------------------------------------------------

TEST(RequestPartsTest, PostIdIsAPositiveDecimalInt64) {
  EXPECT_EQ(PostId(WithPathId("1")).value(), 1);
  EXPECT_EQ(PostId(WithPathId("9223372036854775807")).value(), INT64_MAX);
}

TEST(RequestPartsTest, AnythingElseNamesNoPost) {
  for (const char* id : {"0", "-1", "+1", "01x", "1.0", " 1", "abc", "", "9223372036854775808",
                         "99999999999999999999"}) {
    const Problem p = ErrorOf(PostId(WithPathId(id)));
    EXPECT_EQ(p.name, "not_found") << id;
    EXPECT_EQ(p.status, 404) << id;
  }
  EXPECT_EQ(ErrorOf(PostId(Request{})).name, "not_found");  // no {id} at all
}

// --- Content-Type ----------------------------------------------------------------

Request WithBody(std::string body, std::optional<std::string> content_type) {
  Request r;
  r.body = std::move(body);
  if (content_type) r.headers.emplace_back("content-type", *content_type);
  return r;
}

TEST(RequestPartsTest, ContentTypeMustBeJsonWithOrWithoutParameters) {
  for (const char* type :
       {"application/json", "Application/JSON", "application/json; charset=utf-8",
        "application/json;charset=utf-8", "application/json "}) {
    EXPECT_TRUE(CheckContentType(WithBody("{}", type), false).ok()) << type;
  }
  for (const char* type : {"text/plain", "application/jsonx", "application/json-patch+json", "json",
                           "", "application/js"}) {
    const Problem p = ErrorOf(CheckContentType(WithBody("{}", type), false));
    EXPECT_EQ(p.name, "unsupported_media_type") << type;
    EXPECT_EQ(p.status, 415) << type;
  }
  EXPECT_EQ(ErrorOf(CheckContentType(WithBody("{}", std::nullopt), false)).status, 415);
}

TEST(RequestPartsTest, AnOptionalEmptyBodyNeedsNoContentType) {
  EXPECT_TRUE(CheckContentType(WithBody("", std::nullopt), true).ok());
  EXPECT_EQ(ErrorOf(CheckContentType(WithBody("", std::nullopt), false)).status, 415);
  EXPECT_EQ(ErrorOf(CheckContentType(WithBody("{}", std::nullopt), true)).status, 415);
}

// --- If-Match -----------------------------------------------------------------

TEST(RequestPartsTest, IfMatchAbsentOrStarIsUnconditional) {
  for (const std::optional<std::string_view> header :
       {std::optional<std::string_view>(), std::optional<std::string_view>("*")}) {
    const auto r = ParseIfMatch(header);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value(), std::nullopt);
  }
}

TEST(RequestPartsTest, IfMatchReadsAQuotedVersion) {
  const auto r = ParseIfMatch(R"("7")");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), 7);
  EXPECT_EQ(ParseIfMatch(R"("9223372036854775807")").value(), INT64_MAX);
  // Well-formed; no post has version 0, so the command answers 412.
  EXPECT_EQ(ParseIfMatch(R"("0")").value(), 0);
}

TEST(RequestPartsTest, IfMatchRefusesMalformedTags) {
  for (const std::string_view header :
       {"", "7", "\"\"", "\"", "\"7", "7\"", "W/\"7\"", "\"7\", \"8\"", "\"-1\"", "\"+1\"",
        "\"07\"", "\"1.0\"", "\"abc\"", "\"9223372036854775808\"", " \"7\"", "\"7\" ", "**",
        "\" 7\""}) {
    ExpectHeaderProblem(ErrorOf(ParseIfMatch(header)), "If-Match");
  }
}

// --- X-Min-Position -------------------------------------------------------------

TEST(RequestPartsTest, MinPosition) {
  EXPECT_EQ(ParseMinPosition(std::nullopt).value(), std::nullopt);
  EXPECT_EQ(ParseMinPosition("0").value(), 0);
  EXPECT_EQ(ParseMinPosition("12345").value(), 12345);
  EXPECT_EQ(ParseMinPosition("9223372036854775807").value(), INT64_MAX);
  for (const std::string_view header :
       {"", "-1", "+1", "1.5", "abc", " 1", "1 ", "9223372036854775808", "0x1"}) {
    ExpectHeaderProblem(ErrorOf(ParseMinPosition(header)), "X-Min-Position");
  }
}

// --- Idempotency-Key ------------------------------------------------------------

TEST(RequestPartsTest, IdempotencyKey) {
  EXPECT_EQ(ParseIdempotencyKey(std::nullopt).value(), std::nullopt);
  EXPECT_EQ(ParseIdempotencyKey("a").value(), "a");
  const std::string visible = "!~0aZ-_.:/\"{}";
  EXPECT_EQ(ParseIdempotencyKey(visible).value(), visible);
  const std::string max(commands::kIdempotencyKeyMaxBytes, 'k');
  EXPECT_EQ(ParseIdempotencyKey(max).value(), max);
}

TEST(RequestPartsTest, IdempotencyKeyRefusesWhatIsNotVisibleAscii) {
  const std::string too_long(commands::kIdempotencyKeyMaxBytes + 1, 'k');
  for (const std::string& header :
       {std::string(), too_long, std::string("a b"), std::string("a\tb"), std::string("a\x7F"),
        std::string("키"), std::string("a\0b", 3), std::string("\x01")}) {
    ExpectHeaderProblem(ErrorOf(ParseIdempotencyKey(header)), "Idempotency-Key");
  }
}

}  // namespace
}  // namespace ledger::api
