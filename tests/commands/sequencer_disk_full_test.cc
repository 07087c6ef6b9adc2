// The sequencer on a log whose disk fills up and frees again, and on a log
// that purges idempotency records past retention: real RocksDB under the
// fixture's manual clock.
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "commands/sequencer.h"
#include "events/chain.h"
#include "events/event_log.h"
#include "events/idempotency.h"
#include "events/rocks_log.h"
#include "sequencer_fixture.h"
#include "support/fault_file_system.h"

namespace ledger::commands {
namespace {

using ledger::testing::DiskFull;
using ledger::testing::DiskFullFileSystem;
using testing::Create;
using testing::Fund;

// RocksDB retries a full disk on its own every 5 s.
constexpr auto kRecoveryDeadline = std::chrono::seconds(12);

class SequencerStorageTest : public testing::SequencerFixture {
 protected:
  void OpenLogWith(const events::RocksLogOptions& options) {
    auto log = events::RocksEventLog::Open(dir_.Sub("log"), options);
    ASSERT_OK(log);
    log_ = std::move(log).value();
  }

  std::shared_ptr<DiskFullFileSystem> fs_ = std::make_shared<DiskFullFileSystem>();
};

TEST_F(SequencerStorageTest, AnswersUnavailableWhileTheDiskIsFullAndAcceptsAfterwards) {
  events::RocksLogOptions options;
  options.clock = &clock_;
  options.env = ledger::testing::NewDiskFullEnv(fs_);
  OpenLogWith(options);
  StartSequencer(log_.get());
  Accept(Create());
  Accept(Fund(1, "bob", 2));

  fs_->Set(DiskFull::kEverything);
  for (const char* key : {"full-1", "full-2"}) {
    const CommandResult r = Run(Fund(1, "carol", 1, key));
    EXPECT_EQ(r.status, CommandStatus::kUnavailable);
    EXPECT_NE(r.error.message().find("disk full"), std::string::npos) << r.error.ToString();
  }
  EXPECT_EQ(log_->WriteHealth().code(), Status::Code::kUnavailable);
  // Reads go on: the state and the log as of the last acknowledged write.
  EXPECT_EQ(sequencer_->FindWholePost(1)->total_funded, 2'000);
  EXPECT_EQ(log_->Head().position, 2);
  auto event = events::ReadEvent(*log_, 2);
  ASSERT_OK(event);

  fs_->Set(DiskFull::kNo);
  const auto deadline = std::chrono::steady_clock::now() + kRecoveryDeadline;
  CommandResult retried;
  do {
    clock_.Advance(std::chrono::seconds(1));
    retried = Run(Fund(1, "carol", 1, "full-1"));
    if (retried.status == CommandStatus::kAccepted) break;
    EXPECT_EQ(retried.status, CommandStatus::kUnavailable) << retried.error.ToString();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while (std::chrono::steady_clock::now() < deadline);
  ASSERT_EQ(retried.status, CommandStatus::kAccepted) << retried.error.ToString();
  // The key's first attempts were never durable: this is its first answer.
  EXPECT_FALSE(retried.replayed);
  EXPECT_EQ(retried.outcome.first_position, 3);
  EXPECT_EQ(Accept(Fund(1, "dave", 1)).first_position, 4);
  EXPECT_OK(log_->WriteHealth());

  // After a restart: the acknowledged history only, gapless and chained.
  Restart();
  EXPECT_EQ(log_->Head().position, 4);
  const auto chain = events::VerifyLogChain(*log_, 1, 4);
  ASSERT_OK(chain);
  EXPECT_TRUE(chain->ok) << chain->problem;
  EXPECT_EQ(sequencer_->FindWholePost(1)->total_funded, 4'000);
  const CommandResult replay = Run(Fund(1, "carol", 1, "full-1"));
  EXPECT_EQ(replay.status, CommandStatus::kAccepted);
  EXPECT_TRUE(replay.replayed);
  EXPECT_EQ(replay.outcome.first_position, 3);
}

TEST_F(SequencerStorageTest, PurgeUnderLoadKeepsEveryKeyTheSequencerStillReplays) {
  const std::chrono::seconds retention = std::chrono::hours(1);
  events::RocksLogOptions options;
  options.clock = &clock_;
  options.idempotency_retention = retention;
  OpenLogWith(options);
  SequencerOptions sequencer_options;
  sequencer_options.idempotency_retention = retention;
  StartSequencer(log_.get(), sequencer_options);
  Accept(Create());

  // A keyed funding every 30 s for 4 h, compacting every half hour.
  constexpr int kFundings = 480;
  const auto step = std::chrono::seconds(30);
  for (int i = 0; i < kFundings; ++i) {
    Accept(Fund(1, "bob", 1, "key-" + std::to_string(i)));
    if (i % 60 == 59) ASSERT_OK(log_->CompactIdempotency());
    clock_.Advance(step);
  }
  ASSERT_OK(log_->CompactIdempotency());

  // Records older than retention + margin (2 h: 240 fundings) are gone ...
  const int64_t kept_at_most = (retention + events::kIdempotencyPurgeMargin) / step + 1;
  EXPECT_GE(log_->Stats().idempotency_purged, uint64_t{kFundings - kept_at_most});
  for (const int64_t i : {int64_t{0}, int64_t{100}, kFundings - kept_at_most - 1}) {
    auto found = log_->FindIdempotency("bob", "key-" + std::to_string(i));
    ASSERT_OK(found);
    EXPECT_FALSE(found->has_value()) << i;
  }
  // ... and every key within retention is still replayed, not funded again.
  const int64_t funded = sequencer_->FindWholePost(1)->total_funded;
  // The newest fundings younger than retention (the one exactly an hour old
  // is past it).
  const int64_t within = retention / step - 1;
  for (int64_t i = kFundings - within; i < kFundings; ++i) {
    const CommandResult r = Run(Fund(1, "bob", 1, "key-" + std::to_string(i)));
    ASSERT_EQ(r.status, CommandStatus::kAccepted) << i;
    EXPECT_TRUE(r.replayed) << i;
  }
  EXPECT_EQ(sequencer_->FindWholePost(1)->total_funded, funded);
}

}  // namespace
}  // namespace ledger::commands
