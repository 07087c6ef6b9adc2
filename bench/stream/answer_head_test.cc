#include "answer_head.h"

#include <string>

#include <gtest/gtest.h>

namespace ledger::bench {
namespace {

TEST(AnswerHead, ReadsStatusLengthAndClose) {
  const std::string answer =
      "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\ncontent-length: 12\r\n"
      "X-Ledger-Position: 9\r\nConnection: close\r\n\r\n{\"position\":9}";
  AnswerHead head;
  ASSERT_EQ(ParseAnswerHead(answer, &head), HeadParse::kDone);
  EXPECT_EQ(head.status, 201);
  EXPECT_EQ(head.content_length, 12u);
  EXPECT_FALSE(head.chunked);
  EXPECT_TRUE(head.close);
  EXPECT_EQ(answer.substr(head.bytes), "{\"position\":9}");
}

TEST(AnswerHead, ReadsChunkedStreamHead) {
  AnswerHead head;
  ASSERT_EQ(ParseAnswerHead("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", &head),
            HeadParse::kDone);
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.chunked);
  EXPECT_FALSE(head.content_length.has_value());
}

TEST(AnswerHead, WaitsForTheBlankLine) {
  AnswerHead head;
  EXPECT_EQ(ParseAnswerHead("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n", &head),
            HeadParse::kIncomplete);
}

TEST(AnswerHead, RefusesABrokenStatusLine) {
  AnswerHead head;
  EXPECT_EQ(ParseAnswerHead("HTTP/1.1 2x1 Created\r\n\r\n", &head), HeadParse::kMalformed);
  EXPECT_EQ(ParseAnswerHead("SMTP 220\r\n\r\n", &head), HeadParse::kMalformed);
}

TEST(AnswerHead, RefusesABrokenContentLength) {
  AnswerHead head;
  EXPECT_EQ(ParseAnswerHead("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", &head),
            HeadParse::kMalformed);
}

TEST(AnswerHead, RefusesAHeadPastTheLimit) {
  AnswerHead head;
  const std::string endless = "HTTP/1.1 200 OK\r\nX: " + std::string(kAnswerHeadBytesMax, 'a');
  EXPECT_EQ(ParseAnswerHead(endless, &head), HeadParse::kMalformed);
}

TEST(JsonMember, FindsIntAndStringMembers) {
  const std::string json = R"({"post_id":3,"backer":"bob","position":1234,"reason":"a\"b"})";
  EXPECT_EQ(JsonIntMember(json, "position"), 1234);
  EXPECT_EQ(JsonIntMember(json, "post_id"), 3);
  EXPECT_EQ(JsonIntMember(json, "backer"), std::nullopt);
  EXPECT_EQ(JsonIntMember(json, "missing"), std::nullopt);
  EXPECT_EQ(JsonStringMember(json, "backer"), "bob");
  EXPECT_EQ(JsonStringMember(json, "reason"), R"(a\"b)");
  EXPECT_EQ(JsonStringMember(R"({"reason":"open)", "reason"), std::nullopt);
}

}  // namespace
}  // namespace ledger::bench
