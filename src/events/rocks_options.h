#pragma once

// How the event log's RocksDB is tuned: the database's options and each
// column family's (rocks_log.cc opens the log with them). Internal to the
// events module.

#include <memory>
#include <vector>

#include <rocksdb/compaction_filter.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include "events/rocks_log.h"
#include "events/rocks_write_health.h"

namespace ledger::events {

// The database's options for `options` (read-only, secondary, environment),
// reporting write failures to `health`.
rocksdb::DBOptions LogDbOptions(const RocksLogOptions& options,
                                std::shared_ptr<WriteHealthState> health);

// The column families in the order of their handles: default, events,
// streams, idempotency (dropping records past retention through `purge`),
// meta, and state when `with_state`. All share one block cache of
// options.block_cache_bytes.
std::vector<rocksdb::ColumnFamilyDescriptor> LogFamilies(
    const RocksLogOptions& options, std::shared_ptr<rocksdb::CompactionFilterFactory> purge,
    bool with_state);

}  // namespace ledger::events
