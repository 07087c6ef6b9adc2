#include "api/stream_hub.h"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "api/stream_handlers.h"
#include "api_fixture.h"
#include "support/status_matchers.h"

namespace ledger::api {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct SseFrame {
  std::optional<int64_t> id;
  std::string event;  // empty for the retry: frame
  std::string data;
};

// Takes from a stream the way a connection does, and parses its frames.
class Reader {
 public:
  explicit Reader(std::shared_ptr<http::StreamSource> source) : source_(std::move(source)) {
    // The wake may come after Close (the contract allows it), so it holds
    // what it touches.
    source_->Start([signal = signal_] {
      {
        const std::lock_guard lock(signal->mu);
        signal->woken = true;
      }
      signal->cv.notify_all();
    });
  }
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;
  ~Reader() { Close(); }

  void Close() {
    if (!closed_) source_->Close();
    closed_ = true;
  }

  // Frames until `done` holds for the frames read so far, the stream ends,
  // or `timeout` passes.
  std::vector<SseFrame> ReadWhile(const std::function<bool(const std::vector<SseFrame>&)>& more,
                                  std::chrono::milliseconds timeout = 5s) {
    const Clock::time_point deadline = Clock::now() + timeout;
    while (more(frames_) && !ended_) {
      {
        std::unique_lock lock(signal_->mu);
        signal_->cv.wait_until(lock, deadline, [this] { return signal_->woken; });
        if (!signal_->woken) break;
        signal_->woken = false;
      }
      Take();
    }
    return frames_;
  }
  std::vector<SseFrame> ReadUntilId(int64_t id, std::chrono::milliseconds timeout = 5s) {
    return ReadWhile(
        [id](const std::vector<SseFrame>& f) {
          for (const SseFrame& frame : f) {
            if (frame.id && *frame.id >= id) return false;
          }
          return true;
        },
        timeout);
  }
  // Takes what is queued now, once, without waiting.
  void Take() {
    std::vector<http::StreamSource::Chunk> chunks;
    ended_ = !source_->Take(chunks) || ended_;
    for (const auto& chunk : chunks) Parse(*chunk);
  }
  bool ended() const { return ended_; }
  const std::vector<SseFrame>& frames() const { return frames_; }

 private:
  void Parse(std::string_view text) {
    while (!text.empty()) {
      const size_t end = text.find("\n\n");
      ASSERT_NE(end, std::string_view::npos) << "a chunk holds whole frames";
      std::string_view frame = text.substr(0, end);
      text.remove_prefix(end + 2);
      if (frame.starts_with(":")) continue;  // a comment
      SseFrame parsed;
      while (!frame.empty()) {
        const size_t eol = frame.find('\n');
        const std::string_view line = frame.substr(0, eol);
        frame.remove_prefix(eol == std::string_view::npos ? frame.size() : eol + 1);
        if (line.starts_with("id: ")) parsed.id = std::stoll(std::string(line.substr(4)));
        if (line.starts_with("event: ")) parsed.event = line.substr(7);
        if (line.starts_with("data: ")) parsed.data = line.substr(6);
      }
      frames_.push_back(std::move(parsed));
    }
  }

  struct Signal {
    std::mutex mu;
    std::condition_variable cv;
    bool woken = false;
  };
  std::shared_ptr<Signal> signal_ = std::make_shared<Signal>();
  std::shared_ptr<http::StreamSource> source_;
  bool ended_ = false;
  bool closed_ = false;
  std::vector<SseFrame> frames_;
};

std::vector<int64_t> Ids(const std::vector<SseFrame>& frames) {
  std::vector<int64_t> ids;
  for (const SseFrame& f : frames) {
    if (f.id) ids.push_back(*f.id);
  }
  return ids;
}

std::vector<int64_t> Range(int64_t from, int64_t to) {
  std::vector<int64_t> out;
  for (int64_t i = from; i <= to; ++i) out.push_back(i);
  return out;
}

rapidjson::Document Json(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str());
  EXPECT_FALSE(d.HasParseError()) << text;
  return d;
}

class StreamHubTest : public testing::ApiFixture {};

TEST_F(StreamHubTest, CatchesUpFromThePastThenFollowsTheLog) {
  const int64_t post = 1;
  CreatePost();
  for (int i = 0; i < 5; ++i) Fund(post, "backer" + std::to_string(i));
  const int64_t head = log_->Head().position;
  Reader reader(streams_->Open(0, 0, std::nullopt));
  reader.ReadUntilId(head);
  EXPECT_EQ(reader.frames().front().data, "");  // retry: comes first
  EXPECT_EQ(Ids(reader.frames()), Range(1, head));
  for (const SseFrame& f : reader.frames()) {
    if (!f.id) continue;
    EXPECT_EQ(f.event, "ledger");
    const rapidjson::Document envelope = Json(f.data);
    EXPECT_EQ(envelope["position"].GetInt64(), *f.id);
  }
  Fund(post, "late");
  const int64_t last = log_->Head().position;
  reader.ReadUntilId(last);
  EXPECT_EQ(Ids(reader.frames()), Range(1, last));
}

TEST_F(StreamHubTest, StartsAfterTheGivenPosition) {
  CreatePost();
  Fund(1);
  Fund(1, "carol");
  Reader reader(streams_->Open(0, 2, std::nullopt));
  reader.ReadUntilId(3);
  EXPECT_EQ(Ids(reader.frames()), (std::vector<int64_t>{3}));
}

TEST_F(StreamHubTest, APostStreamCarriesOnlyItsEventsAndItsFiguresOnceProjected) {
  CreatePost();  // 1
  CreatePost();  // 2
  WaitProjected();
  Reader reader(streams_->Open(1, log_->Head().position, std::string(R"({"opening":true})")));
  Fund(2);
  const int64_t funded = Fund(1);
  Fund(2, "carol");
  // The funding of post 1, then its figures once the tables hold it.
  const auto frames = reader.ReadWhile([](const std::vector<SseFrame>& f) {
    return f.empty() || f.back().event != "figures" || f.size() < 4;
  });
  ASSERT_GE(frames.size(), 4u);
  EXPECT_EQ(frames[1].event, "figures");
  EXPECT_EQ(frames[1].data, R"({"opening":true})");
  EXPECT_EQ(frames[2].event, "ledger");
  EXPECT_EQ(frames[2].id, funded);
  EXPECT_EQ(frames[3].event, "figures");
  const rapidjson::Document figures = Json(frames[3].data);
  EXPECT_EQ(figures["id"].GetInt64(), 1);
  EXPECT_EQ(figures["total_funded"].GetInt64(), 1'000);
  EXPECT_EQ(figures["participant_count"].GetInt64(), 1);
  EXPECT_GE(figures["position"].GetInt64(), funded);
  EXPECT_EQ(Ids(frames), (std::vector<int64_t>{funded}));  // nothing of post 2
}

TEST_F(StreamHubTest, ADeletedPostsFiguresSayItIsGone) {
  CreatePost();
  Fund(1);
  WaitProjected();
  Reader reader(streams_->Open(1, log_->Head().position, std::nullopt));
  const commands::CommandResult deleted = sequencer_->SubmitAndWait(
      commands::Submission{commands::DeletePost{1, std::nullopt}, "alice", "req-delete", ""});
  ASSERT_EQ(deleted.status, commands::CommandStatus::kAccepted);
  const auto frames = reader.ReadWhile(
      [](const std::vector<SseFrame>& f) { return f.empty() || f.back().event != "figures"; });
  ASSERT_FALSE(frames.empty());
  const rapidjson::Document figures = Json(frames.back().data);
  EXPECT_EQ(figures["id"].GetInt64(), 1);
  EXPECT_TRUE(figures["deleted"].GetBool());
  // The refund and the deletion came first, in order.
  std::vector<std::string> types;
  for (const SseFrame& f : frames) {
    if (f.id) types.push_back(Json(f.data)["type"].GetString());
  }
  EXPECT_EQ(types, (std::vector<std::string>{"FundingRefunded", "PostDeleted"}));
}

TEST_F(StreamHubTest, ACatchingUpPostStreamFindsItsEventsAfterThePosition) {
  CreatePost();  // 1
  CreatePost();  // 2
  std::vector<int64_t> of_one;
  for (int i = 0; i < 6; ++i) {
    Fund(2, "x" + std::to_string(i));
    of_one.push_back(Fund(1, "y" + std::to_string(i)));
  }
  // From the middle of post 1's history, by log position.
  Reader reader(streams_->Open(1, of_one[2], std::nullopt));
  reader.ReadUntilId(of_one.back());
  EXPECT_EQ(Ids(reader.frames()), std::vector<int64_t>(of_one.begin() + 3, of_one.end()));
}

TEST_F(StreamHubTest, ResumingFromTheLastIdMissesNothingAndRepeatsNothing) {
  CreatePost();
  CreatePost();
  std::atomic<bool> writing{true};
  std::thread writer([&] {
    for (int i = 0; i < 300 && writing; ++i) Fund(1 + i % 2, "w" + std::to_string(i));
  });
  std::mt19937 random(20261206);
  std::vector<int64_t> seen;
  int64_t last = 0;
  // Reconnect after a random number of events each time, as a client whose
  // connection keeps breaking would, resuming with its last id.
  while (true) {
    const bool done = !writing || log_->Head().position >= 302;
    Reader reader(streams_->Open(0, last, std::nullopt));
    const size_t take = std::uniform_int_distribution<size_t>(1, 40)(random);
    reader.ReadWhile([&](const std::vector<SseFrame>& f) { return Ids(f).size() < take; }, 1s);
    for (const int64_t id : Ids(reader.frames())) seen.push_back(id);
    if (!seen.empty()) last = seen.back();
    if (done && last == log_->Head().position) break;
    if (log_->Head().position >= 302) writing = false;
  }
  writer.join();
  EXPECT_EQ(seen, Range(1, log_->Head().position));
}

TEST_F(StreamHubTest, CutsAClientThatFallsBehindWithWhereToResume) {
  StreamOptions options;
  options.buffer_bytes = 4 * 1024;
  options.poll = 10ms;
  StreamHub hub(log_.get(), queries_.get(), &clock_, options);
  hub.Start();
  CreatePost();
  const int64_t start = log_->Head().position;
  auto source = hub.Open(0, start, std::nullopt);
  source->Start([] {});
  // The client takes nothing; the writers go on regardless.
  for (int i = 0; i < 40; ++i) Fund(1, "b" + std::to_string(i));
  const auto deadline = Clock::now() + 5s;
  while (hub.stats().cut_slow_total == 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_EQ(hub.stats().cut_slow_total, 1u);
  std::vector<http::StreamSource::Chunk> chunks;
  EXPECT_FALSE(source->Take(chunks));  // ended
  size_t bytes = 0;
  int64_t last_id = start;
  for (const auto& c : chunks) {
    bytes += c->size();
    const size_t id = c->find("id: ");
    if (id == 0) last_id = std::stoll(c->substr(4));
  }
  EXPECT_LE(bytes, options.buffer_bytes + 256);  // the buffer and the cut, no more
  const std::string& cut = *chunks.back();
  EXPECT_EQ(cut, "event: cut\ndata: {\"reason\":\"slow_consumer\",\"resume_after\":" +
                     std::to_string(last_id) + "}\n\n");
  source->Close();
  EXPECT_EQ(hub.stats().open, 0u);
}

TEST_F(StreamHubTest, RefusesStreamsPastTheCapUntilOneCloses) {
  std::vector<std::shared_ptr<http::StreamSource>> open;
  for (size_t i = 0; i < testing::kFixtureMaxStreams; ++i) {
    open.push_back(streams_->Open(0, 0, std::nullopt));
    ASSERT_NE(open.back(), nullptr);
  }
  EXPECT_EQ(streams_->Open(0, 0, std::nullopt), nullptr);
  EXPECT_EQ(streams_->stats().refused_total, 1u);
  EXPECT_EQ(streams_->stats().open, testing::kFixtureMaxStreams);
  open.back()->Close();
  EXPECT_NE(streams_->Open(0, 0, std::nullopt), nullptr);
  for (const auto& s : open) s->Close();
}

TEST_F(StreamHubTest, StoppingTheHubEndsItsStreams) {
  CreatePost();
  Reader reader(streams_->Open(0, 0, std::nullopt));
  reader.ReadUntilId(1);
  streams_->Stop();
  const auto frames = reader.ReadWhile([](const std::vector<SseFrame>&) { return true; });
  EXPECT_TRUE(reader.ended());
  EXPECT_EQ(frames.back().event, "cut");
}

// ---- the handlers ----

class StreamHandlersTest : public testing::ApiFixture {
 protected:
  http::Request StreamReq(std::string query = "",
                          std::vector<std::pair<std::string, std::string>> headers = {}) {
    return Req("GET", "/api/events/stream", "", std::move(headers), std::nullopt, std::move(query));
  }
  static std::string ProblemType(const http::Response& r) {
    const rapidjson::Document d = Json(r.body);
    return d.IsObject() && d.HasMember("type") ? d["type"].GetString() : "";
  }
};

TEST_F(StreamHandlersTest, AnswersAnEventStream) {
  CreatePost();
  http::Response r = Call(EventsStream, StreamReq("after=0"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/event-stream; charset=utf-8");
  EXPECT_EQ(HeaderOf(r, "Cache-Control"), "no-store");
  ASSERT_NE(r.stream, nullptr);
  Reader reader(r.stream);
  reader.ReadUntilId(1);
  EXPECT_EQ(Ids(reader.frames()), (std::vector<int64_t>{1}));
}

TEST_F(StreamHandlersTest, LastEventIdWinsOverAfter) {
  CreatePost();
  Fund(1);
  Fund(1, "carol");
  http::Response r = Call(EventsStream, StreamReq("after=0", {{"last-event-id", "2"}}));
  ASSERT_NE(r.stream, nullptr);
  Reader reader(r.stream);
  reader.ReadUntilId(3);
  EXPECT_EQ(Ids(reader.frames()), (std::vector<int64_t>{3}));
}

TEST_F(StreamHandlersTest, WithoutAPositionStartsAtTheHead) {
  CreatePost();
  http::Response r = Call(EventsStream, StreamReq());
  ASSERT_NE(r.stream, nullptr);
  Reader reader(r.stream);
  const int64_t funded = Fund(1);
  reader.ReadUntilId(funded);
  EXPECT_EQ(Ids(reader.frames()), (std::vector<int64_t>{funded}));
}

TEST_F(StreamHandlersTest, RefusesBadPositionsAndUnknownParameters) {
  for (const auto& [query, header] : std::vector<std::pair<std::string, std::string>>{
           {"after=-1", ""}, {"after=x", ""}, {"limit=5", ""}, {"", "abc"}, {"", "-3"}}) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!header.empty()) headers.emplace_back("last-event-id", header);
    const http::Response r = Call(EventsStream, StreamReq(query, headers));
    EXPECT_EQ(r.status, 400) << query << header;
    EXPECT_EQ(r.stream, nullptr);
    EXPECT_EQ(ProblemType(r), "urn:funding-ledger:problem:invalid_parameter") << query << header;
  }
  EXPECT_EQ(streams_->stats().open, 0u);
}

TEST_F(StreamHandlersTest, APostStreamOfAnUnknownPostIsNotFound) {
  const http::Response r = Call(PostStream, Req("GET", "/api/posts/7/stream", "", {}, "7"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.stream, nullptr);
  EXPECT_EQ(ProblemType(r), "urn:funding-ledger:problem:not_found");
}

TEST_F(StreamHandlersTest, APostStreamOpensWithTheFiguresOfNow) {
  CreatePost();
  Fund(1);
  WaitProjected();
  http::Response r = Call(PostStream, Req("GET", "/api/posts/1/stream", "", {}, "1"));
  ASSERT_EQ(r.status, 200);
  Reader reader(r.stream);
  const auto frames = reader.ReadWhile([](const std::vector<SseFrame>& f) { return f.size() < 2; });
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1].event, "figures");
  const rapidjson::Document figures = Json(frames[1].data);
  EXPECT_EQ(figures["total_funded"].GetInt64(), 1'000);
  EXPECT_EQ(figures["position"].GetInt64(), 2);
}

TEST_F(StreamHandlersTest, AnswersTooManyStreamsAtTheCap) {
  std::vector<http::Response> open;
  for (size_t i = 0; i < testing::kFixtureMaxStreams; ++i) {
    open.push_back(Call(EventsStream, StreamReq()));
    ASSERT_EQ(open.back().status, 200);
  }
  const http::Response refused = Call(EventsStream, StreamReq());
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(ProblemType(refused), "urn:funding-ledger:problem:too_many_streams");
  EXPECT_EQ(HeaderOf(refused, "Retry-After"), "1");
  for (const http::Response& r : open) r.stream->Close();
}

}  // namespace
}  // namespace ledger::api
