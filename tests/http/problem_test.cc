#include "http/problem.h"

#include <set>
#include <string>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

namespace ledger::http {
namespace {

TEST(ProblemTest, WritesRfc9457Members) {
  Problem p = MakeProblem("validation_failed", "2 fields are invalid");
  p.errors.push_back({"/title", "", "must not be blank"});
  p.errors.push_back({"", "limit", "must be between 1 and 100"});
  p.headers.emplace_back("Retry-After", "1");
  const Response r = ToResponse(p, "/api/posts", "req-1");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.content_type, "application/problem+json");
  ASSERT_EQ(r.headers.size(), 1U);
  rapidjson::Document d;
  d.Parse(r.body.c_str());
  ASSERT_FALSE(d.HasParseError()) << r.body;
  EXPECT_STREQ(d["type"].GetString(), "urn:funding-ledger:problem:validation_failed");
  EXPECT_STREQ(d["title"].GetString(), "The request is not valid");
  EXPECT_EQ(d["status"].GetInt(), 422);
  EXPECT_STREQ(d["detail"].GetString(), "2 fields are invalid");
  EXPECT_STREQ(d["instance"].GetString(), "/api/posts");
  EXPECT_STREQ(d["request_id"].GetString(), "req-1");
  ASSERT_EQ(d["errors"].Size(), 2U);
  EXPECT_STREQ(d["errors"][0]["pointer"].GetString(), "/title");
  EXPECT_FALSE(d["errors"][0].HasMember("parameter"));
  EXPECT_STREQ(d["errors"][1]["parameter"].GetString(), "limit");
}

TEST(ProblemTest, EscapesWhatItIsGiven) {
  const Response r = ToResponse(MakeProblem("not_found", "no \"post\" \\ here\n"), "/x\"", "id");
  rapidjson::Document d;
  d.Parse(r.body.c_str());
  ASSERT_FALSE(d.HasParseError()) << r.body;
  EXPECT_STREQ(d["detail"].GetString(), "no \"post\" \\ here\n");
  EXPECT_FALSE(d.HasMember("errors"));
}

TEST(ProblemTest, NamesAreUniqueAndStatusesAreErrors) {
  std::set<std::string_view> seen;
  for (const std::string_view name : ProblemNames()) {
    EXPECT_TRUE(seen.insert(name).second) << name;
    const Problem p = MakeProblem(name, "");
    EXPECT_GE(p.status, 400) << name;
    EXPECT_LE(p.status, 599) << name;
    EXPECT_FALSE(p.title.empty()) << name;
  }
}

TEST(ProblemDeathTest, UnknownNameIsABug) {
  EXPECT_DEATH(MakeProblem("no_such_problem", ""), "problem names");
}

}  // namespace
}  // namespace ledger::http
