#include "api/ops_handlers.h"

#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "api/openapi.h"
#include "api_fixture.h"
#include "events/codec.h"

namespace ledger::api {
namespace {

using testing::ApiFixture;
using testing::HandlerFn;

class OpsHandlersTest : public ApiFixture {
 protected:
  http::Response Get(HandlerFn handler, std::string path) {
    return Call(handler, Req("GET", std::move(path)));
  }
};

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_F(OpsHandlersTest, HeadIsThePositionAndHashOfTheLog) {
  CreatePost();
  const http::Response r = Get(Head, "/api/ledger/head");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, events::EncodeHeadJson(log_->Head()));
  EXPECT_TRUE(Has(r.body, R"({"position":1,"hash":")")) << r.body;
}

TEST_F(OpsHandlersTest, HealthzIsAlwaysOk) {
  EXPECT_EQ(Get(Healthz, "/healthz").body, R"({"status":"ok"})");
}

TEST_F(OpsHandlersTest, ReadyOnceTheProjectorHasCaughtUp) {
  CreatePost();
  WaitProjected();
  const http::Response r = Get(Ready, "/readyz");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"status":"ready","log_position":1,"projector_position":1,"problems":[]})");
}

TEST_F(OpsHandlersTest, NotReadyNamesWhatIsWrong) {
  projector_->Stop();
  CreatePost();
  CreatePost();
  context_.ready_max_lag_events = 1;
  const http::Response r = Get(Ready, "/readyz");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_TRUE(Has(r.body, R"("status":"not_ready")")) << r.body;
  // Stopped before its first look at the database, or behind by both posts.
  EXPECT_TRUE(Has(r.body, "projector has not reached the database yet") ||
              Has(r.body, "projector is 2 events behind"))
      << r.body;
  EXPECT_EQ(ReadinessProblems(context_).size(), 1U);
}

TEST_F(OpsHandlersTest, NotReadyWhileTheLogsDiskIsFullAndReadsGoOn) {
  CreatePost();
  WaitProjected();
  disk_->Set(ledger::testing::DiskFull::kEverything);
  const commands::CommandResult refused = sequencer_->SubmitAndWait(
      commands::Submission{commands::FundPost{1, 1}, "bob", "req-fund", ""});
  EXPECT_EQ(refused.status, commands::CommandStatus::kUnavailable);

  const http::Response ready = Get(Ready, "/readyz");
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_TRUE(Has(ready.body, "the event log cannot be written: disk full")) << ready.body;
  EXPECT_EQ(Get(Head, "/api/ledger/head").status, 200);
  const http::Response metrics = Get(Metrics, "/metrics");
  EXPECT_TRUE(Has(metrics.body, "ledger_log_writable 0\n")) << metrics.body;
  EXPECT_TRUE(Has(metrics.body, R"(ledger_log_write_failures_total{cause="no_space"} 1)"))
      << metrics.body;

  // Space comes back: RocksDB recovers by itself, without a write.
  disk_->Set(ledger::testing::DiskFull::kNo);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(12);
  while (!log_->WriteHealth().ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(Get(Ready, "/readyz").status, 200);
  EXPECT_TRUE(Has(Get(Metrics, "/metrics").body, "ledger_log_writable 1\n"));
}

TEST_F(OpsHandlersTest, OpenApiServesTheCompiledDocument) {
  const http::Response r = Get(OpenApi, "/openapi.json");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, OpenApiDocument());
  EXPECT_TRUE(Has(r.body, R"("openapi")")) << r.body.substr(0, 200);
}

TEST_F(OpsHandlersTest, MetricsExposeTheRequestAndServiceFamilies) {
  CreatePost();
  metrics_.Observe("GET", "/healthz", 200, 0.001);
  const http::Response r = Get(Metrics, "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_TRUE(Has(r.body, R"(http_requests_total{method="GET",route="/healthz",status="200"} 1)"))
      << r.body;
  EXPECT_TRUE(Has(r.body, "ledger_log_head_position 1\n")) << r.body;
  EXPECT_TRUE(Has(r.body, "# TYPE process_cpu_seconds_total counter")) << r.body;
}

}  // namespace
}  // namespace ledger::api
