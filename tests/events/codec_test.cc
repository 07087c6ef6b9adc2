#include "events/codec.h"

#include <gtest/gtest.h>

#include "event_fixtures.h"
#include "events/record.h"
#include "support/status_matchers.h"

namespace ledger::events {
namespace {

using testing::At;

Event Created() {
  Event e;
  e.position = 1;
  e.stream = 7;
  e.stream_version = 1;
  e.recorded_at = At(1'763'700'000'123'456);
  e.actor = "alice";
  e.correlation_id = "req-1";
  e.idempotency_key = "key-1";
  PostCreated d;
  d.title = "내 취미 만들기 \"quoted\"\n";
  d.uploader = "앨리스";
  d.owner = "alice";
  d.description = "tab\tand \x01 control";
  d.target_amount = 1'000'000;
  d.funding_unit = 1'000;
  d.end_date = *ParseDate("2026-12-31");
  d.closes_at = At(1'798'642'800'000'000);
  e.data = d;
  return e;
}

std::vector<Event> OneOfEach() {
  std::vector<Event> all;
  all.push_back(Created());
  Event edited = Created();
  edited.position = 2;
  edited.stream_version = 2;
  edited.idempotency_key.clear();
  PostEdited ed;
  ed.title = "new";
  ed.end_date = *ParseDate("2027-01-02");
  ed.closes_at = At(1'798'815'600'000'000);
  edited.data = ed;
  all.push_back(edited);
  Event funded = testing::Funded(3, 7, 3);
  all.push_back(funded);
  Event refunded = testing::Funded(4, 7, 4);
  refunded.data = FundingRefunded{"bob", 2, 2000};
  all.push_back(refunded);
  Event deleted = testing::Funded(5, 7, 5);
  deleted.data = PostDeleted{2000, 1};
  all.push_back(deleted);
  return all;
}

TEST(CodecTest, RoundTripsEveryEventType) {
  for (const Event& e : OneOfEach()) {
    const std::string bytes = EncodeCanonical(e);
    auto decoded = DecodeCanonical(bytes);
    ASSERT_OK(decoded);
    EXPECT_EQ(*decoded, e) << bytes;
    EXPECT_EQ(EncodeCanonical(*decoded), bytes);
  }
}

TEST(CodecTest, CanonicalBytesAreFixedText) {
  const Event e = testing::Funded(3, 7, 2);
  EXPECT_EQ(EncodeCanonical(e),
            "{\"position\":3,\"stream\":\"post-7\",\"stream_version\":2,\"type\":\"PostFunded\","
            "\"schema_version\":1,\"recorded_at\":\"2026-09-21T14:13:20.000003Z\","
            "\"actor\":\"bob\",\"correlation_id\":\"req-3\",\"idempotency_key\":null,"
            "\"data\":{\"backer\":\"bob\",\"units\":2,\"amount\":2000}}");
}

// The canonical bytes are the input of every hash ever written, so their
// escaping is pinned byte for byte: every ASCII byte, then UTF-8 beyond it.
TEST(CodecTest, PinsTheEscapingOfEveryAsciiByte) {
  std::string every_ascii_byte(0x80, '\0');
  for (size_t c = 0; c < every_ascii_byte.size(); ++c) {
    every_ascii_byte[c] = static_cast<char>(c);
  }
  Event e = testing::Funded(3, 7, 2);
  e.data = PostFunded{every_ascii_byte + "취미 🎉", 2, 2000};
  EXPECT_EQ(EncodeCanonical(e),
            "{\"position\":3,\"stream\":\"post-7\",\"stream_version\":2,\"type\":\"PostFunded\","
            "\"schema_version\":1,\"recorded_at\":\"2026-09-21T14:13:20.000003Z\","
            "\"actor\":\"bob\",\"correlation_id\":\"req-3\",\"idempotency_key\":null,"
            "\"data\":{\"backer\":\""
            "\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000B\\f\\r"
            "\\u000E\\u000F\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018"
            "\\u0019\\u001A\\u001B\\u001C\\u001D\\u001E\\u001F !\\\"#$%&'()*+,-./0123456789:;<=>?@"
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\\\]^_`abcdefghijklmnopqrstuvwxyz{|}~\x7f"
            "취미 🎉\",\"units\":2,\"amount\":2000}}");
}

std::string Repeat(std::string_view piece, size_t times) {
  std::string out;
  for (size_t i = 0; i < times; ++i) out += piece;
  return out;
}

TEST(CodecTest, PinsTheEnvelope) {
  Event e = Created();
  e.prev_hash.fill(0xab);
  e.hash.fill(0x01);
  EXPECT_EQ(EncodeEnvelopeJson(e),
            "{\"position\":1,\"stream\":\"post-7\",\"stream_version\":1,\"type\":\"PostCreated\","
            "\"schema_version\":1,\"recorded_at\":\"2025-11-21T04:40:00.123456Z\","
            "\"actor\":\"alice\",\"correlation_id\":\"req-1\",\"idempotency_key\":\"key-1\","
            "\"data\":{\"title\":\"내 취미 만들기 \\\"quoted\\\"\\n\",\"uploader\":\"앨리스\","
            "\"owner\":\"alice\",\"description\":\"tab\\tand \\u0001 control\","
            "\"target_amount\":1000000,\"funding_unit\":1000,\"end_date\":\"2026-12-31\","
            "\"closes_at\":\"2026-12-30T15:00:00.000000Z\"},"
            "\"prev_hash\":\"" +
                Repeat("ab", 32) + "\",\"hash\":\"" + Repeat("01", 32) + "\"}");
}

TEST(CodecTest, KeepsUtf8UnescapedAndEscapesControls) {
  const std::string bytes = EncodeCanonical(Created());
  EXPECT_NE(bytes.find("내 취미 만들기 \\\"quoted\\\"\\n"), std::string::npos) << bytes;
  EXPECT_NE(bytes.find("\\u0001"), std::string::npos) << bytes;
}

TEST(CodecTest, EnvelopeCarriesHashesInHex) {
  Event e = testing::Funded(1, 1, 1);
  const std::string record = SealRecord(e, EncodeCanonical(e));
  const std::string json = EncodeEnvelopeJson(e);
  EXPECT_NE(json.find("\"prev_hash\":\"" + std::string(64, '0') + "\""), std::string::npos);
  EXPECT_NE(json.find("\"hash\":\"" + ToHex(e.hash) + "\""), std::string::npos);
}

TEST(CodecTest, HeadIsExact) {
  LogHead head{12, {}};
  head.hash.fill(0xaa);
  EXPECT_EQ(EncodeHeadJson(head), R"({"position":12,"hash":")" + Repeat("aa", 32) + R"("})");
}

// Replaces the first occurrence of `from` in the canonical bytes.
std::string Mutate(const Event& e, const std::string& from, const std::string& to) {
  std::string bytes = EncodeCanonical(e);
  const size_t at = bytes.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  bytes.replace(at, from.size(), to);
  return bytes;
}

TEST(CodecTest, RejectsMalformedEventsWithAStatus) {
  const Event e = testing::Funded(3, 7, 2);
  const std::vector<std::string> bad = {
      "",
      "null",
      "[]",
      "{",
      EncodeCanonical(e) + "x",
      Mutate(e, "\"position\":3", "\"position\":\"3\""),
      Mutate(e, "\"position\":3", "\"position\":0"),
      Mutate(e, "\"position\":3,", ""),
      Mutate(e, "\"stream\":\"post-7\"", "\"stream\":\"post-07\""),
      Mutate(e, "\"stream\":\"post-7\"", "\"stream\":7"),
      Mutate(e, "PostFunded", "PostExploded"),
      Mutate(e, "\"schema_version\":1", "\"schema_version\":2"),
      Mutate(e, "2026-09-21T14:13:20.000003Z", "2026-09-21T14:13:20Z"),
      Mutate(e, "\"idempotency_key\":null", "\"idempotency_key\":\"\""),
      Mutate(e, "\"idempotency_key\":null", "\"idempotency_key\":5"),
      Mutate(e, "\"units\":2", "\"units\":2.5"),
      Mutate(e, "\"units\":2", "\"units\":18446744073709551616"),
      Mutate(e, "\"units\":2,", ""),
      Mutate(e, "\"amount\":2000", "\"amount\":2000,\"extra\":1"),
      Mutate(e, "\"data\":{", "\"extra\":true,\"data\":{"),
      Mutate(e, "\"actor\":\"bob\"", "\"actor\":\"b\xff\""),
      Mutate(e, "\"actor\":\"bob\"", "\"actor\":\"bob\",\"actor\":\"eve\""),
  };
  for (const std::string& bytes : bad) {
    const auto decoded = DecodeCanonical(bytes);
    EXPECT_FALSE(decoded.ok()) << bytes;
    if (!decoded.ok()) {
      EXPECT_EQ(decoded.status().code(), Status::Code::kCorruption) << bytes;
    }
  }
}

TEST(CodecTest, EditNeedsEndDateAndClosesAtTogether) {
  Event e = OneOfEach()[1];
  std::get<PostEdited>(e.data).closes_at.reset();
  EXPECT_FALSE(DecodeCanonical(EncodeCanonical(e)).ok());
}

TEST(CodecTest, SurvivesEveryTruncationAndByteFlip) {
  // Fuzz-style: no prefix or single-byte change may crash the decoder.
  const std::string bytes = EncodeCanonical(Created());
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(DecodeCanonical(bytes.substr(0, n)).ok());
  }
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string flipped = bytes;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x20);
    (void)DecodeCanonical(flipped);  // may or may not parse; must not crash
  }
}

}  // namespace
}  // namespace ledger::events
