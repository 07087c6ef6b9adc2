#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "events/event_log.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class WriteBatch;
class Env;
class Status;
}  // namespace rocksdb

namespace ledger::events {

class IdempotencyPurgeFactory;
class WriteHealthState;

struct RocksLogOptions {
  // Read-only opens take no lock and never write; they see the log as it was
  // when opened.
  bool read_only = false;
  // Non-empty: open as a RocksDB secondary instance, which takes no lock,
  // never writes to the log's directory and follows a running primary (the
  // service) with CatchUp(). Its own small info log goes into this directory,
  // which must be private to this instance. Implies read-only. This is how the
  // audit tools open the log while `serve` holds it.
  std::string secondary_dir;
  // On open, the newest events (up to this many) are chain-verified and the
  // head record is checked against them; an inconsistent log is refused.
  int64_t verify_tail_events = 1024;
  // Compaction drops an idempotency record once `clock` is past its
  // recorded_at by this plus kIdempotencyPurgeMargin (idempotency.h). Must
  // be at least the sequencer's SequencerOptions::idempotency_retention (the
  // sequencer answers from any record within it), whose default it matches;
  // `serve` passes both the configured value. At least one second.
  std::chrono::seconds idempotency_retention{24 * 3600};
  // Time of the purge and of resume attempts; null: the system clock. Must
  // outlive the log.
  const Clock* clock = nullptr;
  // After a failed write, Append asks RocksDB to resume (DB::Resume) at most
  // this often by `clock`; in between it fails at once with kUnavailable
  // naming the cause, without touching the disk.
  std::chrono::milliseconds resume_interval{1'000};
  // The block cache of every column family: data blocks read by point
  // lookups, and every table file's index and filter partitions. Only the
  // small top-level index of each file (about one entry per 4 KiB of its
  // index and filter) and the partitions of files just flushed are pinned,
  // so the log's memory is set by this and the memtables, not by how much
  // history its files hold. At least 1 MiB.
  size_t block_cache_bytes = size_t{64} << 20;
  // Tests only: the RocksDB environment to run on (a file system that fails
  // writes on demand). Null: RocksDB's default.
  std::shared_ptr<rocksdb::Env> env;
};

// The smallest RocksLogOptions::block_cache_bytes.
inline constexpr size_t kMinBlockCacheBytes = size_t{1} << 20;

// The idempotency column family is compacted at least this many times per
// retention (RocksDB's periodic compaction), so that records past retention
// leave files that no other compaction would touch: every record is gone
// within retention + kIdempotencyPurgeMargin + retention / this (31 h at
// the default day). docs/architecture.md has the measurements.
inline constexpr int64_t kIdempotencyCompactionsPerRetention = 4;

// The event log on RocksDB (key layout in keys.h, value format in record.h).
// Each Append is one WriteBatch written with sync = true.
class RocksEventLog final : public EventLog {
 public:
  // Opens (creating when absent, unless read-only) the log in `dir`. Fails
  // with kCorruption when the head record, the newest events and the chain
  // between them disagree, naming what is wrong.
  static Result<std::unique_ptr<RocksEventLog>> Open(const std::string& dir,
                                                     const RocksLogOptions& options = {});
  ~RocksEventLog() override;
  RocksEventLog(const RocksEventLog&) = delete;
  RocksEventLog& operator=(const RocksEventLog&) = delete;

  using EventLog::Append;

  LogHead Head() const override;
  Status Append(std::span<const EncodedEvent> events, std::span<const IdempotencyWrite> idempotency,
                std::span<const StateWrite> state) override;
  Status ScanRecords(int64_t from, int64_t to,
                     const std::function<bool(int64_t, std::string_view)>& fn) const override;
  Status StreamPositions(int64_t stream, int64_t from_version, size_t max_count,
                         std::vector<int64_t>* positions) const override;
  Result<std::optional<IdempotencyRecord>> FindIdempotency(std::string_view actor,
                                                           std::string_view key) const override;
  Result<std::optional<std::string>> ReadState(std::string_view key) const override;
  Status ScanState(
      std::string_view from, std::string_view to,
      const std::function<bool(std::string_view, std::string_view)>& fn) const override;
  Status ClearState() override;
  Status WriteState(std::span<const StateWrite> writes, bool sync) override;
  Status WriteHealth() const override;
  LogStats Stats() const override;

  // Compacts the idempotency column family now (its memtable first), which
  // drops every record past retention; compaction does the same on its own
  // under load. For tests and operators; blocks until done.
  Status CompactIdempotency();

  // Secondary instances: reads what the primary has written since the last
  // catch-up and moves Head() there (checking, as on open, that the head
  // record and the newest stored event agree). Other instances: Head().
  // Not safe concurrently with reads of this instance.
  Result<LogHead> CatchUp() override;

  // Writes a RocksDB checkpoint of the log into `dir`, which must not exist:
  // table files hard-linked (copied across file systems), the manifest and
  // write-ahead logs copied. Never flushes, so it works on every kind of
  // instance. A checkpoint taken through a secondary races with the
  // primary's flushes and file deletions; check what it holds by opening it
  // (events/backup.h does).
  Status Checkpoint(const std::string& dir);

 private:
  RocksEventLog() = default;
  Status CheckOnOpen(const RocksLogOptions& options);
  // Reads the head record and checks the newest stored event is at its
  // position.
  Result<LogHead> ReadHead() const;
  Status BatchState(std::span<const StateWrite> writes, rocksdb::WriteBatch& batch) const;
  // OK when a write may be tried: the log is writable, or it was not and
  // RocksDB resumed. kUnavailable otherwise (see resume_interval).
  Status ReadyToWrite();
  // Records a failed write and returns what Append answers.
  Status WriteFailed(const rocksdb::Status& error);

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // owned; see destructor
  rocksdb::ColumnFamilyHandle* events_ = nullptr;
  rocksdb::ColumnFamilyHandle* streams_ = nullptr;
  rocksdb::ColumnFamilyHandle* idempotency_ = nullptr;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  // nullptr only in a read-only view of a log written before the state
  // existed: it reads as empty.
  rocksdb::ColumnFamilyHandle* state_ = nullptr;
  bool read_only_ = false;
  bool secondary_ = false;
  std::shared_ptr<rocksdb::Env> env_;  // kept alive for db_
  SystemClock system_clock_;
  const Clock* clock_ = &system_clock_;
  std::chrono::milliseconds resume_interval_{1'000};
  std::shared_ptr<IdempotencyPurgeFactory> purge_;
  std::shared_ptr<WriteHealthState> health_;
  // Owned by the appending thread (Append has one caller at a time).
  std::optional<Timestamp> last_write_attempt_;
  std::array<std::atomic<uint64_t>, kWriteFailureCauseCount> write_failures_{};
  std::atomic<uint64_t> resume_attempts_{0};

  mutable std::mutex head_mu_;
  LogHead head_;  // guarded by head_mu_
};

}  // namespace ledger::events
