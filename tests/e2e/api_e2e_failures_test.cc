// End-to-end, the failure side: the real binary over real HTTP at the edges
// that unit tests cover only in part: money that would overflow, the delete
// refund bound, reads that wait in vain, full queues, PostgreSQL going away,
// SIGTERM with requests in flight, and a campaign whose end date has passed
// (the server's clock moved by libfaketime, never by a hook in the binary).
// Each test starts its own server; every answer is recorded for the OpenAPI
// check (e2e_support.h).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <latch>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <sys/stat.h>

#include "common/clock.h"
#include "common/time_format.h"
#include "common/time_zone.h"
#include "e2e_support.h"
#include "http_client.h"
#include "projections/embedded_postgres.h"
#include "server_process.h"
#include "support/temp_dir.h"
#include "tool_process.h"

namespace ledger::e2e {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

constexpr char kEndDate[] = "2030-12-31";
// Long enough for a server whose clock runs days ahead (the faketime test).
constexpr seconds kTokenTtl = std::chrono::hours(24 * 30);

const char* const kPostRoute = "/api/posts/{id}";
const char* const kFundRoute = "/api/posts/{id}/fundings";

std::string PostBody(const std::string& title, int64_t target, int64_t unit,
                     const std::string& end_date = kEndDate) {
  return "{\"title\":\"" + title + "\",\"uploader\":\"Uploader\",\"description\":\"about " + title +
         "\",\"target_amount\":" + std::to_string(target) +
         ",\"funding_unit\":" + std::to_string(unit) + ",\"end_date\":\"" + end_date + "\"}";
}

std::pair<std::string, std::string> Bearer(const std::string& sub) {
  return {"Authorization", "Bearer " + Token(sub, kTokenTtl)};
}

HttpRequest FundRequest(int64_t id, const std::string& backer, int units) {
  HttpRequest request;
  request.method = "POST";
  request.target = "/api/posts/" + std::to_string(id) + "/fundings";
  request.body = "{\"units\":" + std::to_string(units) + "}";
  request.headers = {{"Content-Type", "application/json"}, Bearer(backer)};
  return request;
}

// A 503's Retry-After: present and a whole number of seconds.
bool HasRetryAfter(const HttpResponse& r) {
  const std::optional<std::string> value = r.Header("retry-after");
  return value && !value->empty() &&
         std::all_of(value->begin(), value->end(), [](char c) { return c >= '0' && c <= '9'; });
}

class ApiFailuresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The embedded PostgreSQL runs as the postgres user and must reach it.
    chmod(dir_.path().c_str(), 0711);
  }
  void TearDown() override {
    if (server_ != nullptr && server_->pid() > 0) {
      EXPECT_EQ(server_->Stop(), 0) << server_->Log();
    }
    server_.reset();
    pg_.reset();  // after the server that uses it
  }

  // (Re)starts the server on this test's data directory.
  bool StartServer(std::vector<std::string> extra, const std::vector<std::string>& env = {}) {
    extra.insert(extra.begin(), {"--jwt-secret", kSecret});
    server_ = std::make_unique<ServerProcess>(FUNDING_LEDGER_BINARY, dir_.Sub("data"), extra, env);
    return server_->ok();
  }
  std::string Log() const { return server_ != nullptr ? server_->Log() : ""; }

  // One request on a fresh connection; the answer is recorded.
  HttpResponse Call(const std::string& method, const std::string& target, const std::string& route,
                    const std::string& body = "", Headers headers = {}) {
    return e2e::Call(*server_, method, target, route, body, std::move(headers));
  }

  // Creates a post as `owner`; returns its id (0 on failure).
  int64_t Create(const std::string& owner, const std::string& title, int64_t target, int64_t unit,
                 const std::string& end_date = kEndDate) {
    const HttpResponse r = Call("POST", "/api/posts", "/api/posts",
                                PostBody(title, target, unit, end_date), {Bearer(owner)});
    EXPECT_EQ(r.status, 201) << r.body;
    if (r.status != 201) return 0;
    return Parse(r.body)["id"].GetInt64();
  }
  HttpResponse Fund(int64_t id, const std::string& backer, int units) {
    return Call("POST", "/api/posts/" + std::to_string(id) + "/fundings", kFundRoute,
                "{\"units\":" + std::to_string(units) + "}", {Bearer(backer)});
  }
  HttpResponse Detail(int64_t id, const std::string& min_position = "") {
    Headers headers;
    if (!min_position.empty()) headers.emplace_back("X-Min-Position", min_position);
    return Call("GET", "/api/posts/" + std::to_string(id), kPostRoute, "", headers);
  }
  std::string HeadPosition() {
    const HttpResponse r = Call("GET", "/api/ledger/head", "/api/ledger/head");
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status != 200) return "";
    return std::to_string(Parse(r.body)["position"].GetInt64());
  }
  // The number of events in a post's stream (pages through its feed).
  int64_t StreamLength(int64_t id) {
    int64_t count = 0;
    std::string after = "0";
    for (int page = 0; page < 1000; ++page) {
      const HttpResponse r =
          Call("GET", "/api/posts/" + std::to_string(id) + "/events?limit=1000&after=" + after,
               "/api/posts/{id}/events");
      EXPECT_EQ(r.status, 200) << r.body;
      if (r.status != 200) return -1;
      const rapidjson::Document d = Parse(r.body);
      count += static_cast<int64_t>(d["items"].Size());
      if (d["next_after"].IsNull()) break;
      after = std::to_string(d["next_after"].GetInt64());
    }
    return count;
  }
  // Polls /readyz (at most `limit`) until it answers `status`.
  int AwaitReadiness(int status, milliseconds limit) {
    const auto deadline = steady_clock::now() + limit;
    int got = 0;
    while (true) {
      got = Call("GET", "/readyz", "/readyz").status;
      if (got == status || steady_clock::now() >= deadline) return got;
      std::this_thread::sleep_for(milliseconds(50));
    }
  }

  ledger::testing::TempDir dir_;
  std::unique_ptr<projections::EmbeddedPostgres> pg_;
  std::unique_ptr<ServerProcess> server_;
};

// ---- money and bounds ----------------------------------------------------------

TEST_F(ApiFailuresTest, RefusesAFundingThatWouldOverflowAndChangesNothing) {
  ASSERT_TRUE(StartServer({})) << Log();
  // Three units of 4e18 overflow int64 (max ~9.22e18); two fit, but not on
  // top of a first funding of one.
  constexpr int64_t kUnit = 4'000'000'000'000'000'000;
  const int64_t id = Create("alice", "overflow", 1'000'000, kUnit);
  ASSERT_NE(id, 0);

  const HttpResponse product = Fund(id, "bob", 3);  // units × funding_unit
  EXPECT_EQ(product.status, 409) << product.body;
  EXPECT_EQ(ProblemName(product), "amount_overflow") << product.body;

  const HttpResponse first = Fund(id, "bob", 1);
  ASSERT_EQ(first.status, 201) << first.body;
  EXPECT_EQ(Parse(first.body)["amount"].GetInt64(), kUnit);
  const std::string head = HeadPosition();

  const HttpResponse total = Fund(id, "carol", 2);  // the new total
  EXPECT_EQ(total.status, 409) << total.body;
  EXPECT_EQ(ProblemName(total), "amount_overflow") << total.body;

  // Nothing was appended, and the read side shows the one funding.
  EXPECT_EQ(HeadPosition(), head);
  EXPECT_EQ(StreamLength(id), 2);  // created, funded once
  const HttpResponse detail = Detail(id, head);
  ASSERT_EQ(detail.status, 200) << detail.body;
  const rapidjson::Document d = Parse(detail.body);
  EXPECT_EQ(d["total_funded"].GetInt64(), kUnit);
  EXPECT_EQ(d["participant_count"].GetInt64(), 1);
  EXPECT_EQ(d["achievement_rate"].GetInt64(), kUnit / 1'000'000 * 100);
}

TEST_F(ApiFailuresTest, RefusesToDeleteAPostWithMoreBackersThanOneDeleteRefunds) {
  ASSERT_TRUE(StartServer({})) << Log();
  const int64_t id = Create("alice", "crowded", 1'000'000'000, 1);
  ASSERT_NE(id, 0);
  // One more than src/commands/limits.h's kMaxRefundedBackersPerDelete
  // (docs/api.md: "more than 10 000 backers"), each a distinct backer, over
  // kept-alive connections.
  constexpr int kBackers = 10'001;
  constexpr int kThreads = 8;
  std::atomic<int> next{0};
  std::atomic<int> created{0};
  const auto started = steady_clock::now();
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      Connection connection(server_->port());
      for (int i = next++; i < kBackers; i = next++) {
        const std::optional<HttpResponse> r =
            connection.RoundTrip(FundRequest(id, "backer-" + std::to_string(i), 1));
        ASSERT_TRUE(r.has_value()) << "no answer to funding " << i;
        Recorder::Get().Add("POST", kFundRoute, *r);
        if (r->status == 201) {
          ++created;
        } else {
          ADD_FAILURE() << "funding " << i << ": " << r->status << " " << r->body;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_EQ(created.load(), kBackers);
  std::cout << "[          ] " << kBackers << " fundings in "
            << std::chrono::duration_cast<milliseconds>(steady_clock::now() - started).count()
            << " ms\n";

  const std::string head = HeadPosition();
  const HttpResponse refused =
      Call("DELETE", "/api/posts/" + std::to_string(id), kPostRoute, "", {Bearer("alice")});
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_EQ(ProblemName(refused), "too_many_backers") << refused.body;
  EXPECT_EQ(HeadPosition(), head);  // no refund, no deletion

  const HttpResponse detail = Detail(id, head);
  ASSERT_EQ(detail.status, 200) << detail.body;
  const rapidjson::Document d = Parse(detail.body);
  EXPECT_EQ(d["total_funded"].GetInt64(), kBackers);
  EXPECT_EQ(d["participant_count"].GetInt64(), kBackers);
}

// ---- reads that cannot be served -------------------------------------------------

TEST_F(ApiFailuresTest, AnswersPositionNotReachedAfterTheReadWait) {
  ASSERT_TRUE(StartServer({"--read-wait-ms", "200"})) << Log();
  const int64_t id = Create("alice", "waited for", 1'000'000, 1'000);
  ASSERT_NE(id, 0);
  const std::string head = HeadPosition();
  const std::string far = "1000000000";
  for (const auto& [target, route] : std::vector<std::pair<std::string, std::string>>{
           {"/api/posts/" + std::to_string(id), kPostRoute}, {"/api/posts", "/api/posts"}}) {
    const auto start = steady_clock::now();
    const HttpResponse r = Call("GET", target, route, "", {{"X-Min-Position", far}});
    const auto waited = std::chrono::duration_cast<milliseconds>(steady_clock::now() - start);
    EXPECT_EQ(r.status, 503) << target << " " << r.body;
    EXPECT_EQ(ProblemName(r), "position_not_reached") << r.body;
    EXPECT_TRUE(HasRetryAfter(r)) << target;
    // About the configured wait: not before it, and well short of the
    // default 2 000 ms.
    EXPECT_GE(waited.count(), 200) << target;
    EXPECT_LT(waited.count(), 1'500) << target;
  }
  // The same read at a position already reached answers at once.
  EXPECT_EQ(Detail(id, head).status, 200);
}

TEST_F(ApiFailuresTest, AnswersAReadOfAPositionReachedBeforeARestartAtOnce) {
  ASSERT_TRUE(StartServer({})) << Log();
  const int64_t id = Create("alice", "restarted", 1'000'000, 1'000);
  ASSERT_NE(id, 0);
  const HttpResponse funded = Fund(id, "bob", 1);
  ASSERT_EQ(funded.status, 201) << funded.body;
  const std::string position = funded.Header("x-ledger-position").value_or("0");
  ASSERT_EQ(Detail(id, position).status, 200);
  ASSERT_EQ(server_->Stop(), 0) << Log();

  // The read tables already hold `position`. A client that asks for it as
  // soon as the server is back (before the projector's first look at its
  // checkpoint) must get it, not wait for a write that may never come.
  ASSERT_TRUE(StartServer({})) << Log();
  const auto start = steady_clock::now();
  const HttpResponse detail = Detail(id, position);
  const auto waited = std::chrono::duration_cast<milliseconds>(steady_clock::now() - start);
  ASSERT_EQ(detail.status, 200) << "after " << waited.count() << " ms: " << detail.body;
  EXPECT_EQ(Parse(detail.body)["total_funded"].GetInt64(), 1'000);
}

TEST_F(ApiFailuresTest, ShedsReadsWhenTheQueryQueueIsFull) {
  ASSERT_TRUE(StartServer({"--query-queue", "1", "--db-pool-size", "1"})) << Log();
  // 100 posts that a search finds, so each search has some work to do.
  std::string array = "[";
  for (int i = 0; i < 100; ++i) {
    if (i > 0) array += ",";
    array += PostBody("검색 대상 " + std::to_string(i), 1'000'000, 1'000);
  }
  array += "]";
  const HttpResponse created = Call("POST", "/api/posts", "/api/posts", array, {Bearer("alice")});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string head = created.Header("x-ledger-position").value_or("0");
  const std::string search = "/api/posts?search=%EA%B2%80%EC%83%89&limit=100";  // 검색
  ASSERT_EQ(Call("GET", search, "/api/posts", "", {{"X-Min-Position", head}}).status, 200);

  // Bursts of concurrent searches, each on its own connection, all sent at
  // once: with one connection and one queue slot, most must be turned away.
  constexpr int kClients = 48;
  int shed = 0;
  int served = 0;
  for (int burst = 0; burst < 5 && shed == 0; ++burst) {
    std::latch connected(kClients);
    std::atomic<int> burst_shed{0};
    std::atomic<int> burst_served{0};
    std::vector<std::thread> threads;
    threads.reserve(kClients);
    for (int t = 0; t < kClients; ++t) {
      threads.emplace_back([&] {
        Connection c(server_->port());
        connected.arrive_and_wait();
        ASSERT_TRUE(c.ok());
        HttpRequest request;
        request.target = search;
        const std::optional<HttpResponse> r = c.RoundTrip(request);
        ASSERT_TRUE(r.has_value()) << "no answer to a search";
        Recorder::Get().Add("GET", "/api/posts", *r);
        if (r->status == 200) {
          ++burst_served;
        } else {
          EXPECT_EQ(r->status, 503) << r->body;
          EXPECT_EQ(ProblemName(*r), "overloaded") << r->body;
          EXPECT_TRUE(HasRetryAfter(*r));
          ++burst_shed;
        }
      });
    }
    for (std::thread& t : threads) t.join();
    shed += burst_shed.load();
    served += burst_served.load();
  }
  EXPECT_GT(shed, 0) << "no search was turned away";
  EXPECT_GT(served, 0) << "no search was served";
  // The server still answers once the burst is over.
  const HttpResponse after = Call("GET", search, "/api/posts");
  EXPECT_EQ(after.status, 200) << after.body;
  EXPECT_EQ(Parse(after.body)["items"].Size(), 100U);
}

TEST_F(ApiFailuresTest, ShedsWritesWhenTheCommandQueueIsFullAndCountsTheRestOnce) {
  ASSERT_TRUE(StartServer({"--queue-capacity", "1"})) << Log();
  constexpr int64_t kUnit = 1'000;
  const int64_t id = Create("alice", "rushed", 1'000'000'000, kUnit);
  ASSERT_NE(id, 0);

  constexpr int kClients = 64;
  std::atomic<int> accepted{0};
  std::atomic<int> shed{0};
  for (int burst = 0; burst < 5 && shed.load() == 0; ++burst) {
    std::latch connected(kClients);
    std::vector<std::thread> threads;
    threads.reserve(kClients);
    for (int t = 0; t < kClients; ++t) {
      threads.emplace_back([&, burst, t] {
        Connection c(server_->port());
        const HttpRequest request =
            FundRequest(id, "backer-" + std::to_string(burst) + "-" + std::to_string(t), 1);
        connected.arrive_and_wait();
        ASSERT_TRUE(c.ok());
        const std::optional<HttpResponse> r = c.RoundTrip(request);
        ASSERT_TRUE(r.has_value()) << "no answer to a funding";
        Recorder::Get().Add("POST", kFundRoute, *r);
        if (r->status == 201) {
          EXPECT_EQ(Parse(r->body)["amount"].GetInt64(), kUnit);
          ++accepted;
        } else {
          EXPECT_EQ(r->status, 503) << r->body;
          EXPECT_EQ(ProblemName(*r), "overloaded") << r->body;
          EXPECT_TRUE(HasRetryAfter(*r));
          ++shed;
        }
      });
    }
    for (std::thread& t : threads) t.join();
  }
  EXPECT_GT(shed.load(), 0) << "no funding was turned away";
  ASSERT_GT(accepted.load(), 0) << "no funding was accepted";

  // Every accepted funding counted once, every refused one not at all.
  const std::string head = HeadPosition();
  EXPECT_EQ(StreamLength(id), 1 + accepted.load());
  const HttpResponse detail = Detail(id, head);
  ASSERT_EQ(detail.status, 200) << detail.body;
  const rapidjson::Document d = Parse(detail.body);
  EXPECT_EQ(d["total_funded"].GetInt64(), accepted.load() * kUnit);
  EXPECT_EQ(d["participant_count"].GetInt64(), accepted.load());

  // /metrics tells the same story: each shed funding once, as overloaded.
  const HttpResponse metrics = Call("GET", "/metrics", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_EQ(MetricSample(metrics.body, R"(ledger_commands_total{command="fund_post",)"
                                       R"(outcome="overloaded",reason="none"})"),
            shed.load())
      << metrics.body;
  EXPECT_EQ(MetricSample(metrics.body, R"(ledger_commands_total{command="fund_post",)"
                                       R"(outcome="accepted",reason="none"})"),
            accepted.load());
  EXPECT_EQ(MetricSample(metrics.body, R"(http_requests_total{method="POST",)"
                                       R"(route="/api/posts/{id}/fundings",status="503"})"),
            shed.load());
  EXPECT_EQ(MetricSample(metrics.body, "ledger_sequencer_queue_capacity"), 1);
}

TEST_F(ApiFailuresTest, KeepsTakingWritesAndRefusesReadsWhilePostgresIsDown) {
  // The read side's own throwaway cluster, which the test stops and starts.
  pg_ = StartPostgres(dir_.Sub("pg"), /*durable=*/false);
  ASSERT_NE(pg_, nullptr);
  ASSERT_TRUE(StartServer({"--database-url", pg_->ConnectionString("postgres"), "--db-pool-size",
                           "2", "--read-wait-ms", "500"}))
      << Log();

  constexpr int64_t kUnit = 1'000;
  const int64_t id = Create("alice", "outage", 1'000'000, kUnit);
  ASSERT_NE(id, 0);
  const HttpResponse before = Fund(id, "bob", 1);
  ASSERT_EQ(before.status, 201) << before.body;
  const HttpResponse seen = Detail(id, before.Header("x-ledger-position").value_or("0"));
  ASSERT_EQ(seen.status, 200) << seen.body;
  ASSERT_EQ(AwaitReadiness(200, seconds(30)), 200) << Log();

  ASSERT_TRUE(pg_->Stop().ok());

  // Writes go on: the log is the source of truth.
  const HttpResponse during = Fund(id, "carol", 2);
  ASSERT_EQ(during.status, 201) << during.body;
  const std::string during_position = during.Header("x-ledger-position").value_or("0");

  // Reads are 503 unavailable, never 500: first on the pooled connections
  // that the stop broke, then on new ones that cannot connect.
  for (int i = 0; i < 4; ++i) {
    for (const auto& [target, route] : std::vector<std::pair<std::string, std::string>>{
             {"/api/posts/" + std::to_string(id), kPostRoute}, {"/api/posts", "/api/posts"}}) {
      const HttpResponse r = Call("GET", target, route);
      EXPECT_EQ(r.status, 503) << target << " " << r.body;
      EXPECT_EQ(ProblemName(r), "unavailable") << target << " " << r.body;
      EXPECT_TRUE(HasRetryAfter(r)) << target;
    }
  }
  // Not ready (the projector cannot write the new funding), yet alive.
  const int not_ready = AwaitReadiness(503, seconds(30));
  EXPECT_EQ(not_ready, 503) << Log();
  EXPECT_EQ(Call("GET", "/healthz", "/healthz").status, 200);

  // What an SRE's dashboard shows meanwhile: not ready, the funding made
  // during the outage not projected and getting older, the projector failing.
  std::this_thread::sleep_for(milliseconds(300));
  const HttpResponse down = Call("GET", "/metrics", "/metrics");
  ASSERT_EQ(down.status, 200);
  EXPECT_EQ(MetricSample(down.body, "ledger_ready"), 0) << down.body;
  EXPECT_EQ(MetricSample(down.body, "ledger_projector_lag_events"), 1) << down.body;
  EXPECT_GE(MetricSample(down.body, "ledger_projector_lag_seconds").value_or(0), 0.3) << down.body;
  EXPECT_GE(MetricSample(down.body, "ledger_projector_errors_total").value_or(0), 1) << down.body;
  EXPECT_EQ(MetricSample(down.body, "ledger_log_head_position"),
            MetricSample(down.body, "ledger_projector_position").value_or(-2) + 1);

  pg_ = StartPostgres(dir_.Sub("pg"), /*durable=*/false);
  ASSERT_NE(pg_, nullptr);

  // Reads recover and show the funding made during the outage. Meanwhile
  // only 503s (unavailable, or the projection not there yet) are fine.
  HttpResponse detail;
  const auto deadline = steady_clock::now() + seconds(60);
  while (steady_clock::now() < deadline) {
    detail = Detail(id, during_position);
    if (detail.status == 200) break;
    ASSERT_EQ(detail.status, 503) << detail.body;
    const std::string problem = ProblemName(detail);
    ASSERT_TRUE(problem == "unavailable" || problem == "position_not_reached") << detail.body;
    std::this_thread::sleep_for(milliseconds(100));
  }
  ASSERT_EQ(detail.status, 200) << detail.body << "\n" << Log();
  const rapidjson::Document d = Parse(detail.body);
  EXPECT_EQ(d["total_funded"].GetInt64(), 3 * kUnit);
  EXPECT_EQ(d["participant_count"].GetInt64(), 2);
  EXPECT_EQ(Call("GET", "/api/posts", "/api/posts").status, 200);
  EXPECT_EQ(AwaitReadiness(200, seconds(30)), 200) << Log();
  const HttpResponse up = Call("GET", "/metrics", "/metrics");
  EXPECT_EQ(MetricSample(up.body, "ledger_ready"), 1) << up.body;
  EXPECT_EQ(MetricSample(up.body, "ledger_projector_lag_events"), 0) << up.body;
  EXPECT_EQ(MetricSample(up.body, "ledger_projector_lag_seconds"), 0) << up.body;
  // And the log says when the outage began and ended for the projector,
  // once each however many retries there were.
  const std::string log = Log();
  const auto count = [&log](const std::string& needle) {
    size_t n = 0;
    for (size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count(R"("msg":"database unavailable; retrying with backoff")"), 1u) << log;
  EXPECT_EQ(count(R"("msg":"database reachable again")"), 1u) << log;
}

TEST_F(ApiFailuresTest, ServesNoMetricsWhenSwitchedOff) {
  ASSERT_TRUE(StartServer({"--metrics", "off"})) << Log();
  ASSERT_NE(Create("alice", "quiet", 1'000'000, 1'000), 0);
  const HttpResponse r = Call("GET", "/metrics", "/metrics");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(ProblemName(r), "not_found") << r.body;
  // Everything else works as before.
  EXPECT_EQ(AwaitReadiness(200, seconds(30)), 200) << Log();
}

// ---- the log on PostgreSQL ---------------------------------------------------

TEST_F(ApiFailuresTest, KeepsItsLogInPostgresWhenGivenALogUrl) {
  // One durable cluster holds the log and the read tables, as a replicated
  // cluster would (the log refuses a session that does not wait for the
  // commit to be durable).
  pg_ = StartPostgres(dir_.Sub("pg"), /*durable=*/true);
  ASSERT_NE(pg_, nullptr);
  const std::vector<std::string> flags{"--log-url", pg_->ConnectionString("postgres"),
                                       "--database-url", pg_->ConnectionString("postgres")};
  ASSERT_TRUE(StartServer(flags)) << Log();

  const int64_t id = Create("alice", "on postgres", 1'000'000, 1'000);
  ASSERT_NE(id, 0);
  const std::string path = "/api/posts/" + std::to_string(id) + "/fundings";
  const Headers keyed{Bearer("bob"), {"Idempotency-Key", "pg-1"}};
  const HttpResponse first = Call("POST", path, kFundRoute, "{\"units\":3}", keyed);
  ASSERT_EQ(first.status, 201) << first.body;
  const HttpResponse again = Call("POST", path, kFundRoute, "{\"units\":3}", keyed);
  EXPECT_EQ(again.status, 201) << again.body;
  EXPECT_EQ(again.Header("idempotent-replayed").value_or(""), "true");
  EXPECT_EQ(again.body, first.body);
  ASSERT_EQ(Fund(id, "carol", 2).status, 201);
  const std::string head = HeadPosition();
  // Nothing went to a RocksDB log in the data directory.
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("data") + "/log"));

  // A restart finds the log, its idempotency records and the sequencer's
  // state where it left them.
  ASSERT_EQ(server_->Stop(), 0) << Log();
  ASSERT_TRUE(StartServer(flags)) << Log();
  EXPECT_EQ(HeadPosition(), head);
  const HttpResponse replayed = Call("POST", path, kFundRoute, "{\"units\":3}", keyed);
  EXPECT_EQ(replayed.status, 201) << replayed.body;
  EXPECT_EQ(replayed.body, first.body);
  ASSERT_EQ(Fund(id, "bob", 1).status, 201);
  const HttpResponse detail = Detail(id, HeadPosition());
  ASSERT_EQ(detail.status, 200) << detail.body;
  const rapidjson::Document d = Parse(detail.body);
  EXPECT_EQ(d["total_funded"].GetInt64(), 6 * 1'000);
  EXPECT_EQ(d["participant_count"].GetInt64(), 2);
  EXPECT_EQ(StreamLength(id), 4);

  // The audit tools read the same log beside the running service.
  std::vector<std::string> tool_flags = flags;
  tool_flags.insert(tool_flags.end(), {"--data-dir", dir_.Sub("data")});
  const auto tool = [&](std::vector<std::string> args) {
    args.insert(args.end(), tool_flags.begin(), tool_flags.end());
    return RunTool(FUNDING_LEDGER_BINARY, args);
  };
  const std::string now = HeadPosition();
  const ToolResult head_tool = tool({"head"});
  ASSERT_EQ(head_tool.exit_code, 0) << head_tool.err;
  EXPECT_NE(head_tool.out.find("\"position\":" + now), std::string::npos) << head_tool.out;
  const ToolResult listed = tool({"events", "--post", std::to_string(id)});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(std::count(listed.out.begin(), listed.out.end(), '\n'), 4) << listed.out;
  const ToolResult verified = tool({"verify"});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  // `backup` exports it, as one snapshot, into a RocksDB log...
  const std::string restored = dir_.Sub("restored");
  std::filesystem::create_directories(restored);
  chmod(restored.c_str(), 0711);  // for the embedded PostgreSQL below
  const ToolResult backup = tool({"backup", "--to", restored + "/log"});
  ASSERT_EQ(backup.exit_code, 0) << backup.err;
  EXPECT_NE(backup.out.find("\"position\":" + now), std::string::npos) << backup.out;
  const ToolResult copy_head = RunTool(FUNDING_LEDGER_BINARY, {"head", "--data-dir", restored});
  ASSERT_EQ(copy_head.exit_code, 0) << copy_head.err;
  EXPECT_EQ(copy_head.out, head_tool.out);
  // ... that a single node serves as it was: the same figures, its
  // idempotency records and the sequencer's state (no rebuild) included.
  ASSERT_EQ(server_->Stop(), 0) << Log();
  ServerProcess single(FUNDING_LEDGER_BINARY, restored, {"--jwt-secret", kSecret});
  ASSERT_TRUE(single.ok()) << single.Log();
  const HttpResponse again_there =
      e2e::Call(single, "POST", path, kFundRoute, "{\"units\":3}", keyed);
  EXPECT_EQ(again_there.status, 201) << again_there.body;
  EXPECT_EQ(again_there.body, first.body);
  const HttpResponse next =
      e2e::Call(single, "POST", path, kFundRoute, "{\"units\":1}", {Bearer("dave")});
  EXPECT_EQ(next.status, 201) << next.body;
  EXPECT_EQ(single.Log().find("building the durable state"), std::string::npos) << single.Log();
}

// ---- shutdown ----------------------------------------------------------------

TEST_F(ApiFailuresTest, AnswersRequestsInFlightOnSigtermAndKeepsEveryAcknowledgedFunding) {
  constexpr int kGraceMs = 10'000;
  ASSERT_TRUE(StartServer({"--shutdown-grace-ms", std::to_string(kGraceMs)})) << Log();
  constexpr int64_t kUnit = 1'000;
  const int64_t id = Create("alice", "shutdown", 1'000'000'000, kUnit);
  ASSERT_NE(id, 0);

  constexpr int kClients = 16;
  std::atomic<int> acknowledged{0};
  std::atomic<int> refused{0};
  std::atomic<int> unanswered{0};
  std::atomic<int> answered_after_signal{0};
  std::atomic<int> in_flight_at_signal{0};  // sent before it, over after it
  std::atomic<bool> signalled{false};
  std::atomic<bool> stop_clients{false};
  const uint16_t port = server_->port();
  std::vector<std::thread> threads;
  threads.reserve(kClients);
  for (int t = 0; t < kClients; ++t) {
    threads.emplace_back([&, t] {
      while (!stop_clients.load()) {
        Connection c(port);
        if (!c.ok()) break;  // the listener is closed: the server is going
        const bool sent_before_signal = !signalled.load();
        const std::optional<HttpResponse> r =
            c.RoundTrip(FundRequest(id, "backer-" + std::to_string(t), 1));
        if (sent_before_signal && signalled.load()) ++in_flight_at_signal;
        if (!r) {
          // Closed before answering (a request not yet read when the server
          // stopped): allowed, but never half an answer.
          EXPECT_TRUE(c.unread().empty()) << "a partial answer: " << c.unread();
          ++unanswered;
          continue;
        }
        Recorder::Get().Add("POST", kFundRoute, *r);
        if (sent_before_signal && signalled.load()) ++answered_after_signal;
        if (r->status == 201) {
          EXPECT_EQ(Parse(r->body)["amount"].GetInt64(), kUnit);
          ++acknowledged;
        } else {
          EXPECT_EQ(r->status, 503) << r->body;
          ++refused;
        }
      }
    });
  }
  // Let the burst run, then SIGTERM in the middle of it.
  const auto deadline = steady_clock::now() + seconds(60);
  while (acknowledged.load() < 300 && steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  const int before_signal = acknowledged.load();
  signalled = true;
  ASSERT_TRUE(server_->Terminate());
  const std::optional<int> exit_status = server_->WaitExit(milliseconds(kGraceMs));
  stop_clients = true;
  for (std::thread& t : threads) t.join();
  const std::string first_log = Log();
  ASSERT_TRUE(exit_status.has_value()) << "still running after the grace period\n" << first_log;
  EXPECT_EQ(*exit_status, 0) << first_log;
  EXPECT_GE(before_signal, 300);
  EXPECT_GT(in_flight_at_signal.load(), 0) << "no request was in flight at the SIGTERM";
  std::cout << "[          ] acknowledged " << acknowledged.load() << " (" << before_signal
            << " before the signal), 503 " << refused.load() << ", unanswered " << unanswered.load()
            << "; in flight at the signal " << in_flight_at_signal.load() << ", of which answered "
            << answered_after_signal.load() << "\n";

  // Every acknowledged funding is in the log and nothing else is. (Readiness
  // first: see AnswersAReadOfAPositionReachedBeforeARestartAtOnce.)
  ASSERT_TRUE(StartServer({})) << Log();
  ASSERT_EQ(AwaitReadiness(200, seconds(30)), 200) << Log();
  const std::string head = HeadPosition();
  EXPECT_EQ(StreamLength(id), 1 + acknowledged.load());
  const HttpResponse detail = Detail(id, head);
  ASSERT_EQ(detail.status, 200) << detail.body;
  EXPECT_EQ(Parse(detail.body)["total_funded"].GetInt64(), acknowledged.load() * kUnit);
}

// ---- time ----------------------------------------------------------------------

TEST_F(ApiFailuresTest, RefusesFundingsOnceTheEndDateHasPassed) {
  const std::optional<std::string> libfaketime = FindLibFaketime();
  if (!libfaketime) {
    GTEST_SKIP() << "libfaketime is not installed (Debian package faketime; `ops/dev deps` "
                    "installs it): cannot move the server's clock past an end date";
  }
  ASSERT_TRUE(StartServer({})) << Log();
  // Campaigns that end today in the service time zone (the default), the
  // earliest end date a create accepts.
  const auto zone = TimeZone::Load("Asia/Seoul");
  ASSERT_TRUE(zone.ok()) << zone.status().ToString();
  const CivilDate today = zone->LocalDate(SystemClock().Now());
  const int64_t reached = Create("alice", "reached", 1'000, 1'000, FormatDate(today));
  const int64_t missed = Create("alice", "missed", 1'000'000, 1'000, FormatDate(today));
  ASSERT_NE(reached, 0);
  ASSERT_NE(missed, 0);
  const HttpResponse funded = Fund(reached, "bob", 1);
  ASSERT_EQ(funded.status, 201) << funded.body;
  const HttpResponse open = Detail(reached, funded.Header("x-ledger-position").value_or("0"));
  ASSERT_EQ(open.status, 200) << open.body;
  EXPECT_STREQ(Parse(open.body)["status"].GetString(), "funding");
  ASSERT_EQ(server_->Stop(), 0) << Log();

  // The same data two days later: every end of "today" has passed, in any
  // zone. Only funding-ledger's clock moves (not its PostgreSQL's), and not
  // its monotonic clock, which timers use. Under AddressSanitizer (CI's
  // second run) the preloaded library precedes ASan's runtime, which ASan
  // accepts only when told not to check the order.
  const char* asan = std::getenv("ASAN_OPTIONS");
  std::string asan_options = asan != nullptr && *asan != '\0' ? std::string(asan) + ":" : "";
  asan_options += "verify_asan_link_order=0";
  ASSERT_TRUE(StartServer(
      {}, {"LD_PRELOAD=" + *libfaketime, "FAKETIME=+2d", "FAKETIME_DONT_FAKE_MONOTONIC=1",
           "FAKETIME_ONLY_CMDS=funding-ledger", "ASAN_OPTIONS=" + asan_options}))
      << Log();
  ASSERT_EQ(AwaitReadiness(200, seconds(30)), 200) << Log();
  // Both deadlines passed while the service was down: it settled the posts
  // while starting, before it turned ready, so a funding meets a settled post.
  const std::string head = HeadPosition();
  for (const int64_t id : {reached, missed}) {
    const HttpResponse r = Fund(id, "carol", 1);
    EXPECT_EQ(r.status, 409) << r.body;
    EXPECT_EQ(ProblemName(r), "post_settled") << r.body;
  }
  // The end date of a finished campaign is final too.
  const std::string later =
      FormatDate(CivilDate(std::chrono::sys_days(today) + std::chrono::days(30)));
  const HttpResponse edit = Call("PATCH", "/api/posts/" + std::to_string(missed), kPostRoute,
                                 "{\"end_date\":\"" + later + "\"}", {Bearer("alice")});
  EXPECT_EQ(edit.status, 409) << edit.body;
  EXPECT_EQ(ProblemName(edit), "post_settled") << edit.body;
  EXPECT_EQ(HeadPosition(), head);  // nothing appended

  // After the deadline: successful when the total reached the target, else
  // failed; the day count is negative.
  for (const auto& [id, status, total] : std::vector<std::tuple<int64_t, std::string, int64_t>>{
           {reached, "successful", 1'000}, {missed, "failed", 0}}) {
    const HttpResponse detail = Detail(id, head);
    ASSERT_EQ(detail.status, 200) << detail.body;
    const rapidjson::Document d = Parse(detail.body);
    EXPECT_EQ(d["status"].GetString(), status) << detail.body;
    EXPECT_EQ(d["total_funded"].GetInt64(), total);
    EXPECT_LT(d["d_day"].GetInt64(), 0) << detail.body;
  }
  const HttpResponse list =
      Call("GET", "/api/posts?order_by=created", "/api/posts", "", {{"X-Min-Position", head}});
  ASSERT_EQ(list.status, 200) << list.body;
  const rapidjson::Document page = Parse(list.body);
  ASSERT_EQ(page["items"].Size(), 2U);
  EXPECT_STREQ(page["items"][0]["status"].GetString(), "successful");
  EXPECT_STREQ(page["items"][1]["status"].GetString(), "failed");
}

}  // namespace
}  // namespace ledger::e2e
