// The sequencer settles posts on its own: at the deadline while it runs, at
// start for deadlines that passed while it was down, exactly once.

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "commands/sequencer.h"
#include "commands/settlement_schedule.h"
#include "events/event_log.h"
#include "sequencer_fixture.h"
#include "support/status_matchers.h"

namespace ledger::commands {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::seconds;
using testing::Create;
using testing::Draft;
using testing::Fund;

// Draft()'s end_date 2026-12-31 closes at 2026-12-31T15:00:00Z.
const Timestamp kCloses =
    Timestamp(std::chrono::sys_days(*ParseDate("2026-12-31"))) + std::chrono::hours(15);

TEST(SettlementScheduleTest, PopsDuePostsEarliestFirst) {
  SettlementSchedule s;
  s.Add(3, kCloses + hours(2));
  s.Add(1, kCloses);
  s.Add(2, kCloses + hours(1));
  EXPECT_EQ(s.next_deadline(), kCloses);
  EXPECT_TRUE(s.PopDue(kCloses - microseconds(1), 10).empty());
  EXPECT_EQ(s.PopDue(kCloses + hours(1), 10), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(s.PopDue(kCloses + hours(5), 0), std::vector<int64_t>{});
  EXPECT_EQ(s.PopDue(kCloses + hours(5), 10), std::vector<int64_t>{3});
  EXPECT_EQ(s.next_deadline(), std::nullopt);
}

TEST(SettlementScheduleTest, PublishesTheEarliestDeadlineNotYetSettled) {
  SettlementSchedule s;
  EXPECT_EQ(s.pending_deadline(), std::nullopt);
  s.Add(1, kCloses);
  s.Add(2, kCloses + hours(1));
  EXPECT_EQ(s.pending_deadline(), std::nullopt);  // published only when told
  s.PublishPending(std::nullopt);
  EXPECT_EQ(s.pending_deadline(), kCloses);
  // Post 1 taken for a batch: still pending until that batch is written.
  ASSERT_EQ(s.PopDue(kCloses, 1), std::vector<int64_t>{1});
  s.PublishPending(kCloses);
  EXPECT_EQ(s.pending_deadline(), kCloses);
  s.PublishPending(std::nullopt);  // written
  EXPECT_EQ(s.pending_deadline(), kCloses + hours(1));
  ASSERT_EQ(s.PopDue(kCloses + hours(1), 1), std::vector<int64_t>{2});
  s.PublishPending(std::nullopt);
  EXPECT_EQ(s.pending_deadline(), std::nullopt);
}

class SettlementTest : public testing::SequencerFixture {
 protected:
  void SetUp() override {
    OpenLog();
    SequencerOptions options;
    options.settlement_poll = std::chrono::milliseconds(5);
    options_ = options;
    StartSequencer(log_.get(), options_);
  }

  void CreatePost(events::FundingModel model, int64_t target = 1'000'000) {
    PostDraft d = Draft();
    d.funding_model = model;
    d.target_amount = target;
    Accept(Submission{CreatePosts{{d}, false}, "alice", "req-create", ""});
  }

  // Waits (boundedly) until the sequencer has settled `post`.
  bool WaitSettled(int64_t post) {
    for (int i = 0; i < 2'000; ++i) {
      const auto state = sequencer_->FindWholePost(post);
      if (state && state->settled()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return false;
  }

  std::vector<events::Event> AllEvents() {
    std::vector<events::Event> all;
    EXPECT_OK(events::ReadEvents(*log_, 1, log_->Head().position, SIZE_MAX, &all));
    return all;
  }

  int CountSettlements() {
    int n = 0;
    for (const events::Event& e : AllEvents()) {
      n += e.type() == events::EventType::kPostSettled ? 1 : 0;
    }
    return n;
  }

  SequencerOptions options_;
};

TEST_F(SettlementTest, SettlesAPostWhenTheClockPassesItsDeadline) {
  CreatePost(events::FundingModel::kKeepItAll, 1'000);
  Accept(Fund(1, "bob", 2));
  clock_.Set(kCloses - seconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_FALSE(sequencer_->FindWholePost(1)->settled());
  clock_.Set(kCloses);
  ASSERT_TRUE(WaitSettled(1));
  const std::vector<events::Event> all = AllEvents();
  const events::Event& settled = all.back();
  ASSERT_EQ(settled.type(), events::EventType::kPostSettled);
  EXPECT_EQ(settled.actor, kSystemActor);
  EXPECT_GE(settled.recorded_at, kCloses);
  EXPECT_EQ(std::get<events::PostSettled>(settled.data),
            (events::PostSettled{events::SettlementOutcome::kSuccessful, 2'000, 1, 0, 0}));
}

TEST_F(SettlementTest, AFailedAllOrNothingPostRefundsEveryBackerInOneAppend) {
  CreatePost(events::FundingModel::kAllOrNothing);
  Accept(Fund(1, "bob", 2));
  Accept(Fund(1, "carol", 1));
  Accept(Fund(1, "bob", 1));
  const size_t before = static_cast<size_t>(log_->Head().position);
  clock_.Set(kCloses + hours(1));
  ASSERT_TRUE(WaitSettled(1));
  const std::vector<events::Event> all = AllEvents();
  ASSERT_EQ(all.size(), before + 3);
  // One append: the refunds and the settlement share their recorded_at.
  EXPECT_EQ(std::get<events::FundingRefunded>(all[before].data),
            (events::FundingRefunded{"bob", 3, 3'000}));
  EXPECT_EQ(std::get<events::FundingRefunded>(all[before + 1].data),
            (events::FundingRefunded{"carol", 1, 1'000}));
  EXPECT_EQ(std::get<events::PostSettled>(all[before + 2].data),
            (events::PostSettled{events::SettlementOutcome::kFailed, 4'000, 2, 4'000, 2}));
  EXPECT_EQ(all[before].recorded_at, all[before + 2].recorded_at);
  EXPECT_EQ(sequencer_->FindWholePost(1)->total_funded, 0);
}

TEST_F(SettlementTest, SettlesAtStartThePostsWhoseDeadlinePassedWhileItWasDown) {
  CreatePost(events::FundingModel::kKeepItAll);
  CreatePost(events::FundingModel::kKeepItAll);
  sequencer_.reset();
  clock_.Set(kCloses + hours(24));
  Restart(options_);
  // Settled before Start returned: nothing was served as funding meanwhile.
  EXPECT_TRUE(sequencer_->FindWholePost(1)->settled());
  EXPECT_TRUE(sequencer_->FindWholePost(2)->settled());
  EXPECT_EQ(CountSettlements(), 2);
}

TEST_F(SettlementTest, SettlesEachPostExactlyOnceAcrossRestarts) {
  CreatePost(events::FundingModel::kKeepItAll);
  clock_.Set(kCloses);
  ASSERT_TRUE(WaitSettled(1));
  for (int i = 0; i < 3; ++i) {
    Restart(options_);
    clock_.Advance(hours(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(CountSettlements(), 1);
}

TEST_F(SettlementTest, FollowsADeadlineMovedByAnEdit) {
  CreatePost(events::FundingModel::kKeepItAll);
  EditPost later;
  later.post_id = 1;
  later.end_date = *ParseDate("2027-01-10");
  Accept(Submission{later, "alice", "req-edit", ""});
  clock_.Set(kCloses + hours(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_FALSE(sequencer_->FindWholePost(1)->settled());
  clock_.Set(kCloses + hours(24 * 10));
  ASSERT_TRUE(WaitSettled(1));
  EXPECT_EQ(CountSettlements(), 1);
}

TEST_F(SettlementTest, NeverSettlesADeletedPost) {
  CreatePost(events::FundingModel::kKeepItAll);
  Accept(Submission{DeletePost{1, std::nullopt}, "alice", "req-delete", ""});
  clock_.Set(kCloses + hours(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  Restart(options_);
  EXPECT_EQ(CountSettlements(), 0);
}

TEST_F(SettlementTest, OnlyTheServiceSettlesAndItsActorIsNoOneElses) {
  CreatePost(events::FundingModel::kKeepItAll);
  const CommandResult by_user = Run(Submission{SettlePost{1}, "alice", "req", ""});
  EXPECT_EQ(by_user.status, CommandStatus::kInvalid);
  const CommandResult as_system = Run(Fund(1, std::string(kSystemActor)));
  EXPECT_EQ(as_system.status, CommandStatus::kInvalid);
}

}  // namespace
}  // namespace ledger::commands
