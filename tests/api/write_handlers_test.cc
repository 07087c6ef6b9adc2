#include "api/write_handlers.h"

#include <string>

#include <gtest/gtest.h>

#include "api/write_answers.h"
#include "api_fixture.h"

namespace ledger::api {
namespace {

using testing::ApiFixture;
using testing::kPostBody;

class WriteHandlersTest : public ApiFixture {
 protected:
  http::Response Create(std::string body, std::string key = "") {
    std::vector<std::pair<std::string, std::string>> headers = {
        {"content-type", "application/json"}, {"authorization", Bearer("alice")}};
    if (!key.empty()) headers.emplace_back("idempotency-key", key);
    return Call(CreatePosts, Req("POST", "/api/posts", std::move(body), headers));
  }
  http::Response CancelAs(std::string id, std::string position, std::string sub) {
    http::Request r = Req("DELETE", "/api/posts/" + id + "/fundings/" + position, "",
                          {{"authorization", Bearer(sub)}}, id);
    r.path_params.emplace_back("position", position);
    return Call(CancelFunding, std::move(r));
  }
  http::Response FundAs(std::string id, std::string sub, std::string body = "") {
    return Call(FundPost, Req("POST", "/api/posts/" + id + "/fundings", std::move(body),
                              {{"authorization", Bearer(sub)}}, id));
  }
};

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_F(WriteHandlersTest, CreateAnswersThePostWithLocationETagAndPosition) {
  const http::Response r = Create(std::string(kPostBody));
  EXPECT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(HeaderOf(r, "Location"), "/api/posts/1");
  EXPECT_EQ(HeaderOf(r, "ETag"), "\"1\"");
  EXPECT_EQ(HeaderOf(r, "X-Ledger-Position"), "1");
  EXPECT_TRUE(Has(r.body, R"("id":1,"title":"내 취미 만들기")")) << r.body;
  EXPECT_TRUE(Has(r.body, R"("version":1,"position":1})")) << r.body;
}

TEST_F(WriteHandlersTest, CreateOfAnArrayAnswersEveryPostInOrder) {
  const http::Response r =
      Create("[" + std::string(kPostBody) + "," + std::string(kPostBody) + "]");
  EXPECT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.body.front(), '[');
  EXPECT_TRUE(Has(r.body, R"({"id":1,)")) << r.body;
  EXPECT_TRUE(Has(r.body, R"({"id":2,)")) << r.body;
  EXPECT_EQ(HeaderOf(r, "ETag"), std::nullopt);  // an array has no single version
  EXPECT_EQ(HeaderOf(r, "X-Ledger-Position"), "2");
}

// Each check answers before the next runs: content type, then the token,
// then the Idempotency-Key, then the body.
TEST_F(WriteHandlersTest, CreateChecksContentTypeThenTokenThenKeyThenBody) {
  EXPECT_EQ(Call(CreatePosts, Req("POST", "/api/posts", "{")).status, 415);
  EXPECT_EQ(
      Call(CreatePosts, Req("POST", "/api/posts", "{", {{"content-type", "application/json"}}))
          .status,
      401);
  EXPECT_EQ(Create("{", "a key").status, 400);  // a space is not allowed in a key
  const http::Response malformed = Create("{");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(malformed.content_type, "application/problem+json");
  EXPECT_TRUE(Has(malformed.body, "malformed_json")) << malformed.body;
  EXPECT_EQ(log_->Head().position, 0);  // nothing was appended
}

TEST_F(WriteHandlersTest, MissingTokenIsAChallenge) {
  const http::Response r = Call(CreatePosts, Req("POST", "/api/posts", std::string(kPostBody),
                                                 {{"content-type", "application/json"}}));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(HeaderOf(r, "WWW-Authenticate"), R"(Bearer realm="funding-ledger")");
}

TEST_F(WriteHandlersTest, RetriedCreateReplaysTheFirstAnswer) {
  const http::Response first = Create(std::string(kPostBody), "create-1");
  const http::Response again = Create(std::string(kPostBody), "create-1");
  EXPECT_EQ(first.status, 201);
  EXPECT_EQ(again.status, 201);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(HeaderOf(first, "Idempotent-Replayed"), std::nullopt);
  EXPECT_EQ(HeaderOf(again, "Idempotent-Replayed"), "true");
  const http::Response other = Create("[" + std::string(kPostBody) + "]", "create-1");
  EXPECT_EQ(other.status, 422);
  EXPECT_TRUE(Has(other.body, "idempotency_key_reused")) << other.body;
  EXPECT_EQ(log_->Head().position, 1);
}

TEST_F(WriteHandlersTest, EditAnswersThePostAtItsNewVersion) {
  CreatePost();
  const http::Response r = Call(EditPost, Req("PATCH", "/api/posts/1", R"({"title":"새 제목"})",
                                              {{"content-type", "application/json"},
                                               {"authorization", Bearer("alice")},
                                               {"if-match", "\"1\""}},
                                              "1"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(HeaderOf(r, "ETag"), "\"2\"");
  EXPECT_EQ(HeaderOf(r, "X-Ledger-Position"), "2");
  EXPECT_TRUE(Has(r.body, R"("title":"새 제목")")) << r.body;
}

TEST_F(WriteHandlersTest, EditRefusesTargetStaleVersionsAndOtherOwners) {
  CreatePost();
  const auto edit = [this](std::string body, std::string sub, std::string if_match) {
    return Call(EditPost, Req("PATCH", "/api/posts/1", std::move(body),
                              {{"content-type", "application/json"},
                               {"authorization", Bearer(sub)},
                               {"if-match", std::move(if_match)}},
                              "1"));
  };
  const http::Response target = edit(R"({"target_amount":5})", "alice", "*");
  EXPECT_EQ(target.status, 422);
  EXPECT_TRUE(Has(target.body, "target_immutable")) << target.body;
  EXPECT_EQ(edit(R"({"title":"x"})", "alice", "\"7\"").status, 412);
  EXPECT_EQ(edit(R"({"title":"x"})", "mallory", "*").status, 403);
  EXPECT_EQ(edit(R"({"title":"x"})", "alice", "W/\"1\"").status, 400);
  EXPECT_EQ(log_->Head().position, 1);
}

TEST_F(WriteHandlersTest, DeleteAnswersNoContentWithItsPosition) {
  CreatePost();
  Fund(1);
  const http::Response r = Call(
      DeletePost, Req("DELETE", "/api/posts/1", "", {{"authorization", Bearer("alice")}}, "1"));
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.body, "");
  // The refund of bob's funding and the deletion: positions 3 and 4.
  EXPECT_EQ(HeaderOf(r, "X-Ledger-Position"), "4");
}

TEST_F(WriteHandlersTest, FundWithAnEmptyBodyFundsOneUnit) {
  CreatePost();
  const http::Response r = FundAs("1", "bob");
  EXPECT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.body, R"({"post_id":1,"backer":"bob","units":1,"amount":1000,"position":2})");
  EXPECT_EQ(HeaderOf(r, "X-Ledger-Position"), "2");
}

TEST_F(WriteHandlersTest, RetriedFundingReplaysTheFundingReadBackFromTheLog) {
  CreatePost();
  const auto fund = [this] {
    return Call(FundPost, Req("POST", "/api/posts/1/fundings", R"({"units":2})",
                              {{"authorization", Bearer("bob")},
                               {"content-type", "application/json"},
                               {"idempotency-key", "fund-1"}},
                              "1"));
  };
  // The first answer is built from the sequencer's result on its completion
  // thread; the replay's, from the event read back on the answer pool.
  const http::Response first = fund();
  const http::Response again = fund();
  EXPECT_EQ(first.status, 201) << first.body;
  EXPECT_EQ(first.body, R"({"post_id":1,"backer":"bob","units":2,"amount":2000,"position":2})");
  EXPECT_EQ(again.status, 201) << again.body;
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(HeaderOf(again, "X-Ledger-Position"), "2");
  EXPECT_EQ(HeaderOf(first, "Idempotent-Replayed"), std::nullopt);
  EXPECT_EQ(HeaderOf(again, "Idempotent-Replayed"), "true");
  EXPECT_EQ(log_->Head().position, 2);
}

TEST(AnswerMayReadTest, OnlyAcceptedCreatesEditsAndReplayedFundingsRead) {
  commands::CommandResult accepted;
  accepted.status = commands::CommandStatus::kAccepted;
  EXPECT_TRUE(AnswerMayRead(WriteKind::kCreate, accepted));
  EXPECT_TRUE(AnswerMayRead(WriteKind::kEdit, accepted));
  EXPECT_TRUE(AnswerMayRead(WriteKind::kFund, accepted));  // a replay: no event with it
  EXPECT_FALSE(AnswerMayRead(WriteKind::kDelete, accepted));
  EXPECT_FALSE(AnswerMayRead(WriteKind::kCancel, accepted));
  commands::CommandResult funded = accepted;
  funded.funded = events::PostFunded{};
  EXPECT_FALSE(AnswerMayRead(WriteKind::kFund, funded));
  for (const commands::CommandStatus status :
       {commands::CommandStatus::kRejected, commands::CommandStatus::kIdempotencyMismatch,
        commands::CommandStatus::kIdempotencyInFlight, commands::CommandStatus::kOverloaded,
        commands::CommandStatus::kUnavailable, commands::CommandStatus::kInvalid}) {
    commands::CommandResult refused;
    refused.status = status;
    for (const WriteKind kind : {WriteKind::kCreate, WriteKind::kEdit, WriteKind::kDelete,
                                 WriteKind::kFund, WriteKind::kCancel}) {
      EXPECT_FALSE(AnswerMayRead(kind, refused)) << static_cast<int>(kind);
    }
  }
}

TEST_F(WriteHandlersTest, FundAnswersTheRejectionsOfTheDomain) {
  CreatePost();
  EXPECT_EQ(FundAs("1", "alice").status, 403);  // the owner
  EXPECT_EQ(FundAs("2", "bob").status, 404);    // no such post
  EXPECT_EQ(FundAs("x", "bob").status, 404);    // not a post id at all
  const http::Response body = Call(
      FundPost, Req("POST", "/api/posts/1/fundings", R"({"units":"3"})",
                    {{"authorization", Bearer("bob")}, {"content-type", "application/json"}}, "1"));
  EXPECT_EQ(body.status, 422);
  EXPECT_TRUE(Has(body.body, R"("pointer":"/units")")) << body.body;
  EXPECT_EQ(log_->Head().position, 1);
}

TEST_F(WriteHandlersTest, CancelAnswersNoContentWithItsPosition) {
  CreatePost();
  const int64_t funded = Fund(1);
  const http::Response r = CancelAs("1", std::to_string(funded), "bob");
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(HeaderOf(r, "X-Ledger-Position"), "3");
  // Twice: the funding is no longer live.
  const http::Response again = CancelAs("1", std::to_string(funded), "bob");
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_TRUE(Has(again.body, "funding_already_cancelled")) << again.body;
}

TEST_F(WriteHandlersTest, CancelAnswersTheRejectionsOfTheDomain) {
  CreatePost();
  const int64_t funded = Fund(1);
  const http::Response other = CancelAs("1", std::to_string(funded), "carol");
  EXPECT_EQ(other.status, 403) << other.body;
  EXPECT_TRUE(Has(other.body, "not_your_funding")) << other.body;
  // The post's own creation is not a funding, nor is a position past the head.
  for (const std::string position : {"1", "99"}) {
    const http::Response r = CancelAs("1", position, "bob");
    EXPECT_EQ(r.status, 404) << position;
    EXPECT_TRUE(Has(r.body, "funding_not_found")) << r.body;
  }
  // A position that is not a number names no funding either.
  for (const std::string position : {"x", "0", "-2", "99999999999999999999"}) {
    const http::Response r = CancelAs("1", position, "bob");
    EXPECT_EQ(r.status, 404) << position;
    EXPECT_TRUE(Has(r.body, "funding_not_found")) << r.body;
  }
  EXPECT_EQ(CancelAs("7", std::to_string(funded), "bob").status, 404);  // no such post
  EXPECT_EQ(log_->Head().position, 2);
}

TEST_F(WriteHandlersTest, WritesPastAUsersRateAre429WithRetryAfterAndRateLimitFields) {
  WriteLimiter limiter({.per_second = 1, .burst = 2});
  context_.write_limiter = &limiter;
  CreatePost();  // through the sequencer directly: not counted
  const http::Response first = FundAs("1", "bob");
  EXPECT_EQ(first.status, 201) << first.body;
  EXPECT_EQ(HeaderOf(first, "RateLimit-Policy"), "\"writes\";q=2;w=2");
  EXPECT_EQ(HeaderOf(first, "RateLimit"), "\"writes\";r=1;t=1");
  EXPECT_EQ(FundAs("1", "bob").status, 201);
  const http::Response refused = FundAs("1", "bob");
  EXPECT_EQ(refused.status, 429) << refused.body;
  EXPECT_EQ(refused.content_type, "application/problem+json");
  EXPECT_TRUE(Has(refused.body, "urn:funding-ledger:problem:too_many_requests")) << refused.body;
  EXPECT_TRUE(Has(refused.body, "2 times at once and then at most 1 times a second"))
      << refused.body;
  EXPECT_EQ(HeaderOf(refused, "Retry-After"), "1");
  EXPECT_EQ(HeaderOf(refused, "RateLimit"), "\"writes\";r=0;t=1");
  EXPECT_EQ(limiter.refused(), 1u);
  // Nothing was appended for the refused write.
  EXPECT_EQ(log_->Head().position, 3);
  // Another user has a bucket of their own; a second later bob has one write.
  EXPECT_EQ(FundAs("1", "carol").status, 201);
  clock_.Advance(std::chrono::seconds(1));
  EXPECT_EQ(FundAs("1", "bob").status, 201);
  context_.write_limiter = nullptr;
}

TEST_F(WriteHandlersTest, EveryKindOfWriteCountsAgainstTheSameBucket) {
  WriteLimiter limiter({.per_second = 1, .burst = 3});
  context_.write_limiter = &limiter;
  EXPECT_EQ(Create(std::string(kPostBody)).status, 201);  // alice: 1
  http::Request edit = Req("PATCH", "/api/posts/1", R"({"title":"새 제목"})",
                           {{"content-type", "application/json"},
                            {"authorization", Bearer("alice")},
                            {"if-match", "\"1\""}},
                           "1");
  EXPECT_EQ(Call(EditPost, std::move(edit)).status, 200);  // alice: 2
  const http::Response rejected = FundAs("1", "alice");    // a refused funding still counts
  EXPECT_EQ(rejected.status, 403) << rejected.body;
  EXPECT_EQ(HeaderOf(rejected, "RateLimit"), "\"writes\";r=0;t=3");
  EXPECT_EQ(Create(std::string(kPostBody)).status, 429);
  context_.write_limiter = nullptr;
}

}  // namespace
}  // namespace ledger::api
