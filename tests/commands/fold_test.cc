#include "commands/fold.h"

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "events/event_fixtures.h"
#include "events/keys.h"
#include "sequencer_fixture.h"
#include "support/raw_log.h"
#include "support/status_matchers.h"
#include "support/time_literals.h"

namespace ledger::commands {
namespace {

using testing::Create;
using testing::Delete;
using testing::Draft;
using testing::Fund;

Submission Edit(int64_t post, std::string title) {
  EditPost edit;
  edit.post_id = post;
  edit.title = std::move(title);
  return Submission{edit, "alice", "req-edit", ""};
}

// A real RocksDB log written by the real sequencer, and ways to break it
// behind the log's back.
class FoldTest : public testing::SequencerFixture {
 protected:
  void SetUp() override {
    OpenLog();
    StartSequencer(log_.get());
  }

  void CreatePost(const std::string& owner, const std::string& title,
                  std::string_view description = "a campaign") {
    PostDraft draft = Draft(title);
    draft.description = std::string(description);
    Accept(Submission{CreatePosts{{draft}, false}, owner, "req-create", ""});
  }

  // The history most tests start from (WriteSampleHistory).
  void BuildHistory() {
    testing::WriteSampleHistory(
        [&](const std::string& owner, const std::string& title, std::string_view description) {
          CreatePost(owner, title, description);
        },
        [&](Submission s) { Accept(std::move(s)); });
  }

  // Post 1 with fundings and an edit, and post 2's events in between:
  //   1 create 1, 2 create 2, 3 bob funds 1 (2 units), 4 bob funds 2,
  //   5 title of 1 edited, 6 dave funds 1, 7 bob funds 1 again.
  void WriteStreamHistory() {
    Accept(Create());
    Accept(Create("carol"));
    Accept(Fund(1, "bob", 2));
    Accept(Fund(2, "bob"));
    Accept(Edit(1, "새 제목"));
    Accept(Fund(1, "dave"));
    Accept(Fund(1, "bob"));
    ASSERT_EQ(log_->Head().position, 7);
  }

  PostState FoldPost(int64_t post_id, int64_t to_position,
                     size_t chunk_events = kStreamFoldChunkEvents) {
    Result<PostState> state = FoldPostStream(*log_, post_id, to_position, chunk_events);
    EXPECT_OK(state);
    return state.ok() ? *state : PostState{};
  }

  // The last position of a post's stream.
  int64_t LastPosition(int64_t post) {
    std::vector<int64_t> positions;
    EXPECT_OK(log_->StreamPositions(post, 1, 1'000, &positions));
    return positions.empty() ? 0 : positions.back();
  }

  // Stops the sequencer, closes the log, applies `change` to the stored event
  // at `position` (erasing it when `change` is empty), and reopens the log
  // with a tail check short enough not to reach it.
  void TamperWithEvent(int64_t position, const std::function<void(std::string&)>& change) {
    const int64_t head = log_->Head().position;
    sequencer_.reset();
    log_.reset();
    log_ = ledger::testing::TamperWithStoredEvent(dir_.Sub("log"), head, position, change);
  }

  void FlipByteOfEvent(int64_t position) {
    TamperWithEvent(position, [](std::string& v) { v[v.size() / 2] ^= 0x01; });
  }

  // Stops the sequencer and appends an event the post's state refuses.
  // Returns its position.
  int64_t AppendRefusedEvent() {
    sequencer_.reset();
    Result<int64_t> position = events::testing::AppendRefusedFunding(*log_);
    EXPECT_OK(position);
    return position.ok() ? *position : 0;
  }
};

// --- FoldLog -------------------------------------------------------------

TEST_F(FoldTest, FoldLogYieldsTheSequencersStateOfEveryPost) {
  BuildHistory();
  auto folded = FoldLog(*log_, log_->Head().position);
  ASSERT_OK(folded);
  EXPECT_EQ(folded->position, log_->Head().position);
  EXPECT_EQ(folded->hash, log_->Head().hash);
  EXPECT_EQ(folded->events, log_->Head().position);
  ASSERT_EQ(folded->posts.size(), 5U);
  for (int64_t id = 1; id <= 5; ++id) {
    EXPECT_EQ(folded->posts[static_cast<size_t>(id - 1)], *sequencer_->FindWholePost(id)) << id;
    EXPECT_EQ(folded->last_position[static_cast<size_t>(id - 1)], LastPosition(id)) << id;
  }
}

TEST_F(FoldTest, FoldLogKeepsTheLatestRecordedAt) {
  Accept(Create());
  clock_.Advance(std::chrono::hours(30));
  Accept(Fund(1));
  auto folded = FoldLog(*log_, log_->Head().position);
  ASSERT_OK(folded);
  EXPECT_EQ(folded->latest_recorded_at, testing::Noon() + std::chrono::hours(30));
  folded = FoldLog(*log_, 1);
  ASSERT_OK(folded);
  EXPECT_EQ(folded->latest_recorded_at, testing::Noon());
}

TEST_F(FoldTest, FoldLogToZeroIsEmpty) {
  BuildHistory();
  auto folded = FoldLog(*log_, 0);
  ASSERT_OK(folded);
  EXPECT_TRUE(folded->posts.empty());
  EXPECT_EQ(folded->position, 0);
  EXPECT_EQ(folded->hash, events::kGenesisHash);
}

TEST_F(FoldTest, FoldLogReportsProgressPerChunk) {
  BuildHistory();
  std::vector<std::pair<int64_t, int64_t>> calls;
  ASSERT_OK(FoldLog(*log_, log_->Head().position,
                    [&](int64_t done, int64_t total) { calls.emplace_back(done, total); }));
  ASSERT_EQ(calls.size(), 1U);  // the history fits in one chunk
  EXPECT_EQ(calls[0], std::make_pair(log_->Head().position, log_->Head().position));
}

TEST_F(FoldTest, FoldLogPastTheHeadIsInvalidArgument) {
  BuildHistory();
  const auto folded = FoldLog(*log_, log_->Head().position + 1);
  EXPECT_EQ(folded.status().code(), Status::Code::kInvalidArgument) << folded.status().ToString();
  EXPECT_EQ(FoldLog(*log_, -1).status().code(), Status::Code::kInvalidArgument);
}

TEST_F(FoldTest, FoldLogOfAFlippedByteIsCorruptionNamingThePosition) {
  BuildHistory();
  FlipByteOfEvent(5);
  const auto folded = FoldLog(*log_, log_->Head().position);
  ASSERT_EQ(folded.status().code(), Status::Code::kCorruption) << folded.status().ToString();
  EXPECT_NE(folded.status().message().find("position 5:"), std::string::npos)
      << folded.status().ToString();
  // Folding only up to the event before it still works.
  EXPECT_OK(FoldLog(*log_, 4));
}

TEST_F(FoldTest, FoldLogOfAMissingEventIsCorruptionNamingThePosition) {
  BuildHistory();
  TamperWithEvent(7, {});
  const auto folded = FoldLog(*log_, log_->Head().position);
  ASSERT_EQ(folded.status().code(), Status::Code::kCorruption) << folded.status().ToString();
  EXPECT_NE(folded.status().message().find("position 7: event missing"), std::string::npos)
      << folded.status().ToString();
}

TEST_F(FoldTest, FoldLogOfAnEventTheStateRefusesIsCorruptionNamingThePosition) {
  BuildHistory();
  const int64_t bad = AppendRefusedEvent();
  const auto folded = FoldLog(*log_, bad);
  ASSERT_EQ(folded.status().code(), Status::Code::kCorruption) << folded.status().ToString();
  EXPECT_NE(folded.status().message().find("position " + std::to_string(bad)), std::string::npos)
      << folded.status().ToString();
}

// --- WalkAndFoldLog ------------------------------------------------------

// What WalkAndFoldLog reports must be what the two audits report alone.
void ExpectWalkAndFoldAsAlone(const events::EventLog& log, int64_t fold_to, int64_t walk_to) {
  const auto walked = WalkAndFoldLog(log, fold_to, walk_to, {}, {}, {});
  ASSERT_OK(walked);
  const auto chain = events::VerifyLogChain(log, 1, walk_to);
  ASSERT_OK(chain);
  EXPECT_EQ(walked->chain.ok, chain->ok) << fold_to;
  EXPECT_EQ(walked->chain.first_bad_position, chain->first_bad_position) << fold_to;
  EXPECT_EQ(walked->chain.problem, chain->problem) << fold_to;
  EXPECT_EQ(walked->chain.events_checked, chain->events_checked) << fold_to;
  EXPECT_EQ(walked->chain.last_position, chain->last_position) << fold_to;
  EXPECT_EQ(walked->chain.last_hash, chain->last_hash) << fold_to;
  const auto folded = FoldLog(log, fold_to);
  ASSERT_EQ(walked->folded.ok(), folded.ok()) << fold_to << ": " << folded.status().ToString();
  if (!folded.ok()) {
    EXPECT_EQ(walked->folded.status().ToString(), folded.status().ToString()) << fold_to;
    return;
  }
  EXPECT_EQ(walked->folded->posts, folded->posts) << fold_to;
  EXPECT_EQ(walked->folded->last_position, folded->last_position) << fold_to;
  EXPECT_EQ(walked->folded->position, folded->position) << fold_to;
  EXPECT_EQ(walked->folded->hash, folded->hash) << fold_to;
  EXPECT_EQ(walked->folded->events, folded->events) << fold_to;
  EXPECT_EQ(walked->folded->latest_recorded_at, folded->latest_recorded_at) << fold_to;
}

TEST_F(FoldTest, WalkAndFoldLogIsTheChainWalkAndTheFoldInOnePass) {
  BuildHistory();
  const int64_t head = log_->Head().position;
  for (int64_t fold_to = 0; fold_to <= head; ++fold_to) {
    ExpectWalkAndFoldAsAlone(*log_, fold_to, head);
  }
  ExpectWalkAndFoldAsAlone(*log_, 2, 4);
  const auto walked = WalkAndFoldLog(*log_, 3, head, {}, {}, {});
  ASSERT_OK(walked);
  EXPECT_TRUE(walked->chain.ok);
  EXPECT_EQ(walked->chain.events_checked, head);
  ASSERT_OK(walked->folded);
  EXPECT_EQ(walked->folded->position, 3);
}

TEST_F(FoldTest, WalkAndFoldLogOfAFlippedByteReportsWhatEachAuditAloneReports) {
  BuildHistory();
  FlipByteOfEvent(5);
  const int64_t head = log_->Head().position;
  for (int64_t fold_to = 0; fold_to <= head; ++fold_to) {
    ExpectWalkAndFoldAsAlone(*log_, fold_to, head);
  }
}

TEST_F(FoldTest, WalkAndFoldLogOfAMissingEventReportsWhatEachAuditAloneReports) {
  BuildHistory();
  TamperWithEvent(7, {});
  const int64_t head = log_->Head().position;
  ExpectWalkAndFoldAsAlone(*log_, head, head);
  ExpectWalkAndFoldAsAlone(*log_, 6, head);
  ExpectWalkAndFoldAsAlone(*log_, 7, head);
}

TEST_F(FoldTest, WalkAndFoldLogWalksOnPastAnEventTheStateRefuses) {
  BuildHistory();
  const int64_t bad = AppendRefusedEvent();
  const auto walked = WalkAndFoldLog(*log_, bad, bad, {}, {}, {});
  ASSERT_OK(walked);
  EXPECT_TRUE(walked->chain.ok);
  EXPECT_EQ(walked->chain.events_checked, bad);
  ASSERT_EQ(walked->folded.status().code(), Status::Code::kCorruption);
  EXPECT_NE(walked->folded.status().message().find("position " + std::to_string(bad)),
            std::string::npos)
      << walked->folded.status().ToString();
  ExpectWalkAndFoldAsAlone(*log_, bad, bad);
}

TEST_F(FoldTest, WalkAndFoldLogRefusesPositionsOutOfOrder) {
  BuildHistory();
  const int64_t head = log_->Head().position;
  EXPECT_EQ(WalkAndFoldLog(*log_, -1, head, {}, {}, {}).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(WalkAndFoldLog(*log_, 3, 2, {}, {}, {}).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(WalkAndFoldLog(*log_, 3, head + 1, {}, {}, {}).status().code(),
            Status::Code::kInvalidArgument);
}

TEST_F(FoldTest, WalkAndFoldLogStopsWhenAsked) {
  BuildHistory();
  const int64_t head = log_->Head().position;
  const auto walked = WalkAndFoldLog(*log_, head, head, {}, [] { return true; }, {});
  EXPECT_EQ(walked.status().code(), Status::Code::kCancelled);
}

// --- FoldPostStream ------------------------------------------------------

TEST_F(FoldTest, FoldPostStreamFoldsThePostAsItWasAtEachPosition) {
  WriteStreamHistory();
  struct Want {
    int64_t to_position;
    int64_t version;
    int64_t total_funded;
    int64_t participants;
    std::string title;
  };
  const std::string first = Draft().title;
  for (const Want& want :
       {Want{1, 1, 0, 0, first}, Want{2, 1, 0, 0, first}, Want{3, 2, 2'000, 1, first},
        Want{4, 2, 2'000, 1, first}, Want{5, 3, 2'000, 1, "새 제목"},
        Want{6, 4, 3'000, 2, "새 제목"}, Want{7, 5, 4'000, 2, "새 제목"}}) {
    const PostState post = FoldPost(1, want.to_position);
    ASSERT_TRUE(post.exists()) << want.to_position;
    EXPECT_FALSE(post.deleted);
    EXPECT_EQ(post.id, 1);
    EXPECT_EQ(post.version, want.version) << want.to_position;
    EXPECT_EQ(post.total_funded, want.total_funded) << want.to_position;
    EXPECT_EQ(post.participant_count(), want.participants) << want.to_position;
    EXPECT_EQ(post.title, want.title) << want.to_position;
  }
  // At the head the fold is exactly the sequencer's own state.
  EXPECT_EQ(FoldPost(1, 7), sequencer_->FindWholePost(1).value());
  EXPECT_EQ(FoldPost(2, 7), sequencer_->FindWholePost(2).value());
}

TEST_F(FoldTest, FoldPostStreamWithNoEventByThenIsNoPost) {
  WriteStreamHistory();
  EXPECT_FALSE(FoldPost(1, 0).exists());
  EXPECT_FALSE(FoldPost(2, 1).exists());  // created at 2
  EXPECT_TRUE(FoldPost(2, 2).exists());
  EXPECT_FALSE(FoldPost(99, 7).exists());  // never created
}

TEST_F(FoldTest, FoldPostStreamInChunksOfAnySizeGivesTheSameState) {
  WriteStreamHistory();
  for (int i = 0; i < 20; ++i) Accept(Fund(1, "backer-" + std::to_string(i % 7)));
  const int64_t head = log_->Head().position;
  for (int64_t to = 0; to <= head; ++to) {
    const PostState whole = FoldPost(1, to);
    for (const size_t chunk : {size_t{1}, size_t{2}, size_t{3}, size_t{5}, size_t{25}}) {
      EXPECT_EQ(FoldPost(1, to, chunk), whole) << "to " << to << ", chunk " << chunk;
    }
  }
  EXPECT_EQ(FoldPost(1, head, 1), sequencer_->FindWholePost(1).value());
}

// A delete appends one refund per backer, then PostDeleted: positions inside
// that append show the refunds so far, the last one the deleted post.
TEST_F(FoldTest, FoldPostStreamFoldsADeleteAndItsRefunds) {
  Accept(Create());           // 1
  Accept(Fund(1, "bob", 2));  // 2
  Accept(Fund(1, "carol"));   // 3
  const CommandOutcome deleted = Accept(Delete(1));
  ASSERT_EQ(deleted.first_position, 4);  // refund of bob
  ASSERT_EQ(deleted.last_position, 6);   // PostDeleted, after carol's refund
  EXPECT_EQ(FoldPost(1, 3).total_funded, 3'000);
  const PostState bob_refunded = FoldPost(1, 4);
  EXPECT_FALSE(bob_refunded.deleted);
  EXPECT_EQ(bob_refunded.total_funded, 1'000);
  EXPECT_EQ(bob_refunded.participant_count(), 1);
  const PostState all_refunded = FoldPost(1, 5);
  EXPECT_FALSE(all_refunded.deleted);
  EXPECT_EQ(all_refunded.total_funded, 0);
  const PostState gone = FoldPost(1, 6);
  EXPECT_TRUE(gone.exists());
  EXPECT_TRUE(gone.deleted);
  EXPECT_EQ(gone.version, 6);  // created, 2 fundings, 2 refunds, deleted
}

TEST_F(FoldTest, FoldPostStreamRefusesAStreamIndexThatNamesAnotherPostsEvent) {
  WriteStreamHistory();
  sequencer_.reset();
  log_.reset();
  // Post 1's version 2 (position 3) now points at position 4, post 2's.
  ledger::testing::OverwriteRawValue(dir_.Sub("log"), events::kStreamsFamily,
                                     events::StreamKey(1, 2), [](std::string& value) {
                                       value.clear();
                                       events::AppendBigEndian64(&value, 4);
                                     });
  OpenLog();
  EXPECT_OK(FoldPostStream(*log_, 1, 2));  // the broken entry is never read
  const Result<PostState> broken = FoldPostStream(*log_, 1, 7);
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.status().code(), Status::Code::kCorruption) << broken.status().ToString();
  EXPECT_NE(broken.status().message().find("post 2"), std::string::npos)
      << broken.status().ToString();
}

}  // namespace
}  // namespace ledger::commands
