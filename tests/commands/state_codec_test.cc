// The durable state's records: a post survives encoding, keys sort as the
// layout says, and malformed records are refused.
#include "commands/state_codec.h"

#include <gtest/gtest.h>

#include "post_state_fixture.h"

namespace ledger::commands {
namespace {

using testing::Created;
using testing::PostStateTest;

PostState Decoded(const PostState& post) {
  state::PostDecoder decoder(post.id);
  for (const auto& [key, value] : state::EncodePost(post)) {
    EXPECT_OK(decoder.Add(key, value));
  }
  auto decoded = decoder.Finish();
  EXPECT_OK(decoded);
  return decoded.ok() ? *decoded : PostState{};
}

class StateCodecTest : public PostStateTest {};

TEST_F(StateCodecTest, APostSurvivesItsRecords) {
  Create();
  EXPECT_EQ(Decoded(state_), state_);
  Fund("bob", 2, 20'000);
  Fund("캐롤", 1, 10'000);
  Fund("bob", 1, 10'000);
  ASSERT_OK(Next(events::FundingCancelled{"bob", 101 + 1, 2, 20'000}));
  EXPECT_EQ(Decoded(state_), state_);
  ASSERT_OK(Next(events::FundingRefunded{"캐롤", 1, 10'000}));
  state_.max_fundings_per_backer = 3;
  state_.settlement = events::SettlementOutcome::kFailed;
  state_.funding_model = events::FundingModel::kAllOrNothing;
  const PostState decoded = Decoded(state_);
  EXPECT_EQ(decoded, state_);
  EXPECT_EQ(decoded.backers.at("bob").live_positions, std::vector<int64_t>{104});
  EXPECT_EQ(decoded.cancelled_fundings.size(), 1u);
  EXPECT_EQ(decoded.refunded_fundings.size(), 1u);
}

TEST_F(StateCodecTest, RecordsComeInKeyOrder) {
  Create();
  Fund("bob", 1, 10'000);
  const auto records = state::EncodePost(state_);
  for (size_t i = 1; i < records.size(); ++i) EXPECT_LT(records[i - 1].first, records[i].first);
  EXPECT_LT(state::HeadKey(), state::AllPostsBegin());
  EXPECT_LT(state::PostEnd(testing::kPostId), state::ScheduleBegin());
  EXPECT_LE(state::PostEnd(1'000'000), state::AllPostsEnd());
}

TEST(StateKeysTest, ScheduleKeysSortByDeadlineAcrossTheEpoch) {
  const Timestamp before_epoch{std::chrono::microseconds(-5)};
  const Timestamp after{std::chrono::microseconds(5)};
  EXPECT_LT(state::ScheduleKey(before_epoch, 9), state::ScheduleKey(after, 1));
  EXPECT_LT(state::ScheduleKey(after, 1), state::ScheduleKey(after, 2));
  const auto decoded = state::DecodeScheduleKey(state::ScheduleKey(before_epoch, 9));
  ASSERT_OK(decoded);
  EXPECT_EQ(decoded->first, before_epoch);
  EXPECT_EQ(decoded->second, 9);
  EXPECT_EQ(state::DescribeKey(state::ScheduleKey(after, 2)),
            "the settlement schedule's entry for post 2 (closing 1970-01-01T00:00:00.000005Z)");
  EXPECT_EQ(state::DescribeKey(state::FundingKey(3, 44)), "post 3's funding at position 44");
}

TEST(StateKeysTest, HeadRoundTripsAndMalformedOnesAreRefused) {
  state::StateHead head{42, events::Hash{}, 7, Timestamp{std::chrono::microseconds(99)}};
  head.hash[0] = 0xAB;
  const auto decoded = state::DecodeHead(state::EncodeHead(head));
  ASSERT_OK(decoded);
  EXPECT_EQ(*decoded, head);
  std::string cut = state::EncodeHead(head);
  cut.pop_back();
  EXPECT_EQ(state::DecodeHead(cut).status().code(), Status::Code::kCorruption);
}

TEST_F(StateCodecTest, RefusesRecordsThatDoNotAddUp) {
  Create();
  Fund("bob", 1, 10'000);
  state::PostDecoder decoder(state_.id);
  for (const auto& [key, value] : state::EncodePost(state_)) {
    if (key == state::FundingKey(state_.id, 102)) continue;  // a live funding lost
    ASSERT_OK(decoder.Add(key, value));
  }
  EXPECT_TRUE(testing::IsCorruption(decoder.Finish().status()));

  state::PostDecoder garbled(state_.id);
  EXPECT_TRUE(testing::IsCorruption(garbled.Add(state::HeaderKey(state_.id), "\x01short")));
  EXPECT_TRUE(testing::IsCorruption(garbled.Add(state::HeaderKey(state_.id + 1), "")));
  state::PostDecoder no_header(state_.id);
  EXPECT_TRUE(testing::IsCorruption(no_header.Finish().status()));
}

}  // namespace
}  // namespace ledger::commands
