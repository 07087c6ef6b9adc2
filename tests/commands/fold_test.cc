#include "commands/fold.h"

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include "events/event_fixtures.h"
#include "events/keys.h"
#include "sequencer_fixture.h"
#include "support/raw_log.h"
#include "support/status_matchers.h"
#include "support/time_literals.h"

namespace ledger::commands {
namespace {

using testing::Delete;
using testing::Draft;
using testing::Fund;

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

  //   post 1 (alice): bob funds twice, carol once; then retitled, end date moved
  //   post 2 (alice): dave and bob fund; then deleted, both refunded
  //   post 3 (erin): alice funds 4 units
  //   post 4 (alice): created and deleted without fundings
  //   post 5 (carol): never funded
  void BuildHistory() {
    CreatePost("alice", "내 취미 만들기");
    CreatePost("alice", "취미를 위한 모임");
    CreatePost("erin", "escapes", "tab\there\nnew line, back\\slash, \\N, \r end");
    Accept(Fund(1, "bob", 2));
    Accept(Fund(1, "carol", 1));
    Accept(Fund(2, "dave", 1));
    Accept(Fund(2, "bob", 3));
    Accept(Fund(1, "bob", 3));
    EditPost edit;
    edit.post_id = 1;
    edit.title = "새 제목";
    edit.end_date = ledger::testing::D("2027-01-15");
    Accept(Submission{edit, "alice", "req-edit", ""});
    Accept(Fund(3, "alice", 4));
    Accept(Delete(2, "alice"));
    CreatePost("alice", "short lived");
    Accept(Delete(4, "alice"));
    CreatePost("carol", "untouched");
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
    ledger::testing::WithRawLog(
        dir_.Sub("log"), events::kEventsFamily,
        [&](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* family) {
          const std::string key = events::PositionKey(position);
          rocksdb::WriteOptions wo;
          wo.sync = true;
          if (!change) {
            ASSERT_TRUE(db.Delete(wo, family, key).ok());
            return;
          }
          std::string value;
          ASSERT_TRUE(db.Get(rocksdb::ReadOptions(), family, key, &value).ok());
          change(value);
          ASSERT_TRUE(db.Put(wo, family, key, value).ok());
        });
    events::RocksLogOptions options;
    options.verify_tail_events = head - position - 1;
    auto log = events::RocksEventLog::Open(dir_.Sub("log"), options);
    ASSERT_OK(log);
    log_ = std::move(log).value();
  }

  void FlipByteOfEvent(int64_t position) {
    TamperWithEvent(position, [](std::string& v) { v[v.size() / 2] ^= 0x01; });
  }

  // Appends a well-formed, correctly chained event that the post's state
  // refuses (a funding that skips a stream version), as a buggy writer might.
  int64_t AppendRefusedEvent() {
    sequencer_.reset();
    events::LogHead head = log_->Head();
    std::vector<events::Event> events{events::testing::Funded(head.position + 1, 1, 99)};
    EXPECT_OK(log_->Append(events::testing::SealAll(events, head), {}));
    return head.position;
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
    EXPECT_EQ(folded->posts[static_cast<size_t>(id - 1)], *sequencer_->FindPost(id)) << id;
    EXPECT_EQ(folded->last_position[static_cast<size_t>(id - 1)], LastPosition(id)) << id;
  }
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

}  // namespace
}  // namespace ledger::commands
