#include <map>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "pg_fixture.h"
#include "projections/migrations.h"
#include "projections/read_schema.h"
#include "projections/read_table_writer.h"
#include "support/status_matchers.h"

namespace ledger::projections {
namespace {

// The statement that marks a refund's fundings, on the migrated tables: one
// backer, "heavy", funded post 1 twenty thousand times before post 2 was
// created at position 40 001, then post 2 twice (one cancelled) and post 1
// once more; "other" funded post 2 too. Twenty thousand other backers funded
// post 3 once each in between, so that the statistics see many backers, as
// a ledger's do.
class RefundStatementTest : public testing::PgTest {
 protected:
  static constexpr int64_t kPost2Created = 40'001;

  void SetUp() override {
    PgTest::SetUp();
    ASSERT_OK(ApplyMigrations(db(), kReadSchema));
    pqxx::work tx(db());
    const std::string insert =
        "INSERT INTO ledger_read.fundings (position, post_id, backer, units, amount, "
        "recorded_at, state) ";
    tx.exec0(insert +
             "SELECT g, 1, 'heavy', 1, 1000, now(), 'live' FROM generate_series(1, 20000) g");
    tx.exec0(insert +
             "SELECT 20000 + g, 3, 'b' || g, 1, 1000, now(), 'live' "
             "FROM generate_series(1, 20000) g");
    tx.exec0(insert +
             "VALUES (40002, 2, 'heavy', 1, 500, now(), 'live'), "
             "(40003, 2, 'heavy', 2, 1000, now(), 'cancelled'), "
             "(40004, 1, 'heavy', 1, 1000, now(), 'live'), "
             "(40005, 2, 'other', 1, 500, now(), 'live')");
    tx.commit();
    pqxx::nontransaction(db()).exec0("ANALYZE ledger_read.fundings");
  }

  // position -> state of the fundings after 40 000.
  std::map<int64_t, std::string> LateStates(pqxx::work& tx) {
    std::map<int64_t, std::string> out;
    for (const pqxx::row& r :
         tx.exec("SELECT position, state FROM ledger_read.fundings WHERE position > 40000")) {
      out[r[0].as<int64_t>()] = r[1].as<std::string>();
    }
    return out;
  }
};

TEST_F(RefundStatementTest, MarksTheBackersLiveFundingsOfThePostAlone) {
  pqxx::work tx(db());
  tx.exec_params0(RefundStatement(kReadSchema), "{2}", "{heavy}",
                  "{" + std::to_string(kPost2Created) + "}");
  EXPECT_EQ(LateStates(tx),
            (std::map<int64_t, std::string>{
                {40002, "refunded"}, {40003, "cancelled"}, {40004, "live"}, {40005, "live"}}));
  EXPECT_EQ(
      tx.exec1("SELECT count(*) FROM ledger_read.fundings WHERE state <> 'live'")[0].as<int64_t>(),
      2);
}

// Whatever the backer did before the post existed is not read: the index
// condition starts the walk at the post's creation, and the filter drops only
// the fundings made since.
TEST_F(RefundStatementTest, ReadsNoFundingMadeBeforeThePostWasCreated) {
  pqxx::work tx(db());
  tx.exec0("PREPARE refund AS " + RefundStatement(kReadSchema));
  tx.exec0("SET LOCAL plan_cache_mode = force_generic_plan");
  std::string plan;
  for (const pqxx::row& r :
       tx.exec("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) EXECUTE refund('{2}', "
               "'{heavy}', '{" +
               std::to_string(kPost2Created) + "}')")) {
    plan += r[0].as<std::string>() + "\n";
  }
  EXPECT_NE(plan.find("Index Scan using fundings_backer_position"), std::string::npos) << plan;
  EXPECT_NE(plan.find("Index Cond: ((backer = (v.backer)::text) AND (\"position\" > v.since))"),
            std::string::npos)
      << plan;
  // 40003 (cancelled) and 40004 (post 1): two rows read and left.
  EXPECT_NE(plan.find("Rows Removed by Filter: 2\n"), std::string::npos) << plan;
}

TEST_F(RefundStatementTest, FundingsKeepNoIndexForRefundsAlone) {
  pqxx::work tx(db());
  std::set<std::string> names;
  for (const pqxx::row& r :
       tx.exec("SELECT indexname FROM pg_indexes WHERE schemaname = 'ledger_read' AND "
               "tablename = 'fundings'")) {
    names.insert(r[0].as<std::string>());
  }
  EXPECT_EQ(names, (std::set<std::string>{"fundings_pkey", "fundings_backer_position"}));
}

}  // namespace
}  // namespace ledger::projections
