#include <gtest/gtest.h>

#include "event_fixtures.h"
#include "events/chain.h"
#include "events/codec.h"
#include "events/record.h"
#include "support/status_matchers.h"

namespace ledger::events {
namespace {

TEST(RecordTest, HashIsSha256OfPrevHashAndCanonicalBytes) {
  Event e = testing::Funded(1, 1, 1);
  e.prev_hash = kGenesisHash;
  const std::string canonical = EncodeCanonical(e);
  const std::string record = SealRecord(e, canonical);
  std::string input(32, '\0');
  input += canonical;
  EXPECT_EQ(e.hash, Sha256(input));
  ASSERT_EQ(record.size(), kRecordHeaderSize + canonical.size());
  auto decoded = DecodeRecord(record);
  ASSERT_OK(decoded);
  EXPECT_EQ(*decoded, e);
}

TEST(RecordTest, Sha256MatchesKnownVector) {
  EXPECT_EQ(ToHex(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HashFromHex(ToHex(Sha256("abc"))), Sha256("abc"));
  EXPECT_FALSE(HashFromHex("zz").has_value());
}

TEST(RecordTest, RejectsShortUnknownAndTamperedRecords) {
  Event e = testing::Funded(1, 1, 1);
  const std::string record = SealRecord(e, EncodeCanonical(e));
  EXPECT_FALSE(DecodeRecord("").ok());
  EXPECT_FALSE(DecodeRecord(record.substr(0, kRecordHeaderSize)).ok());
  std::string unknown = record;
  unknown[0] = 9;
  EXPECT_EQ(DecodeRecord(unknown).status().code(), Status::Code::kCorruption);
  for (size_t i = 1; i < record.size(); ++i) {
    std::string tampered = record;
    tampered[i] = static_cast<char>(tampered[i] ^ 0x01);
    EXPECT_FALSE(DecodeRecord(tampered).ok()) << "byte " << i;
  }
}

TEST(ChainVerifierTest, AcceptsAnIntactChainAndNamesTheFirstBadPosition) {
  LogHead head;
  const auto encoded = testing::NextFundings(head, 10);
  {
    ChainVerifier v(1, kGenesisHash);
    for (const auto& e : encoded) EXPECT_TRUE(v.Feed(e.position, e.record));
    EXPECT_TRUE(v.result().ok);
    EXPECT_EQ(v.result().events_checked, 10);
    EXPECT_EQ(v.result().last_hash, head.hash);
  }
  {
    ChainVerifier v(1, kGenesisHash);
    for (const auto& e : encoded) {
      std::string record = e.record;
      if (e.position == 6) record[record.size() - 3] ^= 0x04;
      v.Feed(e.position, record);
    }
    EXPECT_FALSE(v.result().ok);
    EXPECT_EQ(v.result().first_bad_position, 6);
    EXPECT_EQ(v.result().last_position, 5);
  }
  {
    // A whole record swapped for a validly hashed one that does not link.
    ChainVerifier v(1, kGenesisHash);
    for (const auto& e : encoded)
      v.Feed(e.position, e.position == 4 ? encoded[0].record : e.record);
    EXPECT_EQ(v.result().first_bad_position, 4);
  }
  {
    ChainVerifier v(1, kGenesisHash);
    v.Feed(1, encoded[0].record);
    v.Feed(3, encoded[2].record);  // 2 missing
    EXPECT_EQ(v.result().first_bad_position, 2);
  }
}

}  // namespace
}  // namespace ledger::events
