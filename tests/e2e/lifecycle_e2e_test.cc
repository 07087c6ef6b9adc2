// End-to-end, a campaign's end: the real binary settles posts when its clock
// passes their deadline (while it runs, and at start-up after downtime, also
// after a kill -9 in the middle of a 10 000-backer settlement), refunds the
// backers of a failed all_or_nothing post, takes cancellations only before
// the deadline, and holds max_fundings_per_backer under concurrency. The
// server's wall clock is moved by libfaketime, never by a hook in the binary.
// Every answer is recorded for the OpenAPI check (e2e_support.h).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <latch>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <signal.h>
#include <sys/stat.h>

#include "common/clock.h"
#include "common/time_format.h"
#include "common/time_zone.h"
#include "e2e_support.h"
#include "http_client.h"
#include "server_process.h"
#include "support/temp_dir.h"
#include "tool_process.h"

namespace ledger::e2e {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

// The service's default time zone, in which end dates close.
constexpr char kZone[] = "Asia/Seoul";
// Long enough for a server whose clock runs up to days ahead of the test's.
constexpr seconds kTokenTtl = std::chrono::hours(24 * 30);
// How long the tests wait for what the service does by itself.
constexpr seconds kSettleWait{30};

const char* const kPostRoute = "/api/posts/{id}";
const char* const kFundRoute = "/api/posts/{id}/fundings";
const char* const kCancelRoute = "/api/posts/{id}/fundings/{position}";
const char* const kEventsRoute = "/api/posts/{id}/events";

struct PostSpec {
  std::string title = "campaign";
  int64_t target_amount = 1'000'000;
  int64_t funding_unit = 1'000;
  std::string end_date;
  std::string funding_model = "keep_it_all";
  std::optional<int64_t> max_fundings_per_backer;
};

PostSpec Spec(std::string title, int64_t target_amount, std::string funding_model = "keep_it_all") {
  PostSpec p;
  p.title = std::move(title);
  p.target_amount = target_amount;
  p.funding_model = std::move(funding_model);
  return p;
}

std::string PostBody(const PostSpec& p) {
  std::string body = "{\"title\":\"" + p.title + "\",\"uploader\":\"Uploader\"," +
                     "\"description\":\"about " + p.title +
                     "\",\"target_amount\":" + std::to_string(p.target_amount) +
                     ",\"funding_unit\":" + std::to_string(p.funding_unit) + ",\"end_date\":\"" +
                     p.end_date + "\",\"funding_model\":\"" + p.funding_model + "\"";
  if (p.max_fundings_per_backer) {
    body += ",\"max_fundings_per_backer\":" + std::to_string(*p.max_fundings_per_backer);
  }
  return body + "}";
}

std::pair<std::string, std::string> Bearer(const std::string& sub) {
  return {"Authorization", "Bearer " + Token(sub, kTokenTtl)};
}

std::string PostPath(int64_t id) { return "/api/posts/" + std::to_string(id); }

HttpRequest FundRequest(int64_t id, const std::string& backer, int64_t units) {
  HttpRequest request;
  request.method = "POST";
  request.target = PostPath(id) + "/fundings";
  request.body = "{\"units\":" + std::to_string(units) + "}";
  request.headers = {{"Content-Type", "application/json"}, Bearer(backer)};
  return request;
}

HttpRequest CancelRequest(int64_t id, const std::string& backer, int64_t position) {
  HttpRequest request;
  request.method = "DELETE";
  request.target = PostPath(id) + "/fundings/" + std::to_string(position);
  request.headers = {Bearer(backer)};
  return request;
}

int64_t PositionOf(const HttpResponse& r) {
  return std::stoll(r.Header("x-ledger-position").value_or("0"));
}

// Tomorrow in `zone`: an end date that a create accepts even when the
// service's day changes between now and its arrival.
CivilDate Tomorrow(const TimeZone& zone) {
  return CivilDate(std::chrono::sys_days(zone.LocalDate(SystemClock().Now())) +
                   std::chrono::days(1));
}

// One event of a post's stream, as GET /api/posts/{id}/events serves it.
struct LoggedEvent {
  int64_t position = 0;
  std::string type;
  std::string actor;
  Timestamp recorded_at;
  rapidjson::Document data;
};

std::vector<const LoggedEvent*> OfType(const std::vector<LoggedEvent>& events,
                                       const std::string& type) {
  std::vector<const LoggedEvent*> found;
  for (const LoggedEvent& e : events) {
    if (e.type == type) found.push_back(&e);
  }
  return found;
}

// Sends every request at once, each on its own connection opened before any
// is sent; the answers in order, recorded under `route` (nullopt: none).
std::vector<std::optional<HttpResponse>> Burst(uint16_t port,
                                               const std::vector<HttpRequest>& requests,
                                               const std::string& route) {
  std::vector<std::optional<HttpResponse>> answers(requests.size());
  std::latch connected(static_cast<std::ptrdiff_t>(requests.size()));
  std::vector<std::thread> threads;
  threads.reserve(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    threads.emplace_back([&, i] {
      Connection c(port);
      connected.arrive_and_wait();
      answers[i] = c.RoundTrip(requests[i]);
      if (answers[i]) Recorder::Get().Add(requests[i].method, route, *answers[i]);
    });
  }
  for (std::thread& t : threads) t.join();
  return answers;
}

// The log's head position in `data_dir`, read by `funding-ledger head`.
std::optional<int64_t> ToolHead(const std::string& data_dir) {
  const ToolResult head = RunTool(FUNDING_LEDGER_BINARY, {"head", "--data-dir", data_dir});
  EXPECT_EQ(head.exit_code, 0) << head.out << head.err;
  if (head.exit_code != 0) return std::nullopt;
  return Parse(head.out)["position"].GetInt64();
}

// Whether a postmaster of the embedded PostgreSQL in `data_dir` runs: a
// process whose command line names its cluster. (A killed server's
// PostgreSQL stops by itself, on its parent-death signal, but not at once;
// the next server cannot start it while it runs.)
bool PostgresRuns(const std::string& data_dir) {
  namespace fs = std::filesystem;
  const std::string cluster = data_dir + "/pg/cluster";
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    const auto digit = [](char c) { return c >= '0' && c <= '9'; };
    if (name.empty() || !std::all_of(name.begin(), name.end(), digit)) continue;
    std::ifstream in(entry.path() / "cmdline");
    std::stringstream cmdline;  // NUL-separated arguments
    cmdline << in.rdbuf();
    if (cmdline.str().find(cluster + '\0') != std::string::npos) return true;
  }
  return false;
}

bool AwaitPostgresGone(const std::string& data_dir, milliseconds limit) {
  const auto deadline = steady_clock::now() + limit;
  while (PostgresRuns(data_dir)) {
    if (steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return true;
}

// The server's wall clock, which the test moves. libfaketime (preloaded into
// funding-ledger alone, not into its PostgreSQL nor this test) re-reads its
// offset from a file at every clock call; Set replaces the file atomically.
// The monotonic clock, which the server's timers use, stays real.
class ServerClock {
 public:
  ServerClock(std::string libfaketime, std::string path)
      : libfaketime_(std::move(libfaketime)), path_(std::move(path)) {
    Write();
  }

  // The environment that puts funding-ledger on this clock.
  std::vector<std::string> Env() const {
    // Under AddressSanitizer the preloaded library precedes ASan's runtime,
    // which ASan accepts only when told not to check the order.
    const char* asan = std::getenv("ASAN_OPTIONS");
    std::string asan_options = asan != nullptr && *asan != '\0' ? std::string(asan) + ":" : "";
    asan_options += "verify_asan_link_order=0";
    return {"LD_PRELOAD=" + libfaketime_,
            "FAKETIME_TIMESTAMP_FILE=" + path_,
            "FAKETIME_NO_CACHE=1",
            "FAKETIME_DONT_FAKE_MONOTONIC=1",
            "FAKETIME_ONLY_CMDS=funding-ledger",
            "ASAN_OPTIONS=" + asan_options};
  }

  // From now on the server's clock reads `t`, less under a second (whole
  // seconds of offset, rounded so that it is never ahead of `t`). Never
  // moves it back.
  void Set(Timestamp t) {
    const auto ahead = std::chrono::floor<seconds>(t - SystemClock().Now());
    ASSERT_GE(ahead, offset_) << "the server's clock only moves forward";
    offset_ = ahead;
    Write();
  }
  // What the server's clock reads now.
  Timestamp Now() const { return SystemClock().Now() + offset_; }
  // The test's (real) time at which the server's clock reads `t`.
  std::chrono::system_clock::time_point RealTimeOf(Timestamp t) const {
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            (t - offset_).time_since_epoch()));
  }

 private:
  void Write() {
    const std::string tmp = path_ + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << "+" << offset_.count() << "\n";
      ASSERT_TRUE(out.good()) << "writing " << tmp;
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path_, ec);
    ASSERT_FALSE(ec) << "renaming " << tmp << ": " << ec.message();
  }

  std::string libfaketime_;
  std::string path_;
  seconds offset_{0};
};

class CampaignLifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The embedded PostgreSQL runs as the postgres user and must reach it.
    chmod(dir_.path().c_str(), 0711);
    auto zone = TimeZone::Load(kZone);
    ASSERT_TRUE(zone.ok()) << zone.status().ToString();
    zone_.emplace(std::move(zone).value());
    const std::optional<std::string> libfaketime = FindLibFaketime();
    if (!libfaketime) {
      GTEST_SKIP() << "libfaketime is not installed (Debian package faketime; `ops/dev deps` "
                      "installs it): cannot move the server's clock past a deadline";
    }
    clock_ = std::make_unique<ServerClock>(*libfaketime, dir_.Sub("faketime"));
    data_ = dir_.Sub("data");
  }
  void TearDown() override {
    if (server_ != nullptr && server_->pid() > 0) {
      EXPECT_EQ(server_->Stop(), 0) << server_->Log();
    }
    server_.reset();
  }

  // The data directory the server runs on (and the tools read).
  const std::string& data() const { return data_; }
  std::vector<std::string> ServeFlags() const {
    return {"--jwt-secret", kSecret, "--time-zone", kZone};
  }
  // (Re)starts the server on this test's data directory, on clock_.
  bool StartServer() {
    server_ =
        std::make_unique<ServerProcess>(FUNDING_LEDGER_BINARY, data(), ServeFlags(), clock_->Env());
    return server_->ok();
  }
  void StopServer() {
    ASSERT_EQ(server_->Stop(), 0) << server_->Log();
    server_.reset();
  }
  std::string Log() const { return server_ != nullptr ? server_->Log() : ""; }

  HttpResponse Call(const std::string& method, const std::string& target, const std::string& route,
                    const std::string& body = "", Headers headers = {}) {
    return e2e::Call(*server_, method, target, route, body, std::move(headers));
  }

  // Creates a post as alice; its id, and the deadline its PostCreated
  // recorded (which must be the end of its end date in the service zone).
  std::pair<int64_t, Timestamp> Create(PostSpec spec) {
    if (spec.end_date.empty()) spec.end_date = FormatDate(Tomorrow(*zone_));
    const HttpResponse r =
        Call("POST", "/api/posts", "/api/posts", PostBody(spec), {Bearer("alice")});
    EXPECT_EQ(r.status, 201) << r.body;
    if (r.status != 201) return {0, Timestamp()};
    const int64_t id = Parse(r.body)["id"].GetInt64();
    const std::vector<LoggedEvent> events = Events(id);
    EXPECT_EQ(events.size(), 1U);
    if (events.size() != 1) return {0, Timestamp()};
    const std::optional<Timestamp> closes_at =
        ParseTimestamp(events[0].data["closes_at"].GetString());
    EXPECT_EQ(closes_at, zone_->ClosesAt(*ParseDate(spec.end_date)));
    return {id, closes_at.value_or(Timestamp())};
  }
  // A funding that must be accepted; its position.
  int64_t Fund(int64_t id, const std::string& backer, int64_t units) {
    const HttpResponse r = Call("POST", PostPath(id) + "/fundings", kFundRoute,
                                "{\"units\":" + std::to_string(units) + "}", {Bearer(backer)});
    EXPECT_EQ(r.status, 201) << r.body;
    return PositionOf(r);
  }
  HttpResponse Cancel(int64_t id, const std::string& backer, int64_t position) {
    return Call("DELETE", PostPath(id) + "/fundings/" + std::to_string(position), kCancelRoute, "",
                {Bearer(backer)});
  }
  // The detail once the read side holds `position`.
  rapidjson::Document Detail(int64_t id, int64_t position) {
    const HttpResponse r =
        Call("GET", PostPath(id), kPostRoute, "", {{"X-Min-Position", std::to_string(position)}});
    EXPECT_EQ(r.status, 200) << r.body;
    return Parse(r.status == 200 ? r.body : "{}");
  }

  // Every event of post `id`, paging through its feed.
  std::vector<LoggedEvent> Events(int64_t id) {
    std::vector<LoggedEvent> events;
    int64_t after = 0;
    for (int page = 0; page < 100; ++page) {  // up to 100 000 events
      const HttpResponse r = Call(
          "GET", PostPath(id) + "/events?limit=1000&after=" + std::to_string(after), kEventsRoute);
      EXPECT_EQ(r.status, 200) << r.body;
      if (r.status != 200) break;
      const rapidjson::Document d = Parse(r.body);
      for (const auto& item : d["items"].GetArray()) {
        LoggedEvent e;
        e.position = item["position"].GetInt64();
        e.type = item["type"].GetString();
        e.actor = item["actor"].GetString();
        const std::optional<Timestamp> at = ParseTimestamp(item["recorded_at"].GetString());
        EXPECT_TRUE(at.has_value()) << item["recorded_at"].GetString();
        e.recorded_at = at.value_or(Timestamp());
        e.data.CopyFrom(item["data"], e.data.GetAllocator());
        events.push_back(std::move(e));
      }
      if (d["next_after"].IsNull()) break;
      after = d["next_after"].GetInt64();
    }
    return events;
  }
  // Post `id`'s events once they hold its PostSettled (polled for at most
  // kSettleWait; without one the last read).
  std::vector<LoggedEvent> AwaitSettled(int64_t id) {
    const auto deadline = steady_clock::now() + kSettleWait;
    while (true) {
      std::vector<LoggedEvent> events = Events(id);
      if (!OfType(events, "PostSettled").empty() || steady_clock::now() >= deadline) return events;
      std::this_thread::sleep_for(milliseconds(50));
    }
  }
  // Polls /readyz (at most `limit`) until it answers 200.
  int AwaitReady(milliseconds limit) {
    const auto deadline = steady_clock::now() + limit;
    while (true) {
      const int got = Call("GET", "/readyz", "/readyz").status;
      if (got == 200 || steady_clock::now() >= deadline) return got;
      std::this_thread::sleep_for(milliseconds(20));
    }
  }
  // `funding-ledger verify` beside the running server, once the read side
  // holds `position`, finds the log and the read tables in agreement.
  void ExpectVerifyClean(int64_t position) {
    const HttpResponse read = Call("GET", "/api/posts?limit=1", "/api/posts", "",
                                   {{"X-Min-Position", std::to_string(position)}});
    ASSERT_EQ(read.status, 200) << read.body;
    const ToolResult verify = RunTool(FUNDING_LEDGER_BINARY, {"verify", "--data-dir", data()});
    EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
    EXPECT_NE(verify.out.find("match the log"), std::string::npos) << verify.out;
  }

  ledger::testing::TempDir dir_;
  std::string data_;
  std::optional<TimeZone> zone_;
  std::unique_ptr<ServerClock> clock_;
  std::unique_ptr<ServerProcess> server_;
};

// ---- settlement while the service runs ---------------------------------------

TEST_F(CampaignLifecycleTest, SettlesAKeepItAllPostThatReachedItsTargetAtItsDeadline) {
  ASSERT_TRUE(StartServer()) << Log();
  const auto [id, closes_at] = Create(Spec("kept", 3'000));
  ASSERT_NE(id, 0);
  const int64_t bob = Fund(id, "bob", 2);
  const int64_t carol = Fund(id, "carol", 2);
  EXPECT_STREQ(Detail(id, carol)["status"].GetString(), "funding");

  clock_->Set(closes_at - seconds(2));
  const std::vector<LoggedEvent> events = AwaitSettled(id);
  const std::vector<const LoggedEvent*> settled = OfType(events, "PostSettled");
  ASSERT_EQ(settled.size(), 1U) << Log();
  const LoggedEvent& s = *settled[0];
  EXPECT_EQ(s.actor, "system");
  EXPECT_STREQ(s.data["outcome"].GetString(), "successful");
  EXPECT_EQ(s.data["total_funded"].GetInt64(), 4'000);
  EXPECT_EQ(s.data["participant_count"].GetInt64(), 2);
  EXPECT_EQ(s.data["refunded_amount"].GetInt64(), 0);
  EXPECT_EQ(s.data["refunded_backers"].GetInt64(), 0);
  // At the deadline, not before, and within the second the product allows.
  EXPECT_GE(s.recorded_at, closes_at) << FormatTimestamp(s.recorded_at);
  EXPECT_LE(s.recorded_at - closes_at, seconds(1)) << FormatTimestamp(s.recorded_at);
  EXPECT_TRUE(OfType(events, "FundingRefunded").empty());
  EXPECT_EQ(events.back().position, s.position);

  const rapidjson::Document detail = Detail(id, s.position);
  EXPECT_STREQ(detail["status"].GetString(), "successful");
  EXPECT_EQ(detail["total_funded"].GetInt64(), 4'000);
  EXPECT_EQ(detail["participant_count"].GetInt64(), 2);

  // A settled post takes no funding, cancellation (funding closed with the
  // deadline) or delete, and nothing of them reaches the log.
  const HttpResponse fund =
      Call("POST", PostPath(id) + "/fundings", kFundRoute, "{\"units\":1}", {Bearer("dave")});
  EXPECT_EQ(fund.status, 409) << fund.body;
  EXPECT_EQ(ProblemName(fund), "post_settled") << fund.body;
  const HttpResponse cancel = Cancel(id, "bob", bob);
  EXPECT_EQ(cancel.status, 409) << cancel.body;
  EXPECT_EQ(ProblemName(cancel), "funding_closed") << cancel.body;
  const HttpResponse del = Call("DELETE", PostPath(id), kPostRoute, "", {Bearer("alice")});
  EXPECT_EQ(del.status, 409) << del.body;
  EXPECT_EQ(ProblemName(del), "post_settled") << del.body;
  EXPECT_EQ(Events(id).size(), events.size());

  // Its texts may still change, and that leaves it settled.
  const HttpResponse edit =
      Call("PATCH", PostPath(id), kPostRoute, "{\"title\":\"kept, thanks\"}", {Bearer("alice")});
  ASSERT_EQ(edit.status, 200) << edit.body;
  const rapidjson::Document edited = Detail(id, PositionOf(edit));
  EXPECT_STREQ(edited["title"].GetString(), "kept, thanks");
  EXPECT_STREQ(edited["status"].GetString(), "successful");
  EXPECT_EQ(OfType(Events(id), "PostSettled").size(), 1U);
}

TEST_F(CampaignLifecycleTest, RefundsEveryLiveBackerOfAFailedAllOrNothingPostInTheSettlingAppend) {
  ASSERT_TRUE(StartServer()) << Log();
  const auto [id, closes_at] = Create(Spec("all or nothing", 10'000, "all_or_nothing"));
  ASSERT_NE(id, 0);
  const int64_t bob_first = Fund(id, "bob", 2);
  Fund(id, "carol", 1);
  Fund(id, "bob", 1);
  // dave takes his funding back: he is owed nothing at the settlement.
  const int64_t dave = Fund(id, "dave", 3);
  const HttpResponse cancelled = Cancel(id, "dave", dave);
  ASSERT_EQ(cancelled.status, 204) << cancelled.body;
  const rapidjson::Document before = Detail(id, PositionOf(cancelled));
  EXPECT_EQ(before["total_funded"].GetInt64(), 4'000);
  EXPECT_EQ(before["participant_count"].GetInt64(), 2);

  clock_->Set(closes_at - seconds(2));
  const std::vector<LoggedEvent> events = AwaitSettled(id);
  const std::vector<const LoggedEvent*> settled = OfType(events, "PostSettled");
  ASSERT_EQ(settled.size(), 1U) << Log();
  const LoggedEvent& s = *settled[0];
  EXPECT_EQ(s.actor, "system");
  EXPECT_STREQ(s.data["outcome"].GetString(), "failed");
  EXPECT_EQ(s.data["total_funded"].GetInt64(), 4'000);
  EXPECT_EQ(s.data["participant_count"].GetInt64(), 2);
  EXPECT_EQ(s.data["refunded_amount"].GetInt64(), 4'000);
  EXPECT_EQ(s.data["refunded_backers"].GetInt64(), 2);
  EXPECT_GE(s.recorded_at, closes_at) << FormatTimestamp(s.recorded_at);

  // One refund per live backer of their live total, right before the
  // PostSettled: one append (consecutive positions, one recorded_at).
  const std::vector<const LoggedEvent*> refunds = OfType(events, "FundingRefunded");
  ASSERT_EQ(refunds.size(), 2U);
  std::map<std::string, std::pair<int64_t, int64_t>> refunded;  // backer: units, amount
  for (size_t i = 0; i < refunds.size(); ++i) {
    const LoggedEvent& r = *refunds[i];
    EXPECT_EQ(r.position, s.position - static_cast<int64_t>(refunds.size() - i));
    EXPECT_EQ(r.recorded_at, s.recorded_at);
    EXPECT_EQ(r.actor, "system");
    refunded[r.data["backer"].GetString()] = {r.data["units"].GetInt64(),
                                              r.data["amount"].GetInt64()};
  }
  EXPECT_EQ(refunded, (std::map<std::string, std::pair<int64_t, int64_t>>{{"bob", {3, 3'000}},
                                                                          {"carol", {1, 1'000}}}));
  EXPECT_EQ(events.back().position, s.position);

  const rapidjson::Document after = Detail(id, s.position);
  EXPECT_STREQ(after["status"].GetString(), "failed");
  EXPECT_EQ(after["total_funded"].GetInt64(), 0);

  // A refunded funding is closed to its backer, and still not anyone else's.
  const HttpResponse refunded_cancel = Cancel(id, "bob", bob_first);
  EXPECT_EQ(refunded_cancel.status, 409) << refunded_cancel.body;
  EXPECT_EQ(ProblemName(refunded_cancel), "funding_closed") << refunded_cancel.body;
  EXPECT_EQ(Cancel(id, "carol", bob_first).status, 403);
  // bob's own history says what became of each of his fundings.
  const HttpResponse mine = Call("GET", "/api/me/fundings", "/api/me/fundings", "",
                                 {Bearer("bob"), {"X-Min-Position", std::to_string(s.position)}});
  ASSERT_EQ(mine.status, 200) << mine.body;
  rapidjson::Document fundings;
  fundings.Parse(mine.body.c_str());
  ASSERT_TRUE(fundings.IsObject()) << mine.body;
  ASSERT_EQ(fundings["items"].Size(), 2U) << mine.body;
  for (const auto& f : fundings["items"].GetArray()) {
    EXPECT_EQ(f["post_id"].GetInt64(), id);
    EXPECT_STREQ(f["state"].GetString(), "refunded") << mine.body;
  }
  // The owner sees no backer left.
  const HttpResponse backers =
      Call("GET", PostPath(id) + "/backers", "/api/posts/{id}/backers", "", {Bearer("alice")});
  ASSERT_EQ(backers.status, 200) << backers.body;
  EXPECT_EQ(backers.body, R"({"items":[],"next_cursor":null})");
  ExpectVerifyClean(s.position);
}

// ---- settlement at start-up ----------------------------------------------------

TEST_F(CampaignLifecycleTest, SettlesPostsWhoseDeadlinePassedWhileDownBeforeTurningReady) {
  ASSERT_TRUE(StartServer()) << Log();
  const auto [reached, closes_at] = Create(Spec("reached", 2'000));
  const auto [missed, missed_closes_at] = Create(Spec("missed", 10'000, "all_or_nothing"));
  const CivilDate week_later =
      CivilDate(std::chrono::sys_days(Tomorrow(*zone_)) + std::chrono::days(7));
  PostSpec later_spec = Spec("later", 1'000'000);
  later_spec.end_date = FormatDate(week_later);
  const auto [later, later_closes_at] = Create(later_spec);
  ASSERT_NE(reached, 0);
  ASSERT_NE(missed, 0);
  ASSERT_NE(later, 0);
  ASSERT_EQ(closes_at, missed_closes_at);
  ASSERT_GT(later_closes_at, closes_at);
  Fund(reached, "bob", 2);
  Fund(missed, "bob", 1);
  Fund(missed, "carol", 2);
  const int64_t last = Fund(later, "bob", 1);
  ASSERT_NE(last, 0);
  StopServer();

  // Down across the deadline of the first two posts.
  clock_->Set(closes_at + seconds(30));
  ASSERT_TRUE(StartServer()) << Log();
  ASSERT_EQ(AwaitReady(milliseconds(30'000)), 200) << Log();
  const Timestamp ready_at = clock_->Now();
  const std::vector<LoggedEvent> reached_events = Events(reached);
  const std::vector<LoggedEvent> missed_events = Events(missed);

  const std::vector<const LoggedEvent*> reached_settled = OfType(reached_events, "PostSettled");
  ASSERT_EQ(reached_settled.size(), 1U) << "not settled when ready\n" << Log();
  EXPECT_STREQ(reached_settled[0]->data["outcome"].GetString(), "successful");
  EXPECT_EQ(reached_settled[0]->data["total_funded"].GetInt64(), 2'000);
  EXPECT_EQ(reached_settled[0]->actor, "system");
  const std::vector<const LoggedEvent*> missed_settled = OfType(missed_events, "PostSettled");
  ASSERT_EQ(missed_settled.size(), 1U) << "not settled when ready\n" << Log();
  EXPECT_STREQ(missed_settled[0]->data["outcome"].GetString(), "failed");
  EXPECT_EQ(missed_settled[0]->data["refunded_amount"].GetInt64(), 3'000);
  EXPECT_EQ(missed_settled[0]->data["refunded_backers"].GetInt64(), 2);
  EXPECT_EQ(OfType(missed_events, "FundingRefunded").size(), 2U);
  for (const LoggedEvent* s : {reached_settled[0], missed_settled[0]}) {
    EXPECT_GE(s->recorded_at, closes_at) << FormatTimestamp(s->recorded_at);
    EXPECT_LE(s->recorded_at, ready_at) << FormatTimestamp(s->recorded_at);
    EXPECT_GT(s->position, last);
  }
  EXPECT_TRUE(OfType(Events(later), "PostSettled").empty());

  const int64_t head = std::max(reached_settled[0]->position, missed_settled[0]->position);
  EXPECT_STREQ(Detail(reached, head)["status"].GetString(), "successful");
  const rapidjson::Document missed_detail = Detail(missed, head);
  EXPECT_STREQ(missed_detail["status"].GetString(), "failed");
  EXPECT_EQ(missed_detail["total_funded"].GetInt64(), 0);
  EXPECT_STREQ(Detail(later, head)["status"].GetString(), "funding");

  // Exactly once: another restart settles nothing again.
  StopServer();
  ASSERT_TRUE(StartServer()) << Log();
  ASSERT_EQ(AwaitReady(milliseconds(30'000)), 200) << Log();
  EXPECT_EQ(Events(reached).size(), reached_events.size());
  EXPECT_EQ(Events(missed).size(), missed_events.size());
  EXPECT_TRUE(OfType(Events(later), "PostSettled").empty());
  ExpectVerifyClean(head);
}

// ---- a kill -9 during the settlement of 10 000 backers ----------------------------

class TenThousandBackersTest : public CampaignLifecycleTest {
 protected:
  static constexpr int kBackers = 10'000;
  static constexpr int64_t kUnit = 1'000;
  // The search for the moment of the settlement's append stops when a kill
  // before it and a kill after it are this close, or after kMaxKills kills.
  static constexpr milliseconds kKillWindow{50};
  static constexpr int kMaxKills = 8;

  // kBackers distinct backers fund post `id` once each, over kept-alive
  // connections.
  void FundByDistinctBackers(int64_t id) {
    constexpr int kConnections = 8;
    std::atomic<int> next{0};
    std::atomic<int> accepted{0};
    std::vector<std::thread> threads;
    threads.reserve(kConnections);
    for (int t = 0; t < kConnections; ++t) {
      threads.emplace_back([&] {
        Connection connection(server_->port());
        for (int i = next++; i < kBackers; i = next++) {
          const std::optional<HttpResponse> r =
              connection.RoundTrip(FundRequest(id, "backer-" + std::to_string(i), 1));
          ASSERT_TRUE(r.has_value()) << "no answer to funding " << i;
          Recorder::Get().Add("POST", kFundRoute, *r);
          ASSERT_EQ(r->status, 201) << r->body;
          ++accepted;
        }
      });
    }
    for (std::thread& t : threads) t.join();
    ASSERT_EQ(accepted.load(), kBackers);
  }

  // Starts the server on `data_dir` (on clock_, without waiting for it to
  // serve), SIGKILLs it `delay` later and waits until it and its PostgreSQL
  // are gone. The log's head then, or nullopt (a failure) when the kill
  // found no running server.
  std::optional<int64_t> KillAfter(const std::string& data_dir, milliseconds delay) {
    std::vector<std::string> args = clock_->Env();  // `env` execs the server: same process
    for (const std::string& a :
         {std::string(FUNDING_LEDGER_BINARY), std::string("serve"), std::string("--listen"),
          std::string("127.0.0.1:0"), std::string("--data-dir"), data_dir}) {
      args.push_back(a);
    }
    for (const std::string& a : ServeFlags()) args.push_back(a);
    ToolProcess server("/usr/bin/env", args);
    EXPECT_TRUE(server.ok());
    if (!server.ok()) return std::nullopt;
    std::this_thread::sleep_for(delay);
    server.Signal(SIGKILL);
    const std::optional<int> exit_code = server.Wait(seconds(10));
    EXPECT_EQ(exit_code, 128 + SIGKILL) << "not running when killed:\n" << server.Err();
    if (exit_code != 128 + SIGKILL) return std::nullopt;
    EXPECT_TRUE(AwaitPostgresGone(data_dir, seconds(30))) << "its PostgreSQL still runs";
    return ToolHead(data_dir);
  }

  // Restarts on `data_dir`, after a kill: post `id` is settled once, as a
  // failure refunding every backer in the append that ends at
  // `settled_head`, and verify finds the read side in agreement.
  void ExpectSettledOnce(const std::string& data_dir, int64_t id, int64_t settled_head) {
    data_ = data_dir;
    ASSERT_TRUE(StartServer()) << Log();
    ASSERT_EQ(AwaitReady(milliseconds(60'000)), 200) << Log();
    const std::vector<LoggedEvent> events = Events(id);
    const std::vector<const LoggedEvent*> settled = OfType(events, "PostSettled");
    ASSERT_EQ(settled.size(), 1U);
    const LoggedEvent& s = *settled[0];
    EXPECT_EQ(s.position, settled_head);
    EXPECT_EQ(s.actor, "system");
    EXPECT_STREQ(s.data["outcome"].GetString(), "failed");
    EXPECT_EQ(s.data["total_funded"].GetInt64(), kBackers * kUnit);
    EXPECT_EQ(s.data["participant_count"].GetInt64(), kBackers);
    EXPECT_EQ(s.data["refunded_amount"].GetInt64(), kBackers * kUnit);
    EXPECT_EQ(s.data["refunded_backers"].GetInt64(), kBackers);
    const std::vector<const LoggedEvent*> refunds = OfType(events, "FundingRefunded");
    ASSERT_EQ(refunds.size(), static_cast<size_t>(kBackers));
    std::set<std::string> refunded;
    for (size_t i = 0; i < refunds.size(); ++i) {
      EXPECT_EQ(refunds[i]->position, s.position - kBackers + static_cast<int64_t>(i));
      EXPECT_EQ(refunds[i]->data["amount"].GetInt64(), kUnit);
      refunded.insert(refunds[i]->data["backer"].GetString());
    }
    EXPECT_EQ(refunded.size(), static_cast<size_t>(kBackers));
    EXPECT_EQ(events.size(), static_cast<size_t>(2 + 2 * kBackers));  // created, funded, refunds
    const rapidjson::Document detail = Detail(id, s.position);
    EXPECT_STREQ(detail["status"].GetString(), "failed");
    EXPECT_EQ(detail["total_funded"].GetInt64(), 0);
    ExpectVerifyClean(s.position);
    StopServer();
  }
};

TEST_F(TenThousandBackersTest, SettlesExactlyOnceAfterAKillDuringTheSettlement) {
  ASSERT_TRUE(StartServer()) << Log();
  const auto [id, closes_at] = Create(Spec("crowded", 1'000'000'000, "all_or_nothing"));
  ASSERT_NE(id, 0);
  const auto funding_started = steady_clock::now();
  FundByDistinctBackers(id);
  const auto funding_ms =
      std::chrono::duration_cast<milliseconds>(steady_clock::now() - funding_started).count();
  StopServer();
  const std::string funded = data();
  const std::optional<int64_t> funded_head = ToolHead(funded);
  ASSERT_TRUE(funded_head.has_value());
  const int64_t settled_head = *funded_head + kBackers + 1;  // the refunds, the PostSettled

  // Down across the deadline; each start settles while starting, before it
  // serves. Each kill hits a fresh copy of the funded data, at a delay after
  // the start bisected towards the moment of the settlement's append, which
  // is there whole or not at all.
  clock_->Set(closes_at + seconds(60));
  std::string killed_before;  // the copy killed latest before the append
  std::string killed_after;   // the copy killed earliest after it
  milliseconds before{-1};
  milliseconds after{-1};
  milliseconds delay{500};
  std::string timeline;
  for (int kill = 0; kill < kMaxKills; ++kill) {
    const std::string copy = dir_.Sub("kill-" + std::to_string(kill));
    const ToolResult copied = RunTool("/bin/cp", {"-a", funded, copy});
    ASSERT_EQ(copied.exit_code, 0) << copied.err;
    const std::optional<int64_t> head = KillAfter(copy, delay);
    ASSERT_TRUE(head.has_value());
    ASSERT_TRUE(*head == *funded_head || *head == settled_head)
        << "the log holds part of the settlement: head " << *head << ", funded at " << *funded_head
        << ", settled at " << settled_head;
    const bool appended = *head == settled_head;
    timeline += " " + std::to_string(delay.count()) + (appended ? "ms:after" : "ms:before");
    std::string& kept = appended ? killed_after : killed_before;
    if (!kept.empty()) std::filesystem::remove_all(kept);
    kept = copy;
    (appended ? after : before) = delay;
    if (before.count() >= 0 && after.count() >= 0 && after - before <= kKillWindow) break;
    if (after.count() < 0) {
      delay *= 2;
    } else if (before.count() < 0) {
      delay /= 2;
    } else {
      delay = (before + after) / 2;
    }
  }
  std::cout << "[          ] " << kBackers << " fundings in " << funding_ms
            << " ms; kills after start:" << timeline << "\n";
  ASSERT_GE(before.count(), 0) << "no kill came before the settlement's append";
  ASSERT_GE(after.count(), 0) << "no kill came after the settlement's append";
  EXPECT_LE(after - before, kKillWindow * 16) << timeline;

  // Killed before the append: the restart settles. Killed after it: the
  // restart does not settle again, and the read side catches up with what
  // the projector had not written by the kill.
  ExpectSettledOnce(killed_before, id, settled_head);
  ExpectSettledOnce(killed_after, id, settled_head);
}

// ---- concurrency -------------------------------------------------------------------

TEST_F(CampaignLifecycleTest, AcceptsOneOf32ConcurrentFundingsByOneBackerWhenTheLimitIsOne) {
  ASSERT_TRUE(StartServer()) << Log();
  PostSpec spec = Spec("one each", 1'000'000);
  spec.max_fundings_per_backer = 1;
  const auto [id, closes_at] = Create(spec);
  ASSERT_NE(id, 0);
  constexpr size_t kRequests = 32;
  const std::vector<HttpRequest> requests(kRequests, FundRequest(id, "bob", 1));

  // Counts the accepted answers of a burst; every other one must be the limit.
  const auto accepted_of = [](const std::vector<std::optional<HttpResponse>>& answers,
                              int64_t* position) {
    int accepted = 0;
    for (const std::optional<HttpResponse>& r : answers) {
      if (!r) {
        ADD_FAILURE() << "no answer to a funding";
      } else if (r->status == 201) {
        ++accepted;
        *position = PositionOf(*r);
      } else {
        EXPECT_EQ(r->status, 409) << r->body;
        EXPECT_EQ(ProblemName(*r), "funding_limit_reached") << r->body;
      }
    }
    return accepted;
  };
  int64_t first = 0;
  ASSERT_EQ(accepted_of(Burst(server_->port(), requests, kFundRoute), &first), 1);
  std::vector<LoggedEvent> events = Events(id);
  ASSERT_EQ(OfType(events, "PostFunded").size(), 1U);
  EXPECT_EQ(OfType(events, "PostFunded")[0]->position, first);
  EXPECT_STREQ(OfType(events, "PostFunded")[0]->data["backer"].GetString(), "bob");
  const rapidjson::Document detail = Detail(id, first);
  EXPECT_EQ(detail["total_funded"].GetInt64(), 1'000);
  EXPECT_EQ(detail["participant_count"].GetInt64(), 1);

  // The limit counts live fundings: once bob cancels his, again exactly one
  // of a burst is taken. Other backers have their own.
  const HttpResponse cancelled = Cancel(id, "bob", first);
  ASSERT_EQ(cancelled.status, 204) << cancelled.body;
  int64_t second = 0;
  ASSERT_EQ(accepted_of(Burst(server_->port(), requests, kFundRoute), &second), 1);
  EXPECT_GT(second, PositionOf(cancelled));
  const int64_t carol = Fund(id, "carol", 1);
  events = Events(id);
  EXPECT_EQ(OfType(events, "PostFunded").size(), 3U);
  EXPECT_EQ(OfType(events, "FundingCancelled").size(), 1U);
  const rapidjson::Document after = Detail(id, carol);
  EXPECT_EQ(after["total_funded"].GetInt64(), 2'000);
  EXPECT_EQ(after["participant_count"].GetInt64(), 2);
}

TEST_F(CampaignLifecycleTest, AcceptsOnlyTheCancellationsDecidedBeforeTheDeadlineTheyRace) {
  ASSERT_TRUE(StartServer()) << Log();
  const auto [id, closes_at] = Create(Spec("raced", 1'000'000'000));
  ASSERT_NE(id, 0);
  struct Funding {
    std::string backer;
    int64_t position = 0;
    int64_t amount = 0;
  };
  constexpr int kBackers = 12;
  constexpr int kFundingsEach = 4;
  std::vector<Funding> fundings;
  for (int round = 0; round < kFundingsEach; ++round) {
    for (int b = 0; b < kBackers; ++b) {
      const int64_t units = 1 + (b + round) % 3;
      Funding f{"backer-" + std::to_string(b), 0, units * 1'000};
      f.position = Fund(id, f.backer, units);
      ASSERT_NE(f.position, 0);
      fundings.push_back(std::move(f));
    }
  }

  // Each funding cancelled by its backer, two backers at a time every 100 ms
  // of the server's clock from 1 150 ms before the deadline to 1 150 ms
  // after it (the closest 50 ms either side), each on a connection opened
  // just before.
  clock_->Set(closes_at - seconds(2));
  const auto deadline = clock_->RealTimeOf(closes_at);
  const uint16_t port = server_->port();
  std::vector<std::optional<HttpResponse>> answers(fundings.size());
  std::vector<std::thread> threads;
  threads.reserve(fundings.size());
  for (size_t i = 0; i < fundings.size(); ++i) {
    const HttpRequest request = CancelRequest(id, fundings[i].backer, fundings[i].position);
    const auto at = deadline - milliseconds(1'150) + milliseconds(100) * static_cast<int>(i / 2);
    threads.emplace_back([&answers, request, at, port, i] {
      std::this_thread::sleep_until(at - milliseconds(100));
      Connection c(port);
      std::this_thread::sleep_until(at);
      answers[i] = c.RoundTrip(request);
      if (answers[i]) Recorder::Get().Add("DELETE", kCancelRoute, *answers[i]);
    });
  }
  for (std::thread& t : threads) t.join();

  std::map<int64_t, int64_t> cancelled;  // funding position: its cancel's position
  int closed = 0;
  for (size_t i = 0; i < answers.size(); ++i) {
    ASSERT_TRUE(answers[i].has_value()) << "no answer to cancel " << i;
    const HttpResponse& r = *answers[i];
    if (r.status == 204) {
      cancelled[fundings[i].position] = PositionOf(r);
      continue;
    }
    EXPECT_EQ(r.status, 409) << r.body;
    const std::string problem = ProblemName(r);
    EXPECT_TRUE(problem == "funding_closed" || problem == "post_settled") << r.body;
    ++closed;
  }
  std::cout << "[          ] " << cancelled.size() << " cancelled, " << closed << " refused\n";
  EXPECT_FALSE(cancelled.empty()) << "no cancellation came before the deadline";
  EXPECT_GT(closed, 0) << "no cancellation came after the deadline";

  const std::vector<LoggedEvent> events = AwaitSettled(id);
  const std::vector<const LoggedEvent*> settled = OfType(events, "PostSettled");
  ASSERT_EQ(settled.size(), 1U) << Log();
  const LoggedEvent& s = *settled[0];
  // Every accepted cancellation, and only those, decided before the deadline.
  const std::vector<const LoggedEvent*> cancels = OfType(events, "FundingCancelled");
  EXPECT_EQ(cancels.size(), cancelled.size());
  for (const LoggedEvent* c : cancels) {
    const auto it = cancelled.find(c->data["funding_position"].GetInt64());
    ASSERT_NE(it, cancelled.end()) << "a cancellation nobody was told of, at " << c->position;
    EXPECT_EQ(c->position, it->second);
    EXPECT_LT(c->recorded_at, closes_at) << FormatTimestamp(c->recorded_at);
    EXPECT_LT(c->position, s.position);
  }
  // The settlement counts exactly the fundings left, which the post keeps.
  std::map<std::string, int64_t> live;
  int64_t total = 0;
  for (const Funding& f : fundings) {
    if (cancelled.contains(f.position)) continue;
    live[f.backer] += f.amount;
    total += f.amount;
  }
  EXPECT_STREQ(s.data["outcome"].GetString(), "failed");
  EXPECT_EQ(s.data["total_funded"].GetInt64(), total);
  EXPECT_EQ(s.data["participant_count"].GetInt64(), static_cast<int64_t>(live.size()));
  EXPECT_EQ(s.data["refunded_amount"].GetInt64(), 0);
  EXPECT_TRUE(OfType(events, "FundingRefunded").empty());
  const rapidjson::Document detail = Detail(id, s.position);
  EXPECT_STREQ(detail["status"].GetString(), "failed");
  EXPECT_EQ(detail["total_funded"].GetInt64(), total);
  EXPECT_EQ(detail["participant_count"].GetInt64(), static_cast<int64_t>(live.size()));
  ExpectVerifyClean(s.position);
}

}  // namespace
}  // namespace ledger::e2e
