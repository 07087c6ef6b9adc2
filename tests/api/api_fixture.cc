#include "api_fixture.h"

#include <future>
#include <thread>

#include "api/jwt.h"
#include "common/time_format.h"
#include "support/status_matchers.h"

namespace ledger::api::testing {
namespace {

// 2026-11-21T03:00:00Z = 12:00 in Seoul.
Timestamp Noon() {
  return Timestamp(std::chrono::sys_days(*ParseDate("2026-11-21"))) + std::chrono::hours(3);
}

constexpr std::string_view kSecret = "handler-test-secret-handler-test";
constexpr std::chrono::seconds kAnswerWait{20};

}  // namespace

ApiFixture::ApiFixture() : clock_(Noon()), zone_(TimeZone::Load("Asia/Seoul").value()) {}

void ApiFixture::SetUp() {
  PgTest::SetUp();
  events::RocksLogOptions log_options;
  log_options.clock = &clock_;
  log_options.env = ledger::testing::NewDiskFullEnv(disk_);
  auto log = events::RocksEventLog::Open(dir_.Sub("log"), log_options);
  ASSERT_OK(log);
  log_ = std::move(log).value();
  pool_ = std::make_unique<projections::ConnectionPool>(
      projections::ConnectionPoolOptions{.conninfo = conninfo(), .max_connections = 2});
  queries_ = std::make_unique<projections::QueryService>(*pool_, zone_);
  StreamOptions stream_options;
  stream_options.max_streams = kFixtureMaxStreams;
  stream_options.poll = std::chrono::milliseconds(10);
  streams_ = std::make_unique<StreamHub>(log_.get(), queries_.get(), &clock_, stream_options);
  streams_->Start();
  waiter_ = std::make_unique<PositionWaiter>(
      [this] { return projector_ ? projector_->position() : int64_t{-1}; });
  projections::ProjectorOptions projector_options;
  projector_options.conninfo = conninfo();
  projector_options.poll_interval = std::chrono::milliseconds(10);
  projector_options.on_committed = [this](int64_t position) {
    waiter_->Notify(position);
    if (streams_) streams_->Projected(position);
  };
  projector_ = std::make_unique<projections::Projector>(log_.get(), projector_options);
  commands::SequencerOptions sequencer_options;
  sequencer_options.after_batch = [this] {
    projector_->Wake();
    if (streams_) streams_->LogAdvanced();
  };
  auto sequencer = commands::Sequencer::Start(log_.get(), &clock_, &zone_, sequencer_options);
  ASSERT_OK(sequencer);
  sequencer_ = std::move(sequencer).value();
  projector_->Start();
  workers_ = std::make_unique<http::WorkerPool>(2, 64, "query");
  answers_ = std::make_unique<http::WorkerPool>(1, 64, "answer");

  sequencers_.Set(sequencer_, {});
  context_.sequencers = &sequencers_;
  context_.log = log_.get();
  context_.queries = queries_.get();
  context_.projector = projector_.get();
  context_.clock = &clock_;
  context_.time_zone = &zone_;
  context_.jwt_secret = std::string(kSecret);
  context_.workers = workers_.get();
  context_.answers = answers_.get();
  context_.waiter = waiter_.get();
  context_.streams = streams_.get();
  context_.http_metrics = &metrics_;
  context_.read_wait = std::chrono::milliseconds(5'000);
}

void ApiFixture::TearDown() {
  if (streams_) streams_->Stop();
  if (sequencer_) sequencer_->Stop();
  if (answers_) answers_->Stop();
  if (workers_) workers_->Stop();
  if (projector_) projector_->Stop();
  waiter_.reset();
  streams_.reset();
  queries_.reset();
  pool_.reset();
  PgTest::TearDown();
}

http::Response ApiFixture::Call(HandlerFn handler, http::Request request) {
  auto answered = std::make_shared<std::promise<http::Response>>();
  std::future<http::Response> answer = answered->get_future();
  handler(context_, request, [answered](http::Response r) { answered->set_value(std::move(r)); });
  if (answer.wait_for(kAnswerWait) != std::future_status::ready) {
    ADD_FAILURE() << request.method << " " << request.path << " was not answered";
    return http::Response{};
  }
  return answer.get();
}

http::Request ApiFixture::Req(std::string method, std::string path, std::string body,
                              std::vector<std::pair<std::string, std::string>> headers,
                              std::optional<std::string> id, std::string query) {
  http::Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.query = std::move(query);
  r.body = std::move(body);
  r.headers = std::move(headers);
  r.request_id = "test-request";
  if (id) r.path_params.emplace_back("id", *id);
  return r;
}

std::string ApiFixture::Bearer(std::string_view sub) const {
  TokenClaims claims;
  claims.sub = std::string(sub);
  claims.issued_at = clock_.Now();
  claims.expires_at = clock_.Now() + std::chrono::hours(1);
  return "Bearer " + MintToken(kSecret, claims);
}

int64_t ApiFixture::CreatePost() {
  commands::PostDraft d;
  d.title = "내 취미 만들기";
  d.uploader = "Alice";
  d.description = "hobby kits";
  d.target_amount = 1'000'000;
  d.funding_unit = 1'000;
  d.end_date = *ParseDate("2026-12-31");
  const commands::CommandResult r = sequencer_->SubmitAndWait(
      commands::Submission{commands::CreatePosts{{d}, false}, "alice", "req-create", ""});
  EXPECT_EQ(r.status, commands::CommandStatus::kAccepted);
  return r.outcome.last_position;
}

int64_t ApiFixture::Fund(int64_t id, std::string backer) {
  const commands::CommandResult r = sequencer_->SubmitAndWait(
      commands::Submission{commands::FundPost{id, 1}, std::move(backer), "req-fund", ""});
  EXPECT_EQ(r.status, commands::CommandStatus::kAccepted);
  return r.outcome.last_position;
}

void ApiFixture::WaitProjected() {
  const int64_t head = log_->Head().position;
  const auto deadline = std::chrono::steady_clock::now() + kAnswerWait;
  while (projector_->position() < head && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_GE(projector_->position(), head) << "the projector did not catch up";
}

std::optional<std::string> ApiFixture::HeaderOf(const http::Response& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return std::nullopt;
}

}  // namespace ledger::api::testing
