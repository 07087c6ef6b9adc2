// The sequencer lease of the PostgreSQL log: which of several nodes on one
// log may append, how another takes over when the holder's session ends (a
// crash, a pause longer than the lease), and why a deposed holder can never
// write again.

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "events/event_log.h"
#include "projections/pg_event_log.h"
#include "projections/pg_fixture.h"
#include "projections/pg_log_support.h"
#include "support/status_matchers.h"

namespace ledger::projections {
namespace {

using events::LogHead;
using testing::FundingsOf;
using testing::LogConninfo;
using namespace std::chrono_literals;

class PgLogLeaseTest : public testing::PgTest {
 protected:
  std::unique_ptr<PgEventLog> OpenNode(const std::string& id,
                                       std::chrono::milliseconds lease = 5'000ms,
                                       std::chrono::milliseconds commit_timeout = 10'000ms) {
    PgLogOptions options;
    options.lease.node_id = id;
    options.lease.node_url = "http://" + id + ".test";
    options.lease.timeout = lease;
    options.commit_timeout = commit_timeout;
    auto log = PgEventLog::Open(LogConninfo(conninfo()), options);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return log.ok() ? std::move(log).value() : nullptr;
  }

  // Ends the sessions of other clients of the test database that run as
  // `application` ('' = every other one), as a crash or failover would.
  void EndSessions() {
    pqxx::nontransaction(db()).exec(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()");
  }

  // The stored head, read by the test's own session.
  int64_t StoredPosition() {
    return pqxx::nontransaction(db())
        .exec1("SELECT position FROM ledger_log.head")[0]
        .as<int64_t>();
  }

  // Nodes a and b with leases of `lease`, a holding it.
  void OpenPairALeading(std::chrono::milliseconds lease) {
    a_ = OpenNode("a", lease);
    b_ = OpenNode("b", lease);
    ASSERT_NE(a_, nullptr);
    ASSERT_NE(b_, nullptr);
    ASSERT_TRUE(AcquireWithin(*a_, 1s));
  }

  // Tries AcquireLease until it is taken or `limit` passes.
  static bool AcquireWithin(PgEventLog& log, std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      const Result<bool> taken = log.AcquireLease();
      if (taken.ok() && *taken) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  std::unique_ptr<PgEventLog> a_, b_;
};

TEST_F(PgLogLeaseTest, OnlyTheHolderAppendsAndTheRowNamesIt) {
  auto a = OpenNode("a");
  auto b = OpenNode("b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(a->lease_epoch(), 0);
  LogHead head;
  // Nobody holds it yet: nobody writes.
  EXPECT_EQ(a->Append(FundingsOf(head, 1, 1, 1), {}).code(), Status::Code::kUnavailable);
  EXPECT_EQ(StoredPosition(), 0);

  head = LogHead{};
  const auto a_took = a->AcquireLease();
  ASSERT_OK(a_took);
  EXPECT_TRUE(*a_took);
  EXPECT_EQ(a->lease_epoch(), 1);
  const auto b_took = b->AcquireLease();
  ASSERT_OK(b_took);
  EXPECT_FALSE(*b_took);
  EXPECT_EQ(b->lease_epoch(), 0);

  ASSERT_OK(a->Append(FundingsOf(head, 1, 1, 3), {}));
  LogHead from_b;
  const Status refused = b->Append(FundingsOf(from_b, 2, 1, 1), {});
  EXPECT_EQ(refused.code(), Status::Code::kUnavailable) << refused.ToString();
  EXPECT_NE(refused.message().find("does not hold the sequencer lease"), std::string::npos)
      << refused.ToString();
  EXPECT_EQ(StoredPosition(), 3);

  const auto info = b->ReadLease();
  ASSERT_OK(info);
  EXPECT_EQ(info->epoch, 1);
  EXPECT_EQ(info->node_id, "a");
  EXPECT_EQ(info->node_url, "http://a.test");
}

TEST_F(PgLogLeaseTest, AnotherNodeTakesOverWhenTheHoldersSessionEndsAndTheOldOneWritesNothing) {
  OpenPairALeading(5'000ms);
  PgEventLog* a = a_.get();
  PgEventLog* b = b_.get();
  LogHead head;
  ASSERT_OK(a->Append(FundingsOf(head, 1, 1, 2), {}));

  EndSessions();  // a's lock goes with its session
  ASSERT_TRUE(AcquireWithin(*b, 5s));
  EXPECT_EQ(b->lease_epoch(), 2);
  // b took up the head a left.
  EXPECT_EQ(b->Head(), head);
  LogHead b_head = head;
  ASSERT_OK(b->Append(FundingsOf(b_head, 1, 3, 1), {}));

  // a still believes it holds the lease at the old head.
  LogHead stale = head;
  const Status refused = a->Append(FundingsOf(stale, 9, 1, 2), {});
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(a->lease_epoch(), 0);
  EXPECT_EQ(a->WriteHealth().code(), Status::Code::kUnavailable);
  EXPECT_EQ(StoredPosition(), 3);
  EXPECT_EQ(a->KeepLease().code(), Status::Code::kUnavailable);
  const auto a_again = a->AcquireLease();
  ASSERT_OK(a_again);
  EXPECT_FALSE(*a_again);
  // b goes on.
  ASSERT_OK(b->Append(FundingsOf(b_head, 1, 4, 1), {}));
  EXPECT_EQ(StoredPosition(), 4);
}

TEST_F(PgLogLeaseTest, AHolderSilentPastTheLeaseLosesItEvenWhenTheHeadDidNotMove) {
  // The zombie: a holder paused (SIGSTOP) longer than its lease wakes with a
  // head nobody moved; only its lost session keeps it from writing.
  OpenPairALeading(1'000ms);
  PgEventLog* a = a_.get();
  PgEventLog* b = b_.get();
  LogHead head;
  ASSERT_OK(a->Append(FundingsOf(head, 1, 1, 1), {}));
  // a says nothing; the server ends its session after the lease.
  ASSERT_TRUE(AcquireWithin(*b, 5s));
  EXPECT_EQ(b->lease_epoch(), 2);

  LogHead zombie = head;
  const Status refused = a->Append(FundingsOf(zombie, 1, 2, 1), {});
  EXPECT_EQ(refused.code(), Status::Code::kUnavailable) << refused.ToString();
  EXPECT_EQ(a->lease_epoch(), 0);
  EXPECT_EQ(StoredPosition(), 1);
  LogHead b_head = head;
  ASSERT_OK(b->Append(FundingsOf(b_head, 1, 2, 1), {}));
}

TEST_F(PgLogLeaseTest, AnAppendUnderAnEpochRaisedBehindItsBackIsRefused) {
  auto a = OpenNode("a");
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(AcquireWithin(*a, 1s));
  LogHead head;
  ASSERT_OK(a->Append(FundingsOf(head, 1, 1, 1), {}));
  // The epoch fence alone (the session and the head are as a left them).
  pqxx::nontransaction(db()).exec("UPDATE ledger_log.lease SET epoch = epoch + 1");
  LogHead next = head;
  const Status refused = a->Append(FundingsOf(next, 1, 2, 1), {});
  EXPECT_EQ(refused.code(), Status::Code::kFailedPrecondition) << refused.ToString();
  EXPECT_NE(refused.message().find("epoch 1"), std::string::npos) << refused.ToString();
  EXPECT_EQ(a->lease_epoch(), 0);
  EXPECT_EQ(StoredPosition(), 1);
  // Taking it again reads the head afresh and appends on.
  ASSERT_TRUE(AcquireWithin(*a, 1s));
  EXPECT_EQ(a->lease_epoch(), 3);
  next = head;
  ASSERT_OK(a->Append(FundingsOf(next, 1, 2, 1), {}));
}

TEST_F(PgLogLeaseTest, KeepLeaseHoldsAQuietLeaseAndReleaseHandsItOver) {
  OpenPairALeading(1'000ms);
  PgEventLog* a = a_.get();
  PgEventLog* b = b_.get();
  for (int i = 0; i < 15; ++i) {  // three lease lengths
    ASSERT_OK(a->KeepLease());
    std::this_thread::sleep_for(200ms);
  }
  const auto b_took = b->AcquireLease();
  ASSERT_OK(b_took);
  EXPECT_FALSE(*b_took);
  LogHead head;
  ASSERT_OK(a->Append(FundingsOf(head, 1, 1, 1), {}));

  a->ReleaseLease();
  EXPECT_EQ(a->lease_epoch(), 0);
  ASSERT_TRUE(AcquireWithin(*b, 1s));
  EXPECT_EQ(b->Head(), head);
}

TEST_F(PgLogLeaseTest, AnAppendPastItsDeadlineIsCutOffAndSettledAsNotWritten) {
  auto a = OpenNode("a", 5'000ms, 500ms);
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(AcquireWithin(*a, 1s));
  LogHead head;
  ASSERT_OK(a->Append(FundingsOf(head, 1, 1, 1), {}));
  // The head row is held, as by a commit waiting for a standby that is gone.
  pqxx::work blocker(db());
  blocker.exec("SELECT 1 FROM ledger_log.head FOR UPDATE");
  LogHead next = head;
  const auto events = FundingsOf(next, 1, 2, 2);
  const auto started = std::chrono::steady_clock::now();
  const Status cut = a->Append(events, {});
  const auto waited = std::chrono::steady_clock::now() - started;
  blocker.abort();
  EXPECT_EQ(cut.code(), Status::Code::kUnavailable) << cut.ToString();
  EXPECT_NE(cut.message().find("nothing was written"), std::string::npos) << cut.ToString();
  EXPECT_LT(waited, 5s);  // the deadline, not the lock, ended it
  EXPECT_EQ(a->lease_epoch(), 0);
  EXPECT_EQ(StoredPosition(), 1);
  // The server may take a moment to end the cut-off session and free the lock.
  ASSERT_TRUE(AcquireWithin(*a, 5s));
  ASSERT_OK(a->Append(events, {}));
  EXPECT_EQ(StoredPosition(), 3);
}

TEST_F(PgLogLeaseTest, TakesTheLeaseOnlyOnThePrimaryAtTheTimelineItWasNamed) {
  auto a = OpenNode("a");
  ASSERT_NE(a, nullptr);
  // The test server has never been promoted: timeline 1.
  const auto elsewhere = a->AcquireLease(LeaseServer{2, 0});
  EXPECT_EQ(elsewhere.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(elsewhere.status().message().find("timeline 1"), std::string::npos)
      << elsewhere.status().ToString();
  EXPECT_EQ(a->lease_epoch(), 0);
  const auto read = a->ReadLease();
  ASSERT_OK(read);
  EXPECT_EQ(read->epoch, 0);  // nothing was taken
  const auto here = a->AcquireLease(LeaseServer{1, 0});
  ASSERT_OK(here);
  EXPECT_TRUE(*here);
}

TEST_F(PgLogLeaseTest, ReportsNoStandbysOnAServerWithoutReplicas) {
  auto a = OpenNode("a");
  ASSERT_NE(a, nullptr);
  const auto replication = a->ReadReplication();
  ASSERT_OK(replication);
  EXPECT_EQ(replication->sync_standbys, 0);
  EXPECT_EQ(replication->max_lag_bytes, -1);
}

TEST_F(PgLogLeaseTest, RefusesALeaseShorterThanOneSecond) {
  PgLogOptions options;
  options.lease.node_id = "a";
  options.lease.timeout = 500ms;
  const auto opened = PgEventLog::Open(LogConninfo(conninfo()), options);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace ledger::projections
