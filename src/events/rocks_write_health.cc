#include "events/rocks_write_health.h"

#include <string>
#include <utility>

namespace ledger::events {

Status WriteHealthState::Get() const {
  if (writable_.load(std::memory_order_acquire)) return Status::Ok();
  std::lock_guard lock(mu_);
  return cause_;
}

uint64_t WriteHealthState::failures() const {
  std::lock_guard lock(mu_);
  return failures_;
}

void WriteHealthState::SetFailed(Status cause) {
  std::lock_guard lock(mu_);
  cause_ = std::move(cause);
  ++failures_;
  writable_.store(false, std::memory_order_release);
}

void WriteHealthState::ClearUnlessFailedSince(uint64_t failures) {
  if (writable_.load(std::memory_order_acquire)) return;
  std::lock_guard lock(mu_);
  if (failures_ != failures) return;
  cause_ = Status::Ok();
  writable_.store(true, std::memory_order_release);
}

WriteFailureCause CauseOf(const rocksdb::Status& error) {
  return error.IsNoSpace() ? WriteFailureCause::kNoSpace : WriteFailureCause::kIOError;
}

Status Unwritable(const rocksdb::Status& error, std::string_view during) {
  std::string message = "the event log cannot be written: ";
  message += CauseOf(error) == WriteFailureCause::kNoSpace ? "disk full" : "storage error";
  message += " (";
  message += error.ToString();
  message += ") while ";
  message += during;
  return Status::Unavailable(std::move(message));
}

namespace {

std::string_view ReasonName(rocksdb::BackgroundErrorReason reason) {
  switch (reason) {
    case rocksdb::BackgroundErrorReason::kFlush:
    case rocksdb::BackgroundErrorReason::kFlushNoWAL:
      return "flushing memtables";
    case rocksdb::BackgroundErrorReason::kCompaction:
      return "compacting";
    case rocksdb::BackgroundErrorReason::kWriteCallback:
      return "writing the write-ahead log";
    case rocksdb::BackgroundErrorReason::kMemTable:
      return "writing a memtable";
    case rocksdb::BackgroundErrorReason::kManifestWrite:
    case rocksdb::BackgroundErrorReason::kManifestWriteNoWAL:
      return "writing the manifest";
  }
  return "in the background";
}

}  // namespace

void WriteHealthListener::OnBackgroundError(rocksdb::BackgroundErrorReason reason,
                                            rocksdb::Status* error) {
  // A soft error (a compaction out of space) stops background work but not
  // writes; only what stops writes makes the log unwritable.
  if (error == nullptr || error->severity() < rocksdb::Status::Severity::kHardError) return;
  state_->SetFailed(Unwritable(*error, ReasonName(reason)));
}

void WriteHealthListener::OnErrorRecoveryEnd(const rocksdb::BackgroundErrorRecoveryInfo& info) {
  if (!info.new_bg_error.ok()) return;
  // RocksDB is writable again; a failure reported after this will set the
  // state again.
  state_->ClearUnlessFailedSince(state_->failures());
}

}  // namespace ledger::events
