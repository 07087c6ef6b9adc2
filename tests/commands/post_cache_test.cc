// The sequencer's post cache over a real log: a miss reads a post's summary
// only, a command's need reads one backer or one funding (or the whole
// post), the backers read stay within the bound, and the rest goes at Trim.
#include "commands/post_cache.h"

#include <string>

#include <gtest/gtest.h>

#include "sequencer_fixture.h"

namespace ledger::commands {
namespace {

using testing::Create;
using testing::Fund;
using Need = PostCache::Need;

constexpr int kBackers = 200;

class PostCacheTest : public testing::SequencerFixture {
 protected:
  // Post 1 with one funding from each of kBackers backers, the first of
  // them cancelled; post 2 with none. The sequencer is stopped after, so
  // the durable state is all there is.
  void SetUp() override {
    OpenLog();
    StartSequencer(log_.get());
    Accept(Create());
    Accept(Create());
    for (int i = 0; i < kBackers; ++i) {
      const CommandOutcome funded = Accept(Fund(1, Backer(i), 1 + i % 3));
      if (i == 0) first_ = funded.first_position;
      if (i == 1) second_ = funded.first_position;
    }
    Accept(Submission{CancelFunding{1, first_}, Backer(0), "req", ""});
    whole_ = *sequencer_->FindWholePost(1);
    sequencer_->Stop();
  }

  static std::string Backer(int i) { return "backer-" + std::to_string(i); }

  int64_t first_ = 0;   // backer-0's funding, cancelled
  int64_t second_ = 0;  // backer-1's funding, live
  PostState whole_;
};

TEST_F(PostCacheTest, AMissReadsTheSummaryOnly) {
  PostCache cache(log_.get(), size_t{1} << 20);
  auto post = cache.Get(1);
  ASSERT_OK(post);
  EXPECT_EQ(**post, SummaryOf(whole_));
  EXPECT_EQ((*post)->participant_count(), kBackers - 1);
  cache.Trim();
  // A summary costs the same however many fundings the post has.
  auto other = cache.Get(2);
  ASSERT_OK(other);
  cache.Trim();
  EXPECT_EQ(EstimatedBytes(*cache.Peek(1)), EstimatedBytes(*cache.Peek(2)));
  EXPECT_EQ(cache.counts().loads, 2u);
}

TEST_F(PostCacheTest, ABackerIsReadOnceAndStaysAcrossBatches) {
  PostCache cache(log_.get(), size_t{1} << 20);
  auto post = cache.Get(1, Need::Backer(Backer(7)), {});
  ASSERT_OK(post);
  ASSERT_EQ((*post)->backers.size(), 1u);
  EXPECT_EQ(BackerTotal((*post)->backers.at(Backer(7))), BackerTotal(whole_.backers.at(Backer(7))));
  // Someone with nothing live on the post is read and found absent.
  ASSERT_OK(cache.Get(1, Need::Backer("nobody"), {}));
  EXPECT_EQ((*post)->backers.count("nobody"), 0u);
  EXPECT_EQ(cache.counts().backer_reads, 1u);
  cache.Trim();
  ASSERT_OK(cache.Get(1, Need::Backer(Backer(7)), {}));
  EXPECT_EQ(cache.counts().backer_reads, 1u);
  EXPECT_EQ(cache.Peek(1)->backers.size(), 1u);
  // A cancelled-out backer has no record.
  ASSERT_OK(cache.Get(1, Need::Backer(Backer(0)), {}));
  EXPECT_EQ(cache.Peek(1)->backers.count(Backer(0)), 0u);
}

TEST_F(PostCacheTest, AFundingIsReadWithItsBackerAndDroppedAtTrim) {
  PostCache cache(log_.get(), size_t{1} << 20);
  auto post = cache.Get(1, Need::Funding(second_), {});
  ASSERT_OK(post);
  const LiveFunding* live = (*post)->live_fundings.Find(second_);
  ASSERT_NE(live, nullptr);
  EXPECT_EQ(*live, *whole_.live_fundings.Find(second_));
  EXPECT_TRUE((*post)->backers.contains(Backer(1)));
  ASSERT_OK(cache.Get(1, Need::Funding(first_), {}));
  EXPECT_EQ(cache.Peek(1)->cancelled_fundings.at(first_), whole_.cancelled_fundings.at(first_));
  // A position that is no funding of the post reads nothing.
  ASSERT_OK(cache.Get(1, Need::Funding(1), {}));
  EXPECT_EQ(cache.Peek(1)->live_fundings.size(), 1u);
  cache.Trim();
  EXPECT_TRUE(cache.Peek(1)->live_fundings.empty());
  EXPECT_TRUE(cache.Peek(1)->cancelled_fundings.empty());
  EXPECT_TRUE(cache.Peek(1)->backers.contains(Backer(1)));
}

TEST_F(PostCacheTest, AWholeReadIsThePostAndIsDroppedAtTrim) {
  PostCache cache(log_.get(), size_t{1} << 20);
  ASSERT_OK(cache.Get(1, Need::Backer(Backer(3)), {}));
  auto post = cache.Get(1, Need::Whole(), {});
  ASSERT_OK(post);
  EXPECT_EQ(**post, whole_);
  EXPECT_EQ(cache.counts().whole_reads, 1u);
  // Whole, nothing more is read.
  ASSERT_OK(cache.Get(1, Need::Backer(Backer(9)), {}));
  EXPECT_EQ(cache.counts().backer_reads, 1u);
  cache.Trim();
  EXPECT_EQ(*cache.Peek(1), SummaryOf(whole_));
  EXPECT_EQ(cache.counts().bytes, EstimatedBytes(SummaryOf(whole_)));
}

// Backers are held within a quarter of the bound, the least recently used
// post's first; dropping them keeps the summaries, which cost more to read.
TEST_F(PostCacheTest, BackersAreDroppedBeforeSummaries) {
  PostCache cache(log_.get(), 40'000);  // backers: 10 000 bytes, about 44
  for (int i = 1; i <= 30; ++i) ASSERT_OK(cache.Get(1, Need::Backer(Backer(i)), {}));
  cache.Trim();
  EXPECT_EQ(cache.Peek(1)->backers.size(), 30u);
  EXPECT_GT(cache.counts().backer_bytes, 0u);
  ASSERT_OK(cache.Get(2, Need::Backer("someone"), {}));  // post 2 has no backers
  for (int i = 31; i <= 60; ++i) ASSERT_OK(cache.Get(1, Need::Backer(Backer(i)), {}));
  cache.Trim();
  // 60 backers are over the share: post 1's go, post 1 and 2 stay.
  EXPECT_TRUE(cache.Peek(1)->backers.empty());
  EXPECT_EQ(cache.counts().backer_bytes, 0u);
  EXPECT_EQ(cache.counts().posts, 2u);
  EXPECT_EQ(cache.counts().evictions, 0u);
  EXPECT_EQ(cache.Peek(1)->participant_count(), kBackers - 1);
  // Read again when needed.
  ASSERT_OK(cache.Get(1, Need::Backer(Backer(7)), {}));
  EXPECT_EQ(cache.counts().backer_reads, 61u);
  EXPECT_EQ(BackerTotal(cache.Peek(1)->backers.at(Backer(7))),
            BackerTotal(whole_.backers.at(Backer(7))));
}

TEST_F(PostCacheTest, TheLeastRecentlyUsedPostIsEvictedPastTheBound) {
  PostCache cache(log_.get(), EstimatedBytes(SummaryOf(whole_)) * 3 / 2);
  ASSERT_OK(cache.Get(1));
  cache.Trim();
  ASSERT_OK(cache.Get(2));
  cache.Trim();
  EXPECT_EQ(cache.Peek(1), nullptr);
  EXPECT_NE(cache.Peek(2), nullptr);
  EXPECT_EQ(cache.counts().evictions, 1u);
  EXPECT_EQ(cache.counts().posts, 1u);
}

}  // namespace
}  // namespace ledger::commands
