#include "commands/outcome.h"

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "commands/rejection.h"
#include "common/status.h"
#include "support/status_matchers.h"

namespace ledger::commands {
namespace {

// version (1) | accepted (1) | reason (1) | 4 × int64 | field length (4) |
// detail length (4)
constexpr size_t kHeaderSize = 43;

// The whole of a literal that may hold NUL bytes.
template <size_t N>
std::string Bytes(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

CommandOutcome Accepted() {
  CommandOutcome o;
  o.accepted = true;
  o.first_position = 1'000'001;
  o.last_position = 1'000'004;
  o.post_id = 42;
  o.stream_version = 9;
  return o;
}

CommandOutcome Rejected(RejectReason reason) {
  CommandOutcome o;
  o.accepted = false;
  o.rejection.reason = reason;
  o.rejection.field = Bytes("/0/title\0x");
  o.rejection.detail = Bytes("제목은 200자 이하여야 합니다\0 (got 201) 😀");
  return o;
}

std::string Describe(const CommandOutcome& o) {
  return std::string(o.accepted ? "accepted" : "rejected ") +
         (o.accepted ? "" : std::string(ReasonName(o.rejection.reason))) + " [" +
         std::to_string(o.first_position) + ".." + std::to_string(o.last_position) + "] post " +
         std::to_string(o.post_id) + " v" + std::to_string(o.stream_version) + " field '" +
         o.rejection.field + "' detail '" + o.rejection.detail + "'";
}

void ExpectRoundTrip(const CommandOutcome& o) {
  const std::string bytes = EncodeOutcome(o);
  const Result<CommandOutcome> decoded = DecodeOutcome(bytes);
  ASSERT_OK(decoded);
  EXPECT_TRUE(*decoded == o) << Describe(*decoded) << "\nwanted\n" << Describe(o);
}

::testing::AssertionResult IsCorruption(const Result<CommandOutcome>& r) {
  if (r.ok()) {
    return ::testing::AssertionFailure() << "decoded as " << Describe(*r);
  }
  if (r.status().code() != Status::Code::kCorruption) {
    return ::testing::AssertionFailure() << "expected Corruption, got " << r.status().ToString();
  }
  return ::testing::AssertionSuccess();
}

TEST(OutcomeTest, AcceptedRoundTrips) { ExpectRoundTrip(Accepted()); }

TEST(OutcomeTest, RejectedRoundTripsForEveryReason) {
  for (uint8_t v = 1; v <= kMaxRejectReason; ++v) {
    const auto reason = ReasonFromValue(v);
    ASSERT_TRUE(reason.has_value()) << static_cast<int>(v);
    ExpectRoundTrip(Rejected(*reason));
  }
}

TEST(OutcomeTest, RoundTripsUtf8AndNulBytesInFieldAndDetail) {
  const CommandOutcome o = Rejected(RejectReason::kInvalidField);
  ASSERT_NE(o.rejection.field.find('\0'), std::string::npos);
  ASSERT_NE(o.rejection.detail.find('\0'), std::string::npos);
  const Result<CommandOutcome> decoded = DecodeOutcome(EncodeOutcome(o));
  ASSERT_OK(decoded);
  EXPECT_EQ(decoded->rejection.field, o.rejection.field);
  EXPECT_EQ(decoded->rejection.detail, o.rejection.detail);
}

TEST(OutcomeTest, RoundTripsEmptyFieldAndDetail) {
  CommandOutcome o;
  o.accepted = false;
  o.rejection.reason = RejectReason::kPostNotFound;
  ExpectRoundTrip(o);
  o.rejection.detail = "no such post";
  ExpectRoundTrip(o);
  o.rejection.detail = "";
  o.rejection.field = "/units";
  ExpectRoundTrip(o);
}

TEST(OutcomeTest, RoundTripsExtremeIntegers) {
  CommandOutcome o = Accepted();
  o.first_position = std::numeric_limits<int64_t>::max();
  o.last_position = std::numeric_limits<int64_t>::min();
  o.post_id = -1;
  o.stream_version = 0;
  ExpectRoundTrip(o);
}

TEST(OutcomeTest, EncodingHasTheDocumentedLayout) {
  const CommandOutcome o = Rejected(RejectReason::kNotOwner);
  const std::string bytes = EncodeOutcome(o);
  ASSERT_EQ(bytes.size(), kHeaderSize + o.rejection.field.size() + o.rejection.detail.size());
  EXPECT_EQ(bytes[0], 1);                                        // format version
  EXPECT_EQ(bytes[1], 0);                                        // rejected
  EXPECT_EQ(bytes[2], 6);                                        // kNotOwner
  EXPECT_EQ(bytes.substr(35, 4), std::string("\0\0\0\x0a", 4));  // field length 10
  EXPECT_EQ(bytes.substr(39, 4), std::string("\0\0\0", 3) +      // detail length
                                     static_cast<char>(o.rejection.detail.size()));
  EXPECT_EQ(bytes.substr(kHeaderSize, 10), o.rejection.field);
  EXPECT_EQ(bytes.substr(kHeaderSize + 10), o.rejection.detail);

  const std::string accepted = EncodeOutcome(Accepted());
  ASSERT_EQ(accepted.size(), kHeaderSize);
  EXPECT_EQ(accepted[1], 1);
  EXPECT_EQ(accepted.substr(3, 8), std::string("\0\0\0\0\0\x0f\x42\x41", 8));  // 1'000'001
}

TEST(OutcomeTest, RejectsEmptyInput) { EXPECT_TRUE(IsCorruption(DecodeOutcome(""))); }

TEST(OutcomeTest, RejectsEveryPrefixEndingInsideHeaderOrField) {
  for (const CommandOutcome& o : {Accepted(), Rejected(RejectReason::kFundingClosed)}) {
    const std::string bytes = EncodeOutcome(o);
    const size_t fixed = kHeaderSize + o.rejection.field.size();
    for (size_t n = 0; n < fixed; ++n) {
      EXPECT_TRUE(IsCorruption(DecodeOutcome(std::string_view(bytes).substr(0, n))))
          << "prefix of " << n << " of " << bytes.size() << " bytes";
    }
  }
}

// A record cut short anywhere must not decode as a different outcome: the
// brief for this codec is "truncated bytes → kCorruption". The detail runs
// to the end of the record without a length, so a cut inside it is not seen.
TEST(OutcomeTest, RejectsEveryPrefixEndingInsideDetail) {
  const CommandOutcome o = Rejected(RejectReason::kFundingClosed);
  const std::string bytes = EncodeOutcome(o);
  const size_t fixed = kHeaderSize + o.rejection.field.size();
  std::vector<size_t> decoded_lengths;
  for (size_t n = fixed; n < bytes.size(); ++n) {
    if (DecodeOutcome(std::string_view(bytes).substr(0, n)).ok()) decoded_lengths.push_back(n);
  }
  EXPECT_TRUE(decoded_lengths.empty())
      << decoded_lengths.size() << " of " << bytes.size() - fixed
      << " truncations inside the detail decoded as a valid outcome, e.g. the prefix of " << fixed
      << " bytes (empty detail) of a " << bytes.size() << "-byte record";
}

TEST(OutcomeTest, RejectsUnknownFormatVersion) {
  for (const char version : {'\0', '\x02', '\xff'}) {
    std::string bytes = EncodeOutcome(Accepted());
    bytes[0] = version;
    EXPECT_TRUE(IsCorruption(DecodeOutcome(bytes))) << static_cast<int>(version);
  }
}

TEST(OutcomeTest, RejectsAcceptedFlagOtherThanZeroOrOne) {
  for (const char flag : {'\x02', '\x80', '\xff'}) {
    std::string bytes = EncodeOutcome(Rejected(RejectReason::kNotOwner));
    bytes[1] = flag;
    EXPECT_TRUE(IsCorruption(DecodeOutcome(bytes))) << static_cast<int>(flag);
  }
}

TEST(OutcomeTest, RejectsUnknownReason) {
  for (const uint8_t reason :
       {uint8_t{0}, uint8_t{kMaxRejectReason + 1}, uint8_t{0x80}, uint8_t{0xff}}) {
    std::string bytes = EncodeOutcome(Rejected(RejectReason::kNotOwner));
    bytes[2] = static_cast<char>(reason);
    EXPECT_TRUE(IsCorruption(DecodeOutcome(bytes))) << static_cast<int>(reason);
  }
}

TEST(OutcomeTest, RejectsFieldLengthPastTheEnd) {
  const CommandOutcome o = Rejected(RejectReason::kInvalidField);
  const std::string good = EncodeOutcome(o);
  for (const uint32_t len : {uint32_t{1'000}, uint32_t{0x7fffffff}, uint32_t{0xffffffff}}) {
    std::string bytes = good;
    for (int i = 0; i < 4; ++i) {
      bytes[35 + static_cast<size_t>(i)] = static_cast<char>((len >> (24 - 8 * i)) & 0xff);
    }
    EXPECT_TRUE(IsCorruption(DecodeOutcome(bytes))) << len;
  }
  // Field and detail lengths must add up to exactly the bytes that follow:
  // moving one byte from the detail to the field is refused.
  std::string bytes = good;
  const auto field_len = static_cast<uint32_t>(o.rejection.field.size() + 1);
  for (int i = 0; i < 4; ++i) {
    bytes[35 + static_cast<size_t>(i)] = static_cast<char>((field_len >> (24 - 8 * i)) & 0xff);
  }
  EXPECT_TRUE(IsCorruption(DecodeOutcome(bytes)));
}

TEST(OutcomeTest, SurvivesEverySingleByteCorruption) {
  const std::string good = EncodeOutcome(Rejected(RejectReason::kAmountOverflow));
  for (size_t i = 0; i < good.size(); ++i) {
    for (const uint8_t x : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xff}}) {
      std::string bytes = good;
      bytes[i] = static_cast<char>(static_cast<uint8_t>(bytes[i]) ^ x);
      const Result<CommandOutcome> r = DecodeOutcome(bytes);
      if (!r.ok()) {
        EXPECT_EQ(r.status().code(), Status::Code::kCorruption) << i;
      }
    }
  }
}

TEST(OutcomeTest, SurvivesRandomBytes) {
  std::mt19937 rng(20261121);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<size_t> length(0, 80);
  for (int round = 0; round < 20'000; ++round) {
    std::string bytes(length(rng), '\0');
    for (char& c : bytes) c = static_cast<char>(byte(rng));
    if (round % 2 == 0 && bytes.size() >= 3) {
      bytes[0] = 1;  // get past the version check half of the time
      bytes[1] = static_cast<char>(byte(rng) % 2);
    }
    const Result<CommandOutcome> r = DecodeOutcome(bytes);
    if (!r.ok()) {
      ASSERT_EQ(r.status().code(), Status::Code::kCorruption) << r.status().ToString();
    }
  }
}

TEST(OutcomeTest, ReasonValuesAreStable) {
  // Stored in idempotency records: never renumbered.
  EXPECT_EQ(static_cast<int>(RejectReason::kInvalidField), 1);
  EXPECT_EQ(static_cast<int>(RejectReason::kEndDateInPast), 2);
  EXPECT_EQ(static_cast<int>(RejectReason::kTargetImmutable), 3);
  EXPECT_EQ(static_cast<int>(RejectReason::kPostNotFound), 4);
  EXPECT_EQ(static_cast<int>(RejectReason::kPostDeleted), 5);
  EXPECT_EQ(static_cast<int>(RejectReason::kNotOwner), 6);
  EXPECT_EQ(static_cast<int>(RejectReason::kVersionMismatch), 7);
  EXPECT_EQ(static_cast<int>(RejectReason::kOwnerCannotFund), 8);
  EXPECT_EQ(static_cast<int>(RejectReason::kFundingClosed), 9);
  EXPECT_EQ(static_cast<int>(RejectReason::kAmountOverflow), 10);
  EXPECT_EQ(static_cast<int>(RejectReason::kTooManyBackers), 11);
  EXPECT_EQ(static_cast<int>(RejectReason::kPostSettled), 12);
  EXPECT_EQ(static_cast<int>(RejectReason::kFundingLimitReached), 13);
  EXPECT_EQ(static_cast<int>(RejectReason::kFundingNotFound), 14);
  EXPECT_EQ(static_cast<int>(RejectReason::kNotYourFunding), 15);
  EXPECT_EQ(static_cast<int>(RejectReason::kFundingAlreadyCancelled), 16);
  EXPECT_EQ(static_cast<int>(RejectReason::kFundingTermsFixed), 17);
  EXPECT_EQ(static_cast<int>(RejectReason::kNotYetClosed), 18);
  EXPECT_EQ(ReasonFromValue(0), std::nullopt);
  EXPECT_EQ(ReasonFromValue(kMaxRejectReason + 1), std::nullopt);
  EXPECT_EQ(ReasonFromValue(kMaxRejectReason), RejectReason::kNotYetClosed);
}

TEST(OutcomeTest, ReasonNamesAreDistinctSnakeCase) {
  std::vector<std::string_view> names;
  for (uint8_t v = 1; v <= kMaxRejectReason; ++v) {
    const std::string_view name = ReasonName(*ReasonFromValue(v));
    for (const char c : name) {
      EXPECT_TRUE((c >= 'a' && c <= 'z') || c == '_') << name;
    }
    for (const std::string_view other : names) EXPECT_NE(name, other);
    names.push_back(name);
  }
  EXPECT_EQ(ReasonName(RejectReason::kTargetImmutable), "target_immutable");
  EXPECT_EQ(ReasonName(RejectReason::kFundingClosed), "funding_closed");
}

}  // namespace
}  // namespace ledger::commands
