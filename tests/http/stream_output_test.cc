// StreamOutput: the framing of a stream's batches, and writes that take
// only part of what is queued.

#include "http/stream_output.h"

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace ledger::http {
namespace {

StreamSource::Chunk Bytes(std::string text) {
  return std::make_shared<const std::string>(std::move(text));
}

// What a write of at most `limit` bytes would send now.
std::string Peek(const StreamOutput& out, size_t limit = std::string::npos,
                 size_t max_buffers = 1024) {
  std::vector<boost::asio::const_buffer> buffers;
  out.Buffers(buffers, max_buffers);
  std::string sent;
  for (const auto& b : buffers) sent.append(static_cast<const char*>(b.data()), b.size());
  return sent.substr(0, limit);
}

// Sends everything in writes of at most `step` bytes.
std::string Drain(StreamOutput& out, size_t step) {
  std::string sent;
  while (!out.empty()) {
    const std::string now = Peek(out, step);
    sent += now;
    out.Consume(now.size());
  }
  return sent;
}

TEST(StreamOutputTest, FramesEachBatchAsOneChunk) {
  StreamOutput out;
  EXPECT_TRUE(out.empty());
  out.Add({Bytes("data: a\n\n"), Bytes(""), nullptr, Bytes("data: bc\n\n")}, true);
  out.Add({Bytes(std::string(300, 'x'))}, true);
  EXPECT_EQ(Peek(out), "13\r\ndata: a\n\ndata: bc\n\n\r\n12c\r\n" + std::string(300, 'x') + "\r\n");
  EXPECT_EQ(out.size(), Peek(out).size());
}

TEST(StreamOutputTest, LeavesAnHttp10StreamBare) {
  StreamOutput out;
  out.Add({Bytes("one"), Bytes("two")}, false);
  EXPECT_EQ(Peek(out), "onetwo");
}

TEST(StreamOutputTest, AddsNothingForABatchWithoutBytes) {
  StreamOutput out;
  out.Add({}, true);
  out.Add({Bytes(""), nullptr}, true);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(out.size(), 0u);
}

// Five batches of a frame line and a run of letters.
void AddFiveBatches(StreamOutput& out) {
  for (int i = 0; i < 5; ++i) {
    out.Add({Bytes("frame " + std::to_string(i) + "\n"),
             Bytes(std::string(static_cast<size_t>(20 + i), static_cast<char>('a' + i)))},
            true);
  }
}

TEST(StreamOutputTest, PartialWritesResumeWhereTheyStopped) {
  StreamOutput reference;
  AddFiveBatches(reference);
  const std::string whole = Peek(reference);
  // Every write size, from one byte on, gives the same bytes in order.
  for (size_t step = 1; step <= whole.size(); step += 7) {
    StreamOutput out;
    AddFiveBatches(out);
    EXPECT_EQ(Drain(out, step), whole) << step;
    EXPECT_EQ(out.size(), 0u);
  }
  // A batch added after a partial write follows the rest of the earlier one.
  StreamOutput out;
  AddFiveBatches(out);
  out.Consume(5);
  out.Add({Bytes("late")}, true);
  EXPECT_EQ(Drain(out, 3), whole.substr(5) + "4\r\nlate\r\n");
}

TEST(StreamOutputTest, HandsOutAtMostTheBuffersAskedFor) {
  StreamOutput out;
  out.Add({Bytes("a"), Bytes("b"), Bytes("c")}, true);  // 5 pieces with the framing
  std::vector<boost::asio::const_buffer> buffers;
  out.Buffers(buffers, 2);
  ASSERT_EQ(buffers.size(), 2u);
  EXPECT_EQ(Peek(out, std::string::npos, 2), "3\r\na");
  out.Consume(4);
  EXPECT_EQ(Peek(out, std::string::npos, 2), "bc");
}

TEST(StreamOutputTest, LetsGoOfAChunkOnceItIsSent) {
  StreamOutput out;
  StreamSource::Chunk frame = Bytes("payload");
  out.Add({frame}, true);
  EXPECT_EQ(frame.use_count(), 2);
  out.Consume(3 + 4);  // "7\r\n" and half the frame
  EXPECT_EQ(frame.use_count(), 2);
  out.Consume(3);
  EXPECT_EQ(frame.use_count(), 1);
  out.Consume(2);
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace ledger::http
