// Sequencer behaviour that needs control over the log: write failures,
// a write held open (to fill the queue or to force a batch), idempotency.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "commands/sequencer.h"
#include "commands/sequencer_metrics.h"
#include "commands/state_codec.h"
#include "events/chain.h"
#include "sequencer_fixture.h"

namespace ledger::commands {
namespace {

using testing::Create;
using testing::Fund;

// The real RocksDB log with three faults it can be told to show: fail the
// next appends (nothing written, as when fsync fails), hold appends until
// released, or fail the next read of one state key.
class ControlledLog final : public events::EventLog {
 public:
  explicit ControlledLog(events::EventLog* real) : real_(real) {}

  void FailNextAppends(int n) {
    std::lock_guard lock(mu_);
    fail_next_ = n;
  }
  void Hold() {
    std::lock_guard lock(mu_);
    held_ = true;
  }
  void FailNextReadOf(std::string key) {
    std::lock_guard lock(mu_);
    fail_read_of_ = std::move(key);
  }
  void Release() {
    {
      std::lock_guard lock(mu_);
      held_ = false;
    }
    cv_.notify_all();
  }
  // Waits until an append is blocked in Hold().
  void WaitUntilHeld() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return waiting_ > 0; });
  }
  int appends() const {
    std::lock_guard lock(mu_);
    return appends_;
  }

  using events::EventLog::Append;

  events::LogHead Head() const override { return real_->Head(); }
  Status Append(std::span<const events::EncodedEvent> events,
                std::span<const events::IdempotencyWrite> idempotency,
                std::span<const events::StateWrite> state) override {
    {
      std::unique_lock lock(mu_);
      ++waiting_;
      cv_.notify_all();
      cv_.wait(lock, [this] { return !held_; });
      --waiting_;
      ++appends_;
      if (fail_next_ > 0) {
        --fail_next_;
        return Status::IOError("injected: fsync failed");
      }
    }
    return real_->Append(events, idempotency, state);
  }
  Status ScanRecords(int64_t from, int64_t to,
                     const std::function<bool(int64_t, std::string_view)>& fn) const override {
    return real_->ScanRecords(from, to, fn);
  }
  Status StreamPositions(int64_t stream, int64_t from_version, size_t max_count,
                         std::vector<int64_t>* positions) const override {
    return real_->StreamPositions(stream, from_version, max_count, positions);
  }
  Result<std::optional<events::IdempotencyRecord>> FindIdempotency(
      std::string_view actor, std::string_view key) const override {
    return real_->FindIdempotency(actor, key);
  }
  Result<std::optional<std::string>> ReadState(std::string_view key) const override {
    {
      std::lock_guard lock(mu_);
      if (!fail_read_of_.empty() && key == fail_read_of_) {
        fail_read_of_.clear();
        return Status::IOError("injected: read failed");
      }
    }
    return real_->ReadState(key);
  }
  Status ScanState(
      std::string_view from, std::string_view to,
      const std::function<bool(std::string_view, std::string_view)>& fn) const override {
    return real_->ScanState(from, to, fn);
  }
  Status ClearState() override { return real_->ClearState(); }
  Status WriteState(std::span<const events::StateWrite> writes, bool sync) override {
    return real_->WriteState(writes, sync);
  }

 private:
  events::EventLog* real_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int fail_next_ = 0;
  mutable std::string fail_read_of_;
  bool held_ = false;
  int waiting_ = 0;
  int appends_ = 0;
};

class SequencerFaultTest : public testing::SequencerFixture {
 protected:
  void SetUp() override { OpenLog(); }
  void Start(SequencerOptions options = {}) {
    controlled_ = std::make_unique<ControlledLog>(log_.get());
    StartSequencer(controlled_.get(), options);
  }
  void TearDown() override {
    if (controlled_) controlled_->Release();
    sequencer_.reset();
  }

  // Submits without waiting; the result lands in `out`.
  void SubmitInto(Submission s, CommandResult* out, std::atomic<int>* done) {
    sequencer_->Submit(std::move(s), [out, done](CommandResult r) {
      *out = std::move(r);
      done->fetch_add(1);
      done->notify_all();
    });
  }
  static void WaitFor(std::atomic<int>& done, int n) {
    for (int seen = done.load(); seen < n; seen = done.load()) done.wait(seen);
  }

  std::unique_ptr<ControlledLog> controlled_;
};

TEST_F(SequencerFaultTest, FailedWriteAcknowledgesNothingAndRestoresState) {
  Start();
  Accept(Create());
  Accept(Fund(1, "bob", 2));
  const auto before = sequencer_->FindWholePost(1);
  const events::LogHead head = log_->Head();

  // Hold the log so that a whole batch queues up, then make its write fail.
  controlled_->Hold();
  std::atomic<int> done{0};
  CommandResult first;
  SubmitInto(Fund(1, "carol"), &first, &done);
  controlled_->WaitUntilHeld();
  controlled_->FailNextAppends(1);
  std::vector<CommandResult> results(4);
  SubmitInto(Fund(1, "dave", 3), &results[0], &done);
  SubmitInto(Create("erin"), &results[1], &done);
  SubmitInto(Fund(1, "alice"), &results[2], &done);  // rejected, owner
  SubmitInto(Fund(1, "bob", 1, "key-x"), &results[3], &done);
  while (sequencer_->queue_depth() < 4) std::this_thread::yield();
  controlled_->Release();
  WaitFor(done, 5);

  // The held batch (carol) failed; everything else went in the next batch.
  EXPECT_EQ(first.status, CommandStatus::kUnavailable);
  EXPECT_NE(first.error.message().find("injected"), std::string::npos);
  EXPECT_EQ(results[0].status, CommandStatus::kAccepted);
  EXPECT_EQ(results[0].outcome.first_position, head.position + 1);  // no gap
  EXPECT_EQ(results[1].outcome.post_id, 2);
  EXPECT_EQ(results[2].status, CommandStatus::kRejected);
  EXPECT_EQ(results[3].status, CommandStatus::kAccepted);
  const auto after = sequencer_->FindWholePost(1);
  EXPECT_EQ(after->total_funded, before->total_funded + 3000 + 1000);
  EXPECT_FALSE(after->backers.contains("carol"));
  // Metrics: one failed write, its submitter counted unavailable; the write
  // after it made 3 events durable (dave, erin's post, bob) and timed both.
  const SequencerMetrics m = sequencer_->metrics();
  const auto fund = static_cast<size_t>(CommandKind::kFundPost);
  EXPECT_EQ(m.append_failures, 1u);
  EXPECT_EQ(m.commands[fund][kSlotUnavailable], 1u);
  EXPECT_EQ(m.commands[fund][kSlotAccepted], 3u);  // bob (setup), dave, bob with key-x
  EXPECT_EQ(m.commands[fund][static_cast<size_t>(RejectReason::kOwnerCannotFund)], 1u);
  // Every append was timed, the failed one too; all but that one are durable.
  EXPECT_EQ(m.write_seconds.count, static_cast<uint64_t>(controlled_->appends()));
  EXPECT_EQ(m.batches_written(), static_cast<uint64_t>(controlled_->appends() - 1));
}

// While writes fail (a full disk, say), clients keep funding: the schedule
// must not take an entry per failed batch. A settlement whose own write
// fails goes back into it and is made by a later batch.
TEST_F(SequencerFaultTest, FailedWritesNeitherGrowTheScheduleNorLoseASettlement) {
  SequencerOptions options;
  options.settlement_poll = std::chrono::milliseconds(5);
  Start(options);
  Accept(Create());
  Accept(Fund(1, "bob", 2));
  ASSERT_EQ(sequencer_->settlement_schedule_entries(), 1u);

  controlled_->FailNextAppends(20);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(sequencer_->SubmitAndWait(Fund(1, "carol")).status, CommandStatus::kUnavailable);
  }
  EXPECT_EQ(sequencer_->settlement_schedule_entries(), 1u);

  controlled_->FailNextAppends(1);
  const int appends = controlled_->appends();
  // Draft()'s end_date 2026-12-31 closes at 2026-12-31T15:00:00Z.
  clock_.Set(Timestamp(std::chrono::sys_days(*ParseDate("2026-12-31"))) + std::chrono::hours(15));
  bool settled = false;
  for (int i = 0; i < 2'000 && !settled; ++i) {
    const auto post = sequencer_->FindWholePost(1);
    settled = post && post->settled();
    if (!settled) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(settled);
  EXPECT_EQ(controlled_->appends(), appends + 2);  // the failed settlement, then the one made
  EXPECT_EQ(sequencer_->settlement_schedule_entries(), 0u);
  EXPECT_EQ(sequencer_->FindWholePost(1)->total_funded, 2'000);
}

TEST_F(SequencerFaultTest, FailedBatchRollsBackEveryChangeItMade) {
  Start();
  Accept(Create());
  Accept(Fund(1, "bob", 2));
  const auto before = sequencer_->FindWholePost(1);
  const events::LogHead head = log_->Head();

  controlled_->FailNextAppends(1);
  controlled_->Hold();
  std::atomic<int> done{0};
  std::vector<CommandResult> results(4);
  SubmitInto(Fund(1, "carol"), &results[0], &done);
  controlled_->WaitUntilHeld();
  // Hold() was set before the first append: it is that append that will fail
  // and it carries only carol. Fill one more batch behind it, which succeeds.
  SubmitInto(Fund(1, "dave"), &results[1], &done);
  while (sequencer_->queue_depth() < 1) std::this_thread::yield();
  controlled_->Release();
  WaitFor(done, 2);
  EXPECT_EQ(results[0].status, CommandStatus::kUnavailable);
  EXPECT_EQ(results[1].status, CommandStatus::kAccepted);
  EXPECT_EQ(results[1].outcome.first_position, head.position + 1);

  // A batch that creates a post and then fails: the post is gone again.
  controlled_->FailNextAppends(1);
  controlled_->Hold();
  SubmitInto(Create("erin"), &results[2], &done);
  controlled_->WaitUntilHeld();
  controlled_->Release();
  WaitFor(done, 3);
  EXPECT_EQ(results[2].status, CommandStatus::kUnavailable);
  EXPECT_FALSE(sequencer_->FindWholePost(2).has_value());
  auto expected = *before;
  auto now = *sequencer_->FindWholePost(1);
  EXPECT_EQ(now.total_funded, expected.total_funded + 1000);
  EXPECT_EQ(now.participant_count(), 2);
  // The id of the failed create was never acknowledged; the next create gets it.
  EXPECT_EQ(Accept(Create("erin")).post_id, 2);
  auto chain = events::VerifyLogChain(*log_, 1, log_->Head().position);
  ASSERT_OK(chain);
  EXPECT_TRUE(chain->ok);
}

TEST_F(SequencerFaultTest, FullQueueAnswersOverloadedAtOnce) {
  SequencerOptions options;
  options.queue_capacity = 3;
  Start(options);
  Accept(Create());
  controlled_->Hold();
  std::atomic<int> done{0};
  std::vector<CommandResult> results(5);
  SubmitInto(Fund(1), &results[0], &done);
  controlled_->WaitUntilHeld();  // the sequencer is inside a write
  for (size_t i = 1; i <= 3; ++i) SubmitInto(Fund(1), &results[i], &done);
  SubmitInto(Fund(1), &results[4], &done);  // the queue holds 3: refused
  EXPECT_EQ(done.load(), 1);
  EXPECT_EQ(results[4].status, CommandStatus::kOverloaded);
  controlled_->Release();
  WaitFor(done, 5);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(results[i].status, CommandStatus::kAccepted);
  const SequencerMetrics m = sequencer_->metrics();
  const auto fund = static_cast<size_t>(CommandKind::kFundPost);
  EXPECT_EQ(m.commands[fund][kSlotOverloaded], 1u);
  EXPECT_EQ(m.commands[fund][kSlotAccepted], 4u);
  EXPECT_EQ(m.queue_capacity, 3u);
}

TEST_F(SequencerFaultTest, CommandsQueuedDuringAWriteShareTheNextWrite) {
  Start();
  Accept(Create());
  const int appends_before = controlled_->appends();
  controlled_->Hold();
  std::atomic<int> done{0};
  std::vector<CommandResult> results(51);
  SubmitInto(Fund(1), &results[0], &done);
  controlled_->WaitUntilHeld();
  for (size_t i = 1; i <= 50; ++i)
    SubmitInto(Fund(1, "backer-" + std::to_string(i)), &results[i], &done);
  while (sequencer_->queue_depth() < 50) std::this_thread::yield();
  controlled_->Release();
  WaitFor(done, 51);
  for (const auto& r : results) EXPECT_EQ(r.status, CommandStatus::kAccepted);
  // One write for the held command, one for the 50 that queued behind it.
  EXPECT_EQ(controlled_->appends() - appends_before, 2);
}

// Between batches the sequencer keeps a post's summary only; a deletion reads
// the post whole from the durable state. Events of the same batch are not in
// the durable state yet: they must be applied on top, or the deletion would
// refund too little and leave money with no owner.
TEST_F(SequencerFaultTest, ADeletionReadsThePostWholeWithItsOwnBatchsFundings) {
  Start();
  Accept(Create());
  const CommandOutcome bobs = Accept(Fund(1, "bob", 2));
  Accept(Fund(1, "carol", 1));
  controlled_->Hold();
  std::atomic<int> done{0};
  std::vector<CommandResult> results(5);
  SubmitInto(Fund(1, "erin"), &results[0], &done);  // its write is held
  controlled_->WaitUntilHeld();
  SubmitInto(Fund(1, "dave", 3), &results[1], &done);
  SubmitInto(Fund(1, "carol", 1), &results[2], &done);
  SubmitInto(Submission{CancelFunding{1, bobs.first_position}, "bob", "req", ""}, &results[3],
             &done);
  SubmitInto(testing::Delete(1), &results[4], &done);
  while (sequencer_->queue_depth() < 4) std::this_thread::yield();
  controlled_->Release();
  WaitFor(done, 5);
  for (const auto& r : results) ASSERT_EQ(r.status, CommandStatus::kAccepted) << r.error.ToString();
  // The four queued commands shared one write: dave's and carol's fundings
  // and bob's cancellation were decided in the deletion's own batch.
  std::vector<events::Event> deletion;
  ASSERT_OK(events::ReadEvents(*log_, results[4].outcome.first_position,
                               results[4].outcome.last_position, 100, &deletion));
  std::vector<std::string> refunded;
  for (const events::Event& e : deletion) {
    if (const auto* r = std::get_if<events::FundingRefunded>(&e.data)) {
      refunded.push_back(r->backer + ":" + std::to_string(r->units));
    }
  }
  EXPECT_EQ(refunded, (std::vector<std::string>{"carol:2", "dave:3", "erin:1"}));
  const auto post = sequencer_->FindWholePost(1);
  ASSERT_TRUE(post.has_value());
  EXPECT_TRUE(post->deleted);
  EXPECT_EQ(post->total_funded, 0);
  EXPECT_EQ(post->participant_count(), 0);
  EXPECT_EQ(sequencer_->FindPost(1), SummaryOf(*post));
}

// A backer's record that could not be read is read again by the next
// command that needs it, not taken for "no live funding": that would let
// the backer past the per-backer limit and write their record from zero.
TEST_F(SequencerFaultTest, ABackerWhoseRecordFailedToReadIsReadAgain) {
  Start();
  PostDraft d = testing::Draft();
  d.max_fundings_per_backer = 1;
  Accept(Submission{CreatePosts{{d}, false}, "alice", "req", ""});
  Accept(Fund(1, "bob"));
  sequencer_.reset();
  Start();  // a new sequencer: nothing of post 1 in memory
  controlled_->FailNextReadOf(state::BackerKey(1, "bob"));
  EXPECT_EQ(Run(Fund(1, "bob")).status, CommandStatus::kUnavailable);
  const CommandResult again = Run(Fund(1, "bob"));
  ASSERT_EQ(again.status, CommandStatus::kRejected);
  EXPECT_EQ(again.outcome.rejection.reason, RejectReason::kFundingLimitReached);
  const auto post = sequencer_->FindWholePost(1);
  ASSERT_TRUE(post.has_value());
  EXPECT_EQ(post->funding_count, 1);
  EXPECT_EQ(post->backers.at("bob").fundings, 1);
}

TEST_F(SequencerFaultTest, IdempotentRetryReplaysTheOriginalResult) {
  Start();
  Accept(Create());
  const CommandOutcome first = Accept(Fund(1, "bob", 2, "key-1"));
  const events::LogHead head = log_->Head();
  const CommandResult retry = Run(Fund(1, "bob", 2, "key-1"));
  EXPECT_EQ(retry.status, CommandStatus::kAccepted);
  EXPECT_TRUE(retry.replayed);
  EXPECT_EQ(retry.outcome, first);
  EXPECT_EQ(log_->Head(), head);  // nothing new appended
  EXPECT_EQ(sequencer_->FindWholePost(1)->total_funded, 2000);

  // Same key, another body: refused.
  const CommandResult other = Run(Fund(1, "bob", 3, "key-1"));
  EXPECT_EQ(other.status, CommandStatus::kIdempotencyMismatch);
  // Keys are scoped per user: carol's key-1 is her own.
  EXPECT_EQ(Run(Fund(1, "carol", 3, "key-1")).status, CommandStatus::kAccepted);
  // And the record survives a restart.
  controlled_.reset();
  sequencer_.reset();
  Start();
  const CommandResult after_restart = Run(Fund(1, "bob", 2, "key-1"));
  EXPECT_TRUE(after_restart.replayed);
  EXPECT_EQ(after_restart.outcome, first);
}

TEST_F(SequencerFaultTest, IdempotentRetryOfARejectionReplaysTheRejection) {
  Start();
  Accept(Create());
  const CommandResult first = Run(Fund(1, "alice", 1, "key-2"));
  ASSERT_EQ(first.status, CommandStatus::kRejected);
  const CommandResult retry = Run(Fund(1, "alice", 1, "key-2"));
  EXPECT_EQ(retry.status, CommandStatus::kRejected);
  EXPECT_TRUE(retry.replayed);
  EXPECT_EQ(retry.outcome, first.outcome);
}

TEST_F(SequencerFaultTest, DuplicateStillInFlightIsToldSo) {
  SequencerOptions options;
  options.max_batch_commands = 2;
  Start(options);
  Accept(Create());
  controlled_->Hold();
  std::atomic<int> done{0};
  std::vector<CommandResult> results(3);
  SubmitInto(Fund(1, "carol"), &results[0], &done);
  controlled_->WaitUntilHeld();
  // Both duplicates queue behind the held write and are decided in one batch.
  SubmitInto(Fund(1, "bob", 1, "key-3"), &results[1], &done);
  SubmitInto(Fund(1, "bob", 1, "key-3"), &results[2], &done);
  while (sequencer_->queue_depth() < 2) std::this_thread::yield();
  controlled_->Release();
  WaitFor(done, 3);
  EXPECT_EQ(results[1].status, CommandStatus::kAccepted);
  EXPECT_EQ(results[2].status, CommandStatus::kIdempotencyInFlight);
  EXPECT_EQ(sequencer_->FindWholePost(1)->backers.at("bob").units, 1);
  const SequencerMetrics m = sequencer_->metrics();
  EXPECT_EQ(m.commands[static_cast<size_t>(CommandKind::kFundPost)][kSlotKeyInFlight], 1u);
  // The held batch of one, then both duplicates in one batch of two.
  EXPECT_EQ(m.batch_commands.counts[0], 2u);  // batches of 1: the create and carol
  EXPECT_EQ(m.batch_commands.counts[1], 1u);  // batches of 2
}

TEST_F(SequencerFaultTest, KeysExpireAfterTheRetentionPeriod) {
  Start();
  Accept(Create());
  Accept(Fund(1, "bob", 1, "key-4"));
  clock_.Advance(std::chrono::hours(23));
  EXPECT_EQ(Run(Fund(1, "bob", 5, "key-4")).status, CommandStatus::kIdempotencyMismatch);
  clock_.Advance(std::chrono::hours(2));
  const CommandResult reused = Run(Fund(1, "bob", 5, "key-4"));
  EXPECT_EQ(reused.status, CommandStatus::kAccepted);
  EXPECT_FALSE(reused.replayed);
}

TEST_F(SequencerFaultTest, FailedWriteDoesNotKeepTheIdempotencyKey) {
  Start();
  Accept(Create());
  controlled_->FailNextAppends(1);
  EXPECT_EQ(Run(Fund(1, "bob", 1, "key-5")).status, CommandStatus::kUnavailable);
  const CommandResult retry = Run(Fund(1, "bob", 1, "key-5"));
  EXPECT_EQ(retry.status, CommandStatus::kAccepted);
  EXPECT_FALSE(retry.replayed);
  EXPECT_EQ(sequencer_->FindWholePost(1)->total_funded, 1000);
}

}  // namespace
}  // namespace ledger::commands
