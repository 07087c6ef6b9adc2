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

// The figures a funding changes are summed from the fundings on load, so a
// funding, a cancellation and a refund write only the records of the
// fundings they touch; the header moves with every other event.
TEST_F(StateCodecTest, AFundingWritesOnlyItsOwnRecord) {
  state::StateChanges changes;
  const auto next = [&](events::EventData data) {
    return testing::MakeEvent(testing::kPostId, state_.version + 1, std::move(data));
  };
  const auto keys = [&] {
    std::vector<std::string> out;
    for (const auto& w :
         changes.Take([&](int64_t) -> const PostState& { return state_; }, nullptr)) {
      out.push_back(w.key);
    }
    return out;
  };
  const int64_t id = testing::kPostId;
  ASSERT_OK(changes.Apply(state_, next(Created())));
  EXPECT_EQ(keys(), (std::vector<std::string>{state::ScheduleKey(state_.closes_at, id),
                                              state::TextKey(id), state::HeaderKey(id)}));
  ASSERT_OK(changes.Apply(state_, next(events::PostFunded{"bob", 1, 10'000})));
  ASSERT_OK(changes.Apply(state_, next(events::PostFunded{"bob", 2, 20'000})));
  EXPECT_EQ(keys(),
            (std::vector<std::string>{state::FundingKey(id, 102), state::FundingKey(id, 103)}));
  ASSERT_OK(changes.Apply(state_, next(events::FundingCancelled{"bob", 102, 1, 10'000})));
  EXPECT_EQ(keys(), std::vector<std::string>{state::FundingKey(id, 102)});
  ASSERT_OK(changes.Apply(state_, next(events::FundingRefunded{"bob", 2, 20'000})));
  EXPECT_EQ(keys(), std::vector<std::string>{state::FundingKey(id, 103)});
  // Decoding takes the version and the totals from the fundings.
  EXPECT_EQ(state_.header_version, 1);
  EXPECT_EQ(state_.version, 5);
  EXPECT_EQ(Decoded(state_), state_);
}

// events::RocksEventLog hints memtable inserts of the state family by the
// first 9 bytes of a key: one post's records must share them.
TEST(StateKeysTest, APostsRecordsShareANineBytePrefix) {
  const std::string prefix = state::PostBegin(5);
  EXPECT_EQ(prefix.size(), 9u);
  for (const std::string& key :
       {state::TextKey(5), state::HeaderKey(5), state::FundingKey(5, 77)}) {
    EXPECT_EQ(key.substr(0, 9), prefix);
  }
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

TEST_F(StateCodecTest, RefusesMalformedRecords) {
  Create();
  Fund("bob", 1, 10'000);
  state::PostDecoder versionless(state_.id);
  EXPECT_TRUE(testing::IsCorruption(
      versionless.Add(state::FundingKey(state_.id, 102),
                      state::EncodeFunding(state::FundingFate::kLive, 0, "bob", 1, 10'000))));
  std::string fateless = state::EncodeFunding(state::FundingFate::kCancelled, 2, "bob", 0, 0);
  fateless[1] = 9;
  state::PostDecoder unknown_fate(state_.id);
  EXPECT_TRUE(testing::IsCorruption(unknown_fate.Add(state::FundingKey(state_.id, 102), fateless)));

  state::PostDecoder garbled(state_.id);
  EXPECT_TRUE(testing::IsCorruption(garbled.Add(state::HeaderKey(state_.id), "\x01short")));
  EXPECT_TRUE(testing::IsCorruption(garbled.Add(state::HeaderKey(state_.id + 1), "")));
  state::PostDecoder no_header(state_.id);
  EXPECT_TRUE(testing::IsCorruption(no_header.Finish().status()));
}

}  // namespace
}  // namespace ledger::commands
