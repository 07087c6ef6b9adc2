#pragma once

// The idempotency purge on RocksDB: a compaction filter on the idempotency
// column family that drops records past retention (the rule is in
// idempotency.h). Private to src/events: only rocks_log.cc includes it.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

#include <rocksdb/compaction_filter.h>

#include "common/clock.h"

namespace ledger::events {

// Hands every compaction of the idempotency column family a filter whose
// cutoff is IdempotencyPurgeCutoff(clock->Now(), retention), read once when
// the compaction starts. Counts what its filters drop.
class IdempotencyPurgeFactory final : public rocksdb::CompactionFilterFactory {
 public:
  // `clock` must outlive the database the factory is given to.
  IdempotencyPurgeFactory(const Clock* clock, std::chrono::seconds retention);

  std::unique_ptr<rocksdb::CompactionFilter> CreateCompactionFilter(
      const rocksdb::CompactionFilter::Context& context) override;
  const char* Name() const override { return "ledger.IdempotencyPurge"; }

  // Records dropped by every compaction that has finished.
  uint64_t purged() const { return purged_->load(std::memory_order_relaxed); }

 private:
  const Clock* const clock_;
  const std::chrono::seconds retention_;
  // Shared with the filters, which RocksDB may destroy after the factory.
  const std::shared_ptr<std::atomic<uint64_t>> purged_;
};

}  // namespace ledger::events
