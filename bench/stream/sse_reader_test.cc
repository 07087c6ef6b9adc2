#include "sse_reader.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace ledger::bench {
namespace {

using Kind = SseFrame::Kind;

std::string Chunk(const std::string& data) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return size + data + "\r\n";
}

// What the service writes: the retry frame, figures, two ledger events in one
// chunk, a heartbeat, a cut, then the last chunk.
std::string ServiceBody() {
  return Chunk("retry: 2000\n\n") + Chunk("event: figures\ndata: {\"id\":1}\n\n") +
         Chunk(
             "id: 41\nevent: ledger\ndata: {\"stream\":\"post-1\"}\n\n"
             "id: 42\nevent: ledger\ndata: {\"stream\":\"post-1\"}\n\n") +
         Chunk(": heartbeat\n\n") +
         Chunk("event: cut\ndata: {\"reason\":\"slow_consumer\",\"resume_after\":42}\n\n") +
         "0\r\n\r\n";
}

void ExpectServiceFrames(const std::vector<SseFrame>& frames) {
  ASSERT_EQ(frames.size(), 6u);
  EXPECT_EQ(frames[0].kind, Kind::kOther);  // retry
  EXPECT_EQ(frames[1].kind, Kind::kFigures);
  EXPECT_EQ(frames[2].kind, Kind::kLedger);
  EXPECT_EQ(frames[2].id, 41);
  EXPECT_EQ(frames[3].kind, Kind::kLedger);
  EXPECT_EQ(frames[3].id, 42);
  EXPECT_EQ(frames[4].kind, Kind::kHeartbeat);
  EXPECT_EQ(frames[5].kind, Kind::kCut);
  EXPECT_EQ(frames[5].data, R"({"reason":"slow_consumer","resume_after":42})");
}

TEST(SseReader, ReadsTheServiceFramesWhole) {
  SseReader reader;
  std::vector<SseFrame> frames;
  EXPECT_EQ(reader.Feed(ServiceBody(), &frames), SseFeed::kEnd);
  ExpectServiceFrames(frames);
}

// The end is reported once the last chunk's size line "0\r\n" is in; the
// blank line after it (no trailers) is not waited for.
constexpr size_t kAfterEnd = 2;

TEST(SseReader, ReadsTheSameFramesSplitAtAnyByte) {
  const std::string body = ServiceBody();
  for (size_t split = 1; split < body.size() - kAfterEnd; ++split) {
    SseReader reader;
    std::vector<SseFrame> frames;
    ASSERT_EQ(reader.Feed(std::string_view(body).substr(0, split), &frames), SseFeed::kMore)
        << split;
    ASSERT_EQ(reader.Feed(std::string_view(body).substr(split), &frames), SseFeed::kEnd) << split;
    ExpectServiceFrames(frames);
  }
}

TEST(SseReader, ReadsTheSameFramesOneByteAtATime) {
  const std::string body = ServiceBody();
  SseReader reader;
  std::vector<SseFrame> frames;
  const size_t last = body.size() - kAfterEnd - 1;
  for (size_t i = 0; i < last; ++i) {
    ASSERT_EQ(reader.Feed(std::string_view(body).substr(i, 1), &frames), SseFeed::kMore) << i;
  }
  EXPECT_EQ(reader.Feed(std::string_view(body).substr(last, 1), &frames), SseFeed::kEnd);
  ExpectServiceFrames(frames);
}

TEST(SseReader, ReadsABodyWithoutChunks) {
  SseReader reader(false);
  std::vector<SseFrame> frames;
  EXPECT_EQ(reader.Feed("retry: 2000\n\nid: 7\nevent: ledger\ndata: {}\n\n", &frames),
            SseFeed::kMore);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1].id, 7);
}

TEST(SseReader, RefusesAChunkSizeThatIsNotHex) {
  SseReader reader;
  std::vector<SseFrame> frames;
  EXPECT_EQ(reader.Feed("zz\r\nid: 1\n\n\r\n", &frames), SseFeed::kMalformed);
}

TEST(SseReader, RefusesAChunkNotFollowedByCrlf) {
  SseReader reader;
  std::vector<SseFrame> frames;
  EXPECT_EQ(reader.Feed("3\r\n\n\n\nXX", &frames), SseFeed::kMalformed);
}

TEST(SseReader, RefusesAnIdThatIsNotANumber) {
  SseReader reader(false);
  std::vector<SseFrame> frames;
  EXPECT_EQ(reader.Feed("id: 4x\n", &frames), SseFeed::kMalformed);
}

TEST(SseReader, RefusesALineLongerThanTheLimit) {
  SseReader reader(false);
  std::vector<SseFrame> frames;
  const std::string part(kSseLineBytesMax / 2 + 1, 'a');
  EXPECT_EQ(reader.Feed("data: " + part, &frames), SseFeed::kMore);
  EXPECT_EQ(reader.Feed(part, &frames), SseFeed::kMalformed);
}

}  // namespace
}  // namespace ledger::bench
