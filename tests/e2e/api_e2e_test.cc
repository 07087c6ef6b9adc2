// End-to-end: the real binary, a real embedded PostgreSQL, real HTTP. Every
// answer is also appended to $FUNDING_LEDGER_E2E_RESPONSES (NDJSON, see
// e2e_support.h), which check_responses.mjs then validates against
// schemas/openapi.json.

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <sys/stat.h>

#include "common/clock.h"
#include "common/time_format.h"
#include "common/time_zone.h"
#include "e2e_support.h"
#include "http_client.h"
#include "server_process.h"
#include "support/temp_dir.h"

namespace ledger::e2e {
namespace {

constexpr char kEndDate[] = "2030-12-31";

std::string PostBody(const std::string& title, int64_t target = 1'000'000, int64_t unit = 1'000) {
  return "{\"title\":\"" + title + "\",\"uploader\":\"Uploader\",\"description\":\"about " + title +
         "\",\"target_amount\":" + std::to_string(target) +
         ",\"funding_unit\":" + std::to_string(unit) + ",\"end_date\":\"" + kEndDate + "\"}";
}

class ApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ledger::testing::TempDir();
    chmod(dir_->path().c_str(), 0711);
    server_ = new ServerProcess(FUNDING_LEDGER_BINARY, dir_->path() + "/data",
                                {"--jwt-secret", kSecret, "--read-timeout-ms", "1000"});
    ASSERT_TRUE(server_->ok()) << server_->Log();
  }
  static void TearDownTestSuite() {
    if (server_ != nullptr) {
      EXPECT_EQ(server_->Stop(), 0) << server_->Log();
    }
    delete server_;
    server_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(server_, nullptr); }

  static HttpResponse Call(const std::string& method, const std::string& target,
                           const std::string& route, const std::string& body = "",
                           Headers headers = {}) {
    return e2e::Call(*server_, method, target, route, body, std::move(headers));
  }
  static std::pair<std::string, std::string> Bearer(const std::string& sub) {
    return {"Authorization", "Bearer " + Token(sub)};
  }
  // Creates a post as `owner`; returns its id.
  static int64_t Create(const std::string& owner, const std::string& title, int64_t unit = 1'000) {
    const HttpResponse r =
        Call("POST", "/api/posts", "/api/posts", PostBody(title, 1'000'000, unit), {Bearer(owner)});
    EXPECT_EQ(r.status, 201) << r.body;
    return Parse(r.body)["id"].GetInt64();
  }
  static std::string Position(const HttpResponse& r) {
    return r.Header("x-ledger-position").value_or("0");
  }
  static int64_t HeadPosition() {
    const HttpResponse head = Call("GET", "/api/ledger/head", "/api/ledger/head");
    EXPECT_EQ(head.status, 200) << head.body;
    return Parse(head.body)["position"].GetInt64();
  }
  // POST /api/posts/{id}/fundings of `units` as `backer`; the answer, unchecked.
  static HttpResponse Fund(int64_t id, const std::string& backer, int64_t units) {
    return Call("POST", "/api/posts/" + std::to_string(id) + "/fundings",
                "/api/posts/{id}/fundings", "{\"units\":" + std::to_string(units) + "}",
                {Bearer(backer)});
  }
  // GET /api/posts/{id}?as_of=<as_of>.
  static HttpResponse AsOf(int64_t id, const std::string& as_of, Headers headers = {}) {
    return Call("GET", "/api/posts/" + std::to_string(id) + "?as_of=" + as_of, "/api/posts/{id}",
                "", std::move(headers));
  }

  static ledger::testing::TempDir* dir_;
  static ServerProcess* server_;
};

ledger::testing::TempDir* ApiTest::dir_ = nullptr;
ServerProcess* ApiTest::server_ = nullptr;

TEST_F(ApiTest, ServesHealthReadinessOpenApiAndMetrics) {
  EXPECT_EQ(Call("GET", "/healthz", "/healthz").status, 200);
  int ready = 0;
  for (int i = 0; i < 100 && ready != 200; ++i) {
    ready = Call("GET", "/readyz", "/readyz").status;
    if (ready != 200) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(ready, 200);
  const HttpResponse doc = Call("GET", "/openapi.json", "/openapi.json");
  EXPECT_EQ(doc.status, 200);
  EXPECT_STREQ(Parse(doc.body)["openapi"].GetString(), "3.1.0");
  const HttpResponse metrics = Call("GET", "/metrics", "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("http_requests_total"), std::string::npos);
}

TEST_F(ApiTest, CreatesAPostAndReadsItBack) {
  const HttpResponse created =
      Call("POST", "/api/posts", "/api/posts", PostBody("내 취미 만들기"), {Bearer("alice")});
  ASSERT_EQ(created.status, 201) << created.body;
  const rapidjson::Document post = Parse(created.body);
  const int64_t id = post["id"].GetInt64();
  EXPECT_EQ(created.Header("location"), "/api/posts/" + std::to_string(id));
  EXPECT_EQ(created.Header("etag"), "\"1\"");
  EXPECT_EQ(std::to_string(post["position"].GetInt64()), Position(created));
  EXPECT_STREQ(post["title"].GetString(), "내 취미 만들기");
  EXPECT_EQ(post["total_funded"].GetInt64(), 0);
  EXPECT_STREQ(post["status"].GetString(), "funding");

  const HttpResponse detail = Call("GET", "/api/posts/" + std::to_string(id), "/api/posts/{id}", "",
                                   {{"X-Min-Position", Position(created)}});
  ASSERT_EQ(detail.status, 200) << detail.body;
  const rapidjson::Document read = Parse(detail.body);
  EXPECT_STREQ(read["title"].GetString(), "내 취미 만들기");
  EXPECT_STREQ(read["end_date"].GetString(), kEndDate);
  EXPECT_EQ(read["version"].GetInt64(), 1);
  EXPECT_EQ(detail.Header("etag"), "\"1\"");
}

TEST_F(ApiTest, CreatesAnArrayAllOrNone) {
  const std::string good = PostBody("first");
  const std::string bad = PostBody("");  // blank title
  const HttpResponse refused =
      Call("POST", "/api/posts", "/api/posts", "[" + good + "," + bad + "]", {Bearer("alice")});
  ASSERT_EQ(refused.status, 422) << refused.body;
  EXPECT_EQ(ProblemName(refused), "validation_failed");
  EXPECT_NE(refused.body.find("/1/title"), std::string::npos) << refused.body;

  const HttpResponse created =
      Call("POST", "/api/posts", "/api/posts", "[" + good + "," + good + "]", {Bearer("alice")});
  ASSERT_EQ(created.status, 201) << created.body;
  const rapidjson::Document posts = Parse(created.body);
  ASSERT_TRUE(posts.IsArray());
  ASSERT_EQ(posts.Size(), 2U);
  EXPECT_EQ(posts[1]["id"].GetInt64(), posts[0]["id"].GetInt64() + 1);
}

TEST_F(ApiTest, RefusesEveryKindOfBadBody) {
  const auto post = [](const std::string& body, const std::string& type = "application/json") {
    HttpRequest request;
    request.method = "POST";
    request.target = "/api/posts";
    request.body = body;
    request.headers = {{"Content-Type", type}, Bearer("alice")};
    const auto r = Fetch(server_->port(), request);
    EXPECT_TRUE(r.has_value());
    Recorder::Get().Add("POST", "/api/posts", *r);
    return *r;
  };
  EXPECT_EQ(post("{").status, 400);
  EXPECT_EQ(ProblemName(post("{")), "malformed_json");
  EXPECT_EQ(post("{\"title\":\"\xC3\x28\"}").status, 400);  // invalid UTF-8
  EXPECT_EQ(post(PostBody("x"), "text/plain").status, 415);
  const HttpResponse wrong_type = post(
      "{\"title\":5,\"uploader\":\"u\",\"target_amount\":\"big\",\"funding_unit\":1,"
      "\"end_date\":\"2030-12-31\",\"colour\":\"red\"}");
  EXPECT_EQ(wrong_type.status, 422);
  for (const char* pointer : {"/title", "/target_amount", "/colour"}) {
    EXPECT_NE(wrong_type.body.find(pointer), std::string::npos) << pointer << wrong_type.body;
  }
  EXPECT_EQ(post(std::string(70 * 1024, ' ')).status, 413);
}

TEST_F(ApiTest, RefusesMissingBadAndExpiredTokens) {
  const std::string body = PostBody("t");
  const HttpResponse missing = Call("POST", "/api/posts", "/api/posts", body);
  EXPECT_EQ(missing.status, 401);
  EXPECT_TRUE(missing.Header("www-authenticate").has_value());
  std::string forged = Token("alice");
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  for (const std::string& token :
       {forged, std::string("garbage"), Token("alice", std::chrono::seconds(-3600))}) {
    const HttpResponse r =
        Call("POST", "/api/posts", "/api/posts", body, {{"Authorization", "Bearer " + token}});
    EXPECT_EQ(r.status, 401) << token;
    EXPECT_EQ(ProblemName(r), "unauthorized");
  }
}

TEST_F(ApiTest, OnlyTheOwnerEditsAndTheTargetNeverChanges) {
  const int64_t id = Create("alice", "edit me");
  const std::string path = "/api/posts/" + std::to_string(id);
  const std::string route = "/api/posts/{id}";
  EXPECT_EQ(Call("PATCH", path, route, "{\"title\":\"x\"}", {Bearer("mallory")}).status, 403);
  const HttpResponse target =
      Call("PATCH", path, route, "{\"target_amount\":5}", {Bearer("alice")});
  EXPECT_EQ(target.status, 422);
  EXPECT_EQ(ProblemName(target), "target_immutable");
  EXPECT_NE(target.body.find("/target_amount"), std::string::npos);
  EXPECT_EQ(
      Call("PATCH", path, route, "{\"title\":\"x\"}", {Bearer("alice"), {"If-Match", "\"7\""}})
          .status,
      412);
  const HttpResponse edited = Call("PATCH", path, route, "{\"title\":\"새 제목\"}",
                                   {Bearer("alice"), {"If-Match", "\"1\""}});
  ASSERT_EQ(edited.status, 200) << edited.body;
  EXPECT_STREQ(Parse(edited.body)["title"].GetString(), "새 제목");
  EXPECT_EQ(edited.Header("etag"), "\"2\"");
}

TEST_F(ApiTest, FundsCountsAndRefusesTheOwner) {
  const int64_t id = Create("alice", "fund me", 2'500);
  const std::string path = "/api/posts/" + std::to_string(id) + "/fundings";
  const std::string route = "/api/posts/{id}/fundings";
  EXPECT_EQ(Call("POST", path, route, "{\"units\":1}", {Bearer("alice")}).status, 403);
  EXPECT_EQ(Call("POST", path, route, "{\"units\":0}", {Bearer("bob")}).status, 422);
  const HttpResponse funded = Call("POST", path, route, "{\"units\":2}", {Bearer("bob")});
  ASSERT_EQ(funded.status, 201) << funded.body;
  const rapidjson::Document f = Parse(funded.body);
  EXPECT_EQ(f["amount"].GetInt64(), 5'000);
  EXPECT_STREQ(f["backer"].GetString(), "bob");
  const HttpResponse detail = Call("GET", "/api/posts/" + std::to_string(id), "/api/posts/{id}", "",
                                   {{"X-Min-Position", Position(funded)}});
  EXPECT_EQ(Parse(detail.body)["total_funded"].GetInt64(), 5'000);
  EXPECT_EQ(Parse(detail.body)["participant_count"].GetInt64(), 1);
}

TEST_F(ApiTest, DeletedPostsDisappearAndCannotBeFunded) {
  const int64_t id = Create("alice", "delete me");
  const std::string path = "/api/posts/" + std::to_string(id);
  EXPECT_EQ(Call("DELETE", path, "/api/posts/{id}", "", {Bearer("bob")}).status, 403);
  const HttpResponse deleted = Call("DELETE", path, "/api/posts/{id}", "", {Bearer("alice")});
  ASSERT_EQ(deleted.status, 204) << deleted.body;
  EXPECT_EQ(
      Call("GET", path, "/api/posts/{id}", "", {{"X-Min-Position", Position(deleted)}}).status,
      404);
  const HttpResponse fund =
      Call("POST", path + "/fundings", "/api/posts/{id}/fundings", "{}", {Bearer("bob")});
  EXPECT_EQ(fund.status, 404);
  EXPECT_EQ(ProblemName(fund), "post_deleted");
}

TEST_F(ApiTest, SearchesKoreanTitlesAndSortsBothWays) {
  const int64_t a = Create("alice", "취미를 위한 모임");
  const int64_t b = Create("alice", "요리 교실");
  const HttpResponse funded = Call("POST", "/api/posts/" + std::to_string(b) + "/fundings",
                                   "/api/posts/{id}/fundings", "{\"units\":3}", {Bearer("bob")});
  ASSERT_EQ(funded.status, 201);
  const std::string min = Position(funded);
  const HttpResponse search = Call("GET", "/api/posts?search=%EC%B7%A8%EB%AF%B8&limit=100",
                                   "/api/posts", "", {{"X-Min-Position", min}});
  ASSERT_EQ(search.status, 200) << search.body;
  std::set<int64_t> found;
  const rapidjson::Document search_page = Parse(search.body);
  for (const auto& item : search_page["items"].GetArray()) found.insert(item["id"].GetInt64());
  EXPECT_TRUE(found.count(a));
  EXPECT_FALSE(found.count(b));
  // 총펀딩금액 descending and 생성일 ascending, percent-encoded.
  const HttpResponse by_total =
      Call("GET", "/api/posts?order_by=-%EC%B4%9D%ED%8E%80%EB%94%A9%EA%B8%88%EC%95%A1&limit=1",
           "/api/posts", "", {{"X-Min-Position", min}});
  ASSERT_EQ(by_total.status, 200) << by_total.body;
  EXPECT_GE(Parse(by_total.body)["items"][0]["total_funded"].GetInt64(), 3'000);
  const HttpResponse by_created = Call("GET", "/api/posts?order_by=%EC%83%9D%EC%84%B1%EC%9D%BC",
                                       "/api/posts", "", {{"X-Min-Position", min}});
  ASSERT_EQ(by_created.status, 200) << by_created.body;
  const rapidjson::Document created_page = Parse(by_created.body);
  const auto items = created_page["items"].GetArray();
  for (rapidjson::SizeType i = 1; i < items.Size(); ++i) {
    EXPECT_LT(items[i - 1]["id"].GetInt64(), items[i]["id"].GetInt64());
  }
  EXPECT_EQ(Call("GET", "/api/posts?limit=0", "/api/posts").status, 400);
  EXPECT_EQ(Call("GET", "/api/posts?order_by=title", "/api/posts").status, 400);
}

TEST_F(ApiTest, ReplaysAnIdempotentRequest) {
  const int64_t id = Create("alice", "idempotent");
  const std::string path = "/api/posts/" + std::to_string(id) + "/fundings";
  const std::string route = "/api/posts/{id}/fundings";
  const std::pair<std::string, std::string> key{"Idempotency-Key", "pay-" + std::to_string(id)};
  const HttpResponse first = Call("POST", path, route, "{\"units\":1}", {Bearer("bob"), key});
  ASSERT_EQ(first.status, 201) << first.body;
  const HttpResponse again = Call("POST", path, route, "{\"units\":1}", {Bearer("bob"), key});
  EXPECT_EQ(again.status, 201);
  EXPECT_EQ(again.Header("idempotent-replayed"), "true");
  EXPECT_EQ(again.body, first.body);
  const HttpResponse other = Call("POST", path, route, "{\"units\":2}", {Bearer("bob"), key});
  EXPECT_EQ(other.status, 422);
  EXPECT_EQ(ProblemName(other), "idempotency_key_reused");
  EXPECT_EQ(Call("POST", path, route, "{}", {Bearer("bob"), {"Idempotency-Key", ""}}).status, 400);
}

TEST_F(ApiTest, CountsFourHundredConcurrentFundingsExactlyOnce) {
  const int64_t id = Create("alice", "popular", 1'000);
  const std::string path = "/api/posts/" + std::to_string(id) + "/fundings";
  std::atomic<int> created{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        const HttpResponse r = Call("POST", path, "/api/posts/{id}/fundings", "{\"units\":1}",
                                    {Bearer("backer-" + std::to_string(t * 25 + i))});
        if (r.status == 201) ++created;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(created.load(), 400);
  const HttpResponse h = Call("GET", "/api/ledger/head", "/api/ledger/head");
  const std::string position = std::to_string(Parse(h.body)["position"].GetInt64());
  const HttpResponse detail = Call("GET", "/api/posts/" + std::to_string(id), "/api/posts/{id}", "",
                                   {{"X-Min-Position", position}});
  const rapidjson::Document d = Parse(detail.body);
  EXPECT_EQ(d["total_funded"].GetInt64(), 400'000);
  EXPECT_EQ(d["participant_count"].GetInt64(), 400);
}

TEST_F(ApiTest, ServesTheEventFeedsAndTheHead) {
  const int64_t id = Create("alice", "audited");
  const HttpResponse events =
      Call("GET", "/api/posts/" + std::to_string(id) + "/events", "/api/posts/{id}/events");
  ASSERT_EQ(events.status, 200) << events.body;
  const rapidjson::Document e = Parse(events.body);
  ASSERT_EQ(e["items"].Size(), 1U);
  EXPECT_STREQ(e["items"][0]["type"].GetString(), "PostCreated");
  Create("alice", "audited too");
  const HttpResponse feed = Call("GET", "/api/events?after=0&limit=1", "/api/events");
  ASSERT_EQ(feed.status, 200) << feed.body;
  EXPECT_EQ(Parse(feed.body)["next_after"].GetInt64(), 1);
  const HttpResponse next = Call("GET", "/api/events?after=1&limit=100", "/api/events");
  ASSERT_EQ(Parse(next.body)["items"].Size(), 1U);
  EXPECT_EQ(Parse(next.body)["next_after"].GetInt64(), 2);
  const HttpResponse past = Call("GET", "/api/events?after=99", "/api/events");
  EXPECT_EQ(Parse(past.body)["items"].Size(), 0U);
  EXPECT_EQ(Parse(past.body)["next_after"].GetInt64(), 99);
  const HttpResponse head = Call("GET", "/api/ledger/head", "/api/ledger/head");
  EXPECT_EQ(std::string(Parse(head.body)["hash"].GetString()).size(), 64U);
  EXPECT_EQ(Call("GET", "/api/posts/999999/events", "/api/posts/{id}/events").status, 404);
}

TEST_F(ApiTest, PagesNeverRepeatOrSkipWhileOthersFund) {
  std::vector<int64_t> ids;
  for (int i = 0; i < 12; ++i) ids.push_back(Create("alice", "page " + std::to_string(i)));
  const HttpResponse h = Call("GET", "/api/ledger/head", "/api/ledger/head");
  const std::string min = std::to_string(Parse(h.body)["position"].GetInt64());
  std::atomic<bool> done{false};
  // Fundings land while the client pages. By -created (a key fundings do not
  // change) every post is seen exactly once; by -total_funded a post may move
  // ahead of the cursor and be missed, but totals only grow, so none is seen
  // twice.
  std::thread writer([&] {
    for (int i = 0; !done.load() && i < 200; ++i) {
      const int64_t id = ids[static_cast<size_t>(i) % ids.size()];
      Call("POST", "/api/posts/" + std::to_string(id) + "/fundings", "/api/posts/{id}/fundings",
           "{\"units\":1}", {Bearer("backer-" + std::to_string(i))});
    }
  });
  for (const std::string order : {"-created", "-total_funded"}) {
    std::multiset<int64_t> seen;
    std::string cursor;
    for (int page = 0; page < 100; ++page) {
      std::string target = "/api/posts?limit=3&order_by=" + order;
      if (!cursor.empty()) target += "&cursor=" + cursor;
      const HttpResponse r = Call("GET", target, "/api/posts", "", {{"X-Min-Position", min}});
      ASSERT_EQ(r.status, 200) << r.body;
      const rapidjson::Document d = Parse(r.body);
      for (const auto& item : d["items"].GetArray()) seen.insert(item["id"].GetInt64());
      if (d["next_cursor"].IsNull()) break;
      cursor = d["next_cursor"].GetString();
    }
    for (const int64_t id : seen) EXPECT_EQ(seen.count(id), 1U) << order << " repeated " << id;
    if (order == "-created") {
      for (const int64_t id : ids) EXPECT_EQ(seen.count(id), 1U) << "skipped " << id;
    }
  }
  done = true;
  writer.join();
}

TEST_F(ApiTest, ConcurrentRetriesWithOneKeyFundOnce) {
  const int64_t id = Create("alice", "retried");
  const std::string path = "/api/posts/" + std::to_string(id) + "/fundings";
  std::atomic<int> created{0};
  std::atomic<int> replayed{0};
  std::atomic<int> in_flight{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      const HttpResponse r = Call("POST", path, "/api/posts/{id}/fundings", "{\"units\":1}",
                                  {Bearer("bob"), {"Idempotency-Key", "same-key"}});
      if (r.status == 201) {
        ++created;
        if (r.Header("idempotent-replayed") == "true") ++replayed;
      } else if (r.status == 409) {
        ++in_flight;
        EXPECT_EQ(ProblemName(r), "idempotency_key_in_flight");
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(created.load() + in_flight.load(), 8);
  EXPECT_EQ(created.load() - replayed.load(), 1);  // exactly one original
  const HttpResponse events =
      Call("GET", "/api/posts/" + std::to_string(id) + "/events", "/api/posts/{id}/events");
  EXPECT_EQ(Parse(events.body)["items"].Size(), 2U);  // created, funded once
}

// ---- GET /api/posts/{id}?as_of=N ------------------------------------------

constexpr char kImmutable[] = "public, max-age=31536000, immutable";

TEST_F(ApiTest, AsOfServesThePostAsItWasAtEachWrite) {
  const int64_t before = HeadPosition();
  const HttpResponse created =
      Call("POST", "/api/posts", "/api/posts", PostBody("as of"), {Bearer("alice")});
  ASSERT_EQ(created.status, 201) << created.body;
  const int64_t id = Parse(created.body)["id"].GetInt64();
  const std::string path = "/api/posts/" + std::to_string(id);
  const auto fund = [&](const std::string& backer, int units) {
    const HttpResponse r = Fund(id, backer, units);
    EXPECT_EQ(r.status, 201) << r.body;
    return Position(r);
  };
  struct Want {
    std::string position;
    int64_t total_funded;
    int64_t participant_count;
    std::string title;
    int64_t version;
  };
  std::vector<Want> wants;
  wants.push_back({Position(created), 0, 0, "as of", 1});
  wants.push_back({fund("bob", 2), 2'000, 1, "as of", 2});
  wants.push_back({fund("carol", 1), 3'000, 2, "as of", 3});
  const HttpResponse edited =
      Call("PATCH", path, "/api/posts/{id}", "{\"title\":\"as of, renamed\"}", {Bearer("alice")});
  ASSERT_EQ(edited.status, 200) << edited.body;
  wants.push_back({Position(edited), 3'000, 2, "as of, renamed", 4});
  wants.push_back({fund("bob", 3), 6'000, 2, "as of, renamed", 5});

  for (const Want& want : wants) {
    const HttpResponse r = AsOf(id, want.position);
    ASSERT_EQ(r.status, 200) << want.position << ": " << r.body;
    const rapidjson::Document post = Parse(r.body);
    EXPECT_EQ(post["id"].GetInt64(), id);
    EXPECT_EQ(post["total_funded"].GetInt64(), want.total_funded) << want.position;
    EXPECT_EQ(post["participant_count"].GetInt64(), want.participant_count) << want.position;
    EXPECT_EQ(post["achievement_rate"].GetInt64(), want.total_funded * 100 / 1'000'000);
    EXPECT_EQ(post["title"].GetString(), want.title) << want.position;
    EXPECT_EQ(post["version"].GetInt64(), want.version) << want.position;
    EXPECT_STREQ(post["status"].GetString(), "funding");
    EXPECT_FALSE(post.HasMember("position"));
    EXPECT_EQ(r.Header("etag"), "\"" + std::to_string(want.version) + "\"");
    EXPECT_EQ(r.Header("x-ledger-position"), want.position);
    EXPECT_EQ(r.Header("cache-control"), kImmutable);
  }
  // Before the post's first event it did not exist.
  for (const std::string& early : {std::to_string(before), std::string("0")}) {
    const HttpResponse r = AsOf(id, early);
    EXPECT_EQ(r.status, 404) << early << ": " << r.body;
    EXPECT_EQ(ProblemName(r), "not_found");
  }
}

TEST_F(ApiTest, AsOfAnswersNeverChange) {
  const int64_t id = Create("alice", "fixed in time");
  const std::string path = "/api/posts/" + std::to_string(id);
  const HttpResponse funded = Fund(id, "bob", 4);
  ASSERT_EQ(funded.status, 201) << funded.body;
  const HttpResponse first = AsOf(id, Position(funded));
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(AsOf(id, Position(funded)).body, first.body);
  // Nor do later writes change it.
  ASSERT_EQ(
      Call("POST", path + "/fundings", "/api/posts/{id}/fundings", "{}", {Bearer("carol")}).status,
      201);
  ASSERT_EQ(Call("PATCH", path, "/api/posts/{id}", "{\"description\":\"later\"}", {Bearer("alice")})
                .status,
            200);
  const HttpResponse later = AsOf(id, Position(funded));
  EXPECT_EQ(later.body, first.body);
  EXPECT_EQ(later.Header("etag"), first.Header("etag"));
  // Leading zeros name the same position.
  EXPECT_EQ(AsOf(id, "000" + Position(funded)).body, first.body);
}

TEST_F(ApiTest, AsOfTheHeadIsTheDetailRead) {
  const int64_t id = Create("alice", "now and then");
  const std::string path = "/api/posts/" + std::to_string(id);
  ASSERT_EQ(Fund(id, "bob", 2).status, 201);
  const std::string head = std::to_string(HeadPosition());
  const HttpResponse detail = Call("GET", path, "/api/posts/{id}", "", {{"X-Min-Position", head}});
  ASSERT_EQ(detail.status, 200) << detail.body;
  const HttpResponse as_of = AsOf(id, head);
  ASSERT_EQ(as_of.status, 200) << as_of.body;
  EXPECT_EQ(as_of.Header("etag"), detail.Header("etag"));
  EXPECT_EQ(detail.Header("cache-control"), std::nullopt);
  EXPECT_EQ(detail.Header("x-ledger-position"), std::nullopt);
  // d_day is counted from the head event's recorded_at, the detail's from
  // now (docs/api.md): they differ only for a read that straddles midnight in
  // the service time zone.
  rapidjson::Document a = Parse(as_of.body);
  rapidjson::Document d = Parse(detail.body);
  EXPECT_LE(std::abs(a["d_day"].GetInt64() - d["d_day"].GetInt64()), 1);
  a.RemoveMember("d_day");
  d.RemoveMember("d_day");
  EXPECT_TRUE(a == d) << as_of.body << "\n" << detail.body;
}

TEST_F(ApiTest, AsOfADeletedPostIsNotFound) {
  const int64_t id = Create("alice", "deleted later");
  const std::string path = "/api/posts/" + std::to_string(id);
  const HttpResponse funded = Fund(id, "bob", 1);
  ASSERT_EQ(funded.status, 201) << funded.body;
  const HttpResponse deleted = Call("DELETE", path, "/api/posts/{id}", "", {Bearer("alice")});
  ASSERT_EQ(deleted.status, 204);
  const int64_t delete_position = std::stoll(Position(deleted));
  // The delete appended bob's refund, then PostDeleted.
  ASSERT_EQ(delete_position, std::stoll(Position(funded)) + 2);

  const HttpResponse gone = AsOf(id, Position(deleted));
  EXPECT_EQ(gone.status, 404) << gone.body;
  EXPECT_EQ(ProblemName(gone), "not_found");
  EXPECT_EQ(AsOf(id, std::to_string(HeadPosition())).status, 404);
  const HttpResponse alive = AsOf(id, Position(funded));
  ASSERT_EQ(alive.status, 200) << alive.body;
  EXPECT_EQ(Parse(alive.body)["total_funded"].GetInt64(), 1'000);
  EXPECT_EQ(Parse(alive.body)["participant_count"].GetInt64(), 1);
  // Inside the delete's append: refunded, not yet deleted (docs/api.md).
  const HttpResponse refunded = AsOf(id, std::to_string(delete_position - 1));
  ASSERT_EQ(refunded.status, 200) << refunded.body;
  EXPECT_EQ(Parse(refunded.body)["total_funded"].GetInt64(), 0);
  EXPECT_EQ(Parse(refunded.body)["participant_count"].GetInt64(), 0);
  EXPECT_EQ(refunded.Header("etag"), "\"3\"");
}

TEST_F(ApiTest, AsOfRefusesPositionsItCannotServe) {
  const int64_t id = Create("alice", "bounded");
  const int64_t head = HeadPosition();
  const HttpResponse future = AsOf(id, std::to_string(head + 5));
  ASSERT_EQ(future.status, 400) << future.body;
  EXPECT_EQ(ProblemName(future), "invalid_parameter");
  const rapidjson::Document problem = Parse(future.body);
  ASSERT_EQ(problem["errors"].Size(), 1U);
  EXPECT_STREQ(problem["errors"][0]["parameter"].GetString(), "as_of");
  EXPECT_EQ(std::string(problem["detail"].GetString()),
            "as_of " + std::to_string(head + 5) + " is past the log head " + std::to_string(head));

  for (const std::string& bad : {std::string("abc"), std::string("-1"), std::string(""),
                                 std::string("1.5"), std::string("9223372036854775808"),
                                 std::to_string(head) + "&as_of=" + std::to_string(head)}) {
    const HttpResponse r = AsOf(id, bad);
    ASSERT_EQ(r.status, 400) << bad << ": " << r.body;
    EXPECT_EQ(ProblemName(r), "invalid_parameter") << bad;
    const rapidjson::Document p = Parse(r.body);
    ASSERT_EQ(p["errors"].Size(), 1U) << r.body;
    EXPECT_STREQ(p["errors"][0]["parameter"].GetString(), "as_of") << bad;
  }
  // A post that never existed, at a position the log has.
  EXPECT_EQ(AsOf(999'999, std::to_string(head)).status, 404);
  EXPECT_EQ(Call("GET", "/api/posts/abc?as_of=1", "/api/posts/{id}").status, 404);
}

TEST_F(ApiTest, AsOfIgnoresOtherParametersAndWaitsForNothing) {
  const int64_t id = Create("alice", "unbothered");
  const std::string head = std::to_string(HeadPosition());
  const std::string path = "/api/posts/" + std::to_string(id);
  // Other names are ignored, as the detail route always did.
  const HttpResponse plain =
      Call("GET", path + "?utm_source=mail", "/api/posts/{id}", "", {{"X-Min-Position", head}});
  EXPECT_EQ(plain.status, 200) << plain.body;
  EXPECT_EQ(plain.Header("cache-control"), std::nullopt);
  const HttpResponse mixed =
      Call("GET", path + "?utm_source=mail&as_of=" + head + "&x=%zz", "/api/posts/{id}");
  EXPECT_EQ(mixed.status, 200) << mixed.body;
  EXPECT_EQ(mixed.Header("x-ledger-position"), head);
  // X-Min-Position is checked for form but never waited on: the answer comes
  // from the log, not the read tables (waiting for this position would end
  // in 503 position_not_reached).
  const HttpResponse far = AsOf(id, head, {{"X-Min-Position", "9223372036854775807"}});
  EXPECT_EQ(far.status, 200) << far.body;
  const HttpResponse bad = AsOf(id, head, {{"X-Min-Position", "soon"}});
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("X-Min-Position"), std::string::npos) << bad.body;
}

// d_day and status of an as-of answer are those of the as_of event's
// recorded_at: two days after a campaign's last day, the post as of a
// position recorded on that day still reads "funding", 0 days left, byte for
// byte as it did then, while the detail read says "failed".
TEST_F(ApiTest, AsOfCountsDaysFromTheRecordedTimeNotFromNow) {
  const std::optional<std::string> libfaketime = FindLibFaketime();
  if (!libfaketime) {
    GTEST_SKIP() << "libfaketime is not installed (Debian package faketime; `ops/dev deps` "
                    "installs it): cannot move the server's clock past an end date";
  }
  ledger::testing::TempDir dir;
  chmod(dir.path().c_str(), 0711);
  const std::string data = dir.path() + "/data";
  const std::vector<std::string> flags = {"--jwt-secret", kSecret};
  const auto zone = TimeZone::Load("Asia/Seoul");  // the service's default
  ASSERT_TRUE(zone.ok()) << zone.status().ToString();
  const std::string today = FormatDate(zone->LocalDate(SystemClock().Now()));
  int64_t id = 0;
  std::string position;
  std::string then;
  {
    ServerProcess server(FUNDING_LEDGER_BINARY, data, flags);
    ASSERT_TRUE(server.ok()) << server.Log();
    const std::string body =
        "{\"title\":\"last day\",\"uploader\":\"u\",\"target_amount\":1000000,"
        "\"funding_unit\":1000,\"end_date\":\"" +
        today + "\"}";
    const HttpResponse created = e2e::Call(server, "POST", "/api/posts", "/api/posts", body,
                                           {{"Authorization", "Bearer " + Token("alice")}});
    ASSERT_EQ(created.status, 201) << created.body;
    id = Parse(created.body)["id"].GetInt64();
    const HttpResponse funded =
        e2e::Call(server, "POST", "/api/posts/" + std::to_string(id) + "/fundings",
                  "/api/posts/{id}/fundings", "{}", {{"Authorization", "Bearer " + Token("bob")}});
    ASSERT_EQ(funded.status, 201) << funded.body;
    position = Position(funded);
    const HttpResponse r =
        e2e::Call(server, "GET", "/api/posts/" + std::to_string(id) + "?as_of=" + position,
                  "/api/posts/{id}");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_STREQ(Parse(r.body)["status"].GetString(), "funding");
    EXPECT_EQ(Parse(r.body)["d_day"].GetInt64(), 0);
    then = r.body;
    ASSERT_EQ(server.Stop(), 0) << server.Log();
  }
  // Only funding-ledger's wall clock moves (see api_e2e_failures_test.cc).
  const char* asan = std::getenv("ASAN_OPTIONS");
  std::string asan_options = asan != nullptr && *asan != '\0' ? std::string(asan) + ":" : "";
  asan_options += "verify_asan_link_order=0";
  ServerProcess later(
      FUNDING_LEDGER_BINARY, data, flags,
      {"LD_PRELOAD=" + *libfaketime, "FAKETIME=+2d", "FAKETIME_DONT_FAKE_MONOTONIC=1",
       "FAKETIME_ONLY_CMDS=funding-ledger", "ASAN_OPTIONS=" + asan_options});
  ASSERT_TRUE(later.ok()) << later.Log();
  const std::string path = "/api/posts/" + std::to_string(id);
  const HttpResponse now = e2e::Call(later, "GET", path + "?as_of=" + position, "/api/posts/{id}");
  ASSERT_EQ(now.status, 200) << now.body;
  EXPECT_EQ(now.body, then);
  // The detail read, once the read tables hold the settlement the restart
  // appended before it served (the head now; the funding's position alone
  // may be answered before the projector has reached it): the campaign
  // failed.
  const HttpResponse head = e2e::Call(later, "GET", "/api/ledger/head", "/api/ledger/head");
  ASSERT_EQ(head.status, 200) << head.body;
  const std::string settled = std::to_string(Parse(head.body)["position"].GetInt64());
  ASSERT_GT(std::stoll(settled), std::stoll(position)) << "the restart settled nothing";
  HttpResponse detail;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  do {
    detail = e2e::Call(later, "GET", path, "/api/posts/{id}", "", {{"X-Min-Position", settled}});
  } while (detail.status == 503 && std::chrono::steady_clock::now() < deadline);
  ASSERT_EQ(detail.status, 200) << detail.body;
  EXPECT_STREQ(Parse(detail.body)["status"].GetString(), "failed");
  EXPECT_LT(Parse(detail.body)["d_day"].GetInt64(), 0);
  EXPECT_EQ(later.Stop(), 0) << later.Log();
}

TEST_F(ApiTest, RefusesOversizedHeaders) {
  const HttpResponse r =
      Call("GET", "/api/posts", "unmatched", "", {{"X-Padding", std::string(10 * 1024, 'a')}});
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(ProblemName(r), "header_fields_too_large");
}

TEST_F(ApiTest, TokensFromTheTokenCommandAreAccepted) {
  const std::string command = std::string(FUNDING_LEDGER_BINARY) + " token --jwt-secret " +
                              kSecret + " --data-dir " + dir_->path() + "/data --sub carol";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char line[2048] = {};
  ASSERT_NE(fgets(line, sizeof line, pipe), nullptr);
  EXPECT_EQ(pclose(pipe), 0);
  std::string token(line);
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  const HttpResponse r = Call("POST", "/api/posts", "/api/posts", PostBody("by carol"),
                              {{"Authorization", "Bearer " + token}});
  EXPECT_EQ(r.status, 201) << r.body;
}

TEST_F(ApiTest, AnswersUnknownRoutesAndMethods) {
  EXPECT_EQ(Call("GET", "/api/nothing", "unmatched").status, 404);
  const HttpResponse r = Call("PUT", "/api/posts", "/api/posts");
  EXPECT_EQ(r.status, 405);
  EXPECT_TRUE(r.Header("allow").has_value());
  EXPECT_EQ(Call("GET", "/api/posts/abc", "/api/posts/{id}").status, 404);
}

TEST_F(ApiTest, DropsASlowClient) {
  Connection c(server_->port());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c.SendRaw("POST /api/posts HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"));
  const std::optional<HttpResponse> r = c.Read(std::chrono::seconds(10));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 408);
  EXPECT_TRUE(c.ClosedByPeer(std::chrono::seconds(5)));
}

}  // namespace
}  // namespace ledger::e2e
