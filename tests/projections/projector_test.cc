#include "projections/projector.h"

#include <algorithm>
#include <map>
#include <thread>

#include <gtest/gtest.h>
#include <pqxx/pqxx>
#include <sys/stat.h>

#include "../commands/sequencer_fixture.h"
#include "pg_fixture.h"
#include "projections/embedded_postgres.h"
#include "projections/queries.h"
#include "projections/replay.h"
#include "projections/verify.h"
#include "support/temp_dir.h"

namespace ledger::projections {
namespace {

using commands::testing::Create;
using commands::testing::Delete;
using commands::testing::Fund;

// A real sequencer on a real log (SequencerFixture) plus a fresh database.
class ProjectorTest : public commands::testing::SequencerFixture {
 protected:
  void SetUp() override {
    OpenLog();
    StartSequencer(log_.get());
    pg_.Create();
  }
  void TearDown() override { pg_.Drop(); }

  ProjectorOptions Options(size_t batch = 10'000) {
    ProjectorOptions o;
    o.conninfo = pg_.conninfo();
    o.max_batch_events = batch;
    o.poll_interval = std::chrono::milliseconds(5);
    o.retry_initial = std::chrono::milliseconds(5);
    o.retry_max = std::chrono::milliseconds(50);
    return o;
  }

  // Steps until caught up; returns the number of steps that applied events.
  int CatchUp(Projector& p) {
    int steps = 0;
    while (true) {
      auto r = p.Step();
      EXPECT_OK(r);
      if (!r.ok() || *r == 0) return steps;
      ++steps;
    }
  }

  // The read row of a post, or an empty map when there is none.
  std::map<std::string, std::string> Row(int64_t id) {
    pqxx::work tx(pg_.db());
    const pqxx::result r = tx.exec_params(
        "SELECT title, uploader, owner, description, target_amount, funding_unit, end_date, "
        "total_funded, participant_count, funding_count, version, last_position, funding_model, "
        "COALESCE(max_fundings_per_backer::text, 'none') AS max_fundings_per_backer, status, "
        "(SELECT s.title FROM ledger_read.post_stats s WHERE s.id = v.id) AS stats_title "
        "FROM ledger_read.post_view v WHERE id = $1",
        id);
    std::map<std::string, std::string> out;
    if (r.empty()) return out;
    for (const pqxx::field& f : r[0]) out[f.name()] = f.c_str();
    return out;
  }

  // Each read figure equals the sequencer's in-memory state of the post.
  void ExpectMatchesState(int64_t id) {
    const auto state = sequencer_->FindWholePost(id);
    ASSERT_TRUE(state.has_value());
    const auto row = Row(id);
    if (state->deleted) {
      EXPECT_TRUE(row.empty()) << "deleted post " << id << " still has a row";
      return;
    }
    ASSERT_FALSE(row.empty()) << "post " << id << " has no row";
    EXPECT_EQ(row.at("title"), state->title);
    EXPECT_EQ(row.at("stats_title"), state->title) << "post_stats' copy, post " << id;
    EXPECT_EQ(row.at("uploader"), state->uploader);
    EXPECT_EQ(row.at("owner"), state->owner);
    EXPECT_EQ(row.at("description"), state->description);
    EXPECT_EQ(row.at("funding_unit"), std::to_string(state->funding_unit));
    EXPECT_EQ(row.at("end_date"), FormatDate(state->end_date));
    EXPECT_EQ(row.at("total_funded"), std::to_string(state->total_funded)) << "post " << id;
    EXPECT_EQ(row.at("participant_count"), std::to_string(state->participant_count()));
    EXPECT_EQ(row.at("funding_count"), std::to_string(state->funding_count));
    EXPECT_EQ(row.at("version"), std::to_string(state->version));
    EXPECT_EQ(row.at("funding_model"), events::FundingModelName(state->funding_model));
    EXPECT_EQ(
        row.at("max_fundings_per_backer"),
        state->max_fundings_per_backer ? std::to_string(*state->max_fundings_per_backer) : "none");
    EXPECT_EQ(row.at("status"), PostStatusName(StatusOf(state->settlement))) << "post " << id;
    pqxx::work tx(pg_.db());
    const pqxx::result backers = tx.exec_params(
        "SELECT backer, units, amount, fundings FROM ledger_read.backers WHERE post_id = $1", id);
    EXPECT_EQ(backers.size(), state->backers.size()) << "post " << id;
    for (const pqxx::row& b : backers) {
      const auto it = state->backers.find(b[0].as<std::string>());
      ASSERT_NE(it, state->backers.end()) << b[0].as<std::string>();
      EXPECT_EQ(b[1].as<int64_t>(), it->second.units);
      EXPECT_EQ(b[2].as<int64_t>(), it->second.amount);
      EXPECT_EQ(b[3].as<int64_t>(), it->second.fundings);
    }
  }

  // A mixed history: three posts, fundings from several backers, an edit of
  // every field, a delete with refunds, a post created and deleted.
  void WriteHistory() {
    Accept(Create("alice"));  // 1
    Accept(Create("carol"));  // 2
    Accept(Fund(1, "bob", 2));
    Accept(Fund(1, "dave", 1));
    Accept(Fund(1, "bob", 3));
    Accept(Fund(2, "bob", 1));
    Accept(Fund(2, "erin", 4));
    commands::EditPost edit;
    edit.post_id = 1;
    edit.title = "새 제목";
    edit.uploader = "Alice Kim";
    edit.description = "updated";
    edit.funding_unit = 2'500;
    edit.end_date = *ParseDate("2027-01-15");
    Accept(commands::Submission{edit, "alice", "req", ""});
    Accept(Fund(1, "erin", 2));  // at the new unit
    Accept(Delete(2, "carol"));  // refunds bob and erin
    Accept(Create("frank"));     // 3
    Accept(Delete(3, "frank"));
  }

  // A replay from scratch (dry run, beside the live tables) builds the same
  // rows as the projector did.
  void ExpectReplayEqualsTables() {
    ReplayOptions replay;
    replay.dry_run = true;  // build ledger_read_replay beside the live tables
    auto report = Replay(*log_, pg_.conninfo(), replay);
    ASSERT_OK(report);
    EXPECT_EQ(report->built_schema, "ledger_read_replay");
    pqxx::work tx(pg_.db());
    for (const char* table : {"posts", "post_stats", "backers", "fundings", "checkpoints"}) {
      const std::string columns =
          std::string(table) == "checkpoints" ? "name, position, hash" : "*";
      for (const auto& [a, b] : {std::pair{"ledger_read", "ledger_read_replay"},
                                 std::pair{"ledger_read_replay", "ledger_read"}}) {
        const pqxx::row diff =
            tx.exec1("SELECT count(*) FROM (SELECT " + columns + " FROM " + a + "." + table +
                     " EXCEPT SELECT " + columns + " FROM " + b + "." + table + ") d");
        EXPECT_EQ(diff[0].as<int64_t>(), 0) << table << ": rows in " << a << " not in " << b;
      }
    }
  }

  // The fundings table: position -> state.
  std::map<int64_t, std::string> FundingStates() {
    pqxx::work tx(pg_.db());
    std::map<int64_t, std::string> out;
    for (const pqxx::row& r : tx.exec("SELECT position, state FROM ledger_read.fundings")) {
      out[r[0].as<int64_t>()] = r[1].as<std::string>();
    }
    return out;
  }

  void ExpectAllMatch() {
    for (int64_t id = 1; sequencer_->FindWholePost(id).has_value(); ++id) ExpectMatchesState(id);
  }

  testing::TestDatabase pg_;
};

TEST_F(ProjectorTest, ProjectsEveryEventType) {
  WriteHistory();
  Projector projector(log_.get(), Options());
  EXPECT_EQ(CatchUp(projector), 1);  // one batch holds everything
  EXPECT_EQ(projector.position(), log_->Head().position);
  ExpectAllMatch();
  EXPECT_EQ(Row(1).at("title"), "새 제목");
  EXPECT_EQ(Row(1).at("total_funded"), std::to_string(6 * 1'000 + 2 * 2'500));
  EXPECT_TRUE(Row(2).empty());
  EXPECT_TRUE(Row(3).empty());
  pqxx::work tx(pg_.db());
  const pqxx::row cp = tx.exec1("SELECT position, hash FROM ledger_read.checkpoints");
  EXPECT_EQ(cp[0].as<int64_t>(), log_->Head().position);
  EXPECT_EQ(cp[1].as<std::string>(), events::ToHex(log_->Head().hash));
}

// Cancellations of fundings from this batch and from earlier ones, a
// backer's last funding cancelled, and a failed all_or_nothing settlement
// with its refunds: the same tables at every batch boundary.
TEST_F(ProjectorTest, ProjectsCancellationsAndSettlementsAtEveryBatchSize) {
  // Settled by explicit commands here, at a known point of the history.
  commands::SequencerOptions no_settling;
  no_settling.settle_posts = false;
  sequencer_.reset();
  StartSequencer(log_.get(), no_settling);
  commands::PostDraft draft = commands::testing::Draft();
  draft.funding_model = events::FundingModel::kAllOrNothing;
  Accept(commands::Submission{commands::CreatePosts{{draft}, false}, "alice", "req", ""});  // 1
  Accept(Create("carol"));                                                                  // 2
  const auto fund = [this](int64_t post, const std::string& backer, int64_t units) {
    return Accept(Fund(post, backer, units)).first_position;
  };
  const auto cancel = [this](int64_t post, const std::string& backer, int64_t position) {
    Accept(commands::Submission{commands::CancelFunding{post, position}, backer, "req", ""});
  };
  const int64_t bob_first = fund(2, "bob", 2);
  const int64_t bob_second = fund(2, "bob", 3);
  const int64_t dave_only = fund(2, "dave", 1);
  cancel(2, "bob", bob_first);   // bob keeps one funding
  cancel(2, "dave", dave_only);  // dave is no longer a backer
  const int64_t erin = fund(2, "erin", 1);
  cancel(2, "erin", erin);  // funded and cancelled back to back
  const int64_t erin_kept = fund(2, "erin", 2);
  const int64_t bob_on_1 = fund(1, "bob", 1);
  const int64_t dave_on_1 = fund(1, "dave", 2);
  // Post 1 fails and refunds; post 2 (keep_it_all) fails and keeps its money.
  clock_.Set(Timestamp(std::chrono::sys_days(*ParseDate("2027-01-01"))));
  Accept(commands::Submission{commands::SettlePost{1}, std::string(commands::kSystemActor),
                              "settle", ""});
  Accept(commands::Submission{commands::SettlePost{2}, std::string(commands::kSystemActor),
                              "settle", ""});
  ASSERT_TRUE(sequencer_->FindWholePost(1)->settled());
  for (const size_t batch : {size_t{1}, size_t{3}, size_t{1'000}}) {
    pg_.Drop();
    pg_.Create();
    Projector projector(log_.get(), Options(batch));
    CatchUp(projector);
    EXPECT_EQ(projector.position(), log_->Head().position);
    ExpectAllMatch();
    EXPECT_EQ(FundingStates(), (std::map<int64_t, std::string>{{bob_first, "cancelled"},
                                                               {bob_second, "live"},
                                                               {dave_only, "cancelled"},
                                                               {erin, "cancelled"},
                                                               {erin_kept, "live"},
                                                               {bob_on_1, "refunded"},
                                                               {dave_on_1, "refunded"}}))
        << "batch " << batch;
    const auto verified = Verify(*log_, pg_.conninfo());
    ASSERT_OK(verified);
    EXPECT_TRUE(verified->ok()) << "batch " << batch << ": " << verified->mismatch_count;
    ExpectReplayEqualsTables();
  }
  EXPECT_EQ(Row(1).at("total_funded"), "0");
  EXPECT_EQ(Row(1).at("status"), "failed");
  EXPECT_EQ(Row(2).at("status"), "failed");
  EXPECT_EQ(Row(2).at("participant_count"), "2");
}

TEST_F(ProjectorTest, GivesTheSameTablesWhateverTheBatchSize) {
  WriteHistory();
  // One event per batch, and batches of 3 that cut the delete's refunds off
  // from its PostDeleted: every boundary must give the same result.
  for (const size_t batch : {size_t{1}, size_t{3}}) {
    pg_.Drop();
    pg_.Create();
    Projector projector(log_.get(), Options(batch));
    CatchUp(projector);
    EXPECT_EQ(projector.position(), log_->Head().position);
    ExpectAllMatch();
  }
}

TEST_F(ProjectorTest, ABatchStopsAtItsByteBound) {
  WriteHistory();
  const int64_t events = log_->Head().position;
  ProjectorOptions options = Options();
  // Every record is larger than this: one event per batch, never zero.
  options.max_batch_bytes = 1;
  Projector projector(log_.get(), options);
  EXPECT_EQ(CatchUp(projector), events);
  ExpectAllMatch();
}

// How often post_stats was VACUUMed by hand, read once the statistics show
// at least `updates` row updates (a session reports its statistics when it
// ends, all together).
int64_t VacuumCount(pqxx::connection& c, int64_t updates) {
  for (int i = 0; i < 1000; ++i) {
    pqxx::nontransaction tx(c);
    const pqxx::row r = tx.exec1(
        "SELECT n_tup_upd, vacuum_count FROM pg_stat_user_tables "
        "WHERE schemaname = 'ledger_read' AND relname = 'post_stats'");
    if (r[0].as<int64_t>() >= updates) return r[1].as<int64_t>();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ADD_FAILURE() << "statistics never showed " << updates << " updates";
  return -1;
}

TEST_F(ProjectorTest, VacuumsThePostFiguresAfterEnoughUpdates) {
  Accept(Create("alice"));
  for (int i = 0; i < 5; ++i) Accept(Fund(1, "bob"));
  {
    ProjectorOptions options = Options(1);
    options.vacuum_after_updates = 3;
    Projector projector(log_.get(), options);
    EXPECT_EQ(CatchUp(projector), 6);
  }
  EXPECT_GE(VacuumCount(pg_.db(), 6), 1);
  ExpectAllMatch();
}

TEST_F(ProjectorTest, LeavesVacuumToTheServerBelowTheThreshold) {
  Accept(Create("alice"));
  for (int i = 0; i < 5; ++i) Accept(Fund(1, "bob"));
  {
    Projector projector(log_.get(), Options(1));
    EXPECT_EQ(CatchUp(projector), 6);
  }
  EXPECT_EQ(VacuumCount(pg_.db(), 6), 0);
}

TEST_F(ProjectorTest, ReportsEachCommittedPosition) {
  WriteHistory();
  std::vector<int64_t> committed;
  ProjectorOptions options = Options(4);
  options.on_committed = [&](int64_t position) { committed.push_back(position); };
  Projector projector(log_.get(), options);
  CatchUp(projector);
  ASSERT_GE(committed.size(), 2u);
  EXPECT_EQ(committed.back(), log_->Head().position);
  EXPECT_TRUE(std::is_sorted(committed.begin(), committed.end()));
  EXPECT_EQ(committed[0], 0);  // the genesis checkpoint, read first
  EXPECT_EQ(committed[1], 4);
}

TEST_F(ProjectorTest, AnnouncesTheCheckpointItFindsOnStartEvenWithNothingToApply) {
  WriteHistory();
  {
    Projector first(log_.get(), Options());
    CatchUp(first);
  }
  std::vector<int64_t> committed;
  ProjectorOptions options = Options();
  options.on_committed = [&](int64_t position) { committed.push_back(position); };
  Projector restarted(log_.get(), options);
  EXPECT_EQ(CatchUp(restarted), 0);
  EXPECT_EQ(committed, std::vector<int64_t>{log_->Head().position});
  CatchUp(restarted);  // nothing new: no second announcement
  EXPECT_EQ(committed.size(), 1u);
}

TEST_F(ProjectorTest, AnEmptyLogGetsTheGenesisCheckpointAndVerifiesClean) {
  Projector projector(log_.get(), Options());
  EXPECT_EQ(CatchUp(projector), 0);
  {
    pqxx::work tx(pg_.db());
    const pqxx::row cp = tx.exec1("SELECT position, hash FROM ledger_read.checkpoints");
    EXPECT_EQ(cp[0].as<int64_t>(), 0);
    EXPECT_EQ(cp[1].as<std::string>(), events::ToHex(events::kGenesisHash));
  }
  const auto report = Verify(*log_, pg_.conninfo());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->ok()) << report->mismatch_count;
}

TEST_F(ProjectorTest, AppliesNewEventsIncrementally) {
  Projector projector(log_.get(), Options());
  EXPECT_EQ(CatchUp(projector), 0);
  EXPECT_EQ(projector.position(), 0);
  Accept(Create("alice"));
  CatchUp(projector);
  Accept(Fund(1, "bob", 2));
  Accept(Fund(1, "carol", 1));
  CatchUp(projector);
  Accept(Fund(1, "bob", 1));
  CatchUp(projector);
  ExpectMatchesState(1);
  EXPECT_EQ(Row(1).at("participant_count"), "2");
  EXPECT_EQ(Row(1).at("funding_count"),
            "3");  // Every event counted once however the steps split them; no errors.
  EXPECT_EQ(projector.events_applied(), 4u);
  EXPECT_EQ(projector.errors(), 0u);
}

TEST_F(ProjectorTest, EveryEventOnceWhenTheConnectionDiesBeforeCommit) {
  WriteHistory();
  ProjectorOptions options = Options(4);
  options.conninfo += " application_name=projector_under_test";
  int kills = 0;
  options.before_commit_for_testing = [&] {
    // Kill the projector's own session mid-batch, as a crash or a database
    // restart would, on every second batch.
    if (++kills % 2 == 1) {
      pqxx::connection killer(pg_.conninfo());
      pqxx::nontransaction(killer).exec(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
          "WHERE application_name = 'projector_under_test'");
    }
  };
  Projector projector(log_.get(), options);
  int failures = 0;
  for (int i = 0; i < 100 && projector.position() != log_->Head().position; ++i) {
    auto r = projector.Step();
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Status::Code::kUnavailable) << r.status().ToString();
      ++failures;
    }
  }
  EXPECT_GT(failures, 0);
  EXPECT_EQ(projector.position(), log_->Head().position);
  ExpectAllMatch();
  // Rolled-back batches are errors, never applied events.
  EXPECT_EQ(projector.errors(), static_cast<uint64_t>(failures));
  EXPECT_EQ(projector.events_applied(), static_cast<uint64_t>(log_->Head().position));
}

TEST_F(ProjectorTest, StopsLoudlyWhenTheCheckpointDoesNotContinueTheChain) {
  Accept(Create("alice"));
  Accept(Fund(1, "bob"));
  Projector projector(log_.get(), Options(1));
  ASSERT_OK(projector.Step());
  // Someone rewrote the checkpoint's hash: the next event no longer links.
  pqxx::work tx(pg_.db());
  tx.exec0("UPDATE ledger_read.checkpoints SET hash = repeat('ab', 32)");
  tx.commit();
  auto r = projector.Step();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  EXPECT_NE(r.status().message().find("position 2: prev_hash does not match"), std::string::npos)
      << r.status().ToString();
  EXPECT_EQ(projector.failure().code(), Status::Code::kCorruption);
  // It stays stopped: nothing after the hole is ever applied.
  EXPECT_FALSE(projector.Step().ok());
  EXPECT_EQ(Row(1).at("total_funded"), "0");
  EXPECT_EQ(projector.errors(), 1u);  // the refusals after it are not new errors
}

TEST_F(ProjectorTest, StopsWhenTheCheckpointIsPastTheLog) {
  Accept(Create("alice"));
  Projector projector(log_.get(), Options());
  CatchUp(projector);
  pqxx::work tx(pg_.db());
  tx.exec0("UPDATE ledger_read.checkpoints SET position = 99");
  tx.commit();
  auto r = projector.Step();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("past the log head"), std::string::npos);
}

TEST_F(ProjectorTest, AStandbyAppliesNothingAndFollowsTheCheckpointAnotherMoves) {
  // Two nodes on one cluster: `standby` belongs to a node that does not
  // sequence, whose view of the log (an empty one here) may lag behind.
  WriteHistory();
  std::vector<int64_t> seen;
  ProjectorOptions options = Options();
  options.on_committed = [&](int64_t position) { seen.push_back(position); };
  Projector standby(log_.get(), options);
  standby.SetStandby(true);
  EXPECT_EQ(CatchUp(standby), 0);
  EXPECT_EQ(standby.position(), -1);  // no projector ran yet
  EXPECT_TRUE(Row(1).empty());

  Projector active(log_.get(), Options(4));
  CatchUp(active);
  Accept(Fund(1, "bob", 1));
  CatchUp(active);
  EXPECT_EQ(CatchUp(standby), 0);
  EXPECT_EQ(standby.position(), log_->Head().position);
  EXPECT_EQ(seen, std::vector<int64_t>{log_->Head().position});
  EXPECT_EQ(standby.events_applied(), 0u);
  // The checkpoint past this node's head is not its to judge while standing by.
  {
    pqxx::work tx(pg_.db());
    tx.exec0("UPDATE ledger_read.checkpoints SET position = position + 5");
    tx.commit();
  }
  EXPECT_EQ(CatchUp(standby), 0);
  EXPECT_EQ(standby.position(), log_->Head().position + 5);
  EXPECT_OK(standby.failure());
}

TEST_F(ProjectorTest, OnSharedTablesACheckpointPastThisViewIsRetriedNotFatal) {
  // A sequencer paused past its lease wakes with its old head while the new
  // one's projector has moved the checkpoint on.
  Accept(Create("alice"));
  ProjectorOptions options = Options();
  options.shared_checkpoint = true;
  Projector projector(log_.get(), options);
  CatchUp(projector);
  {
    pqxx::work tx(pg_.db());
    tx.exec0("UPDATE ledger_read.checkpoints SET position = position + 3");
    tx.commit();
  }
  const auto behind = projector.Step();
  ASSERT_FALSE(behind.ok());
  EXPECT_EQ(behind.status().code(), Status::Code::kUnavailable) << behind.status().ToString();
  EXPECT_OK(projector.failure());
  // Standing by, it follows the checkpoint as it is.
  projector.SetStandby(true);
  const auto standing = projector.Step();
  ASSERT_OK(standing);
  EXPECT_EQ(projector.position(), log_->Head().position + 3);
}

TEST_F(ProjectorTest, ASessionPausedInsideABatchIsEndedByTheServerAndTheBatchRedone) {
  // As a node paused (SIGSTOP) mid-batch: it holds the checkpoint row's lock
  // only until the server ends its silent session.
  ProjectorOptions options = Options();
  options.idle_in_transaction_timeout = std::chrono::milliseconds(1'000);
  bool paused = false;
  options.before_commit_for_testing = [&paused] {
    if (paused) return;
    paused = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2'000));
  };
  Projector projector(log_.get(), options);
  Accept(Create("alice"));
  const auto cut = projector.Step();
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.status().code(), Status::Code::kUnavailable) << cut.status().ToString();
  // The row is free: another transaction takes its lock at once.
  {
    pqxx::work tx(pg_.db());
    tx.exec0("SET LOCAL lock_timeout = '1s'");
    tx.exec0("SELECT 1 FROM ledger_read.checkpoints FOR UPDATE");
    tx.commit();
  }
  EXPECT_EQ(CatchUp(projector), 1);
  ExpectMatchesState(1);
}

TEST_F(ProjectorTest, StopsWithoutCommittingWhenAPostRowIsMissing) {
  Accept(Create("alice"));
  Projector projector(log_.get(), Options());
  CatchUp(projector);
  // The tables lost the post's figures although the log says it exists.
  {
    pqxx::work tx(pg_.db());
    tx.exec0("DELETE FROM ledger_read.post_stats WHERE id = 1");
    tx.commit();
  }
  Accept(Fund(1, "bob"));
  auto r = projector.Step();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  EXPECT_EQ(r.status().message(),
            "read tables out of step with the log: 1 posts changed by events 2..2 but 0 rows "
            "matched");
  EXPECT_EQ(projector.failure().code(), Status::Code::kCorruption);
  // Nothing of the batch was committed: no backer row, the old checkpoint.
  pqxx::work tx(pg_.db());
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM ledger_read.backers")[0].as<int64_t>(), 0);
  EXPECT_EQ(tx.exec1("SELECT position FROM ledger_read.checkpoints")[0].as<int64_t>(), 1);
}

TEST_F(ProjectorTest, FollowsTheHeadInTheBackground) {
  Projector projector(log_.get(), Options(50));
  projector.Start();
  Accept(Create("alice"));
  for (int i = 0; i < 200; ++i) Accept(Fund(1, "backer-" + std::to_string(i % 7)));
  projector.Wake();
  for (int i = 0; i < 1000 && projector.position() != log_->Head().position; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  projector.Stop();
  EXPECT_EQ(projector.position(), log_->Head().position);
  ExpectMatchesState(1);
}

// The incremental projector and a replay from scratch must build the same
// tables, row for row.
TEST_F(ProjectorTest, ReplayEqualsIncrementalProjection) {
  WriteHistory();
  for (int i = 0; i < 30; ++i) Accept(Fund(1, "backer-" + std::to_string(i % 4), 1 + i % 3));
  Projector projector(log_.get(), Options(7));
  CatchUp(projector);
  ExpectReplayEqualsTables();
  pqxx::work tx(pg_.db());
  EXPECT_GT(tx.exec1("SELECT count(*) FROM ledger_read.backers")[0].as<int64_t>(), 3);
  // Every funding has its row, the deleted post's refunded ones included.
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM ledger_read.fundings WHERE state = 'refunded'")[0]
                .as<int64_t>(),
            2);
}

// PostgreSQL stopped and restarted mid-stream: the projector keeps retrying,
// then catches up with nothing lost or doubled.
TEST_F(ProjectorTest, CatchesUpAfterPostgresRestarts) {
  ledger::testing::TempDir dir;
  chmod(dir.path().c_str(), 0711);
  EmbeddedPostgresOptions pg_options;
  pg_options.data_dir = dir.Sub("pg");
  pg_options.durable = false;
  pg_options.port = 5433;
  auto server = EmbeddedPostgres::Start(pg_options);
  ASSERT_OK(server);
  ProjectorOptions options = Options(20);
  options.conninfo = (*server)->ConnectionString("postgres");
  Projector projector(log_.get(), options);
  projector.Start();
  Accept(Create("alice"));
  for (int i = 0; i < 100; ++i) Accept(Fund(1, "bob"));
  for (int i = 0; i < 500 && projector.position() != log_->Head().position; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_OK((*server)->Stop());
  // Writes go on while the database is down: the log is the truth.
  for (int i = 0; i < 100; ++i) Accept(Fund(1, "carol"));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(projector.last_error().ok());
  EXPECT_TRUE(projector.failure().ok());
  server = EmbeddedPostgres::Start(pg_options);
  ASSERT_OK(server);
  for (int i = 0; i < 1000 && projector.position() != log_->Head().position; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  projector.Stop();
  EXPECT_EQ(projector.position(), log_->Head().position);
  pqxx::connection c((*server)->ConnectionString("postgres"));
  pqxx::work tx(c);
  const pqxx::row row = tx.exec1(
      "SELECT total_funded, funding_count, participant_count FROM ledger_read.post_view "
      "WHERE id = 1");
  EXPECT_EQ(row[0].as<int64_t>(), 200 * 1000);
  EXPECT_EQ(row[1].as<int64_t>(), 200);
  EXPECT_EQ(row[2].as<int64_t>(), 2);
}

}  // namespace
}  // namespace ledger::projections
