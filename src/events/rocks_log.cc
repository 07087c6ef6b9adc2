#include "events/rocks_log.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <limits>

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/options.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include "common/check.h"
#include "events/chain.h"
#include "events/keys.h"
#include "events/record.h"
#include "events/rocks_options.h"
#include "events/rocks_purge.h"
#include "events/rocks_tsan.h"
#include "events/rocks_write_health.h"

namespace ledger::events {
namespace {

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  std::string msg(what);
  msg += ": ";
  msg += s.ToString();
  if (s.IsCorruption()) return Status::Corruption(std::move(msg));
  if (s.IsNotFound()) return Status::NotFound(std::move(msg));
  return Status::IOError(std::move(msg));
}

rocksdb::Slice ToSlice(std::string_view s) { return {s.data(), s.size()}; }
std::string_view ToView(const rocksdb::Slice& s) { return {s.data(), s.size()}; }

std::string EncodeHead(const LogHead& head) {
  std::string out;
  AppendBigEndian64(&out, static_cast<uint64_t>(head.position));
  out.append(reinterpret_cast<const char*>(head.hash.data()), head.hash.size());
  return out;
}

// Scans of more events than this are bulk scans (see ScanRecords), and so
// is a scan of the state without an upper bound (ScanState). A bulk scan's
// iterator reads ahead this much per request. Each scan of a fold's chunk
// (commands/fold.h) opens its own iterator, whose first read fills the whole
// read-ahead buffer: 4 MiB read and copied five times what a chunk of 8 192
// events holds, and made a million-event walk 1.5 times slower than this.
constexpr int64_t kBulkScanEvents = 4'096;
constexpr size_t kBulkScanReadahead = size_t{256} << 10;

// The default column family holds only this key, written without the WAL
// before every append so that some memtable is never empty when a WAL write
// fails. RocksDB 7.8 switches to a new WAL on recovery only when it has a
// memtable to flush; otherwise it keeps the WAL whose writer failed, and the
// next write trips over that writer (an assertion in Debian's build, a
// sticky error otherwise) or lands after the failed record in the same WAL
// (fixed upstream in RocksDB 9, PRs 12448 and 12873). Its value means nothing
// and may be lost in a crash.
constexpr std::string_view kKeepaliveKey = "wal-keepalive";

}  // namespace

RocksEventLog::~RocksEventLog() {
  if (db_ != nullptr) {
    for (rocksdb::ColumnFamilyHandle* h : handles_) {
      // Destroying a handle only frees memory; its status carries nothing.
      (void)db_->DestroyColumnFamilyHandle(h);
    }
    (void)db_->Close();
    db_.reset();  // before env_, which it runs on
  }
}

Result<std::unique_ptr<RocksEventLog>> RocksEventLog::Open(const std::string& dir,
                                                           const RocksLogOptions& options) {
  if (options.idempotency_retention < std::chrono::seconds(1)) {
    return Status::InvalidArgument("idempotency retention must be at least one second");
  }
  if (options.block_cache_bytes < kMinBlockCacheBytes) {
    return Status::InvalidArgument("the log's block cache must be at least 1 MiB");
  }
  BuildRocksStaticsFirst();
  std::unique_ptr<RocksEventLog> log(new RocksEventLog());
  if (options.clock != nullptr) log->clock_ = options.clock;
  log->resume_interval_ = options.resume_interval;
  log->env_ = options.env;
  log->health_ = std::make_shared<WriteHealthState>();
  log->purge_ =
      std::make_shared<IdempotencyPurgeFactory>(log->clock_, options.idempotency_retention);

  const bool secondary = !options.secondary_dir.empty();
  const rocksdb::DBOptions db_options = LogDbOptions(options, log->health_);
  // The state family came after the others: a read-only view of an older log
  // has none (and may not create it).
  bool with_state = true;
  if (options.read_only || secondary) {
    std::vector<std::string> names;
    const rocksdb::Status listed = rocksdb::DB::ListColumnFamilies(db_options, dir, &names);
    with_state = !listed.ok() || std::find(names.begin(), names.end(), kStateFamily) != names.end();
  }
  const std::vector<rocksdb::ColumnFamilyDescriptor> families =
      LogFamilies(options, log->purge_, with_state);

  log->read_only_ = options.read_only || secondary;
  log->secondary_ = secondary;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  if (secondary) {
    s = rocksdb::DB::OpenAsSecondary(db_options, dir, options.secondary_dir, families,
                                     &log->handles_, &raw);
  } else if (options.read_only) {
    s = rocksdb::DB::OpenForReadOnly(db_options, dir, families, &log->handles_, &raw);
  } else {
    // Created here, not by RocksDB: a directory missing when RocksDB opens
    // makes it log an error line before it creates the directory itself.
    std::error_code created;
    std::filesystem::create_directories(dir, created);
    s = rocksdb::DB::Open(db_options, dir, families, &log->handles_, &raw);
  }
  if (!s.ok()) {
    return FromRocks(s, "opening the event log in " + dir);
  }
  log->db_.reset(raw);
  LEDGER_CHECK(log->handles_.size() == families.size(), "column family handles missing");
  log->events_ = log->handles_[1];
  log->streams_ = log->handles_[2];
  log->idempotency_ = log->handles_[3];
  log->meta_ = log->handles_[4];
  if (with_state) log->state_ = log->handles_[5];
  LEDGER_RETURN_IF_ERROR(log->CheckOnOpen(options).WithContext("opening the event log in " + dir));
  return log;
}

Status RocksEventLog::CheckOnOpen(const RocksLogOptions& options) {
  std::string format;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_, ToSlice(kFormatKey), &format);
  if (s.IsNotFound()) {
    // A new log: nothing may be stored yet.
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), events_));
    it->SeekToFirst();
    if (it->Valid()) {
      return Status::Corruption("events are stored but the log has no format record");
    }
    LEDGER_RETURN_IF_ERROR(FromRocks(it->status(), "scanning events"));
    if (read_only_) {
      return Status::Ok();  // an empty log, seen read-only
    }
    rocksdb::WriteOptions wo;
    wo.sync = true;
    rocksdb::WriteBatch batch;
    LEDGER_RETURN_IF_ERROR(FromRocks(batch.Put(meta_, ToSlice(kFormatKey), ToSlice(kLogFormat)),
                                     "writing the format record"));
    LEDGER_RETURN_IF_ERROR(
        FromRocks(batch.Put(meta_, ToSlice(kHeadKey), ToSlice(EncodeHead(LogHead{}))),
                  "writing the head record"));
    return FromRocks(db_->Write(wo, &batch), "initialising the log");
  }
  LEDGER_RETURN_IF_ERROR(FromRocks(s, "reading the format record"));
  if (format != kLogFormat) {
    return Status::FailedPrecondition("unsupported log format '" + format + "', expected '" +
                                      std::string(kLogFormat) + "'");
  }

  LEDGER_ASSIGN_OR_RETURN(const LogHead head, ReadHead());
  {
    std::lock_guard lock(head_mu_);
    head_ = head;
  }
  if (head.position == 0) {
    return Status::Ok();
  }
  const int64_t from = std::max<int64_t>(1, head.position - options.verify_tail_events + 1);
  LEDGER_ASSIGN_OR_RETURN(const ChainCheck check, VerifyLogChain(*this, from, head.position));
  if (!check.ok) {
    return Status::Corruption("hash chain broken at position " +
                              std::to_string(check.first_bad_position) + ": " + check.problem);
  }
  return Status::Ok();
}

Result<LogHead> RocksEventLog::ReadHead() const {
  std::string head_value;
  const rocksdb::Status got =
      db_->Get(rocksdb::ReadOptions(), meta_, ToSlice(kHeadKey), &head_value);
  // A log seen read-only before the service initialised it is empty.
  if (got.IsNotFound() && read_only_)
    head_value = EncodeHead(LogHead{});
  else
    LEDGER_RETURN_IF_ERROR(FromRocks(got, "reading the head"));
  if (head_value.size() != 8 + 32) {
    return Status::Corruption("head record has " + std::to_string(head_value.size()) +
                              " bytes, expected 40");
  }
  LogHead head;
  head.position = static_cast<int64_t>(ReadBigEndian64(head_value));
  std::memcpy(head.hash.data(), head_value.data() + 8, 32);
  if (head.position < 0) {
    return Status::Corruption("head position is negative");
  }
  // Nothing may be stored after the head: events and head move in one batch.
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), events_));
  it->SeekToLast();
  LEDGER_RETURN_IF_ERROR(FromRocks(it->status(), "reading the newest event"));
  if (it->Valid() && it->key().size() != 8) {
    return Status::Corruption("malformed event key in the log");
  }
  const int64_t last = it->Valid() ? static_cast<int64_t>(ReadBigEndian64(ToView(it->key()))) : 0;
  if (last != head.position) {
    return Status::Corruption("head record says position " + std::to_string(head.position) +
                              " but the newest stored event is at " + std::to_string(last));
  }
  return head;
}

Result<LogHead> RocksEventLog::CatchUp() {
  if (!secondary_) return Head();
  const LogHead before = Head();
  LEDGER_RETURN_IF_ERROR(
      FromRocks(db_->TryCatchUpWithPrimary(), "catching up with the service's event log"));
  LEDGER_ASSIGN_OR_RETURN(const LogHead head, ReadHead());
  return AdvanceToCheckedHead(*this, before, head, [this](const LogHead& to) {
    std::lock_guard lock(head_mu_);
    head_ = to;
  });
}

Status RocksEventLog::Checkpoint(const std::string& dir) {
  rocksdb::Checkpoint* raw = nullptr;
  LEDGER_RETURN_IF_ERROR(
      FromRocks(rocksdb::Checkpoint::Create(db_.get(), &raw), "preparing a checkpoint"));
  const std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // log_size_for_flush = max: never flush (a read-only or secondary instance
  // cannot, and would wait for ever); the write-ahead logs are copied instead.
  return FromRocks(checkpoint->CreateCheckpoint(dir, std::numeric_limits<uint64_t>::max()),
                   "writing a checkpoint into " + dir);
}

LogHead RocksEventLog::Head() const {
  std::lock_guard lock(head_mu_);
  return head_;
}

Status RocksEventLog::Append(std::span<const EncodedEvent> events,
                             std::span<const IdempotencyWrite> idempotency,
                             std::span<const StateWrite> state) {
  if (read_only_) {
    return Status::FailedPrecondition("the event log is open read-only");
  }
  LEDGER_RETURN_IF_ERROR(ReadyToWrite());
  LogHead head = Head();
  rocksdb::WriteBatch batch;
  for (const EncodedEvent& e : events) {
    // The sequencer guarantees continuity; a gap or fork here is a bug that
    // must never reach the disk.
    LEDGER_CHECK(e.position == head.position + 1, "appended events must be gapless");
    LEDGER_CHECK(e.prev_hash == head.hash, "appended events must continue the chain");
    LEDGER_CHECK(e.stream > 0 && e.stream_version > 0, "event without stream");
    std::string position_value;
    AppendBigEndian64(&position_value, static_cast<uint64_t>(e.position));
    LEDGER_RETURN_IF_ERROR(
        FromRocks(batch.Put(events_, ToSlice(PositionKey(e.position)), ToSlice(e.record)),
                  "batching an event"));
    LEDGER_RETURN_IF_ERROR(
        FromRocks(batch.Put(streams_, ToSlice(StreamKey(e.stream, e.stream_version)),
                            ToSlice(position_value)),
                  "batching a stream entry"));
    head.position = e.position;
    head.hash = e.hash;
  }
  for (const IdempotencyWrite& w : idempotency) {
    LEDGER_RETURN_IF_ERROR(
        FromRocks(batch.Put(idempotency_, ToSlice(IdempotencyKey(w.actor, w.key)),
                            ToSlice(EncodeIdempotencyRecord(w.record))),
                  "batching an idempotency record"));
  }
  if (!events.empty()) {
    LEDGER_RETURN_IF_ERROR(FromRocks(batch.Put(meta_, ToSlice(kHeadKey), ToSlice(EncodeHead(head))),
                                     "batching the head"));
  }
  LEDGER_RETURN_IF_ERROR(BatchState(state, batch));
  const uint64_t failures_before = health_->failures();
  last_write_attempt_ = clock_->Now();
  rocksdb::WriteOptions keepalive_options;
  keepalive_options.disableWAL = true;
  rocksdb::Status written = db_->Put(keepalive_options, handles_[0], ToSlice(kKeepaliveKey), {});
  if (written.ok()) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    written = db_->Write(wo, &batch);
  }
  if (!written.ok()) return WriteFailed(written);
  health_->ClearUnlessFailedSince(failures_before);
  std::lock_guard lock(head_mu_);
  head_ = head;
  return Status::Ok();
}

Status RocksEventLog::ReadyToWrite() {
  Status health = health_->Get();
  if (health.ok()) return Status::Ok();
  const Timestamp now = clock_->Now();
  // A clock that stepped back counts as due.
  if (last_write_attempt_ && now >= *last_write_attempt_ &&
      now - *last_write_attempt_ < resume_interval_) {
    write_failures_[static_cast<size_t>(WriteFailureCause::kWaiting)].fetch_add(
        1, std::memory_order_relaxed);
    return health;
  }
  last_write_attempt_ = now;
  resume_attempts_.fetch_add(1, std::memory_order_relaxed);
  const uint64_t failures_before = health_->failures();
  // OK at once when RocksDB is not stopped (it recovered by itself); Busy
  // while its own recovery from a full disk is under way.
  const rocksdb::Status resumed = db_->Resume();
  if (resumed.ok()) {
    health_->ClearUnlessFailedSince(failures_before);
    return Status::Ok();
  }
  write_failures_[static_cast<size_t>(WriteFailureCause::kWaiting)].fetch_add(
      1, std::memory_order_relaxed);
  return health.WithContext(resumed.IsBusy() ? "RocksDB is recovering"
                                             : "resuming failed (" + resumed.ToString() + ")");
}

Status RocksEventLog::WriteFailed(const rocksdb::Status& error) {
  const WriteFailureCause cause = CauseOf(error);
  write_failures_[static_cast<size_t>(cause)].fetch_add(1, std::memory_order_relaxed);
  Status unwritable = Unwritable(error, "appending to the event log");
  health_->SetFailed(unwritable);
  return unwritable;
}

Status RocksEventLog::WriteHealth() const {
  if (read_only_) return Status::Ok();
  return health_->Get();
}

LogStats RocksEventLog::Stats() const {
  LogStats stats;
  for (size_t i = 0; i < kWriteFailureCauseCount; ++i) {
    stats.write_failures[i] = write_failures_[i].load(std::memory_order_relaxed);
  }
  stats.resume_attempts = resume_attempts_.load(std::memory_order_relaxed);
  stats.idempotency_purged = purge_->purged();
  uint64_t estimate = 0;
  if (db_->GetIntProperty(idempotency_, "rocksdb.estimate-num-keys", &estimate)) {
    stats.idempotency_records_estimate = estimate;
  }
  // Every family shares one cache: its figures are read once, not summed.
  uint64_t value = 0;
  if (db_->GetIntProperty(rocksdb::DB::Properties::kBlockCacheUsage, &value)) {
    stats.block_cache_bytes = value;
  }
  if (db_->GetIntProperty(rocksdb::DB::Properties::kBlockCacheCapacity, &value)) {
    stats.block_cache_capacity_bytes = value;
  }
  if (db_->GetAggregatedIntProperty(rocksdb::DB::Properties::kEstimateTableReadersMem, &value)) {
    stats.table_readers_bytes = value;
  }
  if (db_->GetAggregatedIntProperty(rocksdb::DB::Properties::kCurSizeAllMemTables, &value)) {
    stats.memtables_bytes = value;
  }
  for (rocksdb::ColumnFamilyHandle* family : handles_) {
    rocksdb::ColumnFamilyMetaData meta;
    db_->GetColumnFamilyMetaData(family, &meta);
    stats.table_files += meta.file_count;
  }
  return stats;
}

Status RocksEventLog::CompactIdempotency() {
  if (read_only_) {
    return Status::FailedPrecondition("the event log is open read-only");
  }
  rocksdb::CompactRangeOptions options;
  // Bottom-level files too: that is where old records end up.
  options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  return FromRocks(db_->CompactRange(options, idempotency_, nullptr, nullptr),
                   "compacting the idempotency records");
}

Status RocksEventLog::ScanRecords(int64_t from, int64_t to,
                                  const std::function<bool(int64_t, std::string_view)>& fn) const {
  if (from > to) return Status::Ok();
  rocksdb::ReadOptions ro;
  if (to - from >= kBulkScanEvents) {
    // A long scan (a chain walk, a fold, a backup check) reads each block
    // once: keep it out of the block cache that recent reads use, and read
    // ahead in large requests.
    ro.fill_cache = false;
    ro.readahead_size = kBulkScanReadahead;
  }
  const std::string upper = PositionKey(to == INT64_MAX ? to : to + 1);
  rocksdb::Slice upper_slice(upper);
  if (to != INT64_MAX) ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, events_));
  for (it->Seek(PositionKey(from)); it->Valid(); it->Next()) {
    if (it->key().size() != 8) {
      return Status::Corruption("malformed event key in the log");
    }
    const auto position = static_cast<int64_t>(ReadBigEndian64(ToView(it->key())));
    if (position > to) break;
    if (!fn(position, ToView(it->value()))) break;
  }
  return FromRocks(it->status(), "scanning events");
}

Status RocksEventLog::StreamPositions(int64_t stream, int64_t from_version, size_t max_count,
                                      std::vector<int64_t>* positions) const {
  rocksdb::ReadOptions ro;
  // Every entry of the stream is (stream, version), 16 bytes; its 8-byte
  // prefix followed by eight 0xff bytes and one more sorts after all of them.
  // (StreamKey(stream + 1, 0) overflowed for the largest id, which a path
  // like /api/posts/9223372036854775807/events reaches.)
  std::string upper = StreamKey(stream, 0).substr(0, 8);
  upper.append(8, '\xff');
  upper.push_back('\0');
  rocksdb::Slice upper_slice(upper);
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, streams_));
  size_t taken = 0;
  for (it->Seek(StreamKey(stream, from_version)); it->Valid() && taken < max_count; it->Next()) {
    if (it->value().size() != 8) {
      return Status::Corruption("malformed stream index entry");
    }
    positions->push_back(static_cast<int64_t>(ReadBigEndian64(ToView(it->value()))));
    ++taken;
  }
  return FromRocks(it->status(), "scanning a stream");
}

Result<std::optional<IdempotencyRecord>> RocksEventLog::FindIdempotency(
    std::string_view actor, std::string_view key) const {
  std::string value;
  const rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), idempotency_, ToSlice(IdempotencyKey(actor, key)), &value);
  if (s.IsNotFound()) {
    return std::optional<IdempotencyRecord>();
  }
  LEDGER_RETURN_IF_ERROR(FromRocks(s, "reading an idempotency record"));
  LEDGER_ASSIGN_OR_RETURN(IdempotencyRecord record, DecodeIdempotencyRecord(value));
  return std::optional<IdempotencyRecord>(std::move(record));
}

Result<std::optional<std::string>> RocksEventLog::ReadState(std::string_view key) const {
  if (state_ == nullptr) return std::optional<std::string>();
  std::string value;
  const rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), state_, ToSlice(key), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  LEDGER_RETURN_IF_ERROR(FromRocks(s, "reading the sequencer state"));
  return std::optional<std::string>(std::move(value));
}

Status RocksEventLog::ScanState(
    std::string_view from, std::string_view to,
    const std::function<bool(std::string_view, std::string_view)>& fn) const {
  if (state_ == nullptr) return Status::Ok();
  rocksdb::ReadOptions ro;
  const rocksdb::Slice upper = ToSlice(to);
  if (!to.empty()) {
    ro.iterate_upper_bound = &upper;
  } else {
    // The whole family from `from` on (verify's comparison with the fold):
    // a bulk scan, as in ScanRecords.
    ro.fill_cache = false;
    ro.readahead_size = kBulkScanReadahead;
  }
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, state_));
  for (it->Seek(ToSlice(from)); it->Valid(); it->Next()) {
    if (!fn(ToView(it->key()), ToView(it->value()))) break;
  }
  return FromRocks(it->status(), "scanning the sequencer state");
}

Status RocksEventLog::ClearState() {
  if (read_only_) return Status::FailedPrecondition("the event log is open read-only");
  // Every state key is shorter than this bound's first byte allows.
  const std::string end(1, '\xff');
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db_->DeleteRange(wo, state_, rocksdb::Slice(), ToSlice(end)),
                   "clearing the sequencer state");
}

Status RocksEventLog::WriteState(std::span<const StateWrite> writes, bool sync) {
  if (read_only_) return Status::FailedPrecondition("the event log is open read-only");
  rocksdb::WriteBatch batch;
  LEDGER_RETURN_IF_ERROR(BatchState(writes, batch));
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  return FromRocks(db_->Write(wo, &batch), "writing the sequencer state");
}

Status RocksEventLog::BatchState(std::span<const StateWrite> writes,
                                 rocksdb::WriteBatch& batch) const {
  for (const StateWrite& w : writes) {
    LEDGER_CHECK(!w.key.empty() && static_cast<uint8_t>(w.key.front()) != 0xFF,
                 "state keys are non-empty and below 0xff");
    const rocksdb::Status s = w.value ? batch.Put(state_, ToSlice(w.key), ToSlice(*w.value))
                                      : batch.Delete(state_, ToSlice(w.key));
    LEDGER_RETURN_IF_ERROR(FromRocks(s, "batching the sequencer state"));
  }
  return Status::Ok();
}

}  // namespace ledger::events
