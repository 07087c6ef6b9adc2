// The durable state's records: a post survives encoding, keys sort as the
// layout says, and malformed records are refused.
#include "commands/state_codec.h"

#include <gtest/gtest.h>

#include "post_state_fixture.h"

namespace ledger::commands {
namespace {

using testing::Created;
using testing::PostStateTest;

// The records of `post` that a summary read takes: texts, header, totals.
Result<PostState> DecodedSummary(const PostState& post) {
  state::PostDecoder decoder(post.id, state::PostDecoder::Mode::kSummary);
  for (const auto& [key, value] : state::EncodePost(post)) {
    if (key == state::TextKey(post.id) || key == state::HeaderKey(post.id) ||
        key == state::TotalsKey(post.id)) {
      LEDGER_RETURN_IF_ERROR(decoder.Add(key, value));
    }
  }
  return decoder.Finish();
}

// Decodes `post`'s records whole after `change` has altered them.
template <typename Change>
Status DecodeChanged(const PostState& post, Change change) {
  auto records = state::EncodePost(post);
  change(records);
  state::PostDecoder decoder(post.id, state::PostDecoder::Mode::kWhole);
  for (const auto& [key, value] : records) LEDGER_RETURN_IF_ERROR(decoder.Add(key, value));
  return decoder.Finish().status();
}

PostState Decoded(const PostState& post) {
  state::PostDecoder decoder(post.id, state::PostDecoder::Mode::kWhole);
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
  const auto& positions = decoded.backers.at("bob").live_positions;
  EXPECT_EQ(std::vector<int64_t>(positions.begin(), positions.end()), std::vector<int64_t>{104});
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

// A funding, a cancellation and a refund write the records of the fundings
// they touch, the post's totals once and each touched backer's record once
// (deleted when nothing is left live); the header moves with every other
// event. A batch writes each of these once however many events touch it.
TEST_F(StateCodecTest, AFundingWritesItsRecordItsBackerAndTheTotals) {
  state::StateChanges changes;
  const auto next = [&](events::EventData data) {
    return testing::MakeEvent(testing::kPostId, state_.version + 1, std::move(data));
  };
  const auto writes = [&] {
    std::vector<std::pair<std::string, bool>> out;  // key, deleted
    for (const auto& w :
         changes.Take([&](int64_t) -> const PostState& { return state_; }, nullptr)) {
      out.emplace_back(w.key, !w.value.has_value());
    }
    return out;
  };
  using Writes = std::vector<std::pair<std::string, bool>>;
  const int64_t id = testing::kPostId;
  ASSERT_OK(changes.Apply(state_, next(Created())));
  EXPECT_EQ(writes(), (Writes{{state::ScheduleKey(state_.closes_at, id), false},
                              {state::TextKey(id), false},
                              {state::HeaderKey(id), false}}));
  ASSERT_OK(changes.Apply(state_, next(events::PostFunded{"bob", 1, 10'000})));
  ASSERT_OK(changes.Apply(state_, next(events::PostFunded{"bob", 2, 20'000})));
  EXPECT_EQ(writes(), (Writes{{state::FundingKey(id, 102), false},
                              {state::FundingKey(id, 103), false},
                              {state::TotalsKey(id), false},
                              {state::BackerKey(id, "bob"), false}}));
  ASSERT_OK(changes.Apply(state_, next(events::FundingCancelled{"bob", 102, 1, 10'000})));
  EXPECT_EQ(writes(), (Writes{{state::FundingKey(id, 102), false},
                              {state::TotalsKey(id), false},
                              {state::BackerKey(id, "bob"), false}}));
  ASSERT_OK(changes.Apply(state_, next(events::FundingRefunded{"bob", 2, 20'000})));
  EXPECT_EQ(writes(), (Writes{{state::FundingKey(id, 103), false},
                              {state::TotalsKey(id), false},
                              {state::BackerKey(id, "bob"), true}}));
  EXPECT_EQ(state_.header_version, 1);
  EXPECT_EQ(state_.funds_version, 5);
  EXPECT_EQ(state_.version, 5);
  EXPECT_EQ(Decoded(state_), state_);
}

// events::RocksEventLog hints memtable inserts of the state family by the
// first 9 bytes of a key: one post's records must share them.
TEST(StateKeysTest, APostsRecordsShareANineBytePrefix) {
  const std::string prefix = state::PostBegin(5);
  EXPECT_EQ(prefix.size(), 9u);
  for (const std::string& key : {state::TextKey(5), state::HeaderKey(5), state::FundingKey(5, 77),
                                 state::TotalsKey(5), state::BackerKey(5, "bob")}) {
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
  EXPECT_EQ(state::DescribeKey(state::TotalsKey(3)), "post 3's totals");
  EXPECT_EQ(state::DescribeKey(state::BackerKey(3, "캐롤")), "post 3's backer \"캐롤\"");
}

// Found by fuzz/event_record: a schedule key holding the earliest deadline
// (a corrupt state) overflowed while DescribeKey formatted it.
TEST(StateKeysTest, DescribesAScheduleKeyOfAnyDeadline) {
  EXPECT_TRUE(state::DescribeKey(state::ScheduleKey(Timestamp::min(), 7))
                  .starts_with("the settlement schedule's entry for post 7 (closing "));
  EXPECT_TRUE(state::DescribeKey(state::ScheduleKey(Timestamp::max(), 7))
                  .starts_with("the settlement schedule's entry for post 7 (closing "));
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

TEST_F(StateCodecTest, ASummaryIsThePostWithoutItsCollections) {
  Create();
  EXPECT_EQ(DecodedSummary(state_).value(), SummaryOf(state_));
  Fund("bob", 2, 20'000);
  Fund("캐롤", 1, 10'000);
  Fund("bob", 1, 10'000);
  ASSERT_OK(Next(events::FundingCancelled{"bob", 101 + 1, 2, 20'000}));
  const PostState summary = DecodedSummary(state_).value();
  EXPECT_EQ(summary, SummaryOf(state_));
  EXPECT_EQ(summary.total_funded, 20'000);
  EXPECT_EQ(summary.funding_count, 2);
  EXPECT_EQ(summary.participant_count(), 2);
  EXPECT_TRUE(summary.ever_funded);
  EXPECT_EQ(summary.version, state_.version);
  ASSERT_OK(Next(events::FundingRefunded{"캐롤", 1, 10'000}));
  ASSERT_OK(Next(events::FundingRefunded{"bob", 1, 10'000}));
  EXPECT_EQ(DecodedSummary(state_).value(), SummaryOf(state_));
  EXPECT_EQ(state_.participant_count(), 0);
}

TEST_F(StateCodecTest, AWholeReadChecksTotalsAndBackersAgainstTheFundings) {
  Create();
  Fund("bob", 2, 20'000);
  Fund("캐롤", 1, 10'000);
  EXPECT_OK(DecodeChanged(state_, [](auto&) {}));
  const std::string totals = state::TotalsKey(state_.id);
  const std::string bob = state::BackerKey(state_.id, "bob");
  PostState more = state_;
  more.total_funded += 10'000;
  EXPECT_TRUE(testing::IsCorruption(DecodeChanged(state_, [&](auto& records) {
    for (auto& [key, value] : records) {
      if (key == totals) value = state::EncodeTotals(more);
    }
  })));
  EXPECT_TRUE(testing::IsCorruption(DecodeChanged(state_, [&](auto& records) {
    for (auto& [key, value] : records) {
      if (key == bob) value = state::EncodeBacker(BackerTotal{3, 30'000, 2});
    }
  })));
  EXPECT_TRUE(testing::IsCorruption(DecodeChanged(state_, [&](auto& records) {
    std::erase_if(records, [&](const auto& r) { return r.first == bob; });
  })));
  EXPECT_TRUE(testing::IsCorruption(DecodeChanged(state_, [&](auto& records) {
    std::erase_if(records, [&](const auto& r) { return r.first == totals; });
  })));
  EXPECT_TRUE(testing::IsCorruption(DecodeChanged(state_, [&](auto& records) {
    records.insert(records.begin(), {state::BackerKey(state_.id, "alice"),
                                     state::EncodeBacker(BackerTotal{1, 10'000, 1})});
  })));
  // A summary read is refused a record it does not take.
  state::PostDecoder summary(state_.id, state::PostDecoder::Mode::kSummary);
  EXPECT_TRUE(testing::IsCorruption(
      summary.Add(state::FundingKey(state_.id, 102),
                  state::EncodeFunding(state::FundingFate::kLive, 2, "bob", 2, 20'000))));
  EXPECT_TRUE(
      testing::IsCorruption(state::DecodeBacker(state::EncodeBacker(BackerTotal{})).status()));
}

TEST_F(StateCodecTest, RefusesMalformedRecords) {
  Create();
  Fund("bob", 1, 10'000);
  state::PostDecoder versionless(state_.id, state::PostDecoder::Mode::kWhole);
  EXPECT_TRUE(testing::IsCorruption(
      versionless.Add(state::FundingKey(state_.id, 102),
                      state::EncodeFunding(state::FundingFate::kLive, 0, "bob", 1, 10'000))));
  std::string fateless = state::EncodeFunding(state::FundingFate::kCancelled, 2, "bob", 0, 0);
  fateless[1] = 9;
  state::PostDecoder unknown_fate(state_.id, state::PostDecoder::Mode::kWhole);
  EXPECT_TRUE(testing::IsCorruption(unknown_fate.Add(state::FundingKey(state_.id, 102), fateless)));

  state::PostDecoder garbled(state_.id, state::PostDecoder::Mode::kWhole);
  EXPECT_TRUE(testing::IsCorruption(garbled.Add(state::HeaderKey(state_.id), "\x01short")));
  EXPECT_TRUE(testing::IsCorruption(garbled.Add(state::HeaderKey(state_.id + 1), "")));
  state::PostDecoder no_header(state_.id, state::PostDecoder::Mode::kWhole);
  EXPECT_TRUE(testing::IsCorruption(no_header.Finish().status()));
}

}  // namespace
}  // namespace ledger::commands
