// The live streams through the real binary over real sockets: a stream
// follows writes made over HTTP, resumes from Last-Event-ID without a gap or
// a duplicate, is capped by --max-streams, and says farewell on SIGTERM.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "e2e_support.h"
#include "support/temp_dir.h"

namespace ledger::e2e {
namespace {

using namespace std::chrono_literals;

constexpr char kPost[] =
    R"({"title":"실시간 펀딩","uploader":"alice","description":"live","target_amount":100000,)"
    R"("funding_unit":1000,"end_date":"2030-12-31"})";

std::pair<std::string, std::string> Bearer(const std::string& sub) {
  return {"Authorization", "Bearer " + Token(sub)};
}

// Opens `target` as a stream: the answer's head, the connection left open.
struct OpenStream {
  std::unique_ptr<Connection> connection;
  std::string head;
};

OpenStream Open(const ServerProcess& server, const std::string& target,
                const std::string& extra_headers = "") {
  OpenStream s{std::make_unique<Connection>(server.port()), ""};
  EXPECT_TRUE(s.connection->SendRaw("GET " + target + " HTTP/1.1\r\nHost: e2e\r\n" + extra_headers +
                                    "\r\n"));
  s.head = s.connection->ReadUntil("\r\n\r\n").value_or("");
  return s;
}

class StreamE2eTest : public ::testing::Test {
 protected:
  void Start(const std::vector<std::string>& extra = {}) {
    chmod(dir_.path().c_str(), 0711);  // the embedded PostgreSQL's user must reach it
    std::vector<std::string> flags = {"--jwt-secret", kSecret};
    flags.insert(flags.end(), extra.begin(), extra.end());
    server_ = std::make_unique<ServerProcess>(FUNDING_LEDGER_BINARY, dir_.path() + "/data", flags);
    ASSERT_TRUE(server_->ok()) << server_->Log();
  }
  int64_t CreatePost() {
    const HttpResponse r =
        Call(*server_, "POST", "/api/posts", "/api/posts", kPost, {Bearer("alice")});
    EXPECT_EQ(r.status, 201) << r.body;
    return Parse(r.body)["id"].GetInt64();
  }
  int64_t Fund(int64_t id) {
    const std::string path = "/api/posts/" + std::to_string(id) + "/fundings";
    const HttpResponse r =
        Call(*server_, "POST", path, "/api/posts/{id}/fundings", R"({"units":2})", {Bearer("bob")});
    EXPECT_EQ(r.status, 201) << r.body;
    return Parse(r.body)["position"].GetInt64();
  }

  ledger::testing::TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(StreamE2eTest, FollowsWritesAndResumesFromLastEventIdWithoutGapOrDuplicate) {
  Start();
  const int64_t post = CreatePost();
  OpenStream s = Open(*server_, "/api/events/stream?after=0");
  EXPECT_NE(s.head.find("200 OK"), std::string::npos) << s.head;
  EXPECT_NE(s.head.find("Content-Type: text/event-stream"), std::string::npos) << s.head;
  EXPECT_TRUE(s.connection->ReadUntil("id: 1\nevent: ledger\n"));
  const int64_t funded = Fund(post);
  const auto frame = s.connection->ReadUntil("\n\n", 2s);  // the rest of event 1
  ASSERT_TRUE(frame);
  EXPECT_TRUE(s.connection->ReadUntil("id: " + std::to_string(funded) + "\n", 2s));
  s.connection.reset();  // the client goes away

  const int64_t missed = Fund(post);
  OpenStream resumed = Open(*server_, "/api/events/stream?after=0",
                            "Last-Event-ID: " + std::to_string(funded) + "\r\n");
  const auto next = resumed.connection->ReadUntil("\nevent: ledger\n");
  ASSERT_TRUE(next);
  // The first event after a resume is the one after Last-Event-ID.
  EXPECT_NE(next->find("id: " + std::to_string(missed) + "\n"), std::string::npos) << *next;
  EXPECT_EQ(next->find("id: " + std::to_string(funded) + "\n"), std::string::npos) << *next;
}

TEST_F(StreamE2eTest, APostStreamShowsNewFiguresAfterAFunding) {
  Start();
  const int64_t post = CreatePost();
  OpenStream s = Open(*server_, "/api/posts/" + std::to_string(post) + "/stream");
  ASSERT_TRUE(s.connection->ReadUntil("event: figures\n")) << s.head << s.connection->unread();
  ASSERT_TRUE(s.connection->ReadUntil("\"total_funded\":0,"));
  Fund(post);
  EXPECT_TRUE(s.connection->ReadUntil("event: ledger\n", 2s));
  EXPECT_TRUE(s.connection->ReadUntil("event: figures\n", 2s));
  EXPECT_TRUE(s.connection->ReadUntil("\"total_funded\":2000,", 2s));
  EXPECT_EQ(Call(*server_, "GET", "/api/posts/99/stream", "/api/posts/{id}/stream").status, 404);
}

TEST_F(StreamE2eTest, RefusesStreamsPastMaxStreamsAndCountsThem) {
  Start({"--max-streams", "1"});
  OpenStream first = Open(*server_, "/api/events/stream");
  EXPECT_NE(first.head.find("200 OK"), std::string::npos) << first.head;
  const HttpResponse refused = Call(*server_, "GET", "/api/events/stream", "/api/events/stream");
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(ProblemName(refused), "too_many_streams");
  EXPECT_EQ(ScrapeSample(*server_, "ledger_streams_open"), 1);
  EXPECT_EQ(ScrapeSample(*server_, "ledger_streams_refused_total"), 1);
  const HttpResponse bad =
      Call(*server_, "GET", "/api/events/stream?after=x", "/api/events/stream");
  EXPECT_EQ(bad.status, 400);
}

TEST_F(StreamE2eTest, SaysFarewellWithTheResumePositionOnSigterm) {
  Start();
  const int64_t post = CreatePost();
  OpenStream s = Open(*server_, "/api/events/stream?after=0");
  ASSERT_TRUE(s.connection->ReadUntil("id: 1\n"));
  ASSERT_TRUE(server_->Terminate());
  ASSERT_TRUE(s.connection->ReadUntil("event: cut\n", 10s));
  const auto bye = s.connection->ReadUntil("\n\n");
  ASSERT_TRUE(bye);
  EXPECT_NE(bye->find("data: {\"reason\":\"shutting_down\",\"resume_after\":1}"), std::string::npos)
      << *bye;
  EXPECT_TRUE(s.connection->ClosedByPeer(5s));
  EXPECT_EQ(server_->WaitExit(20s), 0);
  (void)post;
}

}  // namespace
}  // namespace ledger::e2e
