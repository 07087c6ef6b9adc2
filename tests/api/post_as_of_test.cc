#include "api/post_as_of.h"

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "commands/sequencer_fixture.h"
#include "events/keys.h"
#include "support/raw_log.h"
#include "support/status_matchers.h"

namespace ledger::api {
namespace {

using commands::PostState;
using commands::Submission;
using commands::testing::Create;
using commands::testing::Delete;
using commands::testing::Fund;

Submission Edit(int64_t post, std::string title) {
  commands::EditPost edit;
  edit.post_id = post;
  edit.title = std::move(title);
  return Submission{edit, "alice", "req-edit", ""};
}

// A real RocksDB log written by the real sequencer.
class PostAsOfTest : public commands::testing::SequencerFixture {
 protected:
  void SetUp() override {
    OpenLog();
    StartSequencer(log_.get());
  }

  PostState Fold(int64_t post_id, int64_t as_of, size_t chunk_events = kAsOfChunkEvents) {
    Result<PostState> state = FoldPostTo(*log_, post_id, as_of, chunk_events);
    EXPECT_OK(state);
    return state.ok() ? *state : PostState{};
  }

  // Post 1 with fundings and an edit, and post 2's events in between:
  //   1 create 1, 2 create 2, 3 bob funds 1 (2 units), 4 bob funds 2,
  //   5 title of 1 edited, 6 dave funds 1, 7 bob funds 1 again.
  void WriteHistory() {
    Accept(Create());
    Accept(Create("carol"));
    Accept(Fund(1, "bob", 2));
    Accept(Fund(2, "bob"));
    Accept(Edit(1, "새 제목"));
    Accept(Fund(1, "dave"));
    Accept(Fund(1, "bob"));
    ASSERT_EQ(log_->Head().position, 7);
  }
};

TEST_F(PostAsOfTest, FoldsThePostAsItWasAtEachPosition) {
  WriteHistory();
  struct Want {
    int64_t as_of;
    int64_t version;
    int64_t total_funded;
    int64_t participants;
    std::string title;
  };
  const std::string first = commands::testing::Draft().title;
  for (const Want& want :
       {Want{1, 1, 0, 0, first}, Want{2, 1, 0, 0, first}, Want{3, 2, 2'000, 1, first},
        Want{4, 2, 2'000, 1, first}, Want{5, 3, 2'000, 1, "새 제목"},
        Want{6, 4, 3'000, 2, "새 제목"}, Want{7, 5, 4'000, 2, "새 제목"}}) {
    const PostState post = Fold(1, want.as_of);
    ASSERT_TRUE(post.exists()) << want.as_of;
    EXPECT_FALSE(post.deleted);
    EXPECT_EQ(post.id, 1);
    EXPECT_EQ(post.version, want.version) << want.as_of;
    EXPECT_EQ(post.total_funded, want.total_funded) << want.as_of;
    EXPECT_EQ(post.participant_count(), want.participants) << want.as_of;
    EXPECT_EQ(post.title, want.title) << want.as_of;
  }
  // At the head the fold is exactly the sequencer's own state.
  EXPECT_EQ(Fold(1, 7), sequencer_->FindPost(1).value());
  EXPECT_EQ(Fold(2, 7), sequencer_->FindPost(2).value());
}

TEST_F(PostAsOfTest, NoEventByThenIsNoPost) {
  WriteHistory();
  EXPECT_FALSE(Fold(1, 0).exists());
  EXPECT_FALSE(Fold(2, 1).exists());  // created at 2
  EXPECT_TRUE(Fold(2, 2).exists());
  EXPECT_FALSE(Fold(99, 7).exists());  // never created
}

TEST_F(PostAsOfTest, ChunksOfAnySizeGiveTheSameState) {
  WriteHistory();
  for (int i = 0; i < 20; ++i) Accept(Fund(1, "backer-" + std::to_string(i % 7)));
  const int64_t head = log_->Head().position;
  for (int64_t as_of = 0; as_of <= head; ++as_of) {
    const PostState whole = Fold(1, as_of);
    for (const size_t chunk : {size_t{1}, size_t{2}, size_t{3}, size_t{5}, size_t{25}}) {
      EXPECT_EQ(Fold(1, as_of, chunk), whole) << "as_of " << as_of << ", chunk " << chunk;
    }
  }
  EXPECT_EQ(Fold(1, head, 1), sequencer_->FindPost(1).value());
}

// A delete appends one refund per backer, then PostDeleted: positions inside
// that append show the refunds so far, the last one the deleted post.
TEST_F(PostAsOfTest, FoldsADeleteAndItsRefunds) {
  Accept(Create());           // 1
  Accept(Fund(1, "bob", 2));  // 2
  Accept(Fund(1, "carol"));   // 3
  const commands::CommandOutcome deleted = Accept(Delete(1));
  ASSERT_EQ(deleted.first_position, 4);  // refund of bob
  ASSERT_EQ(deleted.last_position, 6);   // PostDeleted, after carol's refund
  EXPECT_EQ(Fold(1, 3).total_funded, 3'000);
  const PostState bob_refunded = Fold(1, 4);
  EXPECT_FALSE(bob_refunded.deleted);
  EXPECT_EQ(bob_refunded.total_funded, 1'000);
  EXPECT_EQ(bob_refunded.participant_count(), 1);
  const PostState all_refunded = Fold(1, 5);
  EXPECT_FALSE(all_refunded.deleted);
  EXPECT_EQ(all_refunded.total_funded, 0);
  const PostState gone = Fold(1, 6);
  EXPECT_TRUE(gone.exists());
  EXPECT_TRUE(gone.deleted);
  EXPECT_EQ(gone.version, 6);  // created, 2 fundings, 2 refunds, deleted
}

TEST_F(PostAsOfTest, RecordedAtIsTheEventsOwnTime) {
  Accept(Create());
  clock_.Advance(std::chrono::hours(30));
  Accept(Fund(1));
  const Result<Timestamp> first = RecordedAt(*log_, 1);
  ASSERT_OK(first);
  EXPECT_EQ(*first, commands::testing::Noon());
  const Result<Timestamp> second = RecordedAt(*log_, 2);
  ASSERT_OK(second);
  EXPECT_EQ(*second, commands::testing::Noon() + std::chrono::hours(30));
}

TEST_F(PostAsOfTest, RefusesAStreamIndexThatNamesAnotherPostsEvent) {
  WriteHistory();
  sequencer_.reset();
  log_.reset();
  // Post 1's version 2 (position 3) now points at position 4, post 2's.
  ledger::testing::OverwriteRawValue(dir_.Sub("log"), events::kStreamsFamily,
                                     events::StreamKey(1, 2), [](std::string& value) {
                                       value.clear();
                                       events::AppendBigEndian64(&value, 4);
                                     });
  OpenLog();
  EXPECT_OK(FoldPostTo(*log_, 1, 2));  // the broken entry is never read
  const Result<PostState> broken = FoldPostTo(*log_, 1, 7);
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.status().code(), Status::Code::kCorruption) << broken.status().ToString();
  EXPECT_NE(broken.status().message().find("post 2"), std::string::npos)
      << broken.status().ToString();
}

}  // namespace
}  // namespace ledger::api
