// The idempotency purge: the rule (idempotency.h) and the compaction filter
// that applies it on a real RocksDB log under an injected clock.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/clock.h"
#include "events/idempotency.h"
#include "events/keys.h"
#include "events/rocks_log.h"
#include "support/raw_log.h"
#include "support/status_matchers.h"
#include "support/temp_dir.h"

namespace ledger::events {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::seconds;

const Timestamp kNow = Timestamp(std::chrono::sys_days(std::chrono::year{2026} / 11 / 21));

std::string Stored(Timestamp recorded_at) {
  return EncodeIdempotencyRecord(IdempotencyRecord{Sha256("request"), recorded_at, "outcome"});
}

TEST(IdempotencyPurgeRuleTest, CutoffIsRetentionPlusTheMarginBeforeNow) {
  EXPECT_EQ(IdempotencyPurgeCutoff(kNow, hours(24)), kNow - hours(24) - kIdempotencyPurgeMargin);
  EXPECT_EQ(kIdempotencyPurgeMargin, hours(1));
}

TEST(IdempotencyPurgeRuleTest, ExpiresARecordAtOrBeforeTheCutoffOnly) {
  const Timestamp cutoff = IdempotencyPurgeCutoff(kNow, hours(24));
  EXPECT_TRUE(IdempotencyRecordExpired(Stored(cutoff), cutoff));
  EXPECT_TRUE(IdempotencyRecordExpired(Stored(cutoff - hours(100)), cutoff));
  EXPECT_FALSE(IdempotencyRecordExpired(Stored(cutoff + microseconds(1)), cutoff));
  EXPECT_FALSE(IdempotencyRecordExpired(Stored(kNow), cutoff));
}

TEST(IdempotencyPurgeRuleTest, NeverExpiresARecordTheSequencerStillAnswersFrom) {
  // The sequencer replays while now - recorded_at < retention; the purge
  // waits a margin longer, so a sequencer whose clock reads up to the margin
  // behind the purge's still finds every record it would answer from.
  const seconds retention = hours(24);
  const Timestamp oldest_answered = kNow - kIdempotencyPurgeMargin - retention + microseconds(1);
  EXPECT_FALSE(
      IdempotencyRecordExpired(Stored(oldest_answered), IdempotencyPurgeCutoff(kNow, retention)));
}

TEST(IdempotencyPurgeRuleTest, KeepsWhatItCannotRead) {
  const Timestamp cutoff = kNow;
  EXPECT_FALSE(IdempotencyRecordExpired("", cutoff));
  EXPECT_FALSE(IdempotencyRecordExpired("short", cutoff));
  std::string other_version = Stored(cutoff - hours(100));
  other_version[0] = 2;
  EXPECT_FALSE(IdempotencyRecordExpired(other_version, cutoff));
}

// Records left in the idempotency column family of the closed log in `dir`.
int64_t CountStoredRecords(const std::string& dir) {
  int64_t count = 0;
  ledger::testing::WithRawLog(
      dir, kIdempotencyFamily, [&](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* family) {
        std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(rocksdb::ReadOptions(), family));
        for (it->SeekToFirst(); it->Valid(); it->Next()) ++count;
        EXPECT_TRUE(it->status().ok()) << it->status().ToString();
      });
  return count;
}

class IdempotencyPurgeTest : public ::testing::Test {
 protected:
  static constexpr seconds kRetention = hours(2);

  std::unique_ptr<RocksEventLog> OpenLog() {
    RocksLogOptions options;
    options.idempotency_retention = kRetention;
    options.clock = &clock_;
    auto log = RocksEventLog::Open(dir_.Sub("log"), options);
    EXPECT_OK(log);
    return log.ok() ? std::move(log).value() : nullptr;
  }

  // Writes `count` records with unique keys "<prefix>-<i>" recorded at
  // `recorded_at`, in batches of a group commit's size.
  static void WriteRecords(RocksEventLog& log, const std::string& prefix, int count,
                           Timestamp recorded_at) {
    constexpr int kBatch = 512;
    for (int first = 0; first < count; first += kBatch) {
      std::vector<IdempotencyWrite> writes;
      for (int i = first; i < std::min(count, first + kBatch); ++i) {
        writes.push_back(
            IdempotencyWrite{"user-" + std::to_string(i % 97), prefix + "-" + std::to_string(i),
                             IdempotencyRecord{Sha256(prefix), recorded_at, "outcome"}});
      }
      ASSERT_OK(log.Append({}, writes));
    }
  }

  static bool Has(RocksEventLog& log, const std::string& prefix, int i) {
    auto found =
        log.FindIdempotency("user-" + std::to_string(i % 97), prefix + "-" + std::to_string(i));
    EXPECT_OK(found);
    return found.ok() && found->has_value();
  }

  ledger::testing::TempDir dir_;
  ManualClock clock_{kNow};
};

TEST_F(IdempotencyPurgeTest, CompactionDropsRecordsPastRetentionAndKeepsTheRest) {
  constexpr int kOld = 20'000;
  constexpr int kLive = 300;
  auto log = OpenLog();
  const Timestamp start = clock_.Now();
  WriteRecords(*log, "old", kOld, start);
  clock_.Advance(kRetention + kIdempotencyPurgeMargin);
  // Exactly at the cutoff (dropped) and a microsecond after it (kept).
  WriteRecords(*log, "edge", 1, start);
  WriteRecords(*log, "inside", 1, start + microseconds(1));
  WriteRecords(*log, "live", kLive, clock_.Now() - hours(1));

  ASSERT_OK(log->CompactIdempotency());

  EXPECT_EQ(log->Stats().idempotency_purged, uint64_t{kOld + 1});
  EXPECT_FALSE(Has(*log, "old", 0));
  EXPECT_FALSE(Has(*log, "old", kOld - 1));
  EXPECT_FALSE(Has(*log, "edge", 0));
  EXPECT_TRUE(Has(*log, "inside", 0));
  for (int i = 0; i < kLive; ++i) ASSERT_TRUE(Has(*log, "live", i)) << i;
  log.reset();
  EXPECT_EQ(CountStoredRecords(dir_.Sub("log")), kLive + 1);
}

TEST_F(IdempotencyPurgeTest, StaysBoundedUnderConstantLoadWithUniqueKeys) {
  // Simulated steady load: every ten minutes 1 000 new keys, for 12 hours,
  // with the compaction the filter rides on between rounds. Only the records
  // of the last retention + margin (3 h: 18 rounds) may stay.
  constexpr int kPerRound = 1'000;
  constexpr int kRounds = 6 * 12;  // 12 h
  const auto round = std::chrono::minutes(10);
  const int64_t rounds_kept = (kRetention + kIdempotencyPurgeMargin) / round + 1;
  auto log = OpenLog();
  for (int r = 0; r < kRounds; ++r) {
    WriteRecords(*log, "round" + std::to_string(r), kPerRound, clock_.Now());
    if (r % 6 == 5) ASSERT_OK(log->CompactIdempotency());
    clock_.Advance(round);
  }
  ASSERT_OK(log->CompactIdempotency());
  const uint64_t written = uint64_t{kPerRound} * kRounds;
  EXPECT_GE(log->Stats().idempotency_purged, written - uint64_t{kPerRound} * rounds_kept);
  log.reset();
  EXPECT_LE(CountStoredRecords(dir_.Sub("log")), kPerRound * rounds_kept);
}

TEST_F(IdempotencyPurgeTest, RefusesARetentionUnderOneSecond) {
  RocksLogOptions options;
  options.idempotency_retention = seconds(0);
  const auto log = RocksEventLog::Open(dir_.Sub("log"), options);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace ledger::events
