#pragma once

// What the sequencer counts for /metrics, as plain numbers. src/http turns a
// SequencerMetrics into Prometheus families; this module stays free of any
// metrics library.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "commands/command.h"
#include "commands/rejection.h"
#include "common/histogram.h"
#include "events/event.h"

namespace ledger::commands {

enum class CommandKind : uint8_t {
  kCreatePosts,
  kEditPost,
  kDeletePost,
  kFundPost,
  kCancelFunding,
  kSettlePost,
};
inline constexpr size_t kCommandKindCount = 6;
static_assert(std::variant_size_v<Command> == kCommandKindCount,
              "every alternative of Command has one CommandKind");

CommandKind KindOf(const Command& command);
// "create_posts", "edit_post", "delete_post", "fund_post", "cancel_funding",
// "settle_post".
std::string_view KindName(CommandKind kind);

// How a submission ended, one slot per (outcome, reason) label pair of
// ledger_commands_total. Slot r in 1..kMaxRejectReason is "rejected" with the
// RejectReason whose value is r.
inline constexpr size_t kSlotAccepted = 0;
inline constexpr size_t kSlotKeyReused = size_t{kMaxRejectReason} + 1;  // idempotency mismatch
inline constexpr size_t kSlotKeyInFlight = kSlotKeyReused + 1;
inline constexpr size_t kSlotOverloaded = kSlotKeyInFlight + 1;
inline constexpr size_t kSlotUnavailable = kSlotOverloaded + 1;
inline constexpr size_t kSlotInvalid = kSlotUnavailable + 1;
inline constexpr size_t kOutcomeSlotCount = kSlotInvalid + 1;

struct OutcomeLabels {
  std::string_view outcome;  // accepted, rejected, conflict, overloaded, unavailable, invalid
  std::string_view reason;   // the rejection or conflict, else "none"
};
// REQUIRES: slot < kOutcomeSlotCount.
OutcomeLabels SlotLabels(size_t slot);

// Why a backer's live fundings were given back: their post failed as
// all_or_nothing at its settlement, or its owner deleted it.
enum class RefundCause : uint8_t { kSettlement, kDeletion };
inline constexpr size_t kRefundCauseCount = 2;
// "settlement", "deletion".
std::string_view RefundCauseName(RefundCause cause);

// events::SettlementOutcome's values, kSuccessful and kFailed.
inline constexpr size_t kSettlementOutcomeCount = 2;
static_assert(static_cast<size_t>(events::SettlementOutcome::kFailed) + 1 ==
                  kSettlementOutcomeCount,
              "one settlements slot per SettlementOutcome");

// What one batch did to campaigns beyond its events by type, gathered while
// its events are sealed and counted once the write is durable. Fund batches
// leave it empty, so counting it costs them one test.
struct LifecycleTally {
  // [events::SettlementOutcome]: PostSettled events.
  std::array<uint64_t, kSettlementOutcomeCount> settlements{};
  // [RefundCause]: FundingRefunded events and their amount in minor units,
  // as totalled by the PostSettled or PostDeleted that closes them.
  std::array<uint64_t, kRefundCauseCount> refunds{};
  std::array<uint64_t, kRefundCauseCount> refunded_amount{};
  // FundingCancelled amounts in minor units (their number is
  // events_appended[kFundingCancelled]).
  uint64_t cancelled_amount = 0;
  // recorded_at - closes_at of each PostSettled, in seconds.
  std::vector<double> settlement_lag_seconds;

  // Adds `data`, an event recorded at `recorded_at` on a post whose deadline
  // is `closes_at`. Events other than PostSettled, PostDeleted and
  // FundingCancelled add nothing.
  void Add(const events::EventData& data, Timestamp closes_at, Timestamp recorded_at);
  // True when Add added nothing: there is nothing to count.
  bool empty() const;
};

// A consistent-enough copy of the sequencer's counters: each number is
// monotonic across snapshots except the queue depth.
//
// The one set of figures the sequencer keeps, for /metrics, tests and
// benchmarks alike; nothing is counted twice. Writes are read off the
// histograms: each durable write is one observation of batch_events, each
// failed one adds to append_failures, and both are timed in write_seconds.
// With SequencerOptions::count_metrics = false every figure stays zero,
// batches_written() included: that switch exists to measure what counting
// costs, so nothing on the write path is counted or timed then (the log head
// still tells how many events were written).
struct SequencerMetrics {
  // [kind][slot]: submissions by how they ended. Idempotent replays are not
  // here but in idempotency_hits.
  std::array<std::array<uint64_t, kOutcomeSlotCount>, kCommandKindCount> commands{};
  // [kind]: submissions answered with the stored result of an earlier
  // request carrying the same idempotency key.
  std::array<uint64_t, kCommandKindCount> idempotency_hits{};
  // [events::EventType]: events made durable.
  std::array<uint64_t, events::kEventTypeCount> events_appended{};
  uint64_t append_failures = 0;
  HistogramSnapshot batch_commands;  // commands per batch taken from the queue
  HistogramSnapshot batch_events;    // events per durable write
  HistogramSnapshot write_seconds;   // each durable write (fsync included)
  // Campaign lifecycle: see LifecycleTally, summed over the durable writes.
  std::array<uint64_t, kSettlementOutcomeCount> settlements{};
  std::array<uint64_t, kRefundCauseCount> refunds{};
  std::array<uint64_t, kRefundCauseCount> refunded_amount{};
  uint64_t cancelled_amount = 0;
  HistogramSnapshot settlement_lag_seconds;
  size_t queue_depth = 0;
  size_t queue_capacity = 0;
  // How long the earliest deadline of a post not yet durably settled has
  // passed (now - closes_at), 0 when no deadline has passed. Read from the
  // settlement schedule's first entry, never from a scan of the posts.
  double settlement_overdue_seconds = 0;
  // The posts held in memory (PostCache), as of the last batch.
  size_t state_cache_posts = 0;
  size_t state_cache_bytes = 0;     // estimated
  size_t state_cache_capacity = 0;  // bytes
  uint64_t state_cache_loads = 0;   // posts read from the durable state
  uint64_t state_cache_evictions = 0;
  uint64_t state_whole_reads = 0;  // posts read whole (a deletion or settlement that refunds)

  // Durable writes (group commits) so far.
  uint64_t batches_written() const { return batch_events.count; }
};

// The counters behind SequencerMetrics. Thread-safe: every method is a few
// relaxed atomic increments.
class SequencerCounters {
 public:
  SequencerCounters();
  SequencerCounters(const SequencerCounters&) = delete;
  SequencerCounters& operator=(const SequencerCounters&) = delete;

  void CountCommand(CommandKind kind, size_t slot);
  void CountReplay(CommandKind kind);
  void CountBatch(size_t commands);
  // A durable write of `by_type` events (indexed by events::EventType) that
  // took `seconds`.
  void CountWrite(const std::array<uint64_t, events::kEventTypeCount>& by_type, double seconds);
  // A write that failed after `seconds`: nothing of it is durable.
  void CountFailedWrite(double seconds);
  // The lifecycle figures of a durable write (CountWrite counted its events).
  void CountLifecycle(const LifecycleTally& tally);

  // Everything but the queue and overdue fields.
  SequencerMetrics Snapshot() const;

 private:
  std::array<std::array<std::atomic<uint64_t>, kOutcomeSlotCount>, kCommandKindCount> commands_{};
  std::array<std::atomic<uint64_t>, kCommandKindCount> replays_{};
  std::array<std::atomic<uint64_t>, events::kEventTypeCount> events_{};
  std::atomic<uint64_t> append_failures_{0};
  std::array<std::atomic<uint64_t>, kSettlementOutcomeCount> settlements_{};
  std::array<std::atomic<uint64_t>, kRefundCauseCount> refunds_{};
  std::array<std::atomic<uint64_t>, kRefundCauseCount> refunded_amount_{};
  std::atomic<uint64_t> cancelled_amount_{0};
  Histogram settlement_lag_seconds_;
  Histogram batch_commands_;
  Histogram batch_events_;
  Histogram write_seconds_;
};

}  // namespace ledger::commands
