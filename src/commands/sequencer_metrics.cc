#include "commands/sequencer_metrics.h"

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
    : batch_commands_(ExponentialBounds(kBatchCommandsFirst, 2, kBatchCommandsBuckets)),
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
  m.batch_commands = batch_commands_.Snapshot();
  m.batch_events = batch_events_.Snapshot();
  m.write_seconds = write_seconds_.Snapshot();
  return m;
}

}  // namespace ledger::commands
