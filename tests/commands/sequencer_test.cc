#include "commands/sequencer.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "events/chain.h"
#include "events/event_fixtures.h"
#include "sequencer_fixture.h"

namespace ledger::commands {
namespace {

using testing::Create;
using testing::Delete;
using testing::Fund;

class SequencerTest : public testing::SequencerFixture {
 protected:
  void SetUp() override {
    OpenLog();
    StartSequencer(log_.get());
  }
};

TEST_F(SequencerTest, AssignsGaplessPositionsAndStreamVersions) {
  const CommandOutcome created = Accept(Create());
  EXPECT_EQ(created.first_position, 1);
  EXPECT_EQ(created.last_position, 1);
  EXPECT_EQ(created.post_id, 1);
  EXPECT_EQ(created.stream_version, 1);
  const CommandOutcome second = Accept(Create("carol"));
  EXPECT_EQ(second.post_id, 2);
  const CommandOutcome funded = Accept(Fund(1, "bob", 3));
  EXPECT_EQ(funded.first_position, 3);
  EXPECT_EQ(funded.stream_version, 2);

  std::vector<events::Event> events;
  ASSERT_OK(events::ReadEvents(*log_, 1, 10, 10, &events));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].stream, 1);
  EXPECT_EQ(events[2].stream_version, 2);
  EXPECT_EQ(events[2].actor, "bob");
  EXPECT_EQ(events[2].correlation_id, "req-fund");
  EXPECT_EQ(std::get<events::PostFunded>(events[2].data).amount, 3000);
  const auto post = sequencer_->FindWholePost(1);
  ASSERT_TRUE(post.has_value());
  EXPECT_EQ(post->total_funded, 3000);
  EXPECT_EQ(post->participant_count(), 1);
}

TEST_F(SequencerTest, CallsAfterBatchOnceTheSubmittersWereAnswered) {
  std::atomic<int> calls{0};
  std::atomic<bool> answered_first{false};
  std::atomic<bool> hook_saw_answer{true};
  SequencerOptions options;
  options.after_batch = [&] {
    hook_saw_answer = hook_saw_answer && answered_first.load();
    ++calls;
  };
  Restart(options);
  sequencer_->Submit(Create("alice"), [&](CommandResult) { answered_first = true; });
  for (int i = 0; i < 1000 && calls.load() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_GE(calls.load(), 1);
  EXPECT_TRUE(hook_saw_answer.load());
}

TEST_F(SequencerTest, CreatesAnArrayAllOrNone) {
  Submission s = Create();
  auto& create = std::get<CreatePosts>(s.command);
  create.as_array = true;
  create.posts = {testing::Draft("a"), testing::Draft("b"), testing::Draft("c")};
  const CommandOutcome ok = Accept(s);
  EXPECT_EQ(ok.first_position, 1);
  EXPECT_EQ(ok.last_position, 3);
  EXPECT_EQ(ok.post_id, 1);

  create.posts[1].title = "   ";
  const CommandResult bad = Run(s);
  ASSERT_EQ(bad.status, CommandStatus::kRejected);
  EXPECT_EQ(bad.outcome.rejection.field, "/1/title");
  EXPECT_EQ(log_->Head().position, 3);
  EXPECT_FALSE(sequencer_->FindWholePost(4).has_value());
}

TEST_F(SequencerTest, RejectionsWithoutKeysWriteNothing) {
  Accept(Create());
  const auto before = sequencer_->metrics().batches_written();
  const CommandResult r = Run(Fund(1, "alice"));
  EXPECT_EQ(r.status, CommandStatus::kRejected);
  EXPECT_EQ(r.outcome.rejection.reason, RejectReason::kOwnerCannotFund);
  EXPECT_EQ(sequencer_->metrics().batches_written(), before);
  EXPECT_EQ(log_->Head().position, 1);
}

TEST_F(SequencerTest, AnAcceptedFundingComesWithWhatItRecorded) {
  const CommandResult created = Run(Create());
  ASSERT_EQ(created.status, CommandStatus::kAccepted);
  EXPECT_FALSE(created.funded.has_value());
  const CommandResult funded = Run(Fund(1, "bob", 3, "key-9"));
  ASSERT_EQ(funded.status, CommandStatus::kAccepted);
  ASSERT_TRUE(funded.funded.has_value());
  // What the answer shows is what the log holds at the outcome's position.
  std::vector<events::Event> written;
  ASSERT_OK(events::ReadEvents(*log_, funded.outcome.last_position, funded.outcome.last_position, 1,
                               &written));
  ASSERT_EQ(written.size(), 1u);
  EXPECT_EQ(std::get<events::PostFunded>(written.front().data), *funded.funded);
  EXPECT_EQ(funded.funded->backer, "bob");
  EXPECT_EQ(funded.funded->units, 3);
  // A replay was not decided now: it names only the position to read.
  const CommandResult replay = Run(Fund(1, "bob", 3, "key-9"));
  ASSERT_TRUE(replay.replayed);
  EXPECT_FALSE(replay.funded.has_value());
  // Nor does a rejection.
  const CommandResult refused = Run(Fund(1, "alice"));
  ASSERT_EQ(refused.status, CommandStatus::kRejected);
  EXPECT_FALSE(refused.funded.has_value());
}

TEST_F(SequencerTest, ClosesFundingAtTheEndOfTheLastDayInSeoul) {
  // Without settlement, which would race the last funding at the deadline.
  SequencerOptions no_settling;
  no_settling.settle_posts = false;
  Restart(no_settling);
  Accept(Create());
  // end_date 2026-12-31 closes at 2027-01-01T00:00+09:00 = 2026-12-31T15:00:00Z.
  const Timestamp closes =
      Timestamp(std::chrono::sys_days(*ParseDate("2026-12-31"))) + std::chrono::hours(15);
  clock_.Set(closes - std::chrono::microseconds(1));
  Accept(Fund(1));
  clock_.Set(closes);
  const CommandResult r = Run(Fund(1));
  ASSERT_EQ(r.status, CommandStatus::kRejected);
  EXPECT_EQ(r.outcome.rejection.reason, RejectReason::kFundingClosed);
}

TEST_F(SequencerTest, RecordedAtNeverGoesBackwards) {
  Accept(Create());
  clock_.Advance(-std::chrono::hours(1));
  Accept(Fund(1));
  std::vector<events::Event> events;
  ASSERT_OK(events::ReadEvents(*log_, 1, 2, 2, &events));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_GE(events[1].recorded_at, events[0].recorded_at);
}

TEST_F(SequencerTest, RecordedAtNeverGoesBackwardsAcrossARestart) {
  Accept(Create());
  Restart();
  clock_.Advance(-std::chrono::hours(1));
  Accept(Fund(1));
  std::vector<events::Event> events;
  ASSERT_OK(events::ReadEvents(*log_, 1, 2, 2, &events));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].recorded_at, events[0].recorded_at);
}

TEST_F(SequencerTest, RefusesToStartOnALogTheStateCannotFold) {
  Accept(Create());
  sequencer_.reset();
  // A well-chained funding that skips a stream version, as a buggy writer
  // might append it.
  events::LogHead head = log_->Head();
  std::vector<events::Event> bad{events::testing::Funded(head.position + 1, 1, 99)};
  ASSERT_OK(log_->Append(events::testing::SealAll(bad, head), {}));
  // Appended without the sequencer's state: the stored state is refused...
  const auto refused = Sequencer::Start(log_.get(), &clock_, &zone_);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Status::Code::kFailedPrecondition)
      << refused.status().ToString();
  // ...and folding the log into a new one finds the broken event.
  SequencerOptions rebuild;
  rebuild.rebuild_state = true;
  const auto started = Sequencer::Start(log_.get(), &clock_, &zone_, rebuild);
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.status().code(), Status::Code::kCorruption) << started.status().ToString();
  EXPECT_NE(started.status().message().find("position 2"), std::string::npos)
      << started.status().ToString();
}

TEST_F(SequencerTest, DeleteRefundsEveryBackerInTheSameAppend) {
  Accept(Create());
  Accept(Fund(1, "bob", 2));
  Accept(Fund(1, "carol", 1));
  Accept(Fund(1, "bob", 1));
  const CommandOutcome deleted = Accept(Delete(1));
  EXPECT_EQ(deleted.first_position, 5);
  EXPECT_EQ(deleted.last_position, 7);  // bob's refund, carol's refund, PostDeleted
  std::vector<events::Event> events;
  ASSERT_OK(events::ReadEvents(*log_, 1, 100, 100, &events));
  int64_t funded = 0;
  int64_t refunded = 0;
  for (const auto& e : events) {
    if (const auto* f = std::get_if<events::PostFunded>(&e.data)) funded += f->amount;
    if (const auto* r = std::get_if<events::FundingRefunded>(&e.data)) refunded += r->amount;
  }
  EXPECT_EQ(funded, 4000);
  EXPECT_EQ(refunded, funded);
  EXPECT_EQ(std::get<events::PostDeleted>(events.back().data), (events::PostDeleted{4000, 2}));
  EXPECT_EQ(Run(Fund(1)).outcome.rejection.reason, RejectReason::kPostDeleted);
}

TEST_F(SequencerTest, RebuildsTheSameStateFromTheLogOnRestart) {
  Accept(Create());
  Accept(Create("carol"));
  Accept(Fund(1, "bob", 2));
  Accept(Fund(2, "bob", 1));
  Accept(Delete(2, "carol"));
  EditPost rename;
  rename.post_id = 1;
  rename.expected_version = 1;
  rename.title = "renamed";
  Submission edit{rename, "alice", "req-edit", ""};
  EXPECT_EQ(Run(edit).outcome.rejection.reason, RejectReason::kVersionMismatch);
  std::get<EditPost>(edit.command).expected_version = 2;
  Accept(edit);
  const auto post1 = sequencer_->FindWholePost(1);
  const auto post2 = sequencer_->FindWholePost(2);
  Restart();
  EXPECT_EQ(sequencer_->FindWholePost(1), post1);
  EXPECT_EQ(sequencer_->FindWholePost(2), post2);
  EXPECT_EQ(sequencer_->FindWholePost(1)->title, "renamed");
  // Ids continue after the restart, never reused.
  EXPECT_EQ(Accept(Create()).post_id, 3);
}

TEST_F(SequencerTest, RefusesMalformedIdentity) {
  EXPECT_EQ(Run(Create("")).status, CommandStatus::kInvalid);
  EXPECT_EQ(Run(Create(std::string(256, 'a'))).status, CommandStatus::kInvalid);
  EXPECT_EQ(Run(Create("al\xffice")).status, CommandStatus::kInvalid);
  EXPECT_EQ(Run(Create("alice", std::string(256, 'k'))).status, CommandStatus::kInvalid);
  EXPECT_EQ(log_->Head().position, 0);
}

TEST_F(SequencerTest, StopAnswersQueuedCommandsThenRefuses) {
  Accept(Create());
  std::atomic<int> answered{0};
  for (int i = 0; i < 100; ++i) {
    sequencer_->Submit(Fund(1), [&answered](CommandResult r) {
      EXPECT_EQ(r.status, CommandStatus::kAccepted);
      answered.fetch_add(1);
    });
  }
  sequencer_->Stop();
  EXPECT_EQ(answered.load(), 100);
  EXPECT_EQ(log_->Head().position, 101);
  EXPECT_EQ(Run(Fund(1)).status, CommandStatus::kUnavailable);
}

// 8 submitters × 10 000 fundings: every one is acknowledged with its own
// position, positions are exactly 2..80001, the chain verifies, and the group
// commit really grouped (far fewer writes than commands).
TEST_F(SequencerTest, GaplessPositionsUnderEightConcurrentSubmitters) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 10'000;
  Accept(Create());
  std::vector<std::vector<int64_t>> positions(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string backer = "backer-" + std::to_string(t);
      for (int i = 0; i < kPerThread; ++i) {
        const CommandResult r = sequencer_->SubmitAndWait(Fund(1, backer));
        ASSERT_EQ(r.status, CommandStatus::kAccepted) << r.error.ToString();
        positions[static_cast<size_t>(t)].push_back(r.outcome.first_position);
      }
    });
  }
  for (auto& t : threads) t.join();

  std::set<int64_t> all;
  for (const auto& p : positions) {
    // Each submitter's own positions increase.
    EXPECT_TRUE(std::is_sorted(p.begin(), p.end()));
    all.insert(p.begin(), p.end());
  }
  constexpr int64_t kTotal = int64_t{kThreads} * kPerThread;
  ASSERT_EQ(static_cast<int64_t>(all.size()), kTotal);
  EXPECT_EQ(*all.begin(), 2);
  EXPECT_EQ(*all.rbegin(), kTotal + 1);
  EXPECT_EQ(log_->Head().position, kTotal + 1);
  auto chain = events::VerifyLogChain(*log_, 1, kTotal + 1);
  ASSERT_OK(chain);
  EXPECT_TRUE(chain->ok) << chain->problem;
  EXPECT_EQ(sequencer_->FindWholePost(1)->total_funded, kTotal * 1000);
  EXPECT_EQ(sequencer_->FindWholePost(1)->participant_count(), kThreads);
  const SequencerMetrics m = sequencer_->metrics();
  EXPECT_LT(m.batches_written(), static_cast<uint64_t>(kTotal));
  EXPECT_EQ(m.events_appended[static_cast<size_t>(events::EventType::kPostCreated)], 1u);
  EXPECT_EQ(m.events_appended[static_cast<size_t>(events::EventType::kPostFunded)],
            static_cast<uint64_t>(kTotal));
  std::cout << "batches written for " << kTotal << " commands: " << m.batches_written() << "\n";
}

}  // namespace
}  // namespace ledger::commands
