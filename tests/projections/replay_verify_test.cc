#include <atomic>
#include <chrono>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "commands/sequencer_fixture.h"
#include "events/event_fixtures.h"
#include "events/keys.h"
#include "pg_fixture.h"
#include "projections/replay.h"
#include "projections/verify.h"
#include "projections/verify_parts.h"
#include "support/raw_log.h"
#include "support/status_matchers.h"
#include "support/temp_dir.h"
#include "support/time_literals.h"

namespace ledger::projections {
namespace {

using commands::CommandOutcome;
using commands::CommandStatus;
using commands::CreatePosts;
using commands::EditPost;
using commands::PostState;
using commands::Submission;
using commands::testing::Delete;
using commands::testing::Draft;
using commands::testing::Fund;
using commands::testing::Noon;

using commands::testing::kTrickyDescription;

class ReplayVerifyTest : public testing::PgTest {
 protected:
  ReplayVerifyTest() : clock_(Noon()), zone_(TimeZone::Load("Asia/Seoul").value()) {}

  void SetUp() override {
    PgTest::SetUp();
    OpenLog();
  }

  void OpenLog(events::RocksLogOptions options = {}) {
    auto log = events::RocksEventLog::Open(dir_.Sub("log"), options);
    ASSERT_OK(log);
    log_ = std::move(log).value();
    auto sequencer = commands::Sequencer::Start(log_.get(), &clock_, &zone_);
    if (sequencer.ok()) sequencer_ = std::move(sequencer).value();
  }

  void CloseLog() {
    sequencer_.reset();
    log_.reset();
  }

  CommandOutcome Accept(Submission s) {
    clock_.Advance(std::chrono::seconds(1));
    const commands::CommandResult r = sequencer_->SubmitAndWait(std::move(s));
    EXPECT_EQ(r.status, CommandStatus::kAccepted)
        << r.error.ToString() << " " << r.outcome.rejection.detail;
    return r.outcome;
  }

  CommandOutcome CreatePost(const std::string& owner, const std::string& title,
                            std::string_view description = "a campaign") {
    commands::PostDraft draft = Draft(title);
    draft.description = std::string(description);
    return Accept(Submission{CreatePosts{{draft}, false}, owner, "req-create", ""});
  }

  // More posts than a report lists mismatches (kManyPosts), in requests of
  // 100.
  static constexpr int kManyPosts = 1'100;
  void CreateManyPosts() {
    for (int r = 0; r < kManyPosts / 100; ++r) {
      CreatePosts create;
      create.as_array = true;
      for (int i = 0; i < 100; ++i) create.posts.push_back(Draft("post"));
      Accept(Submission{create, "alice", "req-create-" + std::to_string(r), ""});
    }
  }

  // The history most tests start from (WriteSampleHistory).
  void BuildHistory() {
    commands::testing::WriteSampleHistory(
        [&](const std::string& owner, const std::string& title, std::string_view description) {
          CreatePost(owner, title, description);
        },
        [&](Submission s) { Accept(std::move(s)); });
  }

  ReplayReport MustReplay(const ReplayOptions& options = {}) {
    auto report = Replay(*log_, conninfo(), options);
    EXPECT_OK(report);
    return report.ok() ? std::move(report).value() : ReplayReport{};
  }

  VerifyReport MustVerify() {
    auto report = Verify(*log_, conninfo());
    EXPECT_OK(report);
    return report.ok() ? std::move(report).value() : VerifyReport{};
  }

  pqxx::result Query(const std::string& sql) { return pqxx::nontransaction(db()).exec(sql); }

  // The last position of a post's stream.
  int64_t LastPosition(int64_t post) {
    std::vector<int64_t> positions;
    EXPECT_OK(log_->StreamPositions(post, 1, 1'000, &positions));
    return positions.empty() ? 0 : positions.back();
  }

  // Closes the log, applies `change` to the stored event at `position`
  // (erasing it when `change` is empty), and reopens the log with a tail
  // check short enough not to reach it.
  void TamperWithEvent(int64_t position, const std::function<void(std::string&)>& change) {
    const int64_t head = log_->Head().position;
    CloseLog();
    log_ = ledger::testing::TamperWithStoredEvent(dir_.Sub("log"), head, position, change);
  }

  void FlipByteOfEvent(int64_t position) {
    TamperWithEvent(position, [](std::string& v) { v[v.size() / 2] ^= 0x01; });
  }

  // Stops the sequencer and appends an event the post's state refuses.
  // Returns its position.
  int64_t AppendRefusedEvent() {
    sequencer_.reset();
    Result<int64_t> position = events::testing::AppendRefusedFunding(*log_);
    EXPECT_OK(position);
    return position.ok() ? *position : 0;
  }

  ledger::testing::TempDir dir_;
  ManualClock clock_;
  TimeZone zone_;
  std::unique_ptr<events::RocksEventLog> log_;
  std::unique_ptr<commands::Sequencer> sequencer_;
};

bool Has(const VerifyReport& report, int64_t post_id, std::string_view field,
         std::string_view expected, std::string_view found) {
  for (const Mismatch& m : report.mismatches) {
    if (m.post_id == post_id && m.field == field && m.expected == expected && m.found == found) {
      return true;
    }
  }
  return false;
}

std::string Describe(const VerifyReport& report) {
  std::string out = report.chain_problem;
  for (const Mismatch& m : report.mismatches) {
    out += "\n  post " + std::to_string(m.post_id) + " " + m.field + ": expected \"" + m.expected +
           "\" found \"" + m.found + "\"";
  }
  return out;
}

// --- Replay --------------------------------------------------------------

TEST_F(ReplayVerifyTest, ReplayBuildsExactlyTheRowsOfTheLog) {
  BuildHistory();
  const events::LogHead head = log_->Head();
  const ReplayReport report = MustReplay();
  EXPECT_EQ(report.position, head.position);
  EXPECT_EQ(report.hash, head.hash);
  EXPECT_EQ(report.events, head.position);
  EXPECT_EQ(report.posts, 3);    // 1, 3 and 5; 2 and 4 were deleted
  EXPECT_EQ(report.backers, 3);  // bob and carol on 1, alice on 3
  EXPECT_TRUE(report.swapped);
  EXPECT_EQ(report.built_schema, "ledger_read");

  const pqxx::result ids = Query("SELECT id FROM ledger_read.posts ORDER BY id");
  ASSERT_EQ(ids.size(), 3U);
  EXPECT_EQ(ids[0][0].as<int64_t>(), 1);
  EXPECT_EQ(ids[1][0].as<int64_t>(), 3);
  EXPECT_EQ(ids[2][0].as<int64_t>(), 5);

  const PostState post1 = *sequencer_->FindWholePost(1);
  const pqxx::row row = Query(
      "SELECT title, uploader, owner, target_amount, funding_unit, end_date::text, "
      "closes_at = '" +
      FormatTimestamp(post1.closes_at) +
      "'::timestamptz, "
      "created_at = '" +
      FormatTimestamp(post1.created_at) +
      "'::timestamptz, "
      "total_funded, participant_count, funding_count, version, last_position "
      "FROM ledger_read.post_view WHERE id = 1")[0];
  EXPECT_EQ(row[0].as<std::string>(), "새 제목");
  EXPECT_EQ(row[1].as<std::string>(), post1.uploader);
  EXPECT_EQ(row[2].as<std::string>(), "alice");
  EXPECT_EQ(row[3].as<int64_t>(), 1'000'000);
  EXPECT_EQ(row[4].as<int64_t>(), 1'000);
  EXPECT_EQ(row[5].as<std::string>(), "2027-01-15");
  EXPECT_TRUE(row[6].as<bool>());
  EXPECT_TRUE(row[7].as<bool>());
  EXPECT_EQ(row[8].as<int64_t>(), 6'000);  // bob 2 + 3 units, carol 1
  EXPECT_EQ(row[8].as<int64_t>(), post1.total_funded);
  EXPECT_EQ(row[9].as<int64_t>(), 2);
  EXPECT_EQ(row[10].as<int64_t>(), 3);
  EXPECT_EQ(row[11].as<int64_t>(), post1.version);
  EXPECT_EQ(row[12].as<int64_t>(), LastPosition(1));

  const pqxx::result backers = Query(
      "SELECT post_id, backer, units, amount, fundings FROM ledger_read.backers "
      "ORDER BY post_id, backer");
  ASSERT_EQ(backers.size(), 3U);
  EXPECT_EQ(backers[0][1].as<std::string>(), "bob");
  EXPECT_EQ(backers[0][2].as<int64_t>(), 5);
  EXPECT_EQ(backers[0][3].as<int64_t>(), 5'000);
  EXPECT_EQ(backers[0][4].as<int64_t>(), 2);
  EXPECT_EQ(backers[1][1].as<std::string>(), "carol");
  EXPECT_EQ(backers[1][3].as<int64_t>(), 1'000);
  EXPECT_EQ(backers[2][0].as<int64_t>(), 3);
  EXPECT_EQ(backers[2][1].as<std::string>(), "alice");
  EXPECT_EQ(backers[2][3].as<int64_t>(), 4'000);

  // COPY's escapes round-trip.
  EXPECT_EQ(Query("SELECT description FROM ledger_read.posts WHERE id = 3")[0][0].as<std::string>(),
            kTrickyDescription);

  const pqxx::row checkpoint = Query("SELECT name, position, hash FROM ledger_read.checkpoints")[0];
  EXPECT_EQ(checkpoint[0].as<std::string>(), "read_model");
  EXPECT_EQ(checkpoint[1].as<int64_t>(), head.position);
  EXPECT_EQ(checkpoint[2].as<std::string>(), events::ToHex(head.hash));
  EXPECT_TRUE(Query("SELECT 1 FROM pg_namespace WHERE nspname IN "
                    "('ledger_read_replay', 'ledger_read_old')")
                  .empty());
}

TEST_F(ReplayVerifyTest, ReplaySwapsInTablesThatThePlannerHasStatisticsFor) {
  BuildHistory();
  MustReplay();
  for (const std::string table : {"posts", "post_stats", "backers", "fundings"}) {
    EXPECT_GT(Query("SELECT count(*) FROM pg_stats WHERE schemaname = 'ledger_read' AND "
                    "tablename = '" +
                    table + "'")[0][0]
                  .as<int64_t>(),
              0)
        << table;
  }
}

TEST_F(ReplayVerifyTest, ReplayOfAnEmptyLogWritesTheGenesisCheckpoint) {
  const ReplayReport report = MustReplay();
  EXPECT_EQ(report.position, 0);
  EXPECT_EQ(report.posts, 0);
  const pqxx::row checkpoint = Query("SELECT position, hash FROM ledger_read.checkpoints")[0];
  EXPECT_EQ(checkpoint[0].as<int64_t>(), 0);
  EXPECT_EQ(checkpoint[1].as<std::string>(), std::string(64, '0'));
  EXPECT_TRUE(MustVerify().ok());
}

TEST_F(ReplayVerifyTest, ReplayToAPositionBuildsThatPointInHistory) {
  CreatePost("alice", "one");
  Accept(Fund(1, "bob", 2));
  CreatePost("carol", "two");
  const int64_t as_of = log_->Head().position;
  const PostState post1_then = *sequencer_->FindWholePost(1);
  Accept(Fund(1, "dave", 1));
  Accept(Fund(2, "bob", 1));
  Accept(Delete(2, "carol"));
  CreatePost("alice", "three");

  ReplayOptions options;
  options.to_position = as_of;
  const ReplayReport report = MustReplay(options);
  EXPECT_EQ(report.position, as_of);
  EXPECT_EQ(report.posts, 2);  // post 2 still lived then, post 3 did not exist
  EXPECT_EQ(Query("SELECT total_funded, version FROM ledger_read.post_view WHERE id = 1")[0][0]
                .as<int64_t>(),
            post1_then.total_funded);
  EXPECT_EQ(Query("SELECT count(*) FROM ledger_read.backers")[0][0].as<int64_t>(), 1);
  EXPECT_EQ(Query("SELECT position FROM ledger_read.checkpoints")[0][0].as<int64_t>(), as_of);

  // Verify compares with the log as of the checkpoint.
  const VerifyReport verify = MustVerify();
  EXPECT_TRUE(verify.ok()) << Describe(verify);
  EXPECT_EQ(verify.checkpoint_position, as_of);
}

TEST_F(ReplayVerifyTest, DryRunLeavesTheLiveSchemaUntouchedAndKeepsTheBuiltOne) {
  CreatePost("alice", "one");
  Accept(Fund(1, "bob", 2));
  MustReplay();
  const int64_t live_position = log_->Head().position;
  Accept(Fund(1, "carol", 5));

  ReplayOptions options;
  options.dry_run = true;
  const ReplayReport report = MustReplay(options);
  EXPECT_FALSE(report.swapped);
  EXPECT_EQ(report.built_schema, "ledger_read_replay");
  EXPECT_EQ(Query("SELECT position FROM ledger_read.checkpoints")[0][0].as<int64_t>(),
            live_position);
  EXPECT_EQ(Query("SELECT total_funded FROM ledger_read.post_view")[0][0].as<int64_t>(), 2'000);
  EXPECT_EQ(Query("SELECT total_funded FROM ledger_read_replay.post_view")[0][0].as<int64_t>(),
            7'000);
  EXPECT_EQ(Query("SELECT position FROM ledger_read_replay.checkpoints")[0][0].as<int64_t>(),
            log_->Head().position);

  // The next replay drops the dry run's schema and builds afresh.
  MustReplay();
  EXPECT_EQ(Query("SELECT total_funded FROM ledger_read.post_view")[0][0].as<int64_t>(), 7'000);
  EXPECT_TRUE(Query("SELECT 1 FROM pg_namespace WHERE nspname = 'ledger_read_replay'").empty());
}

TEST_F(ReplayVerifyTest, ReplayUsesTheNamedSchemaAndProjector) {
  CreatePost("alice", "one");
  ReplayOptions options;
  options.schema = "audit_copy";
  options.projector_name = "audit";
  EXPECT_EQ(MustReplay(options).built_schema, "audit_copy");
  EXPECT_EQ(Query("SELECT name FROM audit_copy.checkpoints")[0][0].as<std::string>(), "audit");
  EXPECT_TRUE(Query("SELECT 1 FROM pg_namespace WHERE nspname = 'ledger_read'").empty());
  VerifyOptions verify_options;
  verify_options.schema = "audit_copy";
  verify_options.projector_name = "audit";
  auto verify = Verify(*log_, conninfo(), verify_options);
  ASSERT_OK(verify);
  EXPECT_TRUE(verify->ok()) << Describe(*verify);
}

TEST_F(ReplayVerifyTest, ReplayRefusesABadSchemaName) {
  for (const std::string& name :
       std::vector<std::string>{"Ledger", "a-b", "", std::string(57, 'a')}) {
    ReplayOptions options;
    options.schema = name;
    EXPECT_EQ(Replay(*log_, conninfo(), options).status().code(), Status::Code::kInvalidArgument)
        << name;
  }
}

TEST_F(ReplayVerifyTest, ReplayRefusesAPositionOutsideTheLog) {
  BuildHistory();
  for (const int64_t to :
       {log_->Head().position + 1, int64_t{-1}, std::numeric_limits<int64_t>::max(),
        std::numeric_limits<int64_t>::min()}) {
    ReplayOptions options;
    options.to_position = to;
    EXPECT_EQ(Replay(*log_, conninfo(), options).status().code(), Status::Code::kInvalidArgument)
        << to;
  }
}

TEST_F(ReplayVerifyTest, ReplayOfABrokenLogLeavesTheLiveSchemaUntouched) {
  BuildHistory();
  MustReplay();
  FlipByteOfEvent(3);
  const auto report = Replay(*log_, conninfo(), {});
  EXPECT_EQ(report.status().code(), Status::Code::kCorruption) << report.status().ToString();
  EXPECT_EQ(Query("SELECT count(*) FROM ledger_read.posts")[0][0].as<int64_t>(), 3);
}

TEST_F(ReplayVerifyTest, AStoppedReplayLeavesTheLiveSchemaUntouched) {
  CreatePost("alice", "one");
  Accept(Fund(1, "bob", 2));
  MustReplay();
  const int64_t live_position = log_->Head().position;
  Accept(Fund(1, "carol", 5));
  // The replay asks at three points: after the fold's chunk, before the
  // build, before the swap. A stop at any of them changes nothing live.
  for (int stop_at = 1; stop_at <= 3; ++stop_at) {
    int asked = 0;
    ReplayOptions options;
    options.stop = [&asked, stop_at] { return ++asked >= stop_at; };
    const auto report = Replay(*log_, conninfo(), options);
    ASSERT_EQ(report.status().code(), Status::Code::kCancelled) << stop_at;
    EXPECT_NE(report.status().message().find("ledger_read is unchanged"), std::string::npos)
        << report.status().ToString();
    EXPECT_EQ(asked, stop_at);
    EXPECT_EQ(Query("SELECT position FROM ledger_read.checkpoints")[0][0].as<int64_t>(),
              live_position);
    EXPECT_EQ(Query("SELECT total_funded FROM ledger_read.post_view")[0][0].as<int64_t>(), 2'000);
  }
  // Not asked to stop: it runs to the end.
  ReplayOptions options;
  options.stop = [] { return false; };
  EXPECT_TRUE(MustReplay(options).swapped);
  EXPECT_EQ(Query("SELECT total_funded FROM ledger_read.post_view")[0][0].as<int64_t>(), 7'000);
}

TEST_F(ReplayVerifyTest, AStoppedVerifyIsCancelled) {
  CreatePost("alice", "one");
  MustReplay();
  VerifyOptions options;
  options.stop = [] { return true; };
  EXPECT_EQ(Verify(*log_, conninfo(), options).status().code(), Status::Code::kCancelled);
}

TEST_F(ReplayVerifyTest, VerifyCatchesUpInsideItsSnapshot) {
  CreatePost("alice", "one");
  MustReplay();
  int caught_up = 0;
  VerifyOptions options;
  options.catch_up = [&caught_up] {
    ++caught_up;
    return Status::Ok();
  };
  auto report = Verify(*log_, conninfo(), options);
  ASSERT_OK(report);
  EXPECT_TRUE(report->ok()) << Describe(*report);
  EXPECT_EQ(caught_up, 1);
  options.catch_up = [] { return Status::IOError("the log went away"); };
  EXPECT_EQ(Verify(*log_, conninfo(), options).status().code(), Status::Code::kIOError);
}

TEST_F(ReplayVerifyTest, SecondReplayOfTheSameSchemaAtOnceIsRefused) {
  CreatePost("alice", "one");
  // Another session holds the lock a running replay would hold.
  pqxx::nontransaction(db()).exec_params("SELECT pg_advisory_lock($1, hashtext($2))",
                                         kReplayLockClass, "ledger_read");
  const auto report = Replay(*log_, conninfo(), {});
  EXPECT_EQ(report.status().code(), Status::Code::kFailedPrecondition)
      << report.status().ToString();
}

TEST_F(ReplayVerifyTest, ReplayWithTheDatabaseDownIsUnavailable) {
  const auto report = Replay(*log_, "host=/nonexistent port=1 dbname=none connect_timeout=2", {});
  EXPECT_EQ(report.status().code(), Status::Code::kUnavailable) << report.status().ToString();
}

TEST_F(ReplayVerifyTest, ReadersAreServedThroughoutTheSwap) {
  BuildHistory();
  MustReplay();
  Accept(Fund(5, "bob", 1));

  // A reader on its own connection, with a prepared statement as the query
  // pool would use, reading in a loop while the replay runs.
  pqxx::connection reader(conninfo());
  reader.prepare("totals", "SELECT count(*), sum(total_funded) FROM ledger_read.post_view");
  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::atomic<int> failures{0};
  std::string first_failure;
  std::thread thread([&] {
    while (!done.load()) {
      try {
        pqxx::nontransaction tx(reader);
        const pqxx::row r = tx.exec_prepared1("totals");
        if (r[0].as<int64_t>() != 3) ++failures;
        ++reads;
      } catch (const std::exception& e) {
        if (failures++ == 0) first_failure = e.what();
      }
    }
  });
  // Give the reader a head start so reads overlap the whole replay.
  while (reads.load() < 10) std::this_thread::yield();
  const ReplayReport report = MustReplay();
  const int reads_at_swap = reads.load();
  while (reads.load() < reads_at_swap + 10) std::this_thread::yield();
  done = true;
  thread.join();
  EXPECT_TRUE(report.swapped);
  EXPECT_EQ(failures.load(), 0) << first_failure;

  // The same connection and statement now read the new tables.
  pqxx::nontransaction tx(reader);
  EXPECT_EQ(tx.exec_prepared1("totals")[1].as<int64_t>(), 6'000 + 4'000 + 1'000);
}

TEST_F(ReplayVerifyTest, SwapWaitsForAReadTransactionOnTheLiveTables) {
  BuildHistory();
  MustReplay();
  Accept(Fund(5, "bob", 1));
  pqxx::connection reader(conninfo());
  auto tx = std::make_unique<pqxx::read_transaction>(reader);
  EXPECT_EQ(tx->exec1("SELECT sum(total_funded) FROM ledger_read.post_view")[0].as<int64_t>(),
            10'000);
  // The reader finishes once the swap is seen waiting for its lock (well
  // within kSwapLockTimeoutMs), still reading the old tables.
  bool swap_waited = false;
  std::thread finish([&] {
    pqxx::connection watcher(conninfo());
    for (int i = 0; i < 400 && !swap_waited; ++i) {
      swap_waited = pqxx::nontransaction(watcher)
                        .exec1("SELECT count(*) > 0 FROM pg_locks WHERE NOT granted")[0]
                        .as<bool>();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(tx->exec1("SELECT sum(total_funded) FROM ledger_read.post_view")[0].as<int64_t>(),
              10'000);
    tx->commit();
  });
  const ReplayReport report = MustReplay();
  finish.join();
  EXPECT_TRUE(swap_waited);
  EXPECT_TRUE(report.swapped);
  EXPECT_EQ(Query("SELECT sum(total_funded) FROM ledger_read.post_view")[0][0].as<int64_t>(),
            11'000);
}

// --- Verify --------------------------------------------------------------

TEST_F(ReplayVerifyTest, VerifyOfAFreshReplayFindsNothing) {
  BuildHistory();
  MustReplay();
  const VerifyReport report = MustVerify();
  EXPECT_TRUE(report.ok()) << Describe(report);
  EXPECT_TRUE(report.chain_ok);
  EXPECT_EQ(report.events_checked, log_->Head().position);
  EXPECT_EQ(report.checkpoint_position, log_->Head().position);
  EXPECT_EQ(report.mismatch_count, 0);
}

TEST_F(ReplayVerifyTest, VerifyNamesATamperedTotal) {
  BuildHistory();
  MustReplay();
  Query("UPDATE ledger_read.post_stats SET total_funded = total_funded + 1 WHERE id = 1");
  const VerifyReport report = MustVerify();
  EXPECT_FALSE(report.ok());
  EXPECT_TRUE(report.chain_ok);
  EXPECT_TRUE(Has(report, 1, "total_funded", "6000", "6001")) << Describe(report);
  // The row no longer equals the sum of its backers either.
  EXPECT_TRUE(Has(report, 1, "total_funded/backers", "6001", "6000")) << Describe(report);
  EXPECT_EQ(report.mismatch_count, 2) << Describe(report);
}

TEST_F(ReplayVerifyTest, VerifyNamesAMissingAndAChangedBacker) {
  BuildHistory();
  MustReplay();
  Query("DELETE FROM ledger_read.backers WHERE post_id = 1 AND backer = 'carol'");
  Query("UPDATE ledger_read.backers SET fundings = 7 WHERE post_id = 3");
  const VerifyReport report = MustVerify();
  EXPECT_TRUE(Has(report, 1, "backers/carol", "present", "absent")) << Describe(report);
  EXPECT_TRUE(Has(report, 1, "total_funded/backers", "6000", "5000")) << Describe(report);
  EXPECT_TRUE(Has(report, 3, "backers/alice/fundings", "1", "7")) << Describe(report);
  EXPECT_EQ(report.mismatch_count, 3) << Describe(report);
}

// A table that lost its key can hold a backer twice: two equal rows in place
// of two backers must not pass for them.
TEST_F(ReplayVerifyTest, VerifyNamesABackerReplacedByARepeatOfAnother) {
  BuildHistory();
  MustReplay();
  Query("ALTER TABLE ledger_read.backers DROP CONSTRAINT backers_pkey");
  Query("DELETE FROM ledger_read.backers WHERE post_id = 1 AND backer = 'carol'");
  Query("INSERT INTO ledger_read.backers SELECT * FROM ledger_read.backers WHERE post_id = 1");
  const VerifyReport report = MustVerify();
  EXPECT_TRUE(Has(report, 1, "backers/carol", "present", "absent")) << Describe(report);
  EXPECT_TRUE(Has(report, 1, "total_funded/backers", "6000", "5000")) << Describe(report);
  EXPECT_EQ(report.mismatch_count, 2) << Describe(report);
}

TEST_F(ReplayVerifyTest, VerifyNamesAChangedAMissingAndAnExtraFundingRow) {
  BuildHistory();
  MustReplay();
  // Positions 1-3 create posts; 4 is bob's first funding of post 1, 5 carol's.
  Query("UPDATE ledger_read.fundings SET state = 'cancelled' WHERE position = 4");
  Query("DELETE FROM ledger_read.fundings WHERE position = 5");
  Query("INSERT INTO ledger_read.fundings VALUES (999, 1, 'mallory', 1, 1000, now(), 'live')");
  const VerifyReport report = MustVerify();
  EXPECT_TRUE(Has(report, 1, "fundings/4/state", "live", "cancelled")) << Describe(report);
  EXPECT_TRUE(Has(report, 1, "fundings/5", "present", "absent")) << Describe(report);
  EXPECT_TRUE(Has(report, 1, "fundings/999", "absent", "present")) << Describe(report);
  EXPECT_EQ(report.mismatch_count, 3) << Describe(report);
}

// No event has a position below 1, so neither may a fundings row: the
// comparison starts below the log's first position, not at it.
TEST_F(ReplayVerifyTest, VerifyNamesFundingRowsAtPositionsTheLogNeverHas) {
  BuildHistory();
  MustReplay();
  Query("INSERT INTO ledger_read.fundings VALUES (0, 1, 'mallory', 1, 1000, now(), 'live')");
  Query("INSERT INTO ledger_read.fundings VALUES (-5, 2, 'mallory', 1, 1000, now(), 'live')");
  const VerifyReport report = MustVerify();
  EXPECT_TRUE(Has(report, 1, "fundings/0", "absent", "present")) << Describe(report);
  EXPECT_TRUE(Has(report, 2, "fundings/-5", "absent", "present")) << Describe(report);
  EXPECT_EQ(report.mismatch_count, 2) << Describe(report);
}

TEST_F(ReplayVerifyTest, VerifyNamesAPostLeftUnsettledPastItsDeadline) {
  // A sequencer that never settles by itself: the log then holds what a
  // service that failed to settle would leave.
  sequencer_.reset();
  commands::SequencerOptions no_settling;
  no_settling.settle_posts = false;
  auto started = commands::Sequencer::Start(log_.get(), &clock_, &zone_, no_settling);
  ASSERT_OK(started);
  sequencer_ = std::move(started).value();
  CreatePost("alice", "closing");  // 1: ends 2026-12-31
  commands::PostDraft later = Draft("later");
  later.end_date = *ParseDate("2027-06-30");
  Accept(Submission{CreatePosts{{later}, false}, "carol", "req-create", ""});  // 2
  const Timestamp closes_at = zone_.ClosesAt(*ParseDate("2026-12-31"));
  // Within the grace the log's clock allows, nothing is missing yet
  // (Accept moves the clock one more second).
  clock_.Set(closes_at + std::chrono::seconds(kSettlementGraceSeconds - 2));
  Accept(Fund(2, "bob"));
  MustReplay();
  VerifyReport report = MustVerify();
  EXPECT_TRUE(report.ok()) << Describe(report);
  clock_.Set(closes_at + std::chrono::seconds(kSettlementGraceSeconds));
  Accept(Fund(2, "bob"));
  MustReplay();
  report = MustVerify();
  EXPECT_EQ(report.mismatch_count, 1) << Describe(report);
  ASSERT_EQ(report.mismatches.size(), 1U);
  EXPECT_EQ(report.mismatches[0].post_id, 1);
  EXPECT_EQ(report.mismatches[0].field, "settlement/missing");
}

TEST_F(ReplayVerifyTest, VerifyNamesRowsOfDeletedAndUnknownPosts) {
  BuildHistory();
  MustReplay();
  for (const int id : {2, 99}) {
    Query(
        "INSERT INTO ledger_read.posts (id, title, uploader, owner, description, "
        "target_amount, funding_unit, end_date, closes_at, created_at) SELECT " +
        std::to_string(id) +
        ", title, uploader, owner, description, target_amount, funding_unit, end_date, "
        "closes_at, created_at FROM ledger_read.posts WHERE id = 1");
  }
  Query("INSERT INTO ledger_read.backers VALUES (99, 'mallory', 1, 1000, 1)");
  const VerifyReport report = MustVerify();
  EXPECT_TRUE(Has(report, 2, "row", "absent", "present")) << Describe(report);
  EXPECT_TRUE(Has(report, 99, "row", "absent", "present")) << Describe(report);
  EXPECT_TRUE(Has(report, 99, "backers/mallory", "absent", "present")) << Describe(report);
  EXPECT_EQ(report.mismatch_count, 3) << Describe(report);
}

TEST_F(ReplayVerifyTest, VerifyNamesRowsBelowTheFirstPostId) {
  BuildHistory();
  MustReplay();
  Query(
      "INSERT INTO ledger_read.posts (id, title, uploader, owner, description, target_amount, "
      "funding_unit, end_date, closes_at, created_at) SELECT 0, title, uploader, owner, "
      "description, target_amount, funding_unit, end_date, closes_at, created_at FROM "
      "ledger_read.posts WHERE id = 1");
  Query("INSERT INTO ledger_read.backers VALUES (-3, 'mallory', 1, 1000, 1)");
  const VerifyReport report = MustVerify();
  EXPECT_TRUE(Has(report, 0, "row", "absent", "present")) << Describe(report);
  EXPECT_TRUE(Has(report, -3, "backers/mallory", "absent", "present")) << Describe(report);
  EXPECT_EQ(report.mismatch_count, 2) << Describe(report);
}

TEST_F(ReplayVerifyTest, VerifyOfEmptyTablesFindsNothing) {
  MustReplay();
  const VerifyReport report = MustVerify();
  EXPECT_TRUE(report.ok()) << Describe(report);
}

TEST_F(ReplayVerifyTest, VerifyNamesAMissingRowAndEveryChangedColumn) {
  BuildHistory();
  MustReplay();
  Query("DELETE FROM ledger_read.post_stats WHERE id = 5");
  Query("DELETE FROM ledger_read.posts WHERE id = 5");
  Query(
      "UPDATE ledger_read.posts SET title = 'x', end_date = '2030-01-01', "
      "created_at = created_at + interval '1 microsecond' WHERE id = 3");
  Query("UPDATE ledger_read.post_stats SET version = 99 WHERE id = 3");
  const PostState post3 = *sequencer_->FindWholePost(3);
  const VerifyReport report = MustVerify();
  EXPECT_TRUE(Has(report, 5, "row", "present", "absent")) << Describe(report);
  EXPECT_TRUE(Has(report, 3, "title", "escapes", "x")) << Describe(report);
  EXPECT_TRUE(Has(report, 3, "end_date", "2026-12-31", "2030-01-01")) << Describe(report);
  EXPECT_TRUE(Has(report, 3, "created_at", FormatTimestamp(post3.created_at),
                  FormatTimestamp(post3.created_at + std::chrono::microseconds(1))))
      << Describe(report);
  EXPECT_TRUE(Has(report, 3, "version", std::to_string(post3.version), "99")) << Describe(report);
  EXPECT_EQ(report.mismatch_count, 5) << Describe(report);
}

TEST_F(ReplayVerifyTest, VerifyNamesTheFiguresOfAPostWithoutThem) {
  BuildHistory();
  MustReplay();
  Query("DELETE FROM ledger_read.post_stats WHERE id = 3");
  const PostState post3 = *sequencer_->FindWholePost(3);
  const VerifyReport report = MustVerify();
  EXPECT_TRUE(Has(report, 3, "total_funded", std::to_string(post3.total_funded), "NULL"))
      << Describe(report);
  EXPECT_TRUE(Has(report, 3, "version", std::to_string(post3.version), "NULL")) << Describe(report);
  EXPECT_TRUE(Has(report, 3, "total_funded/backers", "NULL", std::to_string(post3.total_funded)))
      << Describe(report);
  // total_funded, participant_count, funding_count, version, last_position,
  // the title's copy and the sum of the backers.
  EXPECT_TRUE(Has(report, 3, "post_stats.title", post3.title, "NULL")) << Describe(report);
  EXPECT_EQ(report.mismatch_count, 7) << Describe(report);
}

TEST_F(ReplayVerifyTest, VerifyNamesATamperedCopyOfTheTitle) {
  BuildHistory();
  MustReplay();
  // Search walks post_stats' copy; a wrong copy finds the wrong posts.
  Query("UPDATE ledger_read.post_stats SET title = 'x' WHERE id = 3");
  const PostState post3 = *sequencer_->FindWholePost(3);
  const VerifyReport report = MustVerify();
  EXPECT_TRUE(Has(report, 3, "post_stats.title", post3.title, "x")) << Describe(report);
  EXPECT_EQ(report.mismatch_count, 1) << Describe(report);
}

TEST_F(ReplayVerifyTest, VerifyNamesACheckpointWhoseHashIsNotTheLogs) {
  BuildHistory();
  MustReplay();
  Query("UPDATE ledger_read.checkpoints SET hash = repeat('a', 64)");
  const VerifyReport report = MustVerify();
  EXPECT_TRUE(Has(report, 0, "checkpoint", events::ToHex(log_->Head().hash), std::string(64, 'a')))
      << Describe(report);
}

TEST_F(ReplayVerifyTest, VerifyNamesACheckpointPastTheHead) {
  BuildHistory();
  MustReplay();
  Query("UPDATE ledger_read.checkpoints SET position = position + 5");
  const VerifyReport report = MustVerify();
  const int64_t head = log_->Head().position;
  EXPECT_TRUE(Has(report, 0, "checkpoint", "position <= " + std::to_string(head),
                  "position " + std::to_string(head + 5)))
      << Describe(report);
  EXPECT_EQ(report.mismatch_count, 1) << Describe(report);
}

TEST_F(ReplayVerifyTest, VerifyWithoutReadTablesSaysSo) {
  BuildHistory();
  const VerifyReport report = MustVerify();
  EXPECT_FALSE(report.ok());
  ASSERT_EQ(report.mismatches.size(), 1U) << Describe(report);
  EXPECT_EQ(report.mismatches[0].field, "schema");
}

TEST_F(ReplayVerifyTest, VerifyReportsTheFirstBadPositionOfATamperedLog) {
  BuildHistory();
  MustReplay();
  FlipByteOfEvent(6);
  const VerifyReport report = MustVerify();
  EXPECT_FALSE(report.ok());
  EXPECT_FALSE(report.chain_ok);
  EXPECT_EQ(report.first_bad_position, 6);
  EXPECT_EQ(report.events_checked, 5);
  EXPECT_FALSE(report.chain_problem.empty());
  // The rows cannot be recomputed past the break; that is said too.
  ASSERT_FALSE(report.mismatches.empty());
  EXPECT_EQ(report.mismatches[0].field, "log");
  EXPECT_NE(report.mismatches[0].found.find("position 6"), std::string::npos) << Describe(report);
}

TEST_F(ReplayVerifyTest, VerifyReportsALogWhoseEventsDoNotFold) {
  BuildHistory();
  MustReplay();
  const int64_t bad = AppendRefusedEvent();
  Query("UPDATE ledger_read.checkpoints SET position = " + std::to_string(bad) + ", hash = '" +
        events::ToHex(log_->Head().hash) + "'");
  const VerifyReport report = MustVerify();
  EXPECT_TRUE(report.chain_ok);
  ASSERT_EQ(report.mismatches.size(), 1U) << Describe(report);
  EXPECT_EQ(report.mismatches[0].post_id, 0);
  EXPECT_EQ(report.mismatches[0].field, "log");
  EXPECT_NE(report.mismatches[0].found.find("position " + std::to_string(bad)), std::string::npos)
      << Describe(report);
}

TEST_F(ReplayVerifyTest, VerifyWithTheDatabaseDownIsUnavailable) {
  const auto report = Verify(*log_, "host=/nonexistent port=1 dbname=none connect_timeout=2");
  EXPECT_EQ(report.status().code(), Status::Code::kUnavailable) << report.status().ToString();
}

TEST_F(ReplayVerifyTest, VerifyKeepsTheFirstMismatchesInLogOrderAndCountsTheRest) {
  CreateManyPosts();
  MustReplay();
  Query("UPDATE ledger_read.posts SET title = 'x'");
  const VerifyReport report = MustVerify();
  EXPECT_EQ(report.mismatch_count, kManyPosts);
  ASSERT_EQ(report.mismatches.size(), kMaxReportedMismatches);
  for (size_t i = 0; i < report.mismatches.size(); ++i) {
    EXPECT_EQ(report.mismatches[i].post_id, static_cast<int64_t>(i + 1));
    EXPECT_EQ(report.mismatches[i].field, "title");
  }
}

// The rows are compared in parts that run at once (the posts on one
// connection, the unknown rows and the fundings on another); the report still
// lists them in the order of one pass.
TEST_F(ReplayVerifyTest, VerifyListsTheMismatchesOfEveryPartInOneOrder) {
  BuildHistory();
  MustReplay();
  Query("DELETE FROM ledger_read.fundings WHERE position = 5");
  Query("INSERT INTO ledger_read.backers VALUES (99, 'mallory', 1, 1000, 1)");
  Query("UPDATE ledger_read.posts SET title = 'x' WHERE id = 3");
  const VerifyReport report = MustVerify();
  ASSERT_EQ(report.mismatches.size(), 3u) << Describe(report);
  EXPECT_EQ(report.mismatch_count, 3);
  EXPECT_EQ(report.mismatches[0].post_id, 3);
  EXPECT_EQ(report.mismatches[0].field, "title");
  EXPECT_EQ(report.mismatches[1].post_id, 99);
  EXPECT_EQ(report.mismatches[1].field, "backers/mallory");
  EXPECT_EQ(report.mismatches[2].post_id, 1);
  EXPECT_EQ(report.mismatches[2].field, "fundings/5");
}

// The fundings are compared in two halves, each on a connection of its own;
// the report lists their mismatches in position order all the same, from a
// row below the first position to one past the head.
TEST_F(ReplayVerifyTest, VerifyListsTheFundingsOfBothHalvesInPositionOrder) {
  BuildHistory();
  MustReplay();
  std::vector<int64_t> positions;
  for (const pqxx::row& r : Query("SELECT position FROM ledger_read.fundings ORDER BY position")) {
    positions.push_back(r[0].as<int64_t>());
  }
  ASSERT_GE(positions.size(), 4u);
  const int64_t first = positions.front();
  const int64_t before_middle = positions[positions.size() / 2 - 1];
  const int64_t middle = positions[positions.size() / 2];
  const int64_t last = positions.back();
  const int64_t past_head = log_->Head().position + 1;
  Query("INSERT INTO ledger_read.fundings VALUES (-5, 1, 'mallory', 1, 1000, now(), 'live')");
  Query("DELETE FROM ledger_read.fundings WHERE position = " + std::to_string(first));
  Query("UPDATE ledger_read.fundings SET units = units + 1 WHERE position IN (" +
        std::to_string(before_middle) + ", " + std::to_string(middle) + ")");
  Query("UPDATE ledger_read.fundings SET backer = 'eve' WHERE position = " + std::to_string(last));
  Query("INSERT INTO ledger_read.fundings VALUES (" + std::to_string(past_head) +
        ", 1, 'mallory', 1, 1000, now(), 'live')");
  const VerifyReport report = MustVerify();
  std::vector<std::string> fields;
  for (const Mismatch& m : report.mismatches) {
    if (m.field.starts_with("fundings/")) fields.push_back(m.field);
  }
  const std::vector<std::string> want = {
      "fundings/-5",
      "fundings/" + std::to_string(first),
      "fundings/" + std::to_string(before_middle) + "/units",
      "fundings/" + std::to_string(middle) + "/units",
      "fundings/" + std::to_string(last) + "/backer",
      "fundings/" + std::to_string(past_head),
  };
  EXPECT_EQ(fields, want) << Describe(report);
}

TEST_F(ReplayVerifyTest, VerifyCountsTheMismatchesOfLaterPartsPastTheListsCap) {
  CreateManyPosts();
  Accept(Fund(1, "bob", 1));
  MustReplay();
  Query("UPDATE ledger_read.posts SET title = 'x'");
  Query("DELETE FROM ledger_read.fundings");
  const VerifyReport report = MustVerify();
  // Every title, then the one funding: only titles fit in the list.
  EXPECT_EQ(report.mismatch_count, kManyPosts + 1);
  ASSERT_EQ(report.mismatches.size(), kMaxReportedMismatches);
  EXPECT_EQ(report.mismatches.back().post_id, static_cast<int64_t>(kMaxReportedMismatches));
  EXPECT_EQ(report.mismatches.back().field, "title");
}

}  // namespace
}  // namespace ledger::projections
