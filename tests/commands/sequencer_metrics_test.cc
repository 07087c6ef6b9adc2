#include "commands/sequencer_metrics.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <string_view>
#include <thread>
#include <utility>

#include <gtest/gtest.h>

#include "commands/sequencer.h"
#include "sequencer_fixture.h"

namespace ledger::commands {
namespace {

using testing::Create;
using testing::Delete;
using testing::Fund;

constexpr auto kCreate = static_cast<size_t>(CommandKind::kCreatePosts);
constexpr auto kFund = static_cast<size_t>(CommandKind::kFundPost);
constexpr auto kDelete = static_cast<size_t>(CommandKind::kDeletePost);

size_t Rejected(RejectReason reason) { return static_cast<size_t>(reason); }

size_t Type(events::EventType type) { return static_cast<size_t>(type); }

class SequencerMetricsTest : public testing::SequencerFixture {
 protected:
  void SetUp() override { OpenLog(); }
};

TEST_F(SequencerMetricsTest, CountsEveryCommandByKindOutcomeAndReason) {
  StartSequencer(log_.get());
  Accept(Create());
  Accept(Fund(1, "bob"));
  Accept(Fund(1, "carol", 2, "key-1"));
  EXPECT_EQ(Run(Fund(1, "alice")).status, CommandStatus::kRejected);  // the owner
  EXPECT_EQ(Run(Fund(99, "bob")).status, CommandStatus::kRejected);   // no such post
  // The same key again: answered from the record, not decided again.
  EXPECT_TRUE(Run(Fund(1, "carol", 2, "key-1")).replayed);
  // The same key with another request.
  EXPECT_EQ(Run(Fund(1, "carol", 5, "key-1")).status, CommandStatus::kIdempotencyMismatch);
  EXPECT_EQ(Run(Fund(1, "")).status, CommandStatus::kInvalid);  // no actor
  Accept(Delete(1));                                            // refunds bob and carol

  const SequencerMetrics m = sequencer_->metrics();
  EXPECT_EQ(m.commands[kCreate][kSlotAccepted], 1u);
  EXPECT_EQ(m.commands[kFund][kSlotAccepted], 2u);
  EXPECT_EQ(m.commands[kFund][Rejected(RejectReason::kOwnerCannotFund)], 1u);
  EXPECT_EQ(m.commands[kFund][Rejected(RejectReason::kPostNotFound)], 1u);
  EXPECT_EQ(m.commands[kFund][kSlotKeyReused], 1u);
  EXPECT_EQ(m.commands[kFund][kSlotInvalid], 1u);
  EXPECT_EQ(m.commands[kDelete][kSlotAccepted], 1u);
  EXPECT_EQ(m.idempotency_hits[kFund], 1u);
  EXPECT_EQ(m.idempotency_hits[kCreate], 0u);
  uint64_t counted = 0;
  for (const auto& kind : m.commands) {
    for (const uint64_t n : kind) counted += n;
  }
  EXPECT_EQ(counted, 8u);  // every submission but the replay

  EXPECT_EQ(m.events_appended[Type(events::EventType::kPostCreated)], 1u);
  EXPECT_EQ(m.events_appended[Type(events::EventType::kPostFunded)], 2u);
  EXPECT_EQ(m.events_appended[Type(events::EventType::kPostDeleted)], 1u);
  EXPECT_EQ(m.events_appended[Type(events::EventType::kFundingRefunded)], 2u);
  EXPECT_EQ(m.events_appended[Type(events::EventType::kPostEdited)], 0u);

  // Each command waited alone, so every batch held one; the invalid one
  // never reached a batch. Writes: the create, 2 fundings and the delete;
  // the rejections (without keys) and the replay wrote nothing.
  EXPECT_EQ(m.batch_commands.count, 8u);
  EXPECT_EQ(m.batch_commands.counts[0], 8u);
  EXPECT_EQ(m.batches_written(), 4u);
  EXPECT_DOUBLE_EQ(m.batch_events.sum, static_cast<double>(log_->Head().position));
  EXPECT_EQ(m.write_seconds.count, m.batches_written());
  EXPECT_GT(m.write_seconds.sum, 0);
  EXPECT_EQ(m.append_failures, 0u);
  EXPECT_EQ(m.queue_depth, 0u);
  EXPECT_EQ(m.queue_capacity, SequencerOptions().queue_capacity);
}

TEST_F(SequencerMetricsTest, CountsSubmissionsAfterStopAsUnavailable) {
  StartSequencer(log_.get());
  Accept(Create());
  sequencer_->Stop();
  EXPECT_EQ(Run(Fund(1)).status, CommandStatus::kUnavailable);
  EXPECT_EQ(sequencer_->metrics().commands[kFund][kSlotUnavailable], 1u);
}

TEST_F(SequencerMetricsTest, CountsNothingWhenToldNotTo) {
  SequencerOptions options;
  options.count_metrics = false;
  StartSequencer(log_.get(), options);
  Accept(Create());
  Accept(Fund(1));
  EXPECT_EQ(Run(Fund(1, "alice")).status, CommandStatus::kRejected);
  const SequencerMetrics m = sequencer_->metrics();
  for (const auto& kind : m.commands) {
    for (const uint64_t n : kind) EXPECT_EQ(n, 0u);
  }
  for (const uint64_t n : m.events_appended) EXPECT_EQ(n, 0u);
  EXPECT_EQ(m.batch_commands.count, 0u);
  EXPECT_EQ(m.write_seconds.count, 0u);
  EXPECT_EQ(m.batches_written(), 0u);
  EXPECT_EQ(log_->Head().position, 2);  // the ledger itself is unaffected
}

// Draft()'s end_date 2026-12-31 closes at 2026-12-31T15:00:00Z.
const Timestamp kCloses =
    Timestamp(std::chrono::sys_days(*ParseDate("2026-12-31"))) + std::chrono::hours(15);

constexpr auto kSuccessful = static_cast<size_t>(events::SettlementOutcome::kSuccessful);
constexpr auto kFailed = static_cast<size_t>(events::SettlementOutcome::kFailed);
constexpr auto kBySettlement = static_cast<size_t>(RefundCause::kSettlement);
constexpr auto kByDeletion = static_cast<size_t>(RefundCause::kDeletion);

class LifecycleMetricsTest : public SequencerMetricsTest {
 protected:
  // Creates a post of `model` (target 10 000: ten units) as alice.
  void CreatePost(events::FundingModel model) {
    PostDraft d = testing::Draft();
    d.funding_model = model;
    d.target_amount = 10'000;
    Accept(Submission{CreatePosts{{d}, false}, "alice", "req-create", ""});
  }

  bool WaitSettled(int64_t post) {
    for (int i = 0; i < 2'000; ++i) {
      const auto state = sequencer_->FindWholePost(post);
      if (state && state->settled()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return false;
  }
};

TEST_F(LifecycleMetricsTest, CountsSettlementsRefundsByCauseAndCancellations) {
  SequencerOptions options;
  options.settlement_poll = std::chrono::milliseconds(5);
  StartSequencer(log_.get(), options);
  CreatePost(events::FundingModel::kKeepItAll);     // 1: reaches its target
  CreatePost(events::FundingModel::kAllOrNothing);  // 2: fails, bob and carol refunded
  CreatePost(events::FundingModel::kAllOrNothing);  // 3: deleted, dave refunded
  Accept(Fund(1, "bob", 10));
  Accept(Fund(2, "bob", 2));
  const CommandOutcome cancelled = Accept(Fund(2, "carol", 4));
  Accept(Fund(2, "carol", 1));
  Accept(Fund(3, "dave", 3));
  Accept(Submission{CancelFunding{2, cancelled.first_position}, "carol", "req-cancel", ""});
  Accept(Delete(3));

  clock_.Set(kCloses + std::chrono::milliseconds(250));
  ASSERT_TRUE(WaitSettled(1));
  ASSERT_TRUE(WaitSettled(2));

  const SequencerMetrics m = sequencer_->metrics();
  EXPECT_EQ(m.settlements[kSuccessful], 1u);
  EXPECT_EQ(m.settlements[kFailed], 1u);
  EXPECT_EQ(m.refunds[kBySettlement], 2u);  // bob 2 units, carol 1 (4 cancelled)
  EXPECT_EQ(m.refunded_amount[kBySettlement], 3'000u);
  EXPECT_EQ(m.refunds[kByDeletion], 1u);
  EXPECT_EQ(m.refunded_amount[kByDeletion], 3'000u);
  EXPECT_EQ(m.events_appended[Type(events::EventType::kFundingCancelled)], 1u);
  EXPECT_EQ(m.cancelled_amount, 4'000u);
  // Every FundingRefunded has one cause.
  EXPECT_EQ(m.refunds[kBySettlement] + m.refunds[kByDeletion],
            m.events_appended[Type(events::EventType::kFundingRefunded)]);
  // The manual clock stood still, so each settlement was recorded 250 ms
  // after the deadline: the bucket (0.1, 0.25].
  const HistogramSnapshot& lag = m.settlement_lag_seconds;
  EXPECT_EQ(lag.count, 2u);
  EXPECT_DOUBLE_EQ(lag.sum, 0.5);
  const size_t bucket = static_cast<size_t>(std::find(lag.bounds.begin(), lag.bounds.end(), 0.25) -
                                            lag.bounds.begin());
  ASSERT_LT(bucket, lag.bounds.size());
  EXPECT_EQ(lag.counts[bucket], 2u);
  EXPECT_EQ(m.settlement_overdue_seconds, 0);
}

TEST_F(LifecycleMetricsTest, CountsSettlementsAtStartWithTheirWholeLag) {
  StartSequencer(log_.get());
  CreatePost(events::FundingModel::kAllOrNothing);
  Accept(Fund(1, "bob", 2));
  sequencer_.reset();
  clock_.Set(kCloses + std::chrono::hours(24));  // down over the deadline
  Restart();
  const SequencerMetrics m = sequencer_->metrics();
  EXPECT_EQ(m.settlements[kFailed], 1u);
  EXPECT_EQ(m.refunds[kBySettlement], 1u);
  EXPECT_EQ(m.refunded_amount[kBySettlement], 2'000u);
  EXPECT_EQ(m.settlement_lag_seconds.count, 1u);
  EXPECT_EQ(m.settlement_lag_seconds.counts.back(), 1u);  // above every bound
  EXPECT_DOUBLE_EQ(m.settlement_lag_seconds.sum, 24 * 3600.0);
  EXPECT_EQ(m.settlement_overdue_seconds, 0);
}

TEST_F(LifecycleMetricsTest, ShowsHowLongTheEarliestUnsettledDeadlineIsOverdue) {
  // The sequencer sleeps up to settlement_poll between looks at the
  // schedule; an hour keeps it asleep while the manual clock jumps past the
  // deadline, as a stuck or backlogged sequencer would.
  SequencerOptions options;
  options.settlement_poll = std::chrono::hours(1);
  StartSequencer(log_.get(), options);
  CreatePost(events::FundingModel::kKeepItAll);
  EditPost later;
  later.post_id = 1;
  later.end_date = *ParseDate("2027-01-10");
  CreatePost(events::FundingModel::kKeepItAll);  // 2 keeps 2026-12-31
  Accept(Submission{later, "alice", "req-edit", ""});
  EXPECT_EQ(sequencer_->metrics().settlement_overdue_seconds, 0);  // ahead

  clock_.Set(kCloses + std::chrono::seconds(90));
  // Post 1's old deadline is a stale entry of the schedule, but post 2's is
  // due and unsettled.
  EXPECT_DOUBLE_EQ(sequencer_->metrics().settlement_overdue_seconds, 90.0);
  clock_.Advance(std::chrono::seconds(30));
  EXPECT_DOUBLE_EQ(sequencer_->metrics().settlement_overdue_seconds, 120.0);

  // Any command wakes the sequencer, which settles post 2 in that batch.
  EXPECT_EQ(Run(Fund(2)).status, CommandStatus::kRejected);  // funding_closed
  EXPECT_TRUE(sequencer_->FindWholePost(2)->settled());
  EXPECT_FALSE(sequencer_->FindWholePost(1)->settled());
  EXPECT_EQ(sequencer_->metrics().settlement_overdue_seconds, 0);
}

TEST_F(LifecycleMetricsTest, ShowsNoOverdueWhenNotCounting) {
  SequencerOptions options;
  options.count_metrics = false;
  options.settlement_poll = std::chrono::hours(1);
  StartSequencer(log_.get(), options);
  CreatePost(events::FundingModel::kKeepItAll);
  clock_.Set(kCloses + std::chrono::seconds(90));
  const SequencerMetrics m = sequencer_->metrics();
  EXPECT_EQ(m.settlement_overdue_seconds, 0);
  EXPECT_EQ(m.settlement_lag_seconds.count, 0u);
}

TEST(LifecycleTallyTest, AddsOnlyLifecycleEvents) {
  LifecycleTally tally;
  const Timestamp closes = kCloses;
  tally.Add(events::PostFunded{"bob", 1, 1'000}, closes, closes);
  tally.Add(events::PostDeleted{0, 0}, closes, closes);  // nothing to refund
  EXPECT_TRUE(tally.empty());
  tally.Add(events::FundingCancelled{"bob", 7, 1, 1'000}, closes, closes);
  EXPECT_FALSE(tally.empty());
  tally.Add(events::PostSettled{events::SettlementOutcome::kFailed, 5'000, 2, 5'000, 2}, closes,
            closes + std::chrono::milliseconds(3));
  EXPECT_EQ(tally.settlements[kFailed], 1u);
  EXPECT_EQ(tally.refunds[kBySettlement], 2u);
  EXPECT_EQ(tally.refunded_amount[kBySettlement], 5'000u);
  EXPECT_EQ(tally.cancelled_amount, 1'000u);
  ASSERT_EQ(tally.settlement_lag_seconds.size(), 1u);
  EXPECT_DOUBLE_EQ(tally.settlement_lag_seconds[0], 0.003);
  EXPECT_EQ(RefundCauseName(RefundCause::kSettlement), "settlement");
  EXPECT_EQ(RefundCauseName(RefundCause::kDeletion), "deletion");
}

TEST(SequencerMetricsLabelsTest, NamesEverySlotOnce) {
  EXPECT_EQ(SlotLabels(kSlotAccepted).outcome, "accepted");
  EXPECT_EQ(SlotLabels(kSlotAccepted).reason, "none");
  EXPECT_EQ(SlotLabels(Rejected(RejectReason::kFundingClosed)).outcome, "rejected");
  EXPECT_EQ(SlotLabels(Rejected(RejectReason::kFundingClosed)).reason, "funding_closed");
  EXPECT_EQ(SlotLabels(kSlotKeyReused).reason, "idempotency_key_reused");
  EXPECT_EQ(SlotLabels(kSlotKeyInFlight).reason, "idempotency_key_in_flight");
  EXPECT_EQ(SlotLabels(kSlotOverloaded).outcome, "overloaded");
  EXPECT_EQ(SlotLabels(kSlotUnavailable).outcome, "unavailable");
  EXPECT_EQ(SlotLabels(kSlotInvalid).outcome, "invalid");
  std::set<std::pair<std::string_view, std::string_view>> seen;
  for (size_t slot = 0; slot < kOutcomeSlotCount; ++slot) {
    const OutcomeLabels l = SlotLabels(slot);
    EXPECT_TRUE(seen.emplace(l.outcome, l.reason).second) << slot;
  }
  EXPECT_EQ(KindName(KindOf(FundPost{1, 1})), "fund_post");
  EXPECT_EQ(KindName(KindOf(CreatePosts{})), "create_posts");
  EXPECT_EQ(KindName(KindOf(EditPost{})), "edit_post");
  EXPECT_EQ(KindName(KindOf(DeletePost{})), "delete_post");
}

}  // namespace
}  // namespace ledger::commands
