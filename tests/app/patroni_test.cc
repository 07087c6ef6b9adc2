// Reading Patroni's /cluster answer, and asking a (stand-in) Patroni over
// HTTP for it: the leader a node may take the sequencer lease on.

#include "app/patroni.h"

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "http/forwarder.h"
#include "http/server.h"
#include "support/status_matchers.h"

namespace ledger::app {
namespace {

// As Patroni 3.0 answers GET /cluster (fields the ledger does not read left out).
constexpr char kCluster[] = R"({"members": [
  {"name": "pg1", "role": "replica", "state": "running", "host": "10.0.0.1", "port": 5432,
   "timeline": 3, "lag": 0},
  {"name": "pg2", "role": "leader", "state": "running", "host": "10.0.0.2", "port": 5433,
   "timeline": 3},
  {"name": "pg3", "role": "sync_standby", "state": "streaming", "host": "10.0.0.3",
   "port": 5432, "timeline": 3, "lag": 0}], "scope": "ledger"})";

TEST(PatroniTest, FindsTheRunningLeaderWithItsTimeline) {
  const auto leader = ParsePatroniCluster(kCluster);
  ASSERT_OK(leader);
  EXPECT_EQ(leader->name, "pg2");
  EXPECT_EQ(leader->host, "10.0.0.2");
  EXPECT_EQ(leader->port, 5433);
  EXPECT_EQ(leader->timeline, 3);
}

TEST(PatroniTest, NoLeaderOrOneNotRunningIsUnavailable) {
  EXPECT_EQ(ParsePatroniCluster(R"({"members": [{"name": "pg1", "role": "replica",
      "state": "running", "host": "h", "port": 5432, "timeline": 2}]})")
                .status()
                .code(),
            Status::Code::kUnavailable);
  EXPECT_EQ(ParsePatroniCluster(R"({"members": [{"name": "pg1", "role": "leader",
      "state": "starting", "host": "h", "port": 5432}]})")
                .status()
                .code(),
            Status::Code::kUnavailable);
  EXPECT_EQ(ParsePatroniCluster("{}").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(ParsePatroniCluster("<html>").status().code(), Status::Code::kInvalidArgument);
}

TEST(PatroniTest, RequiresStrictSynchronousMode) {
  EXPECT_OK(CheckPatroniConfig(
      R"({"ttl": 10, "synchronous_mode": true, "synchronous_mode_strict": true})"));
  for (const char* loose :
       {R"({"synchronous_mode": true})",
        R"({"synchronous_mode": true, "synchronous_mode_strict": false})",
        R"({"synchronous_mode": false, "synchronous_mode_strict": true})", R"({})"}) {
    const Status refused = CheckPatroniConfig(loose);
    EXPECT_EQ(refused.code(), Status::Code::kFailedPrecondition) << loose;
    EXPECT_NE(refused.message().find("strict"), std::string::npos);
  }
  EXPECT_EQ(CheckPatroniConfig("[").code(), Status::Code::kInvalidArgument);
}

TEST(PatroniTest, SplitsAndChecksTheUrlList) {
  const auto urls = SplitPatroniUrls("http://127.0.0.1:8008,http://10.0.0.2:8008");
  ASSERT_OK(urls);
  EXPECT_EQ(*urls, (std::vector<std::string>{"http://127.0.0.1:8008", "http://10.0.0.2:8008"}));
  EXPECT_FALSE(SplitPatroniUrls("http://a:8008,https://b:8008").ok());
  EXPECT_FALSE(SplitPatroniUrls("http://a:8008,").ok());
}

TEST(PatroniTest, AsksEachMemberInTurnUntilOneNamesTheLeader) {
  // The first member is gone; the second answers /cluster.
  http::Router router;
  router.Add("GET", "/config", [](const http::Request&, const http::Respond& respond) {
    http::Response r;
    r.content_type = "application/json";
    r.body = R"({"synchronous_mode": true, "synchronous_mode_strict": true})";
    respond(std::move(r));
  });
  router.Add("GET", "/cluster", [](const http::Request&, const http::Respond& respond) {
    http::Response r;
    r.content_type = "application/json";
    r.body = kCluster;
    respond(std::move(r));
  });
  http::ServerOptions options;
  options.port = 0;
  auto server = http::HttpServer::Start(options, std::move(router), nullptr);
  ASSERT_OK(server);
  http::ForwarderOptions ask;
  ask.timeout = std::chrono::seconds(2);
  const auto client = http::Forwarder::Create(ask);
  const auto leader = FindPatroniLeader(
      *client, {"http://127.0.0.1:1", "http://127.0.0.1:" + std::to_string((*server)->port())});
  ASSERT_OK(leader);
  EXPECT_EQ(leader->name, "pg2");
  const auto none = FindPatroniLeader(*client, {"http://127.0.0.1:1"});
  EXPECT_EQ(none.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(none.status().message().find("127.0.0.1:1"), std::string::npos);
  client->Stop();
  (*server)->Stop();
}

}  // namespace
}  // namespace ledger::app
