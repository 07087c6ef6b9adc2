#include "events/rocks_options.h"

#include <algorithm>
#include <string>
#include <utility>

#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>

#include "events/keys.h"
#include "events/rocks_info_log.h"

namespace ledger::events {
namespace {

// The write-ahead logs kept before the oldest memtables are flushed, and the
// memtables of all column families together.
constexpr uint64_t kMaxTotalWalBytes = uint64_t{64} << 20;
constexpr size_t kWriteBufferBytes = size_t{128} << 20;
// The state family's keys are the sequencer's (commands/state_codec.h): a
// post's records share their first 9 bytes (a tag and the post id). Keys
// shorter than that (the head record) are inserted without a hint.
constexpr size_t kStatePostPrefixBytes = 9;
// The Bloom filters of the families mostly asked for keys they do not hold
// (state, idempotency): bits per key in their table files (about 1 % false
// positives), and the memtable's filter as a share of its size.
constexpr double kBloomBitsPerKey = 10;
constexpr double kMemtableBloomRatio = 0.02;

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

// Whole-key Bloom filters for `family`, in its memtable and in every table
// file, which answer a point read of an absent key without searching the
// memtable's skip list or a table's blocks. The table factory is `shared`'s
// (one block cache for every family) with a filter policy added.
void AddWholeKeyFilters(rocksdb::ColumnFamilyOptions& family,
                        const rocksdb::BlockBasedTableOptions& shared) {
  rocksdb::BlockBasedTableOptions table = shared;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(kBloomBitsPerKey));
  family.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  family.memtable_prefix_bloom_size_ratio = kMemtableBloomRatio;
  family.memtable_whole_key_filtering = true;
}

std::chrono::seconds PeriodicCompaction(std::chrono::seconds retention) {
  return std::max<std::chrono::seconds>(retention / kIdempotencyCompactionsPerRetention,
                                        std::chrono::seconds(1));
}

}  // namespace

rocksdb::DBOptions LogDbOptions(const RocksLogOptions& options,
                                std::shared_ptr<WriteHealthState> health) {
  rocksdb::DBOptions db_options;
  if (options.env != nullptr) db_options.env = options.env.get();
  db_options.listeners.push_back(std::make_shared<WriteHealthListener>(std::move(health)));
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
  if (!options.secondary_dir.empty()) {
    // A secondary must keep every table file open: the primary may delete
    // one (after a compaction) that this instance still reads.
    db_options.max_open_files = -1;
  }
  return db_options;
}

std::vector<rocksdb::ColumnFamilyDescriptor> LogFamilies(
    const RocksLogOptions& options, std::shared_ptr<rocksdb::CompactionFilterFactory> purge,
    bool with_state) {
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
  idempotency_options.compaction_filter_factory = std::move(purge);
  idempotency_options.periodic_compaction_seconds =
      static_cast<uint64_t>(PeriodicCompaction(options.idempotency_retention).count());
  // Nearly every look-up of a key is for a new one, which no file holds; the
  // keys are random, so each file's range covers them and, without a filter,
  // each file's index and a data block are searched to find nothing.
  AddWholeKeyFilters(idempotency_options, shared_table);
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  families.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);
  families.emplace_back(std::string(kEventsFamily), events_options);
  families.emplace_back(std::string(kStreamsFamily), streams_options);
  families.emplace_back(std::string(kIdempotencyFamily), idempotency_options);
  families.emplace_back(std::string(kMetaFamily), cf_options);
  // A post's state records come in key order as it is funded (one record
  // per funding, by position), so a hint per post saves the search too.
  rocksdb::ColumnFamilyOptions state_options = cf_options;
  state_options.memtable_insert_with_hint_prefix_extractor.reset(
      rocksdb::NewFixedPrefixTransform(kStatePostPrefixBytes));
  // Most point reads of the state look for a key that is not there: a
  // funding reads its backer's record, which a first funding of that backer
  // does not have.
  AddWholeKeyFilters(state_options, shared_table);
  if (with_state) families.emplace_back(std::string(kStateFamily), state_options);
  return families;
}

}  // namespace ledger::events
