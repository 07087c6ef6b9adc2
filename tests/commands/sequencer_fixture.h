#pragma once

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "commands/sequencer.h"
#include "common/clock.h"
#include "common/time_zone.h"
#include "events/rocks_log.h"
#include "support/status_matchers.h"
#include "support/temp_dir.h"

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
