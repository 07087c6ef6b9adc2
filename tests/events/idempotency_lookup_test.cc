// Looking an Idempotency-Key up: a new key, which is what nearly every
// look-up asks about, is answered by the idempotency family's Bloom filters
// (its memtable's and its table files') without searching for it, and a key
// that is there is still found, before and after its records reach a file.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rocksdb/perf_context.h>
#include <rocksdb/perf_level.h>

#include "common/clock.h"
#include "events/idempotency.h"
#include "events/rocks_log.h"
#include "support/status_matchers.h"
#include "support/temp_dir.h"

namespace ledger::events {
namespace {

const Timestamp kNow = Timestamp(std::chrono::sys_days(std::chrono::year{2026} / 12 / 7));

constexpr int kKeys = 2'000;

std::string Actor(int i) { return "user-" + std::to_string(i % 31); }
std::string Key(int i) { return "fund-" + std::to_string(i); }

class IdempotencyLookupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RocksLogOptions options;
    options.clock = &clock_;
    auto opened = RocksEventLog::Open(dir_.Sub("log"), options);
    ASSERT_OK(opened);
    log_ = std::move(opened).value();
    std::vector<IdempotencyWrite> writes;
    writes.reserve(kKeys);
    for (int i = 0; i < kKeys; ++i) {
      writes.push_back(
          IdempotencyWrite{Actor(i), Key(i), IdempotencyRecord{Sha256(Key(i)), kNow, "outcome"}});
    }
    ASSERT_OK(log_->Append({}, writes));
  }

  void TearDown() override { rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable); }

  // Looks up `count` keys that were never written, counting on this thread
  // what the Bloom filters answered.
  void LookUpNewKeys(int count) {
    rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
    rocksdb::get_perf_context()->Reset();
    for (int i = 0; i < count; ++i) {
      const auto found = log_->FindIdempotency(Actor(i), "never-sent-" + std::to_string(i));
      ASSERT_OK(found);
      EXPECT_FALSE(found->has_value()) << i;
    }
    rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  }

  void ExpectEveryKeyFound() {
    for (int i = 0; i < kKeys; ++i) {
      const auto found = log_->FindIdempotency(Actor(i), Key(i));
      ASSERT_OK(found);
      ASSERT_TRUE(found->has_value()) << i;
      EXPECT_EQ((*found)->fingerprint, Sha256(Key(i))) << i;
    }
  }

  ledger::testing::TempDir dir_;
  ManualClock clock_{kNow};
  std::unique_ptr<RocksEventLog> log_;
};

TEST_F(IdempotencyLookupTest, TheMemtablesFilterAnswersANewKey) {
  constexpr int kLookups = 200;
  LookUpNewKeys(kLookups);
  // A Bloom filter of about 1 % false positives: nearly every look-up ends
  // at the filter. Without one this counter stays at zero.
  EXPECT_GE(rocksdb::get_perf_context()->bloom_memtable_miss_count, uint64_t{kLookups * 9 / 10});
  ExpectEveryKeyFound();
}

TEST_F(IdempotencyLookupTest, TheTableFilesFilterAnswersANewKey) {
  // Compaction writes the records (none past retention) into a table file
  // and leaves the memtable empty.
  ASSERT_OK(log_->CompactIdempotency());
  ASSERT_GE(log_->Stats().table_files, uint64_t{1});
  constexpr int kLookups = 200;
  LookUpNewKeys(kLookups);
  EXPECT_GE(rocksdb::get_perf_context()->bloom_sst_miss_count, uint64_t{kLookups * 9 / 10});
  ExpectEveryKeyFound();
}

}  // namespace
}  // namespace ledger::events
