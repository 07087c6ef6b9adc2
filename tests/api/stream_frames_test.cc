#include "api/stream_frames.h"

#include <algorithm>
#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "events/codec.h"

namespace ledger::api {
namespace {

events::Event Funded() {
  events::Event e;
  e.position = 42;
  e.stream = 7;
  e.stream_version = 3;
  e.actor = "bob";
  e.correlation_id = "line\nbreak";  // escaped inside the JSON, never a raw newline
  e.data = events::PostFunded{.backer = "밥", .units = 2, .amount = 2'000};
  return e;
}

TEST(StreamFramesTest, ALedgerFrameIsTheEnvelopeUnderItsPosition) {
  const events::Event e = Funded();
  const std::string frame = SseLedgerFrame(e);
  EXPECT_EQ(frame, "id: 42\nevent: ledger\ndata: " + events::EncodeEnvelopeJson(e) + "\n\n");
  // One data line: the only newlines are the frame's own.
  EXPECT_EQ(std::count(frame.begin(), frame.end(), '\n'), 4);
}

TEST(StreamFramesTest, FiguresCutRetryAndDeletedHaveTheirDocumentedForm) {
  EXPECT_EQ(SseFiguresFrame(R"({"id":1})"), "event: figures\ndata: {\"id\":1}\n\n");
  EXPECT_EQ(SseCutFrame("slow_consumer", 17),
            "event: cut\ndata: {\"reason\":\"slow_consumer\",\"resume_after\":17}\n\n");
  EXPECT_EQ(SseRetryFrame(std::chrono::milliseconds(2'000)), "retry: 2000\n\n");
  EXPECT_EQ(DeletedFiguresJson(5, 90), R"({"id":5,"deleted":true,"position":90})");
  EXPECT_EQ(kSseHeartbeat, ": heartbeat\n\n");
}

}  // namespace
}  // namespace ledger::api
