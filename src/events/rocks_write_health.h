#pragma once

// Whether the RocksDB log can be written, and why not (EventLog::WriteHealth).
// Private to src/events: only rocks_log.cc includes it.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>

#include <rocksdb/listener.h>
#include <rocksdb/status.h>

#include "common/status.h"
#include "events/event_log.h"

namespace ledger::events {

// Set when a write fails or RocksDB stops writes after a background error;
// cleared when a write or a recovery succeeds. Thread-safe: the appending
// thread, RocksDB's background threads (WriteHealthListener) and readers.
class WriteHealthState {
 public:
  // OK, or kUnavailable naming the cause.
  Status Get() const;
  // A token for ClearUnlessFailedSince: how many times SetFailed was called.
  uint64_t failures() const;
  void SetFailed(Status cause);
  // Clears, unless SetFailed was called after `failures` was read: a
  // background error reported while a write was in flight is kept.
  void ClearUnlessFailedSince(uint64_t failures);

 private:
  std::atomic<bool> writable_{true};  // the fast path of Get()
  mutable std::mutex mu_;
  Status cause_;           // guarded by mu_
  uint64_t failures_ = 0;  // guarded by mu_
};

// Keeps a WriteHealthState in step with RocksDB's background errors and its
// own recoveries (RocksDB retries a full disk by itself, see
// docs/architecture.md).
class WriteHealthListener final : public rocksdb::EventListener {
 public:
  explicit WriteHealthListener(std::shared_ptr<WriteHealthState> state)
      : state_(std::move(state)) {}

  void OnBackgroundError(rocksdb::BackgroundErrorReason reason, rocksdb::Status* error) override;
  void OnErrorRecoveryEnd(const rocksdb::BackgroundErrorRecoveryInfo& info) override;

 private:
  const std::shared_ptr<WriteHealthState> state_;
};

WriteFailureCause CauseOf(const rocksdb::Status& error);

// kUnavailable: "the event log cannot be written: disk full (<error>) while
// <during>".
Status Unwritable(const rocksdb::Status& error, std::string_view during);

}  // namespace ledger::events
