// verify against read tables whose columns were altered under it (a type
// changed, a NOT NULL dropped): the binary reads take nothing for a bigint
// that is not eight bytes, so such a table is never passed as equal to the
// log. A backers value verify cannot read fails it with an error naming the
// post, without leaving a connection inside its COPY; a fundings value is
// named as a mismatch.
#include <chrono>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "commands/sequencer.h"
#include "commands/sequencer_fixture.h"
#include "common/clock.h"
#include "common/time_zone.h"
#include "events/rocks_log.h"
#include "pg_fixture.h"
#include "projections/replay.h"
#include "projections/verify.h"
#include "support/status_matchers.h"
#include "support/temp_dir.h"

namespace ledger::projections {
namespace {

using commands::CommandStatus;
using commands::CreatePosts;
using commands::Submission;
using commands::testing::Draft;
using commands::testing::Fund;

class VerifyAlteredColumnsTest : public testing::PgTest {
 protected:
  static constexpr int kPosts = 3;

  VerifyAlteredColumnsTest()
      : clock_(commands::testing::Noon()), zone_(TimeZone::Load("Asia/Seoul").value()) {}

  void SetUp() override {
    PgTest::SetUp();
    auto log = events::RocksEventLog::Open(dir_.Sub("log"));
    ASSERT_OK(log);
    log_ = std::move(log).value();
    auto sequencer = commands::Sequencer::Start(log_.get(), &clock_, &zone_);
    ASSERT_OK(sequencer);
    sequencer_ = std::move(sequencer).value();
    for (int i = 0; i < kPosts; ++i)
      Accept(Submission{CreatePosts{{Draft()}, false}, "alice", "", ""});
    for (int64_t post = 1; post <= kPosts; ++post) {
      Accept(Fund(post, "bob", 2));
      Accept(Fund(post, "carol", 1));
    }
    ASSERT_OK(Replay(*log_, conninfo(), {}));
    auto clean = Verify(*log_, conninfo());
    ASSERT_OK(clean);
    ASSERT_EQ(clean->mismatch_count, 0);
  }

  void Accept(Submission s) {
    clock_.Advance(std::chrono::seconds(1));
    const commands::CommandResult r = sequencer_->SubmitAndWait(std::move(s));
    ASSERT_EQ(r.status, CommandStatus::kAccepted) << r.error.ToString();
  }

  void Query(const std::string& sql) { pqxx::nontransaction(db()).exec0(sql); }

  ledger::testing::TempDir dir_;
  ManualClock clock_;
  TimeZone zone_;
  std::unique_ptr<events::RocksEventLog> log_;
  std::unique_ptr<commands::Sequencer> sequencer_;
};

TEST_F(VerifyAlteredColumnsTest, ANullBackersValueFailsVerifyNamingItsPost) {
  Query("ALTER TABLE ledger_read.backers ALTER COLUMN units DROP NOT NULL");
  Query("UPDATE ledger_read.backers SET units = NULL WHERE post_id = 2 AND backer = 'carol'");
  const auto failed = Verify(*log_, conninfo());
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("a backers row of post 2"), std::string::npos)
      << failed.status().ToString();
  // Put back, the next verify runs as usual and finds the tables equal.
  Query("UPDATE ledger_read.backers SET units = 1 WHERE post_id = 2 AND backer = 'carol'");
  const auto again = Verify(*log_, conninfo());
  ASSERT_OK(again);
  EXPECT_EQ(again->mismatch_count, 0);
}

TEST_F(VerifyAlteredColumnsTest, ABackersColumnThatIsNoLongerABigintFailsVerify) {
  // The text format would have read "2" and "1" and passed the table.
  Query("ALTER TABLE ledger_read.backers ALTER COLUMN fundings TYPE integer");
  const auto failed = Verify(*log_, conninfo());
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("not a bigint"), std::string::npos)
      << failed.status().ToString();
}

TEST_F(VerifyAlteredColumnsTest, AFundingsColumnThatIsNoLongerABigintIsAMismatchPerRow) {
  Query("ALTER TABLE ledger_read.fundings ALTER COLUMN units TYPE integer");
  const auto report = Verify(*log_, conninfo());
  ASSERT_OK(report);
  EXPECT_EQ(report->mismatch_count, 2 * kPosts);
  for (const Mismatch& m : report->mismatches) {
    EXPECT_TRUE(m.field.starts_with("fundings/") && m.field.ends_with("/units")) << m.field;
    EXPECT_EQ(m.found, "(not a bigint)");
  }
}

}  // namespace
}  // namespace ledger::projections
