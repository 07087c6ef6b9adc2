#include "api/read_handlers.h"

#include <string>

#include <gtest/gtest.h>

#include "api_fixture.h"

namespace ledger::api {
namespace {

using testing::ApiFixture;
using testing::HandlerFn;

class ReadHandlersTest : public ApiFixture {
 protected:
  http::Response Get(HandlerFn handler, std::string path, std::optional<std::string> id,
                     std::string query = "",
                     std::vector<std::pair<std::string, std::string>> headers = {}) {
    return Call(handler, Req("GET", std::move(path), "", std::move(headers), std::move(id),
                             std::move(query)));
  }
};

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_F(ReadHandlersTest, DetailWaitsForTheTablesToReachItsPosition) {
  CreatePost();
  const int64_t funded = Fund(1);
  const http::Response r =
      Get(GetPost, "/api/posts/1", "1", "", {{"x-min-position", std::to_string(funded)}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(HeaderOf(r, "ETag"), "\"2\"");
  EXPECT_TRUE(Has(r.body, R"("total_funded":1000)")) << r.body;
  EXPECT_TRUE(Has(r.body, R"("participant_count":1)")) << r.body;
}

TEST_F(ReadHandlersTest, APositionTheTablesDoNotReachInTimeIs503) {
  context_.read_wait = std::chrono::milliseconds(50);
  const http::Response r = Get(GetPost, "/api/posts/1", "1", "", {{"x-min-position", "1000000"}});
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(HeaderOf(r, "Retry-After"), "1");
  EXPECT_TRUE(Has(r.body, "position_not_reached")) << r.body;
}

TEST_F(ReadHandlersTest, DetailOfAnUnknownOrDeletedPostIs404) {
  WaitProjected();
  EXPECT_EQ(Get(GetPost, "/api/posts/9", "9").status, 404);
  EXPECT_EQ(Get(GetPost, "/api/posts/0", "0").status, 404);
  EXPECT_EQ(Get(GetPost, "/api/posts/1", "1", "", {{"x-min-position", "x"}}).status, 400);
}

TEST_F(ReadHandlersTest, ListAnswersAPageAndRefusesBadParameters) {
  CreatePost();
  CreatePost();
  WaitProjected();
  const http::Response r = Get(ListPosts, "/api/posts", std::nullopt, "order_by=created&limit=1");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(Has(r.body, R"({"items":[{"id":1,)")) << r.body;
  EXPECT_FALSE(Has(r.body, R"("next_cursor":null)")) << r.body;
  const http::Response bad = Get(ListPosts, "/api/posts", std::nullopt, "limit=0&color=red");
  EXPECT_EQ(bad.status, 400);
  EXPECT_TRUE(Has(bad.body, R"("parameter":"limit")")) << bad.body;
  EXPECT_TRUE(Has(bad.body, R"("parameter":"color")")) << bad.body;
}

TEST_F(ReadHandlersTest, AsOfFoldsThePostFromTheLog) {
  CreatePost();
  Fund(1);
  Fund(1, "carol");
  const http::Response then = Get(GetPost, "/api/posts/1", "1", "as_of=2");
  EXPECT_EQ(then.status, 200) << then.body;
  EXPECT_TRUE(Has(then.body, R"("total_funded":1000)")) << then.body;
  EXPECT_EQ(HeaderOf(then, "X-Ledger-Position"), "2");
  EXPECT_EQ(HeaderOf(then, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(Get(GetPost, "/api/posts/1", "1", "as_of=0").status, 404);  // before it existed
  const http::Response future = Get(GetPost, "/api/posts/1", "1", "as_of=4");
  EXPECT_EQ(future.status, 400);
  EXPECT_TRUE(Has(future.body, "is past the log head 3")) << future.body;
}

TEST_F(ReadHandlersTest, PostEventsArePagedByStreamVersion) {
  CreatePost();
  Fund(1);
  const http::Response r = Get(PostEvents, "/api/posts/1/events", "1", "after=1");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(Has(r.body, R"("type":"PostFunded")")) << r.body;
  EXPECT_FALSE(Has(r.body, R"("type":"PostCreated")")) << r.body;
  EXPECT_TRUE(Has(r.body, R"("next_after":2})")) << r.body;
  const http::Response past = Get(PostEvents, "/api/posts/1/events", "1", "after=2");
  EXPECT_EQ(past.body, R"({"items":[],"next_after":null})");
  EXPECT_EQ(Get(PostEvents, "/api/posts/5/events", "5").status, 404);
}

TEST_F(ReadHandlersTest, GlobalEventsFollowTheLog) {
  CreatePost();
  Fund(1);
  const http::Response r = Get(GlobalEvents, "/api/events", std::nullopt, "after=0&limit=1");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(Has(r.body, R"("position":1,)")) << r.body;
  EXPECT_TRUE(Has(r.body, R"("next_after":1})")) << r.body;
  const http::Response end = Get(GlobalEvents, "/api/events", std::nullopt, "after=2");
  EXPECT_EQ(end.body, R"({"items":[],"next_after":2})");
  EXPECT_EQ(Get(GlobalEvents, "/api/events", std::nullopt, "limit=1001").status, 400);
}

TEST_F(ReadHandlersTest, MyFundingsListsTheCallersFundingsNewestFirst) {
  CreatePost();  // 1
  CreatePost();  // 2
  const int64_t first = Fund(1, "bob");
  const int64_t second = Fund(2, "bob");
  Fund(1, "carol");
  const commands::CommandResult cancelled = sequencer_->SubmitAndWait(
      commands::Submission{commands::CancelFunding{1, first}, "bob", "req-cancel", ""});
  ASSERT_EQ(cancelled.status, commands::CommandStatus::kAccepted);
  WaitProjected();
  const auto mine = [this](std::string query) {
    return Get(MyFundings, "/api/me/fundings", std::nullopt, std::move(query),
               {{"authorization", Bearer("bob")}});
  };
  const http::Response page1 = mine("limit=1");
  ASSERT_EQ(page1.status, 200) << page1.body;
  EXPECT_TRUE(Has(page1.body, R"({"items":[{"position":)" + std::to_string(second) +
                                  R"(,"post_id":2,"title":"내 취미 만들기","units":1,)"
                                  R"("amount":1000,"recorded_at":")"))
      << page1.body;
  EXPECT_TRUE(Has(page1.body, R"("state":"live"}])")) << page1.body;
  const size_t at = page1.body.find(R"("next_cursor":")");
  ASSERT_NE(at, std::string::npos) << page1.body;
  const size_t start = at + std::string(R"("next_cursor":")").size();
  const std::string cursor = page1.body.substr(start, page1.body.find('"', start) - start);
  const http::Response page2 = mine("limit=1&cursor=" + cursor);
  ASSERT_EQ(page2.status, 200) << page2.body;
  EXPECT_TRUE(Has(page2.body, R"("position":)" + std::to_string(first))) << page2.body;
  EXPECT_TRUE(Has(page2.body, R"("state":"cancelled"}],"next_cursor":null})")) << page2.body;
  // carol's cursor is not bob's.
  const http::Response foreign = Get(MyFundings, "/api/me/fundings", std::nullopt,
                                     "cursor=" + cursor, {{"authorization", Bearer("carol")}});
  EXPECT_EQ(foreign.status, 400) << foreign.body;
  EXPECT_EQ(mine("limit=0").status, 400);
  EXPECT_EQ(mine("cursor=%%%").status, 400);
  EXPECT_EQ(Get(MyFundings, "/api/me/fundings", std::nullopt).status, 401);
}

TEST_F(ReadHandlersTest, BackersAreTheOwnersToSee) {
  CreatePost();
  Fund(1, "carol");
  Fund(1, "bob");
  Fund(1, "bob");
  WaitProjected();
  const auto backers = [this](std::string sub, std::string query = "", std::string id = "1") {
    return Get(PostBackers, "/api/posts/" + id + "/backers", id, std::move(query),
               {{"authorization", Bearer(sub)}});
  };
  const http::Response all = backers("alice");
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(all.body,
            R"({"items":[{"backer":"bob","units":2,"amount":2000,"fundings":2},)"
            R"({"backer":"carol","units":1,"amount":1000,"fundings":1}],"next_cursor":null})");
  const http::Response first = backers("alice", "limit=1");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_TRUE(Has(first.body, R"("backer":"bob")")) << first.body;
  const size_t at = first.body.find(R"("next_cursor":")");
  ASSERT_NE(at, std::string::npos) << first.body;
  const size_t start = at + std::string(R"("next_cursor":")").size();
  const std::string cursor = first.body.substr(start, first.body.find('"', start) - start);
  const http::Response second = backers("alice", "limit=1&cursor=" + cursor);
  EXPECT_TRUE(Has(second.body, R"([{"backer":"carol")")) << second.body;
  EXPECT_TRUE(Has(second.body, R"("next_cursor":null)")) << second.body;
  const http::Response other = backers("bob");
  EXPECT_EQ(other.status, 403) << other.body;
  EXPECT_TRUE(Has(other.body, "not_owner")) << other.body;
  EXPECT_EQ(backers("alice", "", "7").status, 404);
  EXPECT_EQ(Get(PostBackers, "/api/posts/1/backers", "1").status, 401);
}

TEST_F(ReadHandlersTest, ListFiltersByStatusAndRefusesAnUnknownOne) {
  CreatePost();
  WaitProjected();
  const http::Response funding =
      Get(ListPosts, "/api/posts", std::nullopt, "status=funding&order_by=end_date");
  EXPECT_EQ(funding.status, 200) << funding.body;
  EXPECT_TRUE(Has(funding.body, R"("id":1)")) << funding.body;
  const http::Response successful = Get(ListPosts, "/api/posts", std::nullopt, "status=successful");
  EXPECT_EQ(successful.body, R"({"items":[],"next_cursor":null})");
  const http::Response bad = Get(ListPosts, "/api/posts", std::nullopt, "status=open");
  EXPECT_EQ(bad.status, 400);
  EXPECT_TRUE(Has(bad.body, R"("pointer":"status")") || Has(bad.body, "status")) << bad.body;
}

}  // namespace
}  // namespace ledger::api
