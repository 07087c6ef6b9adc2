#include "projections/connection_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "pg_fixture.h"
#include "projections/database.h"  // PgConnection
#include "support/status_matchers.h"

namespace ledger::projections {
namespace {

using std::chrono::milliseconds;
using testing::PgTest;
using testing::SharedServer;

// Polls `done` for up to 10 s; returns whether it became true.
template <typename Predicate>
bool Eventually(Predicate done) {
  for (int i = 0; i < 1000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return done();
}

class ConnectionPoolTest : public PgTest {
 protected:
  ConnectionPoolOptions Options(size_t max_connections) const {
    return ConnectionPoolOptions{.conninfo = conninfo(), .max_connections = max_connections};
  }

  // Sessions the server has open on this test's database, except db()'s.
  int ServerSessions() {
    pqxx::work tx(db());
    return tx
        .exec1(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()")[0]
        .as<int>();
  }
};

TEST(WithConnectTimeoutTest, AddsTheTimeoutInTheConninfosOwnSyntax) {
  const std::chrono::seconds five(5);
  EXPECT_EQ(WithConnectTimeout("", five), "connect_timeout=5");
  EXPECT_EQ(WithConnectTimeout("host=/run/pg dbname=x", five),
            "host=/run/pg dbname=x connect_timeout=5");
  EXPECT_EQ(WithConnectTimeout("postgresql://h/db", five), "postgresql://h/db?connect_timeout=5");
  EXPECT_EQ(WithConnectTimeout("postgres://h/db?sslmode=disable", five),
            "postgres://h/db?sslmode=disable&connect_timeout=5");
  // The caller's own setting wins.
  EXPECT_EQ(WithConnectTimeout("host=h connect_timeout=30", five), "host=h connect_timeout=30");
  EXPECT_EQ(WithConnectTimeout("postgresql://h/db?connect_timeout=30", five),
            "postgresql://h/db?connect_timeout=30");
}

TEST(WithApplicationNameTest, NamesTheConnectionsUnlessTheConninfoDoes) {
  EXPECT_EQ(WithApplicationName("host=/run/pg", "funding-ledger-reads"),
            "host=/run/pg application_name=funding-ledger-reads");
  EXPECT_EQ(WithApplicationName("postgresql://h/db?sslmode=disable", "funding-ledger-reads"),
            "postgresql://h/db?sslmode=disable&application_name=funding-ledger-reads");
  EXPECT_EQ(WithApplicationName("host=h application_name=mine", "funding-ledger-reads"),
            "host=h application_name=mine");
}

TEST_F(ConnectionPoolTest, NamedConnectionsShowTheirNameInPgStatActivity) {
  ConnectionPool pool({.conninfo = WithApplicationName(conninfo(), "funding-ledger-reads")});
  auto lease = pool.Acquire();
  ASSERT_OK(lease);
  pqxx::nontransaction tx(lease->connection());
  EXPECT_EQ(tx.exec1("SELECT current_setting('application_name')")[0].as<std::string>(),
            "funding-ledger-reads");
}

TEST_F(ConnectionPoolTest, OpensConnectionsLazily) {
  ConnectionPool pool(Options(3));
  EXPECT_EQ(pool.open(), 0u);
  EXPECT_EQ(ServerSessions(), 0);
  auto lease = pool.Acquire();
  ASSERT_OK(lease);
  EXPECT_TRUE(lease->fresh());
  EXPECT_EQ(pool.open(), 1u);
  EXPECT_EQ(pool.in_use(), 1u);
  EXPECT_EQ(ServerSessions(), 1);
  pqxx::work tx(lease->connection());
  EXPECT_EQ(tx.exec1("SELECT 1")[0].as<int>(), 1);
}

TEST_F(ConnectionPoolTest, NeverOpensMoreThanMaxConnections) {
  constexpr size_t kMax = 3;
  ConnectionPool pool(Options(kMax));
  std::vector<ConnectionPool::Lease> held;
  for (size_t i = 0; i < kMax; ++i) {
    auto lease = pool.Acquire();
    ASSERT_OK(lease);
    held.push_back(std::move(lease).value());
  }
  EXPECT_EQ(pool.in_use(), kMax);
  EXPECT_EQ(pool.open(), kMax);

  const auto start = std::chrono::steady_clock::now();
  auto extra = pool.Acquire(milliseconds(100));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(extra.ok());
  EXPECT_EQ(extra.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(extra.status().message(), "no PostgreSQL connection free within 100 ms (all 3 in use)");
  EXPECT_GE(elapsed, milliseconds(100));
  EXPECT_EQ(pool.waiting(), 0u);
  EXPECT_EQ(pool.in_use(), kMax);
  EXPECT_EQ(ServerSessions(), static_cast<int>(kMax));

  // A zero wait does not block at all.
  auto now_or_never = pool.Acquire(milliseconds(0));
  ASSERT_FALSE(now_or_never.ok());
  EXPECT_EQ(now_or_never.status().code(), Status::Code::kUnavailable);

  held.pop_back();
  EXPECT_EQ(pool.in_use(), kMax - 1);
  auto after_release = pool.Acquire(milliseconds(0));
  ASSERT_OK(after_release);
  EXPECT_FALSE(after_release->fresh());
}

TEST_F(ConnectionPoolTest, ReusesAReturnedConnection) {
  ConnectionPool pool(Options(2));
  int pid = 0;
  {
    auto lease = pool.Acquire();
    ASSERT_OK(lease);
    pid = lease->connection().backendpid();
  }
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_EQ(pool.open(), 1u);
  for (int i = 0; i < 5; ++i) {
    auto lease = pool.Acquire();
    ASSERT_OK(lease);
    EXPECT_FALSE(lease->fresh());
    EXPECT_EQ(lease->connection().backendpid(), pid);
  }
  EXPECT_EQ(pool.open(), 1u);
  EXPECT_EQ(ServerSessions(), 1);
}

TEST_F(ConnectionPoolTest, AWaiterGetsTheNextReturnedConnection) {
  ConnectionPool pool(Options(1));
  auto held = std::make_optional(pool.Acquire());
  ASSERT_OK(*held);
  const int pid = (*held)->connection().backendpid();

  std::optional<int> waiter_pid;
  Status waiter_status;
  std::thread waiter([&] {
    auto lease = pool.Acquire(milliseconds(10'000));
    waiter_status = lease.status();
    if (lease.ok()) waiter_pid = lease->connection().backendpid();
  });
  ASSERT_TRUE(Eventually([&] { return pool.waiting() == 1; }));
  EXPECT_EQ(pool.in_use(), 1u);
  held.reset();  // returns the connection
  waiter.join();
  ASSERT_OK(waiter_status);
  EXPECT_EQ(waiter_pid, pid);
  EXPECT_EQ(pool.waiting(), 0u);
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_EQ(pool.open(), 1u);
}

TEST_F(ConnectionPoolTest, ClosesADiscardedConnection) {
  ConnectionPool pool(Options(2));
  int pid = 0;
  {
    auto lease = pool.Acquire();
    ASSERT_OK(lease);
    pid = lease->connection().backendpid();
    lease->Discard();
  }
  EXPECT_EQ(pool.open(), 0u);
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_TRUE(Eventually([&] { return ServerSessions() == 0; }));
  auto next = pool.Acquire();
  ASSERT_OK(next);
  EXPECT_TRUE(next->fresh());
  EXPECT_NE(next->connection().backendpid(), pid);
}

TEST_F(ConnectionPoolTest, DropsAConnectionThatIsNoLongerOpen) {
  ConnectionPool pool(Options(1));
  {
    auto lease = pool.Acquire();
    ASSERT_OK(lease);
    lease->connection().disconnect();
  }
  EXPECT_EQ(pool.open(), 0u);
  auto next = pool.Acquire();
  ASSERT_OK(next);
  EXPECT_TRUE(next->fresh());
  EXPECT_TRUE(next->connection().is_open());
}

TEST_F(ConnectionPoolTest, ClosesIdleConnectionsOnRequest) {
  ConnectionPool pool(Options(3));
  auto kept = pool.Acquire();
  ASSERT_OK(kept);
  {
    auto a = pool.Acquire();
    auto b = pool.Acquire();
    ASSERT_OK(a);
    ASSERT_OK(b);
  }
  EXPECT_EQ(pool.open(), 3u);
  pool.CloseIdle();
  // The leased connection stays; the idle two are closed.
  EXPECT_EQ(pool.open(), 1u);
  EXPECT_EQ(pool.in_use(), 1u);
  EXPECT_TRUE(Eventually([&] { return ServerSessions() == 1; }));
  auto next = pool.Acquire();
  ASSERT_OK(next);
  EXPECT_TRUE(next->fresh());
}

TEST_F(ConnectionPoolTest, AnUnreachableDatabaseIsUnavailable) {
  for (const std::string conninfo :
       {"host=/nonexistent dbname=x", "postgresql:///x?host=/nonexistent", "port=1 host=/tmp"}) {
    ConnectionPool pool(ConnectionPoolOptions{.conninfo = conninfo, .max_connections = 2});
    for (int attempt = 0; attempt < 3; ++attempt) {
      auto lease = pool.Acquire(milliseconds(100));
      ASSERT_FALSE(lease.ok()) << conninfo;
      EXPECT_EQ(lease.status().code(), Status::Code::kUnavailable);
      EXPECT_NE(lease.status().message().find("cannot connect to PostgreSQL"), std::string::npos)
          << lease.status().ToString();
      // The failed attempt gives its slot back.
      EXPECT_EQ(pool.open(), 0u);
      EXPECT_EQ(pool.in_use(), 0u);
    }
  }
}

TEST_F(ConnectionPoolTest, AMissingDatabaseIsUnavailable) {
  ConnectionPool pool(ConnectionPoolOptions{
      .conninfo = SharedServer().ConnectionString("no_such_database"), .max_connections = 1});
  auto lease = pool.Acquire();
  ASSERT_FALSE(lease.ok());
  EXPECT_EQ(lease.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(lease.status().message().find("no_such_database"), std::string::npos)
      << lease.status().ToString();
}

TEST_F(ConnectionPoolTest, SetsTheStatementTimeout) {
  {
    ConnectionPool pool(Options(1));
    auto lease = pool.Acquire();
    ASSERT_OK(lease);
    pqxx::work tx(lease->connection());
    EXPECT_EQ(tx.exec1("SHOW statement_timeout")[0].as<std::string>(), "10s");
  }
  {
    ConnectionPoolOptions options = Options(1);
    options.statement_timeout = milliseconds(250);
    ConnectionPool pool(options);
    auto lease = pool.Acquire();
    ASSERT_OK(lease);
    pqxx::work tx(lease->connection());
    EXPECT_EQ(tx.exec1("SHOW statement_timeout")[0].as<std::string>(), "250ms");
  }
  {
    ConnectionPoolOptions options = Options(1);
    options.statement_timeout = milliseconds(0);
    ConnectionPool pool(options);
    auto lease = pool.Acquire();
    ASSERT_OK(lease);
    pqxx::work tx(lease->connection());
    EXPECT_EQ(tx.exec1("SHOW statement_timeout")[0].as<std::string>(), "0");
  }
}

TEST_F(ConnectionPoolTest, AReadOnlyPoolRefusesWritesAndParallelQuery) {
  {
    ConnectionPool pool(Options(1));
    auto lease = pool.Acquire();
    ASSERT_OK(lease);
    pqxx::nontransaction tx(lease->connection());
    EXPECT_EQ(tx.exec1("SHOW default_transaction_read_only")[0].as<std::string>(), "off");
  }
  ConnectionPoolOptions options = Options(1);
  options.read_only = true;
  ConnectionPool pool(options);
  auto lease = pool.Acquire();
  ASSERT_OK(lease);
  pqxx::nontransaction tx(lease->connection());
  EXPECT_EQ(tx.exec1("SHOW default_transaction_read_only")[0].as<std::string>(), "on");
  EXPECT_EQ(tx.exec1("SHOW max_parallel_workers_per_gather")[0].as<std::string>(), "0");
  try {
    tx.exec("CREATE TEMPORARY TABLE pool_read_only_probe (x int)");
    ADD_FAILURE() << "a read-only session created a table";
  } catch (const pqxx::sql_error& e) {
    EXPECT_EQ(e.sqlstate(), "25006") << e.what();  // read_only_sql_transaction
  }
}

TEST_F(ConnectionPoolTest, MovingALeaseMovesTheConnection) {
  ConnectionPool pool(Options(2));
  auto first = pool.Acquire();
  ASSERT_OK(first);
  ConnectionPool::Lease moved = std::move(first).value();
  EXPECT_EQ(pool.in_use(), 1u);
  auto second = pool.Acquire();
  ASSERT_OK(second);
  EXPECT_EQ(pool.in_use(), 2u);
  moved = std::move(second).value();  // returns the first connection
  EXPECT_EQ(pool.in_use(), 1u);
  EXPECT_EQ(pool.open(), 2u);
}

TEST_F(ConnectionPoolTest, ManyThreadsShareAFewConnections) {
  constexpr size_t kMax = 3;
  constexpr int kThreads = 8;
  constexpr int kRoundsPerThread = 40;
  ConnectionPool pool(Options(kMax));
  std::atomic<int> holding{0};
  std::atomic<int> most_holding{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int round = 0; round < kRoundsPerThread; ++round) {
        auto lease = pool.Acquire(milliseconds(30'000));
        if (!lease.ok()) {
          ++failures;
          continue;
        }
        const int now_holding = ++holding;
        int seen = most_holding.load();
        while (now_holding > seen && !most_holding.compare_exchange_weak(seen, now_holding)) {
        }
        pqxx::work tx(lease->connection());
        if (tx.exec1("SELECT 1")[0].as<int>() != 1) ++failures;
        tx.commit();
        --holding;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(most_holding.load(), static_cast<int>(kMax));
  EXPECT_GE(most_holding.load(), 1);
  EXPECT_LE(pool.open(), kMax);
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_EQ(pool.waiting(), 0u);
  EXPECT_LE(ServerSessions(), static_cast<int>(kMax));
}

}  // namespace
}  // namespace ledger::projections
