// End-to-end, several serve nodes on one PostgreSQL log: one sequences, the
// others serve reads and pass writes on to it; when the
// sequencing node dies (kill -9) or is paused longer than its lease
// (SIGSTOP: the zombie), another takes over, and nothing acknowledged is
// lost or written twice. PostgreSQL here is one durable server standing in
// for the replicated cluster (ops/cluster runs the real one).

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include "e2e/e2e_support.h"
#include "e2e/http_client.h"
#include "e2e/server_process.h"
#include "e2e/tool_process.h"
#include "projections/embedded_postgres.h"
#include "support/temp_dir.h"

namespace ledger::e2e {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

const char* const kFundRoute = "/api/posts/{id}/fundings";
constexpr char kLeaseMs[] = "1000";

std::pair<std::string, std::string> Bearer(const std::string& sub) {
  return {"Authorization", "Bearer " + Token(sub)};
}

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The embedded PostgreSQL runs as its own user and must reach its folder.
    chmod(dir_.path().c_str(), 0711);
    pg_ = StartPostgres(dir_.Sub("pg"), /*durable=*/true);
    ASSERT_NE(pg_, nullptr);
  }
  void TearDown() override {
    for (auto& node : nodes_) {
      if (node != nullptr) kill(node->pid(), SIGCONT);  // a paused one must hear SIGTERM
    }
    nodes_.clear();
    if (pg_ != nullptr) {
      EXPECT_TRUE(pg_->Stop().ok());
    }
  }

  std::vector<std::string> Flags(const std::string& id) const {
    const std::string url = pg_->ConnectionString("postgres");
    return {"--log-url",  url,      "--database-url", url,    "--node-id", id,
            "--lease-ms", kLeaseMs, "--jwt-secret",   kSecret};
  }

  // Starts node `id` (again) in slot `index`.
  ServerProcess& StartNode(size_t index, const std::string& id) {
    if (nodes_.size() <= index) nodes_.resize(index + 1);
    nodes_[index] =
        std::make_unique<ServerProcess>(FUNDING_LEDGER_BINARY, dir_.Sub("node-" + id), Flags(id));
    EXPECT_TRUE(nodes_[index]->ok()) << nodes_[index]->Log();
    return *nodes_[index];
  }

  // The node's view of the cluster in /readyz (an empty object if none).
  static rapidjson::Document Cluster(const ServerProcess& node) {
    const HttpResponse r = Call(node, "GET", "/readyz", "/readyz");
    rapidjson::Document d = Parse(r.body);
    rapidjson::Document cluster;
    cluster.SetObject();
    if (d.IsObject() && d.HasMember("cluster"))
      cluster.CopyFrom(d["cluster"], cluster.GetAllocator());
    return cluster;
  }
  static std::string Role(const ServerProcess& node) {
    const rapidjson::Document c = Cluster(node);
    return c.HasMember("role") ? c["role"].GetString() : "";
  }
  // Waits up to `limit` for `node` to report `role` and, when given, `leader`.
  static bool AwaitRole(const ServerProcess& node, const std::string& role,
                        const std::string& leader = "", milliseconds limit = seconds(15)) {
    const auto until = steady_clock::now() + limit;
    while (steady_clock::now() < until) {
      const rapidjson::Document c = Cluster(node);
      if (c.HasMember("role") && c["role"].GetString() == role &&
          (leader.empty() || c["leader"].GetString() == leader)) {
        return true;
      }
      std::this_thread::sleep_for(milliseconds(50));
    }
    return false;
  }

  int64_t Create(const ServerProcess& node, const std::string& owner) {
    const HttpResponse r =
        Call(node, "POST", "/api/posts", "/api/posts",
             "{\"title\":\"cluster\",\"uploader\":\"U\",\"description\":\"d\","
             "\"target_amount\":1000000,\"funding_unit\":1000,\"end_date\":\"2030-12-31\"}",
             {Bearer(owner)});
    EXPECT_EQ(r.status, 201) << r.body;
    return r.status == 201 ? Parse(r.body)["id"].GetInt64() : 0;
  }
  static HttpResponse Fund(const ServerProcess& node, int64_t id, const std::string& backer,
                           const std::string& key = "") {
    Headers headers{Bearer(backer)};
    if (!key.empty()) headers.emplace_back("Idempotency-Key", key);
    return Call(node, "POST", "/api/posts/" + std::to_string(id) + "/fundings", kFundRoute,
                "{\"units\":1}", headers);
  }
  // Retries a keyed funding on `node` until it is acknowledged (201) or
  // `limit` passes; returns how long that took.
  static std::optional<milliseconds> FundUntilAcknowledged(const ServerProcess& node, int64_t id,
                                                           const std::string& backer,
                                                           const std::string& key,
                                                           milliseconds limit = seconds(20)) {
    const auto start = steady_clock::now();
    while (steady_clock::now() - start < limit) {
      if (Fund(node, id, backer, key).status == 201) {
        return std::chrono::duration_cast<milliseconds>(steady_clock::now() - start);
      }
      std::this_thread::sleep_for(milliseconds(50));
    }
    return std::nullopt;
  }
  static int64_t TotalOn(const ServerProcess& node, int64_t id, const std::string& min_position) {
    const HttpResponse r = Call(node, "GET", "/api/posts/" + std::to_string(id), "/api/posts/{id}",
                                "", {{"X-Min-Position", min_position}});
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 ? Parse(r.body)["total_funded"].GetInt64() : -1;
  }

  // Node a (which sequences) and node b (which follows it), and a post
  // created through a: its id, 0 on failure.
  int64_t StartPairWithAPost() {
    const ServerProcess& a = StartNode(0, "a");
    if (!AwaitRole(a, "sequencer", "a")) return 0;
    const ServerProcess& b = StartNode(1, "b");
    if (!AwaitRole(b, "follower", "a")) return 0;
    return Create(a, "owner");
  }

  ToolResult Verify() {
    std::vector<std::string> args{"verify", "--data-dir", dir_.Sub("tool")};
    const std::vector<std::string> flags = Flags("tool");
    args.insert(args.end(), flags.begin(), flags.begin() + 4);  // --log-url, --database-url
    return RunTool(FUNDING_LEDGER_BINARY, args);
  }

  ledger::testing::TempDir dir_;
  std::unique_ptr<projections::EmbeddedPostgres> pg_;
  std::vector<std::unique_ptr<ServerProcess>> nodes_;
};

TEST_F(ClusterTest, OneNodeSequencesTheOtherServesReadsAndPassesWritesOnToIt) {
  ServerProcess& a = StartNode(0, "a");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(AwaitRole(a, "sequencer", "a")) << a.Log();
  ServerProcess& b = StartNode(1, "b");
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(AwaitRole(b, "follower", "a")) << b.Log();
  EXPECT_EQ(Cluster(b)["leader_url"].GetString(), "http://127.0.0.1:" + std::to_string(a.port()));

  const int64_t id = Create(a, "owner");
  ASSERT_NE(id, 0);
  const HttpResponse funded = Fund(a, id, "bob", "k1");
  ASSERT_EQ(funded.status, 201) << funded.body;
  const std::string position = *funded.Header("x-ledger-position");

  // A write to the follower is passed on to the sequencer, with the
  // client's request id and key: its retry there is answered once.
  const Headers keyed{Bearer("carol"), {"Idempotency-Key", "via-b"}, {"X-Request-Id", "rid-b-1"}};
  const std::string fund_path = "/api/posts/" + std::to_string(id) + "/fundings";
  const HttpResponse passed = Call(b, "POST", fund_path, kFundRoute, "{\"units\":1}", keyed);
  ASSERT_EQ(passed.status, 201) << passed.body;
  EXPECT_EQ(passed.Header("x-request-id").value_or(""), "rid-b-1");
  const HttpResponse retried = Call(a, "POST", fund_path, kFundRoute, "{\"units\":1}", keyed);
  EXPECT_EQ(retried.status, 201) << retried.body;
  EXPECT_EQ(retried.Header("idempotent-replayed").value_or(""), "true");
  EXPECT_EQ(retried.body, passed.body);

  // A write that was passed on already is not passed on again: it is
  // refused, naming the sequencer, and changes nothing.
  const HttpResponse refused = Call(b, "POST", fund_path, kFundRoute, "{\"units\":1}",
                                    {Bearer("erin"), {"X-Ledger-Forwarded-By", "elsewhere"}});
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(ProblemName(refused), "unavailable");
  EXPECT_EQ(refused.Header("x-ledger-leader").value_or(""),
            "http://127.0.0.1:" + std::to_string(a.port()));
  EXPECT_TRUE(refused.Header("retry-after").has_value());

  // The follower reads what the sequencer's projector wrote, waiting for it.
  EXPECT_EQ(TotalOn(b, id, *passed.Header("x-ledger-position")), 2'000);
  EXPECT_GT(std::stoll(*passed.Header("x-ledger-position")), std::stoll(position));
  // ... and follows the log's head.
  const auto until = steady_clock::now() + seconds(5);
  std::string head_b;
  const std::string head_a = Call(a, "GET", "/api/ledger/head", "/api/ledger/head").body;
  while (steady_clock::now() < until && head_b != head_a) {
    head_b = Call(b, "GET", "/api/ledger/head", "/api/ledger/head").body;
    if (head_b != head_a) std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_EQ(head_b, head_a);
}

TEST_F(ClusterTest, WhenTheSequencerIsKilledAnotherTakesOverAndRetriesAreAnsweredOnce) {
  const int64_t id = StartPairWithAPost();
  ASSERT_NE(id, 0);
  ServerProcess& a = *nodes_[0];
  ServerProcess& b = *nodes_[1];
  const HttpResponse first = Fund(a, id, "bob", "before-kill");
  ASSERT_EQ(first.status, 201) << first.body;

  ASSERT_EQ(kill(a.pid(), SIGKILL), 0);
  const std::optional<milliseconds> stall = FundUntilAcknowledged(b, id, "carol", "after-kill");
  ASSERT_TRUE(stall.has_value()) << b.Log();
  std::cout << "write stall after kill -9 of the sequencing node: " << stall->count() << " ms\n";
  EXPECT_TRUE(AwaitRole(b, "sequencer", "b")) << b.Log();

  // The retry of the funding acknowledged before the kill is answered once,
  // from its idempotency record, by the new sequencer.
  const HttpResponse again = Fund(b, id, "bob", "before-kill");
  EXPECT_EQ(again.status, 201) << again.body;
  EXPECT_EQ(again.Header("idempotent-replayed").value_or(""), "true");
  EXPECT_EQ(again.body, first.body);
  const HttpResponse last = Fund(b, id, "dave", "last");
  ASSERT_EQ(last.status, 201) << last.body;
  EXPECT_EQ(TotalOn(b, id, *last.Header("x-ledger-position")), 3 * 1'000);

  // The old node comes back as a follower of the new sequencer.
  nodes_[0].reset();  // reaps the killed process
  ServerProcess& back = StartNode(0, "a");
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(AwaitRole(back, "follower", "b")) << back.Log();
  const ToolResult verified = Verify();
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
}

TEST_F(ClusterTest, ASequencerPausedPastItsLeaseIsDeposedAndNeverWritesAgain) {
  const int64_t id = StartPairWithAPost();
  ASSERT_NE(id, 0);
  ServerProcess& a = *nodes_[0];
  ServerProcess& b = *nodes_[1];
  ASSERT_EQ(Fund(a, id, "bob", "k1").status, 201);

  ASSERT_EQ(kill(a.pid(), SIGSTOP), 0);  // the zombie
  const std::optional<milliseconds> stall = FundUntilAcknowledged(b, id, "carol", "k2");
  ASSERT_TRUE(stall.has_value()) << b.Log();
  std::cout << "write stall after SIGSTOP of the sequencing node: " << stall->count() << " ms\n";
  ASSERT_EQ(kill(a.pid(), SIGCONT), 0);

  // Woken, the old sequencer finds its session gone: it writes nothing,
  // steps down to follow b, and passes its writes on to b.
  ASSERT_TRUE(AwaitRole(a, "follower", "b")) << a.Log();
  const HttpResponse passed = Fund(a, id, "erin", "k3");
  EXPECT_EQ(passed.status, 201) << passed.body;
  const HttpResponse last = Fund(b, id, "dave", "k4");
  ASSERT_EQ(last.status, 201) << last.body;
  EXPECT_EQ(TotalOn(b, id, *last.Header("x-ledger-position")), 4 * 1'000);
  const ToolResult verified = Verify();
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
}

TEST_F(ClusterTest, ASecondNodeIsRefusedANodeIdWithoutALogUrl) {
  const ToolResult refused =
      RunTool(FUNDING_LEDGER_BINARY, {"serve", "--data-dir", dir_.Sub("solo"), "--node-id", "x"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("need"), std::string::npos) << refused.err;
}

}  // namespace
}  // namespace ledger::e2e
