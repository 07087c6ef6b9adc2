#include "commands/sequencer_metrics.h"

#include <chrono>
#include <type_traits>
#include <variant>

#include "common/check.h"

namespace ledger::commands {
namespace {

// A batch takes at most max_batch_commands (512 by default) commands.
constexpr double kBatchCommandsFirst = 1;
constexpr size_t kBatchCommandsBuckets = 10;  // 1 .. 512
// A delete refunds every backer in the same write, so one write may hold
// thousands of events.
constexpr double kBatchEventsFirst = 1;
constexpr size_t kBatchEventsBuckets = 15;  // 1 .. 16384
// An fsync on a fast SSD takes tens of microseconds; on a struggling disk,
// hundreds of milliseconds.
const std::vector<double>& WriteSecondsBounds() {
  static const std::vector<double> kBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                              0.025,  0.05,    0.1,    0.25,  0.5,    1.0};
  return kBounds;
}
// recorded_at - closes_at of a settlement: normally the sequencer's wake-up
// and one batch (about a millisecond); seconds when it is backlogged; hours
// for a post whose deadline passed while the service was down (+Inf).
const std::vector<double>& SettlementLagBounds() {
  static const std::vector<double> kBounds = {0.001, 0.0025, 0.005, 0.01,  0.025, 0.05,
                                              0.1,   0.25,   0.5,   1.0,   2.5,   5.0,
                                              10.0,  30.0,   60.0,  120.0, 300.0};
  return kBounds;
}

}  // namespace

CommandKind KindOf(const Command& command) {
  return std::visit(
      [](const auto& c) {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, CreatePosts>) return CommandKind::kCreatePosts;
        if constexpr (std::is_same_v<T, EditPost>) return CommandKind::kEditPost;
        if constexpr (std::is_same_v<T, DeletePost>) return CommandKind::kDeletePost;
        if constexpr (std::is_same_v<T, FundPost>) return CommandKind::kFundPost;
        if constexpr (std::is_same_v<T, CancelFunding>) return CommandKind::kCancelFunding;
        if constexpr (std::is_same_v<T, SettlePost>) return CommandKind::kSettlePost;
      },
      command);
}

std::string_view KindName(CommandKind kind) {
  switch (kind) {
    case CommandKind::kCreatePosts:
      return "create_posts";
    case CommandKind::kEditPost:
      return "edit_post";
    case CommandKind::kDeletePost:
      return "delete_post";
    case CommandKind::kFundPost:
      return "fund_post";
    case CommandKind::kCancelFunding:
      return "cancel_funding";
    case CommandKind::kSettlePost:
      return "settle_post";
  }
  LEDGER_CHECK(false, "unknown command kind");
  return "";
}

std::string_view RefundCauseName(RefundCause cause) {
  switch (cause) {
    case RefundCause::kSettlement:
      return "settlement";
    case RefundCause::kDeletion:
      return "deletion";
  }
  LEDGER_CHECK(false, "unknown refund cause");
  return "";
}

void LifecycleTally::Add(const events::EventData& data, Timestamp closes_at,
                         Timestamp recorded_at) {
  if (const auto* settled = std::get_if<events::PostSettled>(&data)) {
    ++settlements[static_cast<size_t>(settled->outcome)];
    const auto cause = static_cast<size_t>(RefundCause::kSettlement);
    refunds[cause] += static_cast<uint64_t>(settled->refunded_backers);
    refunded_amount[cause] += static_cast<uint64_t>(settled->refunded_amount);
    settlement_lag_seconds.push_back(
        std::chrono::duration<double>(recorded_at - closes_at).count());
  } else if (const auto* deleted = std::get_if<events::PostDeleted>(&data)) {
    const auto cause = static_cast<size_t>(RefundCause::kDeletion);
    refunds[cause] += static_cast<uint64_t>(deleted->refunded_backers);
    refunded_amount[cause] += static_cast<uint64_t>(deleted->refunded_amount);
  } else if (const auto* cancelled = std::get_if<events::FundingCancelled>(&data)) {
    cancelled_amount += static_cast<uint64_t>(cancelled->amount);
  }
}

bool LifecycleTally::empty() const {
  for (const uint64_t n : refunds) {
    if (n != 0) return false;
  }
  return settlement_lag_seconds.empty() && cancelled_amount == 0;
}

OutcomeLabels SlotLabels(size_t slot) {
  LEDGER_CHECK(slot < kOutcomeSlotCount, "outcome slot out of range");
  if (slot == kSlotAccepted) return {"accepted", "none"};
  if (slot <= kMaxRejectReason) {
    const auto reason = ReasonFromValue(static_cast<uint8_t>(slot));
    LEDGER_CHECK(reason.has_value(), "a rejection slot without a reason");
    return {"rejected", ReasonName(*reason)};
  }
  switch (slot) {
    case kSlotKeyReused:
      return {"conflict", "idempotency_key_reused"};
    case kSlotKeyInFlight:
      return {"conflict", "idempotency_key_in_flight"};
    case kSlotOverloaded:
      return {"overloaded", "none"};
    case kSlotUnavailable:
      return {"unavailable", "none"};
    default:
      return {"invalid", "none"};
  }
}

SequencerCounters::SequencerCounters()
    : settlement_lag_seconds_(SettlementLagBounds()),
      batch_commands_(ExponentialBounds(kBatchCommandsFirst, 2, kBatchCommandsBuckets)),
      batch_events_(ExponentialBounds(kBatchEventsFirst, 2, kBatchEventsBuckets)),
      write_seconds_(WriteSecondsBounds()) {}

void SequencerCounters::CountCommand(CommandKind kind, size_t slot) {
  LEDGER_CHECK(slot < kOutcomeSlotCount, "outcome slot out of range");
  commands_[static_cast<size_t>(kind)][slot].fetch_add(1, std::memory_order_relaxed);
}

void SequencerCounters::CountReplay(CommandKind kind) {
  replays_[static_cast<size_t>(kind)].fetch_add(1, std::memory_order_relaxed);
}

void SequencerCounters::CountBatch(size_t commands) {
  batch_commands_.Observe(static_cast<double>(commands));
}

void SequencerCounters::CountWrite(const std::array<uint64_t, events::kEventTypeCount>& by_type,
                                   double seconds) {
  uint64_t total = 0;
  for (size_t t = 0; t < by_type.size(); ++t) {
    if (by_type[t] != 0) events_[t].fetch_add(by_type[t], std::memory_order_relaxed);
    total += by_type[t];
  }
  batch_events_.Observe(static_cast<double>(total));
  write_seconds_.Observe(seconds);
}

void SequencerCounters::CountFailedWrite(double seconds) {
  append_failures_.fetch_add(1, std::memory_order_relaxed);
  write_seconds_.Observe(seconds);
}

void SequencerCounters::CountLifecycle(const LifecycleTally& tally) {
  const auto add = [](std::atomic<uint64_t>& counter, uint64_t n) {
    if (n != 0) counter.fetch_add(n, std::memory_order_relaxed);
  };
  for (size_t o = 0; o < kSettlementOutcomeCount; ++o) add(settlements_[o], tally.settlements[o]);
  for (size_t c = 0; c < kRefundCauseCount; ++c) {
    add(refunds_[c], tally.refunds[c]);
    add(refunded_amount_[c], tally.refunded_amount[c]);
  }
  add(cancelled_amount_, tally.cancelled_amount);
  for (const double lag : tally.settlement_lag_seconds) settlement_lag_seconds_.Observe(lag);
}

SequencerMetrics SequencerCounters::Snapshot() const {
  SequencerMetrics m;
  for (size_t k = 0; k < kCommandKindCount; ++k) {
    for (size_t s = 0; s < kOutcomeSlotCount; ++s) {
      m.commands[k][s] = commands_[k][s].load(std::memory_order_relaxed);
    }
    m.idempotency_hits[k] = replays_[k].load(std::memory_order_relaxed);
  }
  for (size_t t = 0; t < events_.size(); ++t) {
    m.events_appended[t] = events_[t].load(std::memory_order_relaxed);
  }
  m.append_failures = append_failures_.load(std::memory_order_relaxed);
  for (size_t o = 0; o < kSettlementOutcomeCount; ++o) {
    m.settlements[o] = settlements_[o].load(std::memory_order_relaxed);
  }
  for (size_t c = 0; c < kRefundCauseCount; ++c) {
    m.refunds[c] = refunds_[c].load(std::memory_order_relaxed);
    m.refunded_amount[c] = refunded_amount_[c].load(std::memory_order_relaxed);
  }
  m.cancelled_amount = cancelled_amount_.load(std::memory_order_relaxed);
  m.settlement_lag_seconds = settlement_lag_seconds_.Snapshot();
  m.batch_commands = batch_commands_.Snapshot();
  m.batch_events = batch_events_.Snapshot();
  m.write_seconds = write_seconds_.Snapshot();
  return m;
}

}  // namespace ledger::commands
