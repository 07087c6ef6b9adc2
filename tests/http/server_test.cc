#include "http/server.h"

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <rapidjson/document.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/metrics.h"
#include "http/raw_client.h"
#include "support/status_matchers.h"

namespace ledger::http {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using test_support::Client;
using test_support::RawResponse;

Response Text(std::string body, int status = 200) {
  Response r;
  r.status = status;
  r.content_type = "text/plain";
  r.body = std::move(body);
  return r;
}

Handler Answer(std::string body) {
  return [body = std::move(body)](const Request&, const Respond& respond) { respond(Text(body)); };
}

class HttpServerTest : public ::testing::Test {
 protected:
  HttpServerTest() { limits_.shutdown_grace = 2s; }

  void Start() {
    ServerOptions options;
    options.port = 0;
    options.limits = limits_;
    auto started = HttpServer::Start(std::move(options), std::move(router_), metrics_);
    ASSERT_OK(started);
    server_ = std::move(started).value();
  }

  uint16_t port() const { return server_->port(); }

  Router router_;
  ServerLimits limits_;
  HttpMetrics* metrics_ = nullptr;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, ServesTwoRequestsOnOneKeepAliveConnection) {
  router_.Add("GET", "/a", Answer("first"));
  router_.Add("GET", "/b", Answer("second"));
  Start();
  Client client(port());
  ASSERT_TRUE(client.Get("/a"));
  auto first = client.Read();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->body, "first");
  EXPECT_EQ(first->Header("content-type"), "text/plain");
  EXPECT_EQ(first->Header("content-length"), "5");
  EXPECT_EQ(first->Header("connection"), "");
  ASSERT_TRUE(client.Get("/b"));
  auto second = client.Read();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->body, "second");
}

TEST_F(HttpServerTest, AnswersPipelinedRequestsInOrder) {
  router_.Add("GET", "/a", Answer("first"));
  router_.Add("GET", "/b", Answer("second"));
  Start();
  Client client(port());
  ASSERT_TRUE(client.Send("GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET /b HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto first = client.Read();
  auto second = client.Read();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->body, "first");
  EXPECT_EQ(second->body, "second");
}

TEST_F(HttpServerTest, ClosesAfterAnsweringHttp10Request) {
  router_.Add("GET", "/a", Answer("old"));
  Start();
  Client client(port());
  ASSERT_TRUE(client.Send("GET /a HTTP/1.0\r\n\r\n"));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "old");
  EXPECT_TRUE(client.WaitClosed());
}

TEST_F(HttpServerTest, ClosesWhenClientAsksForClose) {
  router_.Add("GET", "/a", Answer("bye"));
  Start();
  Client client(port());
  ASSERT_TRUE(client.Get("/a", "Connection: close\r\n"));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->Header("connection"), "close");
  EXPECT_TRUE(client.WaitClosed());
}

TEST_F(HttpServerTest, ClosesWhenHandlerAsksForClose) {
  router_.Add("GET", "/a", [](const Request&, const Respond& respond) {
    Response r = Text("last");
    r.close = true;
    respond(std::move(r));
  });
  Start();
  Client client(port());
  ASSERT_TRUE(client.Get("/a"));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->Header("connection"), "close");
  EXPECT_TRUE(client.WaitClosed());
}

TEST_F(HttpServerTest, AnswersUnknownPathWithNotFoundProblem) {
  Start();
  Client client(port());
  ASSERT_TRUE(client.Get("/nope?x=1", "X-Request-Id: abc\r\n"));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 404);
  EXPECT_EQ(response->Header("content-type"), "application/problem+json");
  EXPECT_EQ(response->ProblemName(), "not_found");
  rapidjson::Document d;
  d.Parse(response->body.c_str());
  EXPECT_STREQ(d["instance"].GetString(), "/nope");
  EXPECT_STREQ(d["request_id"].GetString(), "abc");
}

TEST_F(HttpServerTest, AnswersOtherMethodWith405AndAllow) {
  router_.Add("GET", "/api/posts/{id}", Answer("post"));
  router_.Add("DELETE", "/api/posts/{id}", Answer("gone"));
  Start();
  Client client(port());
  ASSERT_TRUE(client.Send("PUT /api/posts/3 HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 405);
  EXPECT_EQ(response->ProblemName(), "method_not_allowed");
  EXPECT_EQ(response->Header("allow"), "DELETE, GET");
}

TEST_F(HttpServerTest, AnswersHeadWithLengthButNoBody) {
  router_.Add("GET", "/a", Answer("body"));
  Start();
  Client client(port());
  ASSERT_TRUE(client.Send("HEAD /a HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto head = client.Read(/*head=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 405);
  EXPECT_NE(head->Header("content-length"), "0");
  // Had a body been sent, it would be read here as the next status line.
  ASSERT_TRUE(client.Get("/a"));
  auto next = client.Read();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200);
  EXPECT_EQ(next->body, "body");
}

TEST_F(HttpServerTest, AnswersNoContentWithoutBodyOrLength) {
  router_.Add("DELETE", "/a", [](const Request&, const Respond& respond) {
    Response r;
    r.status = 204;
    r.body = "ignored";
    respond(std::move(r));
  });
  router_.Add("GET", "/a", Answer("after"));
  Start();
  Client client(port());
  ASSERT_TRUE(client.Send("DELETE /a HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto deleted = client.Read();
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted->status, 204);
  EXPECT_EQ(deleted->Header("content-length"), "");
  ASSERT_TRUE(client.Get("/a"));
  auto next = client.Read();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->body, "after");
}

TEST_F(HttpServerTest, PassesRequestPartsToHandler) {
  std::promise<Request> seen;
  router_.Add("POST", "/api/posts/{id}/fundings", [&seen](Request request, const Respond& respond) {
    seen.set_value(std::move(request));
    respond(Text("ok", 201));
  });
  Start();
  Client client(port());
  ASSERT_TRUE(
      client.Send("POST /api/posts/17/fundings?dry=1&x=%20 HTTP/1.1\r\nHost: t\r\n"
                  "Content-Type: application/json\r\nX-Custom-HEADER: Mixed Case\r\n"
                  "Content-Length: 13\r\n\r\n{\"units\": 2 }"));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 201);
  const Request request = seen.get_future().get();
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.path, "/api/posts/17/fundings");
  EXPECT_EQ(request.query, "dry=1&x=%20");
  EXPECT_EQ(request.route, "/api/posts/{id}/fundings");
  EXPECT_EQ(request.PathParam("id"), "17");
  EXPECT_EQ(request.Header("x-custom-header"), "Mixed Case");
  EXPECT_EQ(request.Header("content-type"), "application/json");
  EXPECT_EQ(request.Header("host"), "t");
  EXPECT_EQ(request.body, "{\"units\": 2 }");
}

TEST_F(HttpServerTest, EchoesSaneRequestId) {
  std::promise<std::string> seen;
  router_.Add("GET", "/a", [&seen](const Request& request, const Respond& respond) {
    seen.set_value(request.request_id);
    respond(Text("a"));
  });
  Start();
  Client client(port());
  const std::string id(128, 'r');
  ASSERT_TRUE(client.Get("/a", "X-Request-Id: " + id + "\r\n"));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->Header("x-request-id"), id);
  EXPECT_EQ(seen.get_future().get(), id);
}

TEST_F(HttpServerTest, GeneratesRequestIdWhenMissingOrInsane) {
  router_.Add("GET", "/a", Answer("a"));
  Start();
  Client client(port());
  for (const std::string& headers :
       {std::string(), "X-Request-Id: " + std::string(129, 'r') + "\r\n",
        std::string("X-Request-Id: has space\r\n"), std::string("X-Request-Id: caf\xc3\xa9\r\n")}) {
    ASSERT_TRUE(client.Get("/a", headers));
    auto response = client.Read();
    ASSERT_TRUE(response);
    const std::string id = response->Header("x-request-id");
    EXPECT_EQ(id.size(), 16U) << headers;
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  }
}

TEST_F(HttpServerTest, RejectsOversizedHeaderWith431AndCloses) {
  router_.Add("GET", "/a", Answer("a"));
  Start();
  Client client(port());
  ASSERT_TRUE(client.Get("/a", "X-Big: " + std::string(10 * 1024, 'b') + "\r\n"));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 431);
  EXPECT_EQ(response->ProblemName(), "header_fields_too_large");
  EXPECT_EQ(response->Header("connection"), "close");
  EXPECT_TRUE(client.WaitClosed());
}

std::string PostWithBody(size_t bytes) {
  return "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(bytes) + "\r\n\r\n" +
         std::string(bytes, 'x');
}

TEST_F(HttpServerTest, RejectsBodyOverTheLimitWith413AndCloses) {
  router_.Add("POST", "/echo", Answer("took it"));
  Start();
  Client client(port());
  ASSERT_TRUE(client.Send(PostWithBody(64 * 1024 + 1)));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 413);
  EXPECT_EQ(response->ProblemName(), "payload_too_large");
  EXPECT_TRUE(client.WaitClosed());
}

TEST_F(HttpServerTest, RejectsChunkedBodyOverTheLimitWith413) {
  router_.Add("POST", "/echo", Answer("took it"));
  limits_.body_limit_bytes = 10;
  Start();
  Client client(port());
  ASSERT_TRUE(
      client.Send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n"));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 413);
}

TEST_F(HttpServerTest, AcceptsBodyAtTheLimit) {
  std::promise<size_t> seen;
  router_.Add("POST", "/echo", [&seen](const Request& request, const Respond& respond) {
    seen.set_value(request.body.size());
    respond(Text("took it"));
  });
  Start();
  Client client(port());
  ASSERT_TRUE(client.Send(PostWithBody(64 * 1024)));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(seen.get_future().get(), 64U * 1024);
}

TEST_F(HttpServerTest, SendsContinueBeforeReadingAnExpectedBody) {
  std::promise<std::string> seen;
  router_.Add("POST", "/echo", [&seen](const Request& request, const Respond& respond) {
    seen.set_value(request.body);
    respond(Text("took it"));
  });
  Start();
  Client client(port());
  ASSERT_TRUE(client.Send(
      "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
  auto proceed = client.Read();
  ASSERT_TRUE(proceed);
  EXPECT_EQ(proceed->status, 100);
  ASSERT_TRUE(client.Send("hello"));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(seen.get_future().get(), "hello");
}

TEST_F(HttpServerTest, AnswersMalformedRequestWith400AndCloses) {
  Start();
  Client client(port());
  ASSERT_TRUE(client.Send("GET /a HTTP/1.1\r\nBad Header Without Colon\r\n\r\n"));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 400);
  EXPECT_EQ(response->ProblemName(), "invalid_parameter");
  EXPECT_TRUE(client.WaitClosed());
}

TEST_F(HttpServerTest, SurvivesGarbage) {
  router_.Add("GET", "/a", Answer("still here"));
  limits_.read_timeout = 300ms;
  Start();
  for (const std::string& garbage :
       {std::string("\r\n\r\n"), std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11),
        std::string(1, '\0') + "GET / HTTP/1.1\r\n\r\n", std::string("GET / HTTP/9.9\r\n\r\n"),
        std::string("POST /a HTTP/1.1\r\nContent-Length: -1\r\n\r\n"),
        std::string("POST /a HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
        std::string("POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")}) {
    Client client(port());
    client.Send(garbage);
    // An answer, if any, is an error problem; what matters is the next client.
    auto response = client.Read(false, 3s);
    if (response) {
      EXPECT_GE(response->status, 400) << garbage;
    }
  }
  Client client(port());
  ASSERT_TRUE(client.Get("/a"));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "still here");
}

TEST_F(HttpServerTest, AnswersConnectionsOverTheLimitWith503) {
  router_.Add("GET", "/a", Answer("a"));
  limits_.max_connections = 2;
  Start();
  Client first(port());
  Client second(port());
  // Served connections are counted once the server has accepted them; an
  // answer on each proves it has.
  for (Client* c : {&first, &second}) {
    ASSERT_TRUE(c->Get("/a"));
    auto response = c->Read();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
  }
  Client third(port());
  third.Get("/a");
  auto rejected = third.Read();
  ASSERT_TRUE(rejected);
  EXPECT_EQ(rejected->status, 503);
  EXPECT_EQ(rejected->ProblemName(), "too_many_connections");
  EXPECT_EQ(rejected->Header("retry-after"), "1");
  EXPECT_EQ(rejected->Header("connection"), "close");
  EXPECT_TRUE(third.WaitClosed());
}

TEST_F(HttpServerTest, ServesAgainWhenAConnectionUnderTheLimitCloses) {
  router_.Add("GET", "/a", Answer("a"));
  limits_.max_connections = 1;
  Start();
  {
    Client first(port());
    ASSERT_TRUE(first.Get("/a"));
    ASSERT_TRUE(first.Read());
  }
  // The server notices the close asynchronously; retry for a while.
  const Clock::time_point deadline = Clock::now() + 5s;
  int status = 0;
  while (Clock::now() < deadline) {
    Client next(port());
    next.Get("/a");
    auto response = next.Read();
    status = response ? response->status : 0;
    if (status == 200) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(status, 200);
}

TEST_F(HttpServerTest, AnswersSlowRequestWith408AndCloses) {
  router_.Add("GET", "/a", Answer("a"));
  limits_.read_timeout = 200ms;
  Start();
  Client client(port());
  const Clock::time_point start = Clock::now();
  ASSERT_TRUE(client.Send("GET /a HTTP/1.1\r\nHost: t\r\nX-Half: "));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_GE(Clock::now() - start, 150ms);
  EXPECT_EQ(response->status, 408);
  EXPECT_EQ(response->ProblemName(), "request_timeout");
  EXPECT_TRUE(client.WaitClosed());
}

TEST_F(HttpServerTest, ClosesIdleKeepAliveConnectionSilently) {
  router_.Add("GET", "/a", Answer("a"));
  limits_.idle_timeout = 200ms;
  Start();
  Client client(port());
  ASSERT_TRUE(client.Get("/a"));
  ASSERT_TRUE(client.Read());
  const Clock::time_point start = Clock::now();
  EXPECT_TRUE(client.WaitClosed(5s));
  EXPECT_GE(Clock::now() - start, 150ms);
}

TEST_F(HttpServerTest, ClosesASilentNewConnectionAtTheHeadTimeout) {
  limits_.head_timeout = 200ms;
  limits_.idle_timeout = 60s;  // not the one that applies to a new connection
  Start();
  Client silent(port());
  const Clock::time_point start = Clock::now();
  EXPECT_TRUE(silent.WaitClosed(5s));  // nothing written: no 408
  EXPECT_GE(Clock::now() - start, 150ms);
  EXPECT_EQ(server_->connection_counts().silent_closes, 1u);
  EXPECT_EQ(server_->connection_counts().head_timeouts, 0u);
}

TEST_F(HttpServerTest, AnswersAHeadSlowerThanTheHeadTimeoutWith408) {
  router_.Add("GET", "/a", Answer("a"));
  limits_.head_timeout = 300ms;
  limits_.read_timeout = 10s;
  Start();
  Client client(port());
  const Clock::time_point start = Clock::now();
  // A byte at a time, the way a slow-loris client keeps a connection.
  for (const char c : std::string("GET /a HTTP/1.1\r\nHost: t\r\n")) {
    if (!client.Send(std::string(1, c))) break;
    std::this_thread::sleep_for(20ms);
  }
  auto response = client.Read(false, 5s);
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 408);
  EXPECT_EQ(response->ProblemName(), "request_timeout");
  EXPECT_NE(response->body.find("request head did not arrive within 300 ms"), std::string::npos)
      << response->body;
  EXPECT_GE(Clock::now() - start, 250ms);
  EXPECT_LT(Clock::now() - start, 5s);
  EXPECT_TRUE(client.WaitClosed());
  EXPECT_EQ(server_->connection_counts().head_timeouts, 1u);
}

TEST_F(HttpServerTest, TimesALaterHeadFromItsFirstByteNotFromTheIdleWait) {
  router_.Add("GET", "/a", Answer("a"));
  limits_.head_timeout = 300ms;
  limits_.idle_timeout = 10s;
  Start();
  Client client(port());
  ASSERT_TRUE(client.Get("/a"));
  ASSERT_TRUE(client.Read());
  // Idle for longer than the head timeout: still open (idle_timeout rules).
  std::this_thread::sleep_for(600ms);
  ASSERT_TRUE(client.Get("/a"));
  auto second = client.Read();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 200);
  // Then a head started and never finished: 408 after head_timeout.
  ASSERT_TRUE(client.Send("GET /a HTTP/1.1\r\n"));
  auto slow = client.Read(false, 5s);
  ASSERT_TRUE(slow);
  EXPECT_EQ(slow->status, 408);
}

TEST_F(HttpServerTest, TurnsAwayConnectionsOverTheCapOfOneAddressOnly) {
  router_.Add("GET", "/a", Answer("a"));
  limits_.max_connections_per_address = 2;
  Start();
  auto first = std::make_unique<Client>(port(), "127.0.0.2");
  Client second(port(), "127.0.0.2");
  for (Client* c : {first.get(), &second}) {
    ASSERT_TRUE(c->Get("/a"));
    auto response = c->Read();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
  }
  Client third(port(), "127.0.0.2");
  third.Get("/a");
  auto turned_away = third.Read();
  ASSERT_TRUE(turned_away);
  EXPECT_EQ(turned_away->status, 503);
  EXPECT_EQ(turned_away->ProblemName(), "too_many_connections");
  EXPECT_NE(turned_away->body.find("your address"), std::string::npos) << turned_away->body;
  EXPECT_EQ(turned_away->Header("retry-after"), "1");
  EXPECT_TRUE(third.WaitClosed());
  EXPECT_EQ(server_->connection_counts().turned_away_address, 1u);

  // Another address is served all the while.
  Client other(port(), "127.0.0.3");
  ASSERT_TRUE(other.Get("/a"));
  auto served = other.Read();
  ASSERT_TRUE(served);
  EXPECT_EQ(served->status, 200);

  // When one of the address's connections closes, its slot comes back
  // (the server notices the close asynchronously).
  first.reset();
  const Clock::time_point deadline = Clock::now() + 5s;
  int status = 0;
  while (Clock::now() < deadline && status != 200) {
    Client again(port(), "127.0.0.2");
    again.Get("/a");
    auto response = again.Read();
    status = response ? response->status : 0;
    if (status != 200) std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(status, 200);
}

TEST_F(HttpServerTest, CapsNoAddressWhenThePerAddressCapIsZero) {
  router_.Add("GET", "/a", Answer("a"));
  limits_.max_connections_per_address = 0;
  Start();
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 20; ++i) {
    clients.push_back(std::make_unique<Client>(port(), "127.0.0.2"));
    ASSERT_TRUE(clients.back()->Get("/a"));
    auto response = clients.back()->Read();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
  }
  EXPECT_EQ(server_->connection_counts().open, 20u);
}

TEST_F(HttpServerTest, WaitsForHandlerThatAnswersFromAnotherThread) {
  std::thread worker;
  router_.Add("GET", "/slow/{n}", [&worker](Request request, Respond respond) {
    worker = std::thread([request = std::move(request), respond = std::move(respond)] {
      std::this_thread::sleep_for(100ms);
      respond(Text("late " + std::string(*request.PathParam("n"))));
    });
  });
  Start();
  Client client(port());
  ASSERT_TRUE(client.Get("/slow/7"));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "late 7");
  worker.join();
}

TEST_F(HttpServerTest, IgnoresSecondRespond) {
  router_.Add("GET", "/a", [](const Request&, const Respond& respond) {
    respond(Text("first"));
    respond(Text("second"));
  });
  Start();
  Client client(port());
  ASSERT_TRUE(client.Get("/a"));
  ASSERT_TRUE(client.Get("/a"));
  auto one = client.Read();
  auto two = client.Read();
  ASSERT_TRUE(one && two);
  EXPECT_EQ(one->body, "first");
  EXPECT_EQ(two->body, "first");
}

TEST_F(HttpServerTest, AnswersThrowingHandlerWith500AndKeepsServing) {
  router_.Add("GET", "/boom",
              [](const Request&, const Respond&) { throw std::runtime_error("handler bug"); });
  router_.Add("GET", "/a", Answer("fine"));
  Start();
  Client client(port());
  ASSERT_TRUE(client.Get("/boom"));
  auto failed = client.Read();
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->status, 500);
  EXPECT_EQ(failed->ProblemName(), "internal");
  ASSERT_TRUE(client.Get("/a"));
  auto next = client.Read();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->body, "fine");
}

TEST_F(HttpServerTest, ReplacesImpossibleStatusWith500) {
  router_.Add("GET", "/a", [](const Request&, const Respond& respond) { respond(Text("x", 42)); });
  Start();
  Client client(port());
  ASSERT_TRUE(client.Get("/a"));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 500);
}

TEST_F(HttpServerTest, DropsHandlerHeadersThatWouldSplitTheAnswer) {
  router_.Add("GET", "/a", [](const Request&, const Respond& respond) {
    Response r = Text("a");
    r.headers.emplace_back("X-Evil", "1\r\nSet-Cookie: x=y");
    r.headers.emplace_back("Content-Length", "999");
    r.headers.emplace_back("ETag", "\"3\"");
    respond(std::move(r));
  });
  Start();
  Client client(port());
  ASSERT_TRUE(client.Get("/a"));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->Header("x-evil"), "");
  EXPECT_EQ(response->Header("set-cookie"), "");
  EXPECT_EQ(response->Header("content-length"), "1");
  EXPECT_EQ(response->Header("etag"), "\"3\"");
}

// Holds a handler's Respond until the test answers with it.
struct Parked {
  std::mutex mu;
  Respond respond;
  std::promise<void> called;

  Handler Park() {
    return [this](const Request&, Respond r) {
      const std::lock_guard lock(mu);
      respond = std::move(r);
      called.set_value();
    };
  }
  void Answer(std::string body) {
    const std::lock_guard lock(mu);
    respond(Text(std::move(body)));
  }
};

TEST_F(HttpServerTest, StopAnswersPendingRequestWithinGrace) {
  Parked parked;
  router_.Add("GET", "/pending", parked.Park());
  limits_.shutdown_grace = 5s;
  Start();
  Client idle(port());
  ASSERT_TRUE(idle.Get("/pending-not-routed"));
  ASSERT_TRUE(idle.Read());
  Client client(port());
  ASSERT_TRUE(client.Get("/pending"));
  parked.called.get_future().wait();

  std::thread stopper([this] { server_->Stop(); });
  // The idle keep-alive connection is closed at once.
  EXPECT_TRUE(idle.WaitClosed(3s));
  parked.Answer("answered during stop");
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "answered during stop");
  EXPECT_EQ(response->Header("connection"), "close");
  stopper.join();
  EXPECT_TRUE(client.WaitClosed(1s));
  // No longer accepting.
  EXPECT_THROW(Client{port()}, std::runtime_error);
}

TEST_F(HttpServerTest, StopGivesUpOnHandlerAfterGraceAndLateRespondIsHarmless) {
  Parked parked;
  router_.Add("GET", "/pending", parked.Park());
  limits_.shutdown_grace = 200ms;
  Start();
  Client client(port());
  ASSERT_TRUE(client.Get("/pending"));
  parked.called.get_future().wait();

  const Clock::time_point start = Clock::now();
  server_->Stop();
  EXPECT_LT(Clock::now() - start, 3s);
  EXPECT_TRUE(client.WaitClosed(1s));
  server_->Stop();  // idempotent
  server_.reset();
  parked.Answer("too late");  // nothing left to answer to; must not crash
}

TEST_F(HttpServerTest, StopClosesConnectionMidRead) {
  router_.Add("GET", "/a", Answer("a"));
  Start();
  Client client(port());
  ASSERT_TRUE(client.Send("GET /a HTTP/1.1\r\nHost"));
  std::this_thread::sleep_for(50ms);
  const Clock::time_point start = Clock::now();
  server_->Stop();
  EXPECT_LT(Clock::now() - start, 1s);
  EXPECT_TRUE(client.WaitClosed(1s));
}

TEST_F(HttpServerTest, ExposesRequestMetricsWithRouteLabels) {
  HttpMetrics metrics;
  metrics_ = &metrics;
  router_.Add("GET", "/api/posts/{id}", Answer("post"));
  router_.Add("GET", "/metrics", [&metrics](const Request&, const Respond& respond) {
    Response r = Text(metrics.Expose());
    r.content_type = "text/plain; version=0.0.4";
    respond(std::move(r));
  });
  Start();
  Client client(port());
  ASSERT_TRUE(client.Get("/api/posts/1"));
  ASSERT_TRUE(client.Read());
  ASSERT_TRUE(client.Get("/api/posts/2"));
  ASSERT_TRUE(client.Read());
  ASSERT_TRUE(client.Get("/no/such/path"));
  ASSERT_TRUE(client.Read());
  ASSERT_TRUE(client.Get("/metrics"));
  auto response = client.Read();
  ASSERT_TRUE(response);
  const std::string& text = response->body;
  EXPECT_NE(
      text.find("http_requests_total{method=\"GET\",route=\"/api/posts/{id}\",status=\"200\"} 2"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("http_request_duration_seconds_count{method=\"GET\",route=\"/api/posts/"
                      "{id}\",status=\"200\"} 2"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("/api/posts/1"), std::string::npos) << "raw paths must not be labels";
  server_->Stop();
}

TEST_F(HttpServerTest, StartFailsWhenThePortIsTaken) {
  Start();
  ServerOptions options;
  options.port = port();
  auto second = HttpServer::Start(std::move(options), Router(), nullptr);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Status::Code::kIOError) << second.status().ToString();
}

TEST(HttpServerOptionsTest, RejectsUnusableOptions) {
  ServerOptions no_threads;
  no_threads.port = 0;
  no_threads.io_threads = 0;
  EXPECT_EQ(HttpServer::Start(no_threads, Router(), nullptr).status().code(),
            Status::Code::kInvalidArgument);
  ServerOptions no_connections;
  no_connections.port = 0;
  no_connections.limits.max_connections = 0;
  EXPECT_EQ(HttpServer::Start(no_connections, Router(), nullptr).status().code(),
            Status::Code::kInvalidArgument);
  ServerOptions bad_host;
  bad_host.port = 0;
  bad_host.host = "no such host.invalid";
  EXPECT_FALSE(HttpServer::Start(bad_host, Router(), nullptr).ok());
}

}  // namespace
}  // namespace ledger::http
