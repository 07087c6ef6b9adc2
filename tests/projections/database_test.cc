#include "projections/database.h"

#include <string>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "pg_fixture.h"

namespace ledger::projections {
namespace {

using testing::PgTest;

class PreparedTest : public PgTest {
 protected:
  // Statements the connection's session has prepared on the server.
  static int ServerStatements(pqxx::transaction_base& tx, const std::string& name) {
    return tx.exec_params1("SELECT count(*) FROM pg_prepared_statements WHERE name = $1", name)[0]
        .as<int>();
  }
};

TEST_F(PreparedTest, OneNamePerTextPreparedOnTheServerAtItsFirstRun) {
  PgConnection connection(conninfo());
  pqxx::nontransaction tx(connection);
  const std::string plus_one = Prepared(tx, "SELECT $1::bigint + 1");
  EXPECT_EQ(Prepared(tx, "SELECT $1::bigint + 1"), plus_one);
  const std::string plus_two = Prepared(tx, "SELECT $1::bigint + 2");
  EXPECT_NE(plus_two, plus_one);
  // Only declared so far: nothing is on the server.
  EXPECT_EQ(ServerStatements(tx, plus_one), 0);
  // Past the executions after which the server may switch to a generic plan.
  for (int64_t i = 0; i < 12; ++i) {
    EXPECT_EQ(tx.exec_prepared1(Prepared(tx, "SELECT $1::bigint + 1"), i)[0].as<int64_t>(), i + 1);
  }
  EXPECT_EQ(ServerStatements(tx, plus_one), 1);
  EXPECT_EQ(ServerStatements(tx, plus_two), 0);
  EXPECT_EQ(tx.exec_prepared1(plus_two, 40)[0].as<int64_t>(), 42);
}

TEST_F(PreparedTest, EachConnectionPreparesItsOwn) {
  PgConnection first(conninfo());
  PgConnection second(conninfo());
  pqxx::nontransaction a(first);
  pqxx::nontransaction b(second);
  const std::string sql = "SELECT $1::text || '!'";
  EXPECT_EQ(a.exec_prepared1(Prepared(a, sql), "a")[0].as<std::string>(), "a!");
  EXPECT_EQ(ServerStatements(b, Prepared(b, sql)), 0);
  EXPECT_EQ(b.exec_prepared1(Prepared(b, sql), "b")[0].as<std::string>(), "b!");
}

}  // namespace
}  // namespace ledger::projections
