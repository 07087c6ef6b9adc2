#include "commands/sequencer_metrics.h"

#include <set>
#include <string_view>
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
