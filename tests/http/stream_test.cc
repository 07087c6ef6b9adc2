#include <atomic>
#include <charconv>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "http/raw_client.h"
#include "http/server.h"
#include "http/test_source.h"
#include "support/status_matchers.h"

namespace ledger::http {
namespace {

using namespace std::chrono_literals;
using test_support::Client;
using test_support::TestSource;
using Clock = std::chrono::steady_clock;

bool Eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 3s) {
  const Clock::time_point deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return condition();
}

class HttpStreamTest : public ::testing::Test {
 protected:
  void Start(std::chrono::milliseconds heartbeat = 60s) {
    router_.Add("GET", "/s", [this, heartbeat](const Request&, const Respond& respond) {
      Response r;
      r.content_type = "text/event-stream";
      r.headers.emplace_back("Cache-Control", "no-store");
      r.stream = source_;
      r.heartbeat = heartbeat;
      respond(std::move(r));
    });
    ServerOptions options;
    options.port = 0;
    options.limits.shutdown_grace = 2s;
    auto started = HttpServer::Start(std::move(options), std::move(router_), nullptr);
    ASSERT_OK(started);
    server_ = std::move(started).value();
  }

  // GET /s on `client`, the head read, and the source started.
  bool Opened(Client& client) {
    return client.Get("/s") && client.ReadUntil("\r\n\r\n") &&
           Eventually([&] { return source_->started(); });
  }

  std::shared_ptr<TestSource> source_ = std::make_shared<TestSource>();
  Router router_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpStreamTest, WritesChunksAsTheSourceProducesThemAndEndsWithTheLastChunk) {
  Start();
  Client client(server_->port());
  ASSERT_TRUE(client.Get("/s"));
  const auto head = client.ReadUntil("\r\n\r\n");
  ASSERT_TRUE(head);
  EXPECT_NE(head->find("HTTP/1.1 200 OK"), std::string::npos) << *head;
  EXPECT_NE(head->find("Transfer-Encoding: chunked"), std::string::npos) << *head;
  EXPECT_NE(head->find("Content-Type: text/event-stream"), std::string::npos) << *head;
  EXPECT_NE(head->find("Cache-Control: no-store"), std::string::npos) << *head;
  EXPECT_NE(head->find("Connection: close"), std::string::npos) << *head;
  EXPECT_EQ(head->find("Content-Length"), std::string::npos) << *head;
  ASSERT_TRUE(Eventually([&] { return source_->started(); }));

  source_->Push("first");
  EXPECT_EQ(client.ReadUntil("first\r\n"), "5\r\nfirst\r\n");
  source_->Push("ab");
  source_->Push("cde");
  // Taken together or one by one; either way, in order and whole.
  const auto more = client.ReadUntil("cde\r\n");
  ASSERT_TRUE(more);
  EXPECT_TRUE(*more == "5\r\nabcde\r\n" || *more == "2\r\nab\r\n3\r\ncde\r\n") << *more;
  source_->End();
  EXPECT_EQ(client.ReadUntil("\r\n\r\n"), "0\r\n\r\n");
  EXPECT_TRUE(client.WaitClosed(2s));
  EXPECT_TRUE(Eventually([&] { return source_->closes.load() == 1; }));
}

TEST_F(HttpStreamTest, NeverTakesAgainFromASourceThatEndedWhateverWakesItGives) {
  Start();
  Client client(server_->port());
  ASSERT_TRUE(Opened(client));
  // The end and a burst of wakes after it, all posted before the first runs.
  source_->Push("last");
  source_->End();
  for (int i = 0; i < 50; ++i) source_->Push("late");
  EXPECT_TRUE(client.ReadUntil("\r\n0\r\n\r\n"));
  EXPECT_TRUE(client.WaitClosed(2s));
  EXPECT_TRUE(Eventually([&] { return source_->closes.load() == 1; }));
  EXPECT_EQ(source_->takes_after_end.load(), 0);
}

TEST_F(HttpStreamTest, SendsAHeartbeatAfterSilence) {
  Start(50ms);
  Client client(server_->port());
  ASSERT_TRUE(Opened(client));
  EXPECT_TRUE(client.ReadUntil("<beat>\r\n", 2s));
  EXPECT_TRUE(client.ReadUntil("<beat>\r\n", 2s));  // and again
}

TEST_F(HttpStreamTest, ClosesTheSourceWhenTheClientGoesAway) {
  Start();
  {
    Client client(server_->port());
    ASSERT_TRUE(Opened(client));
  }
  // Noticed without anything to write.
  EXPECT_TRUE(Eventually([&] { return source_->closes.load() == 1; }));
}

TEST_F(HttpStreamTest, CutsOffAClientThatSendsWhileStreaming) {
  Start();
  Client client(server_->port());
  ASSERT_TRUE(Opened(client));
  const std::string junk(16 * 1024, 'x');
  for (int i = 0; i < 8 && client.Send(junk); ++i) {
  }
  EXPECT_TRUE(Eventually([&] { return source_->closes.load() == 1; }));
}

TEST_F(HttpStreamTest, SaysFarewellWhenTheServerStops) {
  Start();
  Client client(server_->port());
  ASSERT_TRUE(Opened(client));
  const Clock::time_point start = Clock::now();
  server_->Stop();
  EXPECT_LT(Clock::now() - start, 1s);  // a stream does not hold Stop for its grace
  EXPECT_TRUE(client.ReadUntil("<bye>\r\n", 1s));
  EXPECT_TRUE(client.ReadUntil("0\r\n\r\n", 1s));
  EXPECT_TRUE(client.WaitClosed(1s));
  EXPECT_EQ(source_->closes.load(), 1);
}

// The body of a chunked answer whose head was read: the chunks' data, up to
// and without the last chunk; nullopt if the framing is broken.
std::optional<std::string> Dechunk(std::string_view framed) {
  std::string body;
  while (true) {
    const size_t line_end = framed.find("\r\n");
    if (line_end == std::string_view::npos) return std::nullopt;
    size_t size = 0;
    const auto [end, ec] = std::from_chars(framed.data(), framed.data() + line_end, size, 16);
    if (ec != std::errc() || end != framed.data() + line_end) return std::nullopt;
    framed.remove_prefix(line_end + 2);
    if (size == 0) return framed == "\r\n" ? std::optional(body) : std::nullopt;
    if (framed.size() < size + 2 || framed.substr(size, 2) != "\r\n") return std::nullopt;
    body.append(framed.substr(0, size));
    framed.remove_prefix(size + 2);
  }
}

TEST_F(HttpStreamTest, AClientThatReadsSlowlyGetsEveryByteInOrder) {
  Start();
  Client client(server_->port());
  ASSERT_TRUE(Opened(client));
  // 16 MiB while the client reads nothing: more than loopback's socket
  // buffers grow to, so writes stop part way and go on when it reads.
  std::string expected;
  for (int i = 0; i < 1024; ++i) {
    std::string frame = "<" + std::to_string(i) + ">";
    frame.append(size_t{16} * 1024, static_cast<char>('a' + i % 26));
    frame += '\n';
    expected += frame;
    source_->Push(std::move(frame));
  }
  std::this_thread::sleep_for(200ms);
  source_->Push("<last>\n");
  expected += "<last>\n";
  source_->End();
  const auto framed = client.ReadUntil("\r\n0\r\n\r\n", 10s);
  ASSERT_TRUE(framed);
  const auto body = Dechunk(*framed);
  ASSERT_TRUE(body) << framed->substr(0, 200);
  EXPECT_EQ(body->size(), expected.size());
  EXPECT_TRUE(*body == expected);
  EXPECT_TRUE(client.WaitClosed(2s));
  EXPECT_TRUE(Eventually([&] { return source_->closes.load() == 1; }));
}

TEST_F(HttpStreamTest, FramesWrittenAtOncePostponeTheHeartbeat) {
  Start(1s);
  Client client(server_->port());
  ASSERT_TRUE(Opened(client));
  // A frame every 100 ms for 2.5 s: never a second of silence.
  std::string seen;
  for (int i = 0; i < 25; ++i) {
    const std::string frame = "<f" + std::to_string(i) + ">";
    source_->Push(frame);
    const auto got = client.ReadUntil(frame + "\r\n", 2s);
    ASSERT_TRUE(got) << i;
    seen += *got;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(seen.find("<beat>"), std::string::npos) << seen;
  // Then silence, and the heartbeat.
  EXPECT_TRUE(client.ReadUntil("<beat>\r\n", 3s));
}

TEST_F(HttpStreamTest, DelimitsAnHttp10StreamByClosing) {
  Start();
  Client client(server_->port());
  ASSERT_TRUE(client.Send("GET /s HTTP/1.0\r\n\r\n"));
  const auto head = client.ReadUntil("\r\n\r\n");
  ASSERT_TRUE(head);
  EXPECT_NE(head->find("HTTP/1.0 200 OK"), std::string::npos) << *head;
  EXPECT_EQ(head->find("chunked"), std::string::npos) << *head;
  EXPECT_EQ(head->find("Content-Length"), std::string::npos) << *head;
  ASSERT_TRUE(Eventually([&] { return source_->started(); }));
  source_->Push("plain");
  EXPECT_EQ(client.ReadUntil("plain"), "plain");
  source_->End();
  EXPECT_TRUE(client.WaitClosed(2s));
}

}  // namespace
}  // namespace ledger::http
