#include "events/rocks_log.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <limits>

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include "common/check.h"
#include "events/chain.h"
#include "events/keys.h"
#include "events/record.h"
#include "events/rocks_info_log.h"
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

// The write-ahead logs kept before the oldest memtables are flushed, and the
// memtables of all column families together.
constexpr uint64_t kMaxTotalWalBytes = uint64_t{64} << 20;
constexpr size_t kWriteBufferBytes = size_t{128} << 20;
// The state family's keys are the sequencer's (commands/state_codec.h): a
// post's records share their first 9 bytes (a tag and the post id). Keys
// shorter than that (the head record) are inserted without a hint.
constexpr size_t kStatePostPrefixBytes = 9;
// The state family's Bloom filters: bits per key in its table files (about
// 1 % false positives), and the memtable's filter as a share of its size.
constexpr double kStateBloomBitsPerKey = 10;
constexpr double kStateMemtableBloomRatio = 0.02;

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

// What every column family's table files share: one block cache of
// `cache_bytes`, which holds their index and filter blocks too. By default
// RocksDB loads each open file's whole index and filter into memory of its
// own, outside any cache: measured at 4.2 MiB per million events (1.6 MiB of
// the events' indexes, 2.5 MiB of the state's filters), so the service's
// memory grew with the log. Partitioned, a file's index and filter are read
// in 4 KiB pieces through the cache as lookups need them; only the top-level
// index of each file and the pieces of files just flushed, which L0's bounds
// keep few, stay pinned. Index and filter blocks go in at high priority,
// ahead of data blocks. Files written before these options have whole index
// and filter blocks; those stay pinned, as they stayed in memory before, so
// that a large log upgraded in place does not read a whole filter from disk
// on a look-up; compaction rewrites such files in pieces over time.
rocksdb::BlockBasedTableOptions SharedTableOptions(size_t cache_bytes) {
  rocksdb::LRUCacheOptions cache;
  cache.capacity = cache_bytes;
  cache.high_pri_pool_ratio = 0.5;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(cache);
  table.cache_index_and_filter_blocks = true;
  table.cache_index_and_filter_blocks_with_high_priority = true;
  table.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
  table.partition_filters = true;  // for the families with a filter (state)
  table.metadata_cache_options.top_level_index_pinning = rocksdb::PinningTier::kAll;
  table.metadata_cache_options.partition_pinning = rocksdb::PinningTier::kFlushedAndSimilar;
  table.metadata_cache_options.unpartitioned_pinning = rocksdb::PinningTier::kAll;
  return table;
}

std::chrono::seconds PeriodicCompaction(std::chrono::seconds retention) {
  return std::max<std::chrono::seconds>(retention / kIdempotencyCompactionsPerRetention,
                                        std::chrono::seconds(1));
}

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

  rocksdb::DBOptions db_options;
  if (log->env_ != nullptr) db_options.env = log->env_.get();
  db_options.listeners.push_back(std::make_shared<WriteHealthListener>(log->health_));
  // The keepalive key is written without the WAL; flushing it on close would
  // add a table file per restart for nothing.
  db_options.avoid_flush_during_shutdown = true;
  db_options.create_if_missing = !options.read_only;
  db_options.create_missing_column_families = !options.read_only;
  db_options.paranoid_checks = true;
  // Acknowledged writes were fsync'd, so they precede any torn tail a crash
  // could leave; recovering to the last consistent point keeps them all.
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  // One write spans several column families (events, stream index, head,
  // idempotency, state). A batch whose fsync failed is in the WAL file but in
  // no memtable; recovering from that flushes the memtables, and flushed one
  // family at a time, a crash between two of them would make the next open
  // replay that batch into the families not yet flushed only (an event
  // without its head, an idempotency record without its event). Flushed as
  // one, every family moves past the WAL together or none does.
  db_options.atomic_flush = true;
  db_options.max_background_jobs = 2;
  // Bounds of memory and of the work on open. A column family that takes
  // few writes (the stream index, the state) would otherwise pin old
  // write-ahead logs until its memtable filled, and every open (the
  // service's restart, each audit tool's secondary instance) replays them.
  db_options.max_total_wal_size = kMaxTotalWalBytes;
  db_options.db_write_buffer_size = kWriteBufferBytes;
  // RocksDB's warnings and errors go to the service's log, not to a LOG
  // file on the log's own disk (rocks_info_log.h says why).
  db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  db_options.info_log = std::make_shared<RocksInfoLog>(db_options.info_log_level);
  const bool secondary = !options.secondary_dir.empty();
  if (secondary) {
    // A secondary must keep every table file open: the primary may delete
    // one (after a compaction) that this instance still reads.
    db_options.max_open_files = -1;
  }

  rocksdb::ColumnFamilyOptions cf_options;
  const rocksdb::BlockBasedTableOptions shared_table =
      SharedTableOptions(options.block_cache_bytes);
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(shared_table));
  // Events arrive in position order and stream entries in version order per
  // stream, so the memtable can insert next to the previous key (a hint per
  // prefix) instead of searching the skip list from the top each time.
  rocksdb::ColumnFamilyOptions events_options = cf_options;
  events_options.memtable_insert_with_hint_prefix_extractor.reset(
      rocksdb::NewFixedPrefixTransform(0));
  rocksdb::ColumnFamilyOptions streams_options = cf_options;
  streams_options.memtable_insert_with_hint_prefix_extractor.reset(
      rocksdb::NewFixedPrefixTransform(8));
  // Records past retention are dropped whenever their files are compacted;
  // periodic compaction makes sure every file is, even one that no other
  // compaction would pick (keys that only grow are moved down untouched).
  rocksdb::ColumnFamilyOptions idempotency_options = cf_options;
  idempotency_options.compaction_filter_factory = log->purge_;
  idempotency_options.periodic_compaction_seconds =
      static_cast<uint64_t>(PeriodicCompaction(options.idempotency_retention).count());
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  families.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);
  families.emplace_back(std::string(kEventsFamily), events_options);
  families.emplace_back(std::string(kStreamsFamily), streams_options);
  families.emplace_back(std::string(kIdempotencyFamily), idempotency_options);
  families.emplace_back(std::string(kMetaFamily), cf_options);
  // The state family came after the others: a read-only view of an older log
  // has none (and may not create it).
  bool with_state = true;
  if (options.read_only || secondary) {
    std::vector<std::string> names;
    const rocksdb::Status listed = rocksdb::DB::ListColumnFamilies(db_options, dir, &names);
    with_state = !listed.ok() || std::find(names.begin(), names.end(), kStateFamily) != names.end();
  }
  // A post's state records come in key order as it is funded (one record
  // per funding, by position), so a hint per post saves the search too.
  rocksdb::ColumnFamilyOptions state_options = cf_options;
  state_options.memtable_insert_with_hint_prefix_extractor.reset(
      rocksdb::NewFixedPrefixTransform(kStatePostPrefixBytes));
  // Most point reads of the state look for a key that is not there: a
  // funding reads its backer's record, which a first funding of that backer
  // does not have. Bloom filters (whole keys, in the memtable and in every
  // table file, about 10 bits a key) answer those without searching the
  // memtable's skip list or a table's blocks. The table factory shares the
  // other families' block cache (SharedTableOptions).
  rocksdb::BlockBasedTableOptions state_table = shared_table;
  state_table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(kStateBloomBitsPerKey));
  state_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(state_table));
  state_options.memtable_prefix_bloom_size_ratio = kStateMemtableBloomRatio;
  state_options.memtable_whole_key_filtering = true;
  if (with_state) families.emplace_back(std::string(kStateFamily), state_options);

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
