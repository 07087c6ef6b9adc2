// The forwarder against a real HttpServer on loopback: what it sends on,
// what it hands back, and how it fails (a node too slow, gone, or a kept
// connection the other side closed).

#include "http/forwarder.h"

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/server.h"
#include "support/status_matchers.h"

namespace ledger::http {
namespace {

using namespace std::chrono_literals;

std::string HeaderOf(const Response& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n.size() == name.size() && std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == b;
        })) {
      return v;
    }
  }
  return "";
}

class ForwarderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The other node: answers what it was sent, as the ledger's write
    // answers do (a status, a JSON body, its own headers).
    router_.Add("POST", "/api/posts/{id}/fundings",
                [](const Request& request, const Respond& respond) {
                  Response r;
                  r.status = 201;
                  r.content_type = "application/json";
                  r.body = request.body + "|" +
                           std::string(request.Header(kForwardedByHeader).value_or("-")) + "|" +
                           std::string(request.Header("idempotency-key").value_or("-")) + "|" +
                           request.request_id + "|" + request.query + "|" +
                           std::string(request.Header("host").value_or("-"));
                  r.headers.emplace_back("X-Ledger-Position", "7");
                  respond(std::move(r));
                });
    router_.Add("POST", "/slow", [this](const Request&, const Respond& respond) {
      slow_.push_back(std::thread([respond] {
        std::this_thread::sleep_for(1s);
        Response r;
        r.status = 204;
        respond(std::move(r));
      }));
    });
  }
  void TearDown() override {
    if (forwarder_ != nullptr) forwarder_->Stop();
    for (std::thread& t : slow_) t.join();
    if (server_ != nullptr) server_->Stop();
  }

  void StartNode(ServerLimits limits = {}) {
    ServerOptions options;
    options.port = 0;
    limits.shutdown_grace = 2s;
    options.limits = limits;
    auto started = HttpServer::Start(std::move(options), std::move(router_), nullptr);
    ASSERT_OK(started);
    server_ = std::move(started).value();
    url_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  void StartForwarder(ForwarderOptions options = {}) { forwarder_ = Forwarder::Create(options); }

  static Request Write(std::string path = "/api/posts/3/fundings") {
    Request r;
    r.method = "POST";
    r.path = std::move(path);
    r.query = "x=1";
    r.body = "{\"units\":2}";
    r.request_id = "req-42";
    r.headers = {{"content-type", "application/json"},
                 {"idempotency-key", "key-1"},
                 {"authorization", "Bearer t"},
                 {"connection", "close"},
                 {"host", "follower:1"},
                 {"content-length", "999"}};
    return r;
  }

  // Forwards `request` to `url` and waits for the answer.
  std::optional<Response> ForwardAndWait(const std::string& url, Request request) {
    auto answered = std::make_shared<std::promise<Response>>();
    std::future<Response> answer = answered->get_future();
    const Result<bool> sent = forwarder_->Forward(
        url, std::move(request), "node-b", [answered](Response r) { answered->set_value(r); });
    EXPECT_OK(sent);
    if (!sent.ok() || !*sent) return std::nullopt;
    if (answer.wait_for(10s) != std::future_status::ready) return std::nullopt;
    return answer.get();
  }

  Router router_;
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<Forwarder> forwarder_;
  std::string url_;
  std::vector<std::thread> slow_;
};

TEST_F(ForwarderTest, HandsBackTheOtherNodesAnswerAndSendsTheRequestOnWhole) {
  StartNode();
  StartForwarder();
  const std::optional<Response> answer = ForwardAndWait(url_, Write());
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 201);
  EXPECT_EQ(answer->content_type, "application/json");
  EXPECT_EQ(HeaderOf(*answer, "x-ledger-position"), "7");
  // The body, the forwarding node, the client's key and request id and the
  // query went on; Host names the other node, not the client's.
  EXPECT_EQ(answer->body,
            "{\"units\":2}|node-b|key-1|req-42|x=1|127.0.0.1:" + std::to_string(server_->port()));
  // The other node's own framing headers do not come back.
  EXPECT_EQ(HeaderOf(*answer, "content-length"), "");
  EXPECT_EQ(HeaderOf(*answer, "connection"), "");
  EXPECT_EQ(HeaderOf(*answer, "x-request-id"), "");
  EXPECT_EQ(forwarder_->in_flight(), 0u);
}

TEST_F(ForwarderTest, AKeptConnectionTheOtherNodeClosedIsNotUsed) {
  ServerLimits limits;
  limits.idle_timeout = 50ms;
  StartNode(limits);
  StartForwarder();
  for (int i = 0; i < 3; ++i) {
    const std::optional<Response> answer = ForwardAndWait(url_, Write());
    ASSERT_TRUE(answer.has_value());
    EXPECT_EQ(answer->status, 201) << answer->body;
    std::this_thread::sleep_for(200ms);  // the node closes the idle connection
  }
}

TEST_F(ForwarderTest, ANodeTooSlowIsCutOffAtTheDeadlineAndTheOutcomeCalledUnknown) {
  StartNode();
  ForwarderOptions options;
  options.timeout = 200ms;
  StartForwarder(options);
  const auto started = std::chrono::steady_clock::now();
  const std::optional<Response> answer = ForwardAndWait(url_, Write("/slow"));
  ASSERT_TRUE(answer.has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 900ms);
  EXPECT_EQ(answer->status, 503);
  EXPECT_EQ(HeaderOf(*answer, "retry-after"), "1");
  EXPECT_NE(answer->body.find("may or may not have been recorded"), std::string::npos)
      << answer->body;
}

TEST_F(ForwarderTest, ANodeThatIsGoneIsA503) {
  // A port nobody listens on.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  StartForwarder();
  const std::optional<Response> answer =
      ForwardAndWait("http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)), Write());
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 503);
  EXPECT_NE(answer->body.find("connecting"), std::string::npos) << answer->body;
}

TEST_F(ForwarderTest, RefusesPastItsBoundOfRequestsAtOnce) {
  StartNode();
  ForwarderOptions options;
  options.max_in_flight = 1;
  StartForwarder(options);
  std::promise<Response> first;
  const Result<bool> taken = forwarder_->Forward(
      url_, Write("/slow"), "b", [&](Response r) { first.set_value(std::move(r)); });
  ASSERT_OK(taken);
  ASSERT_TRUE(*taken);
  const Result<bool> second = forwarder_->Forward(url_, Write(), "b", [](Response) {
    ADD_FAILURE() << "a refused request must not be answered";
  });
  ASSERT_OK(second);
  EXPECT_FALSE(*second);
  EXPECT_EQ(first.get_future().get().status, 204);
}

TEST_F(ForwarderTest, AbandonedRequestsAreAnsweredAtOnce) {
  StartNode();
  StartForwarder();  // a 10 s deadline
  std::promise<Response> answered;
  const auto started = std::chrono::steady_clock::now();
  const Result<bool> taken = forwarder_->Forward(
      url_, Write("/slow"), "b", [&](Response r) { answered.set_value(std::move(r)); });
  ASSERT_OK(taken);
  ASSERT_TRUE(*taken);
  std::this_thread::sleep_for(100ms);  // the request is with the other node
  forwarder_->AbandonAll();
  const Response answer = answered.get_future().get();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 900ms);
  EXPECT_EQ(answer.status, 503);
  EXPECT_NE(answer.body.find("may or may not"), std::string::npos) << answer.body;
  EXPECT_EQ(forwarder_->in_flight(), 0u);
}

TEST(ParseBaseUrlTest, TakesHttpHostPortOnly) {
  const auto plain = ParseBaseUrl("http://10.0.0.2:8080");
  ASSERT_OK(plain);
  EXPECT_EQ(plain->first, "10.0.0.2");
  EXPECT_EQ(plain->second, "8080");
  const auto v6 = ParseBaseUrl("http://[::1]:9/");
  ASSERT_OK(v6);
  EXPECT_EQ(v6->first, "::1");
  for (const char* bad : {"https://a:1", "http://a", "http://a:0", "http://a:65536", "http://:80",
                          "http://a:80/path", "http://u@a:80", "ftp://a:1", "http://a:8x"}) {
    EXPECT_FALSE(ParseBaseUrl(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace ledger::http
