#include "events/rocks_purge.h"

#include <string>
#include <string_view>
#include <utility>

#include "events/idempotency.h"

namespace ledger::events {
namespace {

// One compaction's filter. RocksDB calls it from that compaction's thread
// only, so its count needs no atomics until it is handed over at the end.
class IdempotencyPurgeFilter final : public rocksdb::CompactionFilter {
 public:
  IdempotencyPurgeFilter(Timestamp cutoff, std::shared_ptr<std::atomic<uint64_t>> purged_total)
      : cutoff_(cutoff), purged_total_(std::move(purged_total)) {}
  ~IdempotencyPurgeFilter() override {
    purged_total_->fetch_add(purged_, std::memory_order_relaxed);
  }
  IdempotencyPurgeFilter(const IdempotencyPurgeFilter&) = delete;
  IdempotencyPurgeFilter& operator=(const IdempotencyPurgeFilter&) = delete;

  Decision FilterV2(int /*level*/, const rocksdb::Slice& /*key*/, ValueType value_type,
                    const rocksdb::Slice& existing_value, std::string* /*new_value*/,
                    std::string* /*skip_until*/) const override {
    // The log writes plain values only; anything else is kept untouched.
    if (value_type != ValueType::kValue) return Decision::kKeep;
    if (!IdempotencyRecordExpired(std::string_view(existing_value.data(), existing_value.size()),
                                  cutoff_)) {
      return Decision::kKeep;
    }
    ++purged_;
    // Above the bottom level RocksDB turns this into a deletion marker, so an
    // older version of the key further down cannot come back.
    return Decision::kRemove;
  }

  const char* Name() const override { return "ledger.IdempotencyPurgeFilter"; }

 private:
  const Timestamp cutoff_;
  const std::shared_ptr<std::atomic<uint64_t>> purged_total_;
  mutable uint64_t purged_ = 0;
};

}  // namespace

IdempotencyPurgeFactory::IdempotencyPurgeFactory(const Clock* clock, std::chrono::seconds retention)
    : clock_(clock), retention_(retention), purged_(std::make_shared<std::atomic<uint64_t>>(0)) {}

std::unique_ptr<rocksdb::CompactionFilter> IdempotencyPurgeFactory::CreateCompactionFilter(
    const rocksdb::CompactionFilter::Context& /*context*/) {
  return std::make_unique<IdempotencyPurgeFilter>(IdempotencyPurgeCutoff(clock_->Now(), retention_),
                                                  purged_);
}

}  // namespace ledger::events
