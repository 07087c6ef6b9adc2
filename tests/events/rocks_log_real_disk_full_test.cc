// The log on a real file system that runs out of space: a tmpfs filled
// until little is left, batches appended until the disk is full and on, then
// the space freed. The fault-injecting file system of
// rocks_log_disk_full_test.cc fails chosen calls of RocksDB's files; a real
// full disk fails every file at once, RocksDB's own LOG file among them,
// which is how Debian's RocksDB 7.8 came to abort the service on a full disk
// (rocks_info_log.h). Needs root (mount); skipped otherwise.
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include "common/clock.h"
#include "event_fixtures.h"
#include "events/event_log.h"
#include "events/rocks_log.h"
#include "support/status_matchers.h"
#include "support/temp_dir.h"

namespace ledger::events {
namespace {

// Big enough that, once the filler is gone, the free space RocksDB waits for
// before it resumes (64 MiB, its write-ahead log's size) is there; small
// enough to fill in a moment.
constexpr const char* kTmpfsOptions = "size=256m,mode=0700";
// What the filler leaves when the log opens: too little for RocksDB to
// preallocate its write-ahead log (64 MiB), so that appends soon reach the
// end of the disk.
constexpr uintmax_t kLeftBytes = uintmax_t{2} << 20;
// Events per append: about what the sequencer's group commit writes under
// load.
constexpr int64_t kBatchEvents = 64;
constexpr auto kRecoveryDeadline = std::chrono::seconds(30);

class RocksLogRealDiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root";
    mnt_ = dir_.Sub("mnt");
    std::filesystem::create_directories(mnt_);
    if (mount("tmpfs", mnt_.c_str(), "tmpfs", 0, kTmpfsOptions) != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs: " << std::strerror(errno);
    }
    mounted_ = true;
  }
  void TearDown() override {
    log_.reset();
    if (mounted_) umount2(mnt_.c_str(), MNT_DETACH);
  }

  void Open() {
    RocksLogOptions options;
    options.clock = &clock_;
    auto log = RocksEventLog::Open(mnt_ + "/log", options);
    ASSERT_OK(log);
    log_ = std::move(log).value();
  }

  // The next batch after the log's head, with one idempotency record.
  Status AppendBatch(int n) {
    LogHead head = log_->Head();
    std::vector<Event> events;
    for (int64_t i = 1; i <= kBatchEvents; ++i) {
      events.push_back(testing::Funded(head.position + i, 1 + (head.position + i) % 50,
                                       head.position + i, "backer-" + std::to_string(n)));
    }
    const std::vector<EncodedEvent> encoded = testing::SealAll(events, head);
    const std::vector<IdempotencyWrite> idempotency{IdempotencyWrite{
        "backer", "k-" + std::to_string(n),
        IdempotencyRecord{Sha256("k" + std::to_string(n)), testing::At(7), "outcome"}}};
    return log_->Append(encoded, idempotency);
  }

  // Writes zeros into a file until only `left` bytes are free.
  void Fill(uintmax_t left) {
    const uintmax_t free = std::filesystem::space(mnt_).available;
    ASSERT_GT(free, left);
    std::FILE* f = std::fopen(filler().c_str(), "wb");
    ASSERT_NE(f, nullptr);
    const std::vector<char> block(size_t{1} << 16, 0);
    for (uintmax_t written = 0; written + block.size() <= free - left;) {
      const size_t n = std::fwrite(block.data(), 1, block.size(), f);
      written += n;
      if (n < block.size()) break;
    }
    ASSERT_EQ(std::fclose(f), 0);
  }
  std::string filler() const { return mnt_ + "/filler"; }

  ledger::testing::TempDir dir_;
  std::string mnt_;
  bool mounted_ = false;
  ManualClock clock_{testing::At(1'790'000'000'000'000)};
  std::unique_ptr<RocksEventLog> log_;
};

TEST_F(RocksLogRealDiskFullTest, KeepsEveryAcknowledgedBatchThroughAFullDiskAndResumes) {
  Fill(kLeftBytes);
  Open();

  // Batches keep coming until the disk is full, and go on coming; each is
  // acknowledged or refused as unavailable. A refused batch is tried again
  // (as the sequencer's clients retry), a second of the log's clock later,
  // so that the log asks RocksDB to resume.
  int n = 0;
  int refused = 0;
  for (int attempt = 0; attempt < 5000 && refused < 40; ++attempt) {
    const Status s = AppendBatch(n);
    if (s.ok()) {
      ++n;
    } else {
      ASSERT_EQ(s.code(), Status::Code::kUnavailable) << s.ToString();
      ++refused;
      clock_.Advance(std::chrono::seconds(1));
    }
  }
  ASSERT_GT(refused, 0) << "the disk never filled";
  ASSERT_GT(n, 0) << "nothing was written before the disk filled";
  EXPECT_EQ(log_->Head().position, n * kBatchEvents);

  // Space comes back: the same instance writes again.
  ASSERT_EQ(std::remove(filler().c_str()), 0);
  const auto deadline = std::chrono::steady_clock::now() + kRecoveryDeadline;
  Status s = AppendBatch(n);
  while (!s.ok() && std::chrono::steady_clock::now() < deadline) {
    ASSERT_EQ(s.code(), Status::Code::kUnavailable) << s.ToString();
    clock_.Advance(std::chrono::seconds(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    s = AppendBatch(n);
  }
  ASSERT_OK(s);
  ++n;
  for (int i = 0; i < 20; ++i, ++n) ASSERT_OK(AppendBatch(n));
  const LogHead head = log_->Head();

  // Reopened: every acknowledged batch, chained, and nothing else.
  log_.reset();
  Open();
  EXPECT_EQ(log_->Head(), head);
  const Result<ChainCheck> chain = VerifyLogChain(*log_, 1, head.position);
  ASSERT_OK(chain);
  EXPECT_TRUE(chain->ok) << chain->problem;
  for (int i = 0; i < n; ++i) {
    auto found = log_->FindIdempotency("backer", "k-" + std::to_string(i));
    ASSERT_OK(found);
    EXPECT_TRUE(found->has_value()) << i;
  }
}

}  // namespace
}  // namespace ledger::events
