#include "api/json_body.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "commands/limits.h"
#include "support/status_matchers.h"
#include "support/time_literals.h"

namespace ledger::api {

using http::FieldError;
using http::Problem;
namespace {

using ledger::testing::ErrorOf;

using testing::D;

constexpr std::string_view kPost =
    R"({"title":"내 취미 만들기","uploader":"김철수","description":"설명",)"
    R"("target_amount":1000000,"funding_unit":5000,"end_date":"2026-12-31"})";

// The pointers of the problem's errors, in order.
std::vector<std::string> Pointers(const Problem& p) {
  std::vector<std::string> out;
  for (const FieldError& e : p.errors) out.push_back(e.pointer);
  return out;
}

// The detail of the error at `pointer`, or "<none>".
std::string DetailAt(const Problem& p, std::string_view pointer) {
  for (const FieldError& e : p.errors) {
    if (e.pointer == pointer) return e.detail;
  }
  return "<none>";
}

void ExpectMalformed(std::string_view body, std::string_view detail_part) {
  const Problem p = ErrorOf(ParseCreateBody(body));
  EXPECT_EQ(p.name, "malformed_json") << body;
  EXPECT_EQ(p.status, 400);
  EXPECT_NE(p.detail.find(detail_part), std::string::npos) << p.detail;
  EXPECT_TRUE(p.errors.empty());
}

// The problem of a single-object create whose `member` is `json` (the other
// required members well-formed).
Problem CreateWith(std::string_view member, std::string_view json) {
  const std::vector<std::pair<std::string_view, std::string_view>> members = {
      {"title", R"("t")"},   {"uploader", R"("u")"},          {"target_amount", "1"},
      {"funding_unit", "1"}, {"end_date", R"("2026-12-31")"},
  };
  std::string body = "{";
  for (const auto& [name, value] : members) {
    if (name == member) continue;  // a second one would be a duplicate
    body += "\"" + std::string(name) + "\":" + std::string(value) + ",";
  }
  body += "\"" + std::string(member) + "\":" + std::string(json) + "}";
  auto r = ParseCreateBody(body);
  EXPECT_FALSE(r.ok()) << body;
  if (r.ok()) return Problem{};
  return std::move(r).error();
}

// --- create: accepted shapes ------------------------------------------------

TEST(JsonBodyTest, CreateReadsEveryMemberOfOneObject) {
  const auto r = ParseCreateBody(kPost);
  ASSERT_TRUE(r.ok()) << ErrorOf(r).detail;
  const commands::CreatePosts& c = r.value();
  EXPECT_FALSE(c.as_array);
  ASSERT_EQ(c.posts.size(), 1U);
  const commands::PostDraft& d = c.posts[0];
  EXPECT_EQ(d.title, "내 취미 만들기");
  EXPECT_EQ(d.uploader, "김철수");
  EXPECT_EQ(d.description, "설명");
  EXPECT_EQ(d.target_amount, 1'000'000);
  EXPECT_EQ(d.funding_unit, 5'000);
  EXPECT_EQ(d.end_date, D("2026-12-31"));
}

TEST(JsonBodyTest, CreateDescriptionMayBeOmitted) {
  const auto r = ParseCreateBody(
      R"({"title":"t","uploader":"u","target_amount":1,"funding_unit":1,"end_date":"2026-01-01"})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().posts[0].description, "");
}

TEST(JsonBodyTest, CreateTermsDefaultToKeepItAllWithoutLimit) {
  const auto r = ParseCreateBody(kPost);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().posts[0].funding_model, events::FundingModel::kKeepItAll);
  EXPECT_EQ(r.value().posts[0].max_fundings_per_backer, std::nullopt);
}

TEST(JsonBodyTest, CreateReadsTheFundingTerms) {
  const auto r = ParseCreateBody(
      R"({"title":"t","uploader":"u","target_amount":1,"funding_unit":1,"end_date":"2026-01-01",)"
      R"("funding_model":"all_or_nothing","max_fundings_per_backer":1})");
  ASSERT_TRUE(r.ok()) << ErrorOf(r).detail;
  EXPECT_EQ(r.value().posts[0].funding_model, events::FundingModel::kAllOrNothing);
  EXPECT_EQ(r.value().posts[0].max_fundings_per_backer, 1);
  // null is "no limit", as an absent member.
  const auto unlimited = ParseCreateBody(
      R"({"title":"t","uploader":"u","target_amount":1,"funding_unit":1,"end_date":"2026-01-01",)"
      R"("max_fundings_per_backer":null})");
  ASSERT_TRUE(unlimited.ok()) << ErrorOf(unlimited).detail;
  EXPECT_EQ(unlimited.value().posts[0].max_fundings_per_backer, std::nullopt);
}

TEST(JsonBodyTest, CreateRefusesBadFundingTerms) {
  for (const std::string_view model : {R"("keep")", R"("KEEP_IT_ALL")", "1", "null"}) {
    const Problem p = CreateWith("funding_model", model);
    EXPECT_EQ(Pointers(p), std::vector<std::string>{"/funding_model"}) << model;
  }
  EXPECT_EQ(DetailAt(CreateWith("funding_model", R"("x")"), "/funding_model"),
            R"(must be "keep_it_all" or "all_or_nothing")");
  for (const std::string_view limit : {R"("1")", "1.5", "true", "[]"}) {
    const Problem p = CreateWith("max_fundings_per_backer", limit);
    EXPECT_EQ(Pointers(p), std::vector<std::string>{"/max_fundings_per_backer"}) << limit;
  }
}

TEST(JsonBodyTest, CreateAcceptsAnArrayInOrder) {
  const std::string body = "[" + std::string(kPost) + "," +
                           R"({"title":"두번째","uploader":"u","target_amount":7,)"
                           R"("funding_unit":1,"end_date":"2027-02-28"}])";
  const auto r = ParseCreateBody(body);
  ASSERT_TRUE(r.ok()) << ErrorOf(r).detail;
  const commands::CreatePosts& c = r.value();
  EXPECT_TRUE(c.as_array);
  ASSERT_EQ(c.posts.size(), 2U);
  EXPECT_EQ(c.posts[0].title, "내 취미 만들기");
  EXPECT_EQ(c.posts[1].title, "두번째");
  EXPECT_EQ(c.posts[1].target_amount, 7);
}

TEST(JsonBodyTest, CreateLeavesValueRulesToTheDomain) {
  // Blank titles, zero and negative amounts are well-formed: Decide judges
  // them, with the same pointers.
  const auto r = ParseCreateBody(
      R"({"title":"  ","uploader":"","target_amount":0,"funding_unit":-5,"end_date":"2000-01-01"})");
  ASSERT_TRUE(r.ok()) << ErrorOf(r).detail;
  EXPECT_EQ(r.value().posts[0].funding_unit, -5);
}

TEST(JsonBodyTest, IntegerLimitsOfInt64AreAccepted) {
  const auto r =
      ParseCreateBody(R"({"title":"t","uploader":"u","target_amount":9223372036854775807,)"
                      R"("funding_unit":-9223372036854775808,"end_date":"2026-01-01"})");
  ASSERT_TRUE(r.ok()) << ErrorOf(r).detail;
  const commands::PostDraft& d = r.value().posts[0];
  EXPECT_EQ(d.target_amount, INT64_MAX);
  EXPECT_EQ(d.funding_unit, INT64_MIN);
}

TEST(JsonBodyTest, NegativeZeroIsTheIntegerZero) {
  const auto r = ParseCreateBody(
      R"({"title":"t","uploader":"u","target_amount":-0,"funding_unit":0,"end_date":"2026-01-01"})");
  ASSERT_TRUE(r.ok()) << ErrorOf(r).detail;
  EXPECT_EQ(r.value().posts[0].target_amount, 0);
}

TEST(JsonBodyTest, WhitespaceAroundTheValueIsFine) {
  const auto r = ParseCreateBody(" \n\t" + std::string(kPost) + "\r\n ");
  EXPECT_TRUE(r.ok());
}

TEST(JsonBodyTest, EscapedKoreanAndSurrogatePairsDecode) {
  const auto r = ParseCreateBody(
      R"({"title":"\ucde8\ubbf8 \ud83d\ude00","uploader":"a\"b\\c\/d","target_amount":1,)"
      R"("funding_unit":1,"end_date":"2026-01-01","description":"line\nbreak\u0000nul"})");
  ASSERT_TRUE(r.ok()) << ErrorOf(r).detail;
  const commands::PostDraft& d = r.value().posts[0];
  EXPECT_EQ(d.title, "취미 \xF0\x9F\x98\x80");
  EXPECT_EQ(d.uploader, "a\"b\\c/d");
  // An escaped NUL is a character of the string; Decide refuses it in text.
  EXPECT_EQ(d.description, std::string("line\nbreak\0nul", 14));
}

// --- create: malformed JSON -------------------------------------------------

TEST(JsonBodyTest, MalformedBodiesAre400) {
  ExpectMalformed("", "empty");
  ExpectMalformed("   ", "is not JSON");
  ExpectMalformed("{", "is not JSON");
  ExpectMalformed(R"({"title":"t",})", "is not JSON");
  ExpectMalformed(R"({'title':"t"})", "is not JSON");
  ExpectMalformed(R"({"a":01})", "is not JSON");
  ExpectMalformed(R"({"a":NaN})", "is not JSON");
  ExpectMalformed(R"({"a":Infinity})", "is not JSON");
  ExpectMalformed(R"({"a":1} // comment)", "is not JSON");
  ExpectMalformed(R"({"a":"\x"})", "is not JSON");
  ExpectMalformed("{\"a\":\"tab\there\"}", "is not JSON");  // raw control character
}

TEST(JsonBodyTest, TrailingGarbageIsMalformed) {
  ExpectMalformed(std::string(kPost) + "x", "is not JSON");
  ExpectMalformed(std::string(kPost) + std::string(kPost), "is not JSON");
  ExpectMalformed("[] []", "is not JSON");
}

TEST(JsonBodyTest, NulBytesAreMalformedEvenAfterTheValue) {
  // A NUL ends RapidJSON's input early; without the check the rest would be
  // silently ignored.
  ExpectMalformed(std::string(kPost) + std::string("\0garbage", 8), "NUL byte at offset");
  ExpectMalformed(std::string("{\"title\":\"a\0b\"}", 15), "NUL byte");
}

TEST(JsonBodyTest, InvalidUtf8IsMalformedAnywhere) {
  ExpectMalformed("{\"title\":\"\xC3\x28\"}", "not valid UTF-8");          // bad continuation
  ExpectMalformed("{\"title\":\"\xC0\xAF\"}", "not valid UTF-8");          // overlong '/'
  ExpectMalformed("{\"title\":\"\xE0\x80\xAF\"}", "not valid UTF-8");      // overlong, 3 bytes
  ExpectMalformed("{\"title\":\"\xED\xA0\x80\"}", "not valid UTF-8");      // U+D800 encoded
  ExpectMalformed("{\"title\":\"\xF4\x90\x80\x80\"}", "not valid UTF-8");  // above U+10FFFF
  ExpectMalformed("{\"title\":\"\xFF\"}", "not valid UTF-8");
  ExpectMalformed("{\"title\":\"\xEA\xB0\"}", "not valid UTF-8");  // truncated 가
  ExpectMalformed("{\"\xC3\x28\":1}", "not valid UTF-8");          // in a name
  ExpectMalformed("\xEF\xBB\xBF{}", "is not JSON");                // a BOM is not JSON
}

TEST(JsonBodyTest, LoneSurrogateEscapesAreMalformed) {
  // Such a string has no UTF-8 form: refusing it keeps every stored string
  // valid UTF-8.
  ExpectMalformed(R"({"title":"\ud800"})", "is not JSON");
  ExpectMalformed(R"({"title":"\ud800\u0041"})", "is not JSON");
  ExpectMalformed(R"({"title":"x\udc00"})", "lone surrogate in /title");
  ExpectMalformed(R"([{"title":"\uDFFF"}])", "lone surrogate in /0/title");
  ExpectMalformed(R"({"\udc00":1})", "lone surrogate in a member name");
}

TEST(JsonBodyTest, DuplicateMembersAreMalformedWithTheirPointer) {
  ExpectMalformed(R"({"title":"a","title":"b"})", "duplicate member /title");
  ExpectMalformed(R"([{},{"x":1,"y":2,"x":3}])", "duplicate member /1/x");
  ExpectMalformed(R"({"a/b":1,"a/b":2})", "duplicate member /a~1b");
  // Names are compared after unescaping.
  ExpectMalformed(R"({"title":"a","ti\u0074le":"b"})", "duplicate member /title");
}

TEST(JsonBodyTest, NestingIsBounded) {
  std::string ok(kMaxJsonDepth, '[');
  ok += std::string(kMaxJsonDepth, ']');
  const Problem within = ErrorOf(ParseCreateBody(ok));
  EXPECT_EQ(within.name, "validation_failed");  // the shape is wrong, the JSON is fine

  std::string deep(kMaxJsonDepth + 1, '[');
  deep += std::string(kMaxJsonDepth + 1, ']');
  ExpectMalformed(deep, "nests deeper than 16 levels");

  // Hostile depth costs neither stack nor time.
  ExpectMalformed(std::string(1'000'000, '['), "nests deeper");
  ExpectMalformed(std::string(500'000, '{'), "is not JSON");  // '{' wants a name first
  std::string objects;
  for (int i = 0; i < 100'000; ++i) objects += "{\"a\":";
  ExpectMalformed(objects, "nests deeper");
}

TEST(JsonBodyTest, NumbersBeyondDoubleRangeAreMalformed) {
  // RFC 8259 §6 lets implementations bound the range of numbers; RapidJSON
  // refuses these while reading, before any member is judged.
  ExpectMalformed(R"({"target_amount":1e400})", "is not JSON");
  ExpectMalformed(R"({"target_amount":)" + std::string(400, '9') + "}", "is not JSON");
}

// --- create: shape errors (422) ---------------------------------------------

TEST(JsonBodyTest, TopLevelOfTheWrongKindIs422AtTheRoot) {
  for (const std::string_view body : {"1", "\"post\"", "null", "true", "false", "-0.5"}) {
    const Problem p = ErrorOf(ParseCreateBody(body));
    EXPECT_EQ(p.name, "validation_failed") << body;
    EXPECT_EQ(p.status, 422);
    EXPECT_EQ(Pointers(p), std::vector<std::string>{""}) << body;
  }
}

TEST(JsonBodyTest, ArraySizeIsBounded) {
  const Problem empty = ErrorOf(ParseCreateBody("[]"));
  EXPECT_EQ(empty.name, "validation_failed");
  EXPECT_EQ(Pointers(empty), std::vector<std::string>{""});
  EXPECT_NE(empty.detail.find("got 0"), std::string::npos) << empty.detail;

  std::string max = "[";
  for (size_t i = 0; i < commands::kMaxPostsPerCreate; ++i) {
    if (i > 0) max += ',';
    max += kPost;
  }
  const std::string over = max + "," + std::string(kPost) + "]";
  max += "]";
  const auto r = ParseCreateBody(max);
  ASSERT_TRUE(r.ok()) << ErrorOf(r).detail;
  EXPECT_EQ(r.value().posts.size(), commands::kMaxPostsPerCreate);

  const Problem p = ErrorOf(ParseCreateBody(over));
  EXPECT_EQ(p.name, "validation_failed");
  EXPECT_NE(p.detail.find("got 101"), std::string::npos) << p.detail;
}

TEST(JsonBodyTest, ArrayElementsMustBeObjects) {
  const Problem p = ErrorOf(ParseCreateBody("[" + std::string(kPost) + ",1,[],null]"));
  EXPECT_EQ(p.name, "validation_failed");
  EXPECT_EQ(Pointers(p), (std::vector<std::string>{"/1", "/2", "/3"}));
  EXPECT_EQ(DetailAt(p, "/1"), "must be an object, not a number");
  EXPECT_EQ(DetailAt(p, "/2"), "must be an object, not an array");
  EXPECT_EQ(DetailAt(p, "/3"), "must be an object, not null");
}

TEST(JsonBodyTest, MissingMembersAreEachReported) {
  const Problem p = ErrorOf(ParseCreateBody("{}"));
  EXPECT_EQ(p.name, "validation_failed");
  EXPECT_EQ(Pointers(p), (std::vector<std::string>{"/title", "/uploader", "/target_amount",
                                                   "/funding_unit", "/end_date"}));
  EXPECT_EQ(DetailAt(p, "/title"), "is required");
  EXPECT_EQ(p.detail, "5 fields are invalid");
}

TEST(JsonBodyTest, UnknownMembersInArraysPointIntoTheirElement) {
  const std::string body = "[" + std::string(kPost) + R"(,{"title":"t","uploader":"u",)" +
                           R"("target_amount":1,"funding_unit":1,"end_date":"2026-01-01",)" +
                           R"("foo":1,"owner":"me","a~b/c":null}])";
  const Problem p = ErrorOf(ParseCreateBody(body));
  EXPECT_EQ(p.name, "validation_failed");
  EXPECT_EQ(Pointers(p), (std::vector<std::string>{"/1/foo", "/1/owner", "/1/a~0b~1c"}));
  EXPECT_EQ(DetailAt(p, "/1/foo"), "is not a member of a post");
  EXPECT_EQ(p.detail, "3 fields are invalid");
}

TEST(JsonBodyTest, WrongTypesAreReportedPerMember) {
  EXPECT_EQ(DetailAt(CreateWith("title", "1"), "/title"), "must be a string, not a number");
  EXPECT_EQ(DetailAt(CreateWith("title", "null"), "/title"), "must be a string, not null");
  EXPECT_EQ(DetailAt(CreateWith("title", "[\"t\"]"), "/title"), "must be a string, not an array");
  EXPECT_EQ(DetailAt(CreateWith("uploader", "{}"), "/uploader"), "must be a string, not an object");
  EXPECT_EQ(DetailAt(CreateWith("description", "true"), "/description"),
            "must be a string, not a boolean");
  EXPECT_EQ(DetailAt(CreateWith("target_amount", "\"1000\""), "/target_amount"),
            "must be an integer, not a string");
  EXPECT_EQ(DetailAt(CreateWith("funding_unit", "null"), "/funding_unit"),
            "must be an integer, not null");
  EXPECT_EQ(DetailAt(CreateWith("end_date", "20261231"), "/end_date"),
            "must be a date string YYYY-MM-DD, not a number");
}

TEST(JsonBodyTest, IntegersMustBeExactInt64) {
  for (const std::string_view json : {"1.0", "1e3", "1E3", "0.5", "-1.5e-3", "10.00"}) {
    EXPECT_EQ(DetailAt(CreateWith("target_amount", json), "/target_amount"),
              "must be an integer, written without a fraction or exponent")
        << json;
  }
  for (const std::string_view json :
       {"9223372036854775808", "-9223372036854775809", "18446744073709551615",
        "18446744073709551616", "123456789012345678901234567890"}) {
    EXPECT_EQ(DetailAt(CreateWith("funding_unit", json), "/funding_unit"),
              "must be an integer from -9223372036854775808 to 9223372036854775807")
        << json;
  }
}

TEST(JsonBodyTest, EndDateMustBeARealDate) {
  for (const std::string_view json :
       {R"("2026-02-30")", R"("2026-13-01")", R"("2026-1-5")", R"("2026-12-31T00:00:00Z")",
        R"("31.12.2026")", R"("")", R"(" 2026-12-31")", R"("0000-01-01")", R"("2026-12-31 ")"}) {
    EXPECT_EQ(DetailAt(CreateWith("end_date", json), "/end_date"),
              "must be a calendar date written YYYY-MM-DD")
        << json;
  }
  const auto leap = ParseCreateBody(
      R"({"title":"t","uploader":"u","target_amount":1,"funding_unit":1,"end_date":"2028-02-29"})");
  ASSERT_TRUE(leap.ok());
  EXPECT_EQ(leap.value().posts[0].end_date, D("2028-02-29"));
}

TEST(JsonBodyTest, EveryErrorOfEveryElementIsCollected) {
  const std::string body =
      R"([{"title":1,"uploader":"u","target_amount":1.5,"funding_unit":1,"end_date":"x"},)"
      R"({"title":"t","foo":true},)"
      R"(7])";
  const Problem p = ErrorOf(ParseCreateBody(body));
  EXPECT_EQ(p.name, "validation_failed");
  EXPECT_EQ(Pointers(p), (std::vector<std::string>{"/0/title", "/0/target_amount", "/0/end_date",
                                                   "/1/foo", "/1/uploader", "/1/target_amount",
                                                   "/1/funding_unit", "/1/end_date", "/2"}));
  EXPECT_EQ(p.detail, "9 fields are invalid");
}

TEST(JsonBodyTest, ReportedErrorsAreBoundedButCounted) {
  std::string body = "{";
  for (int i = 0; i < 300; ++i) body += "\"x" + std::to_string(i) + "\":0,";
  body +=
      R"("title":"t","uploader":"u","target_amount":1,"funding_unit":1,"end_date":"2026-01-01"})";
  const Problem p = ErrorOf(ParseCreateBody(body));
  EXPECT_EQ(p.errors.size(), kMaxReportedFieldErrors);
  EXPECT_EQ(p.detail, "300 fields are invalid; the first 100 are listed");
  EXPECT_EQ(p.errors.front().pointer, "/x0");
}

TEST(JsonBodyTest, OneErrorIsSingular) {
  const Problem p = ErrorOf(ParseCreateBody(std::string(kPost).insert(1, "\"z\":1,")));
  EXPECT_EQ(p.detail, "1 field is invalid");
  EXPECT_EQ(Pointers(p), std::vector<std::string>{"/z"});
}

// --- edit -------------------------------------------------------------------

TEST(JsonBodyTest, EditReadsTheMembersItIsGiven) {
  const auto r = ParseEditBody(R"({"title":"새 제목","funding_unit":700,"end_date":"2027-01-31"})");
  ASSERT_TRUE(r.ok()) << ErrorOf(r).detail;
  const commands::EditPost& e = r.value();
  EXPECT_EQ(e.title, "새 제목");
  EXPECT_FALSE(e.uploader);
  EXPECT_FALSE(e.description);
  EXPECT_EQ(e.funding_unit, 700);
  EXPECT_EQ(e.end_date, D("2027-01-31"));
  EXPECT_FALSE(e.target_amount);
  EXPECT_EQ(e.post_id, 0);
  EXPECT_FALSE(e.expected_version);

  const auto all = ParseEditBody(R"({"uploader":"u","description":""})");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all.value().uploader, "u");
  EXPECT_EQ(all.value().description, "");
}

TEST(JsonBodyTest, EditReadsTheFundingTerms) {
  const auto r = ParseEditBody(R"({"funding_model":"all_or_nothing","max_fundings_per_backer":3})");
  ASSERT_TRUE(r.ok()) << ErrorOf(r).detail;
  EXPECT_EQ(r.value().funding_model, events::FundingModel::kAllOrNothing);
  EXPECT_EQ(r.value().max_fundings_per_backer, std::optional<int64_t>(3));
  // null removes the limit: present, holding "none".
  const auto removed = ParseEditBody(R"({"max_fundings_per_backer":null})");
  ASSERT_TRUE(removed.ok()) << ErrorOf(removed).detail;
  ASSERT_TRUE(removed.value().max_fundings_per_backer.has_value());
  EXPECT_EQ(*removed.value().max_fundings_per_backer, std::nullopt);
  EXPECT_FALSE(removed.value().funding_model.has_value());
  const Problem p = ErrorOf(ParseEditBody(R"({"funding_model":null})"));
  EXPECT_EQ(Pointers(p), std::vector<std::string>{"/funding_model"});
}

TEST(JsonBodyTest, RejectsEditOfTarget) {
  for (const std::string_view body :
       {R"({"target_amount":5})", R"({"title":"t","target_amount":"lots"})",
        R"({"target_amount":null})", R"({"target_amount":{"a":[]}})"}) {
    const Problem p = ErrorOf(ParseEditBody(body));
    EXPECT_EQ(p.name, "target_immutable") << body;
    EXPECT_EQ(p.status, 422);
    EXPECT_EQ(Pointers(p), std::vector<std::string>{"/target_amount"});
  }
}

TEST(JsonBodyTest, TargetImmutableWinsOverOtherFieldErrors) {
  const Problem p =
      ErrorOf(ParseEditBody(R"({"title":1,"owner":"x","target_amount":2,"end_date":"no"})"));
  EXPECT_EQ(p.name, "target_immutable");
  EXPECT_EQ(Pointers(p), std::vector<std::string>{"/target_amount"});
}

TEST(JsonBodyTest, MalformedJsonAndWrongTopLevelWinOverTargetImmutable) {
  EXPECT_EQ(ErrorOf(ParseEditBody(R"({"target_amount":1,"target_amount":2})")).name,
            "malformed_json");
  EXPECT_EQ(ErrorOf(ParseEditBody(R"([{"target_amount":1}])")).name, "validation_failed");
}

TEST(JsonBodyTest, EmptyEditIsRefused) {
  const Problem p = ErrorOf(ParseEditBody("{}"));
  EXPECT_EQ(p.name, "validation_failed");
  EXPECT_EQ(p.detail, "an edit must change at least one field");
  EXPECT_EQ(Pointers(p), std::vector<std::string>{""});
  EXPECT_EQ(ErrorOf(ParseEditBody("")).name, "malformed_json");
}

TEST(JsonBodyTest, EditRefusesUnknownAndMistypedMembers) {
  const Problem p = ErrorOf(ParseEditBody(
      R"({"owner":"mallory","title":null,"funding_unit":1.0,"end_date":"2026-02-29","id":3})"));
  EXPECT_EQ(p.name, "validation_failed");
  EXPECT_EQ(Pointers(p),
            (std::vector<std::string>{"/owner", "/title", "/funding_unit", "/end_date", "/id"}));
  EXPECT_EQ(DetailAt(p, "/owner"), "is not an editable member of a post");
  EXPECT_EQ(DetailAt(p, "/title"), "must be a string, not null");
}

TEST(JsonBodyTest, EditTopLevelMustBeAnObject) {
  for (const std::string_view body : {"[]", "1", "null", "\"x\""}) {
    const Problem p = ErrorOf(ParseEditBody(body));
    EXPECT_EQ(p.name, "validation_failed") << body;
    EXPECT_EQ(Pointers(p), std::vector<std::string>{""});
  }
}

// --- fund -------------------------------------------------------------------

TEST(JsonBodyTest, FundDefaultsToOneUnit) {
  for (const std::string_view body : {"", "{}"}) {
    const auto r = ParseFundBody(body);
    ASSERT_TRUE(r.ok()) << body;
    EXPECT_EQ(r.value().units, 1);
  }
  const auto r = ParseFundBody(R"({"units":25})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().units, 25);
  // Range is the domain's (1..10 000): it answers with pointer /units.
  const auto zero = ParseFundBody(R"({"units":0})");
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ(zero.value().units, 0);
}

TEST(JsonBodyTest, FundRefusesBadShapes) {
  EXPECT_EQ(ErrorOf(ParseFundBody(" ")).name, "malformed_json");
  EXPECT_EQ(ErrorOf(ParseFundBody("{\"units\":1")).name, "malformed_json");
  EXPECT_EQ(Pointers(ErrorOf(ParseFundBody("5"))), std::vector<std::string>{""});
  EXPECT_EQ(Pointers(ErrorOf(ParseFundBody("null"))), std::vector<std::string>{""});
  const Problem p = ErrorOf(ParseFundBody(R"({"units":"2","amount":100})"));
  EXPECT_EQ(p.name, "validation_failed");
  EXPECT_EQ(Pointers(p), (std::vector<std::string>{"/units", "/amount"}));
  EXPECT_EQ(DetailAt(p, "/units"), "must be an integer, not a string");
  EXPECT_EQ(DetailAt(ErrorOf(ParseFundBody(R"({"units":2.5})")), "/units"),
            "must be an integer, written without a fraction or exponent");
  EXPECT_EQ(DetailAt(ErrorOf(ParseFundBody(R"({"units":99999999999999999999})")), "/units"),
            "must be an integer from -9223372036854775808 to 9223372036854775807");
}

}  // namespace
}  // namespace ledger::api
