#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <gtest/gtest.h>

#include "commands/sequencer.h"
#include "common/clock.h"
#include "common/time_zone.h"
#include "events/rocks_log.h"
#include "support/status_matchers.h"
#include "support/temp_dir.h"
#include "support/time_literals.h"

namespace ledger::commands::testing {

// 2026-11-21T03:00:00Z = 12:00 in Seoul.
inline Timestamp Noon() {
  return Timestamp(std::chrono::sys_days(*ParseDate("2026-11-21"))) + std::chrono::hours(3);
}

inline PostDraft Draft(std::string title = "내 취미 만들기") {
  PostDraft d;
  d.title = std::move(title);
  d.uploader = "Alice";
  d.description = "a campaign";
  d.target_amount = 1'000'000;
  d.funding_unit = 1'000;
  d.end_date = *ParseDate("2026-12-31");
  return d;
}

inline Submission Create(std::string actor = "alice", std::string key = "") {
  return Submission{CreatePosts{{Draft()}, false}, std::move(actor), "req-create", std::move(key)};
}

inline Submission Fund(int64_t post, std::string actor = "bob", int64_t units = 1,
                       std::string key = "") {
  return Submission{FundPost{post, units}, std::move(actor), "req-fund", std::move(key)};
}

inline Submission Delete(int64_t post, std::string actor = "alice") {
  return Submission{DeletePost{post, std::nullopt}, std::move(actor), "req-delete", ""};
}

// A real RocksDB log in a temporary directory, a manual clock and a sequencer.
// A description with every character the read tables' COPY must escape.
inline constexpr std::string_view kTrickyDescription =
    "tab\there\nnew line, back\\slash, \\N, \r end";

// The history the fold, replay and verify tests start from, written through
// `create_post(owner, title, description)` and `accept(submission)`:
//   post 1 (alice): bob funds twice, carol once; then retitled, end date moved
//   post 2 (alice): dave and bob fund; then deleted, both refunded
//   post 3 (erin): a description COPY must escape; alice funds 4 units
//   post 4 (alice): created and deleted without fundings
//   post 5 (carol): never funded
template <typename CreatePostFn, typename AcceptFn>
void WriteSampleHistory(CreatePostFn create_post, AcceptFn accept) {
  create_post("alice", "내 취미 만들기", "a campaign");
  create_post("alice", "취미를 위한 모임", "a campaign");
  create_post("erin", "escapes", kTrickyDescription);
  accept(Fund(1, "bob", 2));
  accept(Fund(1, "carol", 1));
  accept(Fund(2, "dave", 1));
  accept(Fund(2, "bob", 3));
  accept(Fund(1, "bob", 3));
  EditPost edit;
  edit.post_id = 1;
  edit.title = "새 제목";
  edit.end_date = ledger::testing::D("2027-01-15");
  accept(Submission{edit, "alice", "req-edit", ""});
  accept(Fund(3, "alice", 4));
  accept(Delete(2, "alice"));
  create_post("alice", "short lived", "a campaign");
  accept(Delete(4, "alice"));
  create_post("carol", "untouched", "a campaign");
}

class SequencerFixture : public ::testing::Test {
 protected:
  SequencerFixture() : clock_(Noon()), zone_(TimeZone::Load("Asia/Seoul").value()) {}

  void OpenLog() {
    auto log = events::RocksEventLog::Open(dir_.Sub("log"));
    ASSERT_OK(log);
    log_ = std::move(log).value();
  }

  void StartSequencer(events::EventLog* log, SequencerOptions options = {}) {
    auto s = Sequencer::Start(log, &clock_, &zone_, options);
    ASSERT_OK(s);
    sequencer_ = std::move(s).value();
  }

  void Restart(SequencerOptions options = {}) {
    sequencer_.reset();
    log_.reset();
    OpenLog();
    StartSequencer(log_.get(), options);
  }

  CommandResult Run(Submission s) { return sequencer_->SubmitAndWait(std::move(s)); }

  // Runs `s` and asserts it was accepted; returns the outcome.
  CommandOutcome Accept(Submission s) {
    const CommandResult r = Run(std::move(s));
    EXPECT_EQ(r.status, CommandStatus::kAccepted)
        << r.error.ToString() << " " << ReasonName(r.outcome.rejection.reason) << " "
        << r.outcome.rejection.detail;
    return r.outcome;
  }

  ledger::testing::TempDir dir_;
  ManualClock clock_;
  TimeZone zone_;
  std::unique_ptr<events::RocksEventLog> log_;
  std::unique_ptr<Sequencer> sequencer_;
};

}  // namespace ledger::commands::testing
