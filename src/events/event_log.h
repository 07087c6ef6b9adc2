#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "events/chain.h"
#include "events/event.h"
#include "events/hash.h"
#include "events/idempotency.h"

namespace ledger::events {

// The newest event of the log: its position and hash (the digest of the
// whole history). An empty log has position 0 and the genesis hash.
struct LogHead {
  int64_t position = 0;
  Hash hash = kGenesisHash;

  bool operator==(const LogHead&) const = default;
};

// One event ready to be stored: sealed (hash computed) and encoded.
struct EncodedEvent {
  int64_t position = 0;
  int64_t stream = 0;
  int64_t stream_version = 0;
  Hash prev_hash{};
  Hash hash{};
  std::string record;  // record.h format
};

struct IdempotencyWrite {
  std::string actor;
  std::string key;
  IdempotencyRecord record;
};

// One change to the sequencer's durable state, a key-value space kept beside
// the events (commands/state_codec.h owns its keys and values; the log only
// stores them).
struct StateWrite {
  std::string key;
  std::optional<std::string> value;  // nullopt deletes the key
};

// Why a write of the log failed (LogStats::write_failures).
enum class WriteFailureCause : uint8_t {
  kNoSpace,  // the disk (or the file system's quota) is full
  kIOError,  // any other error of the storage
  kWaiting,  // not attempted: the log is unwritable and its next resume attempt is not due
};
inline constexpr size_t kWriteFailureCauseCount = 3;
static_assert(static_cast<size_t>(WriteFailureCause::kWaiting) + 1 == kWriteFailureCauseCount);
// "no_space", "io_error", "waiting": the label values of the metric.
std::string_view WriteFailureCauseName(WriteFailureCause cause);

// What a log counts about itself, for /metrics. A backend that does not count
// something reports 0.
struct LogStats {
  // Appends that failed, by cause; nothing of them is durable.
  std::array<uint64_t, kWriteFailureCauseCount> write_failures{};
  // Times the log asked its storage to resume writing after a failure.
  uint64_t resume_attempts = 0;
  // Idempotency records removed because they were past retention.
  uint64_t idempotency_purged = 0;
  // The storage's estimate of the idempotency records it holds.
  uint64_t idempotency_records_estimate = 0;
  // Memory of the storage (RocksDB), by part: its block cache (in use, and
  // its bound), what its open table files hold outside that cache, and its
  // memtables; and how many table files it has open.
  uint64_t block_cache_bytes = 0;
  uint64_t block_cache_capacity_bytes = 0;
  uint64_t table_readers_bytes = 0;
  uint64_t memtables_bytes = 0;
  uint64_t table_files = 0;
};

// The narrow interface of the durable log, so that a second backend (see
// the architecture brief) can stand behind the same calls. Reads are safe
// from any thread; Append has one caller at a time (the sequencer).
class EventLog {
 public:
  virtual ~EventLog() = default;

  virtual LogHead Head() const = 0;

  // Makes `events` and `idempotency` durable in one atomic, fsync'd write and
  // advances the head. Nothing is visible or durable if it fails.
  // REQUIRES: events[0].position == Head().position + 1, positions are
  // consecutive and each prev_hash is the previous event's hash (the first
  // one's is Head().hash). `events` may be empty when only idempotency
  // records are written.
  // `state` is applied in order in the same atomic write, so the stored
  // state always follows exactly the events stored with it.
  virtual Status Append(std::span<const EncodedEvent> events,
                        std::span<const IdempotencyWrite> idempotency,
                        std::span<const StateWrite> state) = 0;
  // Events and idempotency records alone (tools and tests that write a log
  // without a sequencer's state).
  Status Append(std::span<const EncodedEvent> events,
                std::span<const IdempotencyWrite> idempotency) {
    return Append(events, idempotency, {});
  }

  // Calls fn(position, record) for every stored event with from <= position
  // <= to, in order, until fn returns false.
  virtual Status ScanRecords(int64_t from, int64_t to,
                             const std::function<bool(int64_t, std::string_view)>& fn) const = 0;

  // Appends to `positions` those of stream `stream` from `from_version` on,
  // at most `max_count`, in version order.
  virtual Status StreamPositions(int64_t stream, int64_t from_version, size_t max_count,
                                 std::vector<int64_t>* positions) const = 0;

  virtual Result<std::optional<IdempotencyRecord>> FindIdempotency(std::string_view actor,
                                                                   std::string_view key) const = 0;
  // FindIdempotency of each (actor, key) of `scopes`, into `records` (same
  // order). The default asks one by one; a backend whose reads are round
  // trips (PostgreSQL) asks in one.
  virtual Status FindIdempotencies(
      std::span<const std::pair<std::string_view, std::string_view>> scopes,
      std::vector<std::optional<IdempotencyRecord>>* records) const;

  // The sequencer's durable state. ReadState: the value of `key`, nullopt
  // when absent. ScanState: fn(key, value) for every key with from <= key <
  // to (an empty `to`: no upper bound), in key order, until fn returns false.
  virtual Result<std::optional<std::string>> ReadState(std::string_view key) const = 0;
  // ReadState of each of `keys`, into `values` (same order); as
  // FindIdempotencies, one round trip where the backend can.
  virtual Status ReadStates(std::span<const std::string> keys,
                            std::vector<std::optional<std::string>>* values) const;
  virtual Status ScanState(
      std::string_view from, std::string_view to,
      const std::function<bool(std::string_view key, std::string_view value)>& fn) const = 0;
  // Rebuilding the state from the log: ClearState removes every state key,
  // WriteState applies `writes` in order in one atomic write, fsync'd when
  // `sync`. Neither touches the events.
  virtual Status ClearState() = 0;
  virtual Status WriteState(std::span<const StateWrite> writes, bool sync) = 0;

  // OK while Append can write; otherwise kUnavailable naming why not (e.g.
  // the disk is full) since a write failed or the storage stopped writes,
  // until a write or the storage's recovery succeeds. Reads are unaffected.
  // Cheap (an atomic load when OK); safe from any thread.
  virtual Status WriteHealth() const { return Status::Ok(); }

  // Safe from any thread; cheap enough for every scrape.
  virtual LogStats Stats() const { return {}; }

  // Following a log that another process writes (a tool beside the
  // service): reads the head again, checks that the events up to it continue
  // the chain this instance has seen, and moves Head() there. A log that only
  // this process writes just returns Head(). Not safe concurrently with reads
  // of this instance.
  virtual Result<LogHead> CatchUp() { return Head(); }
};

// Checks that decoded `event` comes right after `previous` in the chain: its
// position is previous.position + 1 and its prev_hash is previous.hash (its
// own hash was checked when it was decoded). Otherwise kCorruption naming the
// position: "event at position N: …". Every reader that walks the log in
// order (state rebuild, projector, fold) checks the same way.
Status CheckFollows(const LogHead& previous, const Event& event);

// Decoded events from `from` to `to` inclusive, at most `max_count`. A record
// that does not decode or whose hash does not match is kCorruption naming its
// position.
Status ReadEvents(const EventLog& log, int64_t from, int64_t to, size_t max_count,
                  std::vector<Event>* out);
// As above, and stops after the record that brings the bytes read to
// `max_bytes` or more (so at least one event is read).
Status ReadEvents(const EventLog& log, int64_t from, int64_t to, size_t max_count, size_t max_bytes,
                  std::vector<Event>* out);

// The decoded event at `position`.
// REQUIRES: 1 <= position <= log.Head().position.
// Errors: as ReadEvents; a missing event is kCorruption (the log has no holes).
Result<Event> ReadEvent(const EventLog& log, int64_t position);

// The decoded events of one stream from `from_version` on, at most `max_count`.
Status ReadStream(const EventLog& log, int64_t stream, int64_t from_version, size_t max_count,
                  std::vector<Event>* out);

// The check every CatchUp makes: `head` is where the storage's head is now,
// `before` where this instance's was. Moves the instance's head to `head`
// with `set_head` (so that reads reach the new events), checks that they
// continue the chain already seen, and moves it back to `before` when they
// do not (kCorruption naming the first bad position) or when the head went
// back. Returns `head`.
Result<LogHead> AdvanceToCheckedHead(const EventLog& log, const LogHead& before,
                                     const LogHead& head,
                                     const std::function<void(const LogHead&)>& set_head);

// Events between two calls of a chain walk's progress callback.
inline constexpr int64_t kChainProgressEvents = 65'536;

// Walks the chain over [from, to] (to is clamped to the head). The hash before
// `from` is read from the log. Fails only on I/O errors; a broken chain is
// reported in the ChainCheck. `progress`, when set, is called with the events
// checked so far every kChainProgressEvents events.
Result<ChainCheck> VerifyLogChain(const EventLog& log, int64_t from, int64_t to,
                                  const std::function<void(int64_t checked)>& progress = {});

}  // namespace ledger::events
