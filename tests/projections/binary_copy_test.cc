#include "projections/binary_copy.h"

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "common/time_format.h"
#include "pg_fixture.h"

namespace ledger::projections {
namespace {

using std::chrono::microseconds;

class BinaryCopyTest : public testing::PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    pqxx::work tx(db());
    tx.exec0(
        "CREATE TABLE t (n bigint, s text COLLATE \"C\", at timestamptz, maybe bigint, "
        "small integer)");
    tx.commit();
  }

  int64_t Rows() {
    pqxx::work tx(db());
    return tx.exec1("SELECT count(*) FROM t")[0].as<int64_t>();
  }
};

Timestamp At(int64_t unix_micros) { return Timestamp(microseconds(unix_micros)); }

TEST_F(BinaryCopyTest, WritesEveryTypeAsTheTextFormatWould) {
  struct Row {
    int64_t n;
    std::string s;
    Timestamp at;
    std::optional<int64_t> maybe;
  };
  const Row rows[] = {
      {std::numeric_limits<int64_t>::min(), "", At(0), std::nullopt},
      {std::numeric_limits<int64_t>::max(), "한국어 후원자", At(1'733'000'000'123'456), 7},
      {0, "tab\tand\nnewline\\", At(946'684'800'000'000), -1},  // PostgreSQL's own epoch
      {-42, "x", At(-1), 0},                                    // a microsecond before 1970
  };
  {
    pqxx::work tx(db());
    BinaryCopy out{tx, "t", {"n", "s", "at", "maybe"}};
    for (const Row& r : rows) {
      out.Row(4);
      out.Int8(r.n);
      out.Text(r.s);
      out.TimestampTz(r.at);
      if (r.maybe) {
        out.Int8(*r.maybe);
      } else {
        out.Null();
      }
    }
    out.Complete();
    tx.commit();
  }
  pqxx::work tx(db());
  const pqxx::result got = tx.exec(
      "SELECT n, s, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), maybe "
      "FROM t ORDER BY n");
  ASSERT_EQ(got.size(), 4U);
  const int order[] = {0, 3, 2, 1};  // by n
  for (size_t i = 0; i < got.size(); ++i) {
    const Row& want = rows[order[i]];
    SCOPED_TRACE(want.s);
    EXPECT_EQ(got[i][0].as<int64_t>(), want.n);
    EXPECT_EQ(got[i][1].as<std::string>(), want.s);
    EXPECT_EQ(got[i][2].as<std::string>(), FormatTimestamp(want.at));
    EXPECT_EQ(got[i][3].is_null(), !want.maybe.has_value());
    if (want.maybe) {
      EXPECT_EQ(got[i][3].as<int64_t>(), *want.maybe);
    }
  }
}

TEST_F(BinaryCopyTest, StreamsRowsPastItsBuffer) {
  constexpr int64_t kRows = 100'000;  // about 2.5 MiB: ten buffers and more
  {
    pqxx::work tx(db());
    BinaryCopy out{tx, "t", {"n", "s"}};
    for (int64_t i = 1; i <= kRows; ++i) {
      out.Row(2);
      out.Int8(i);
      out.Text("backer-" + std::to_string(i));
    }
    out.Complete();
    tx.commit();
  }
  pqxx::work tx(db());
  const pqxx::row sums =
      tx.exec1("SELECT count(*), sum(n), sum(length(s)) FROM t WHERE s = 'backer-' || n");
  EXPECT_EQ(sums[0].as<int64_t>(), kRows);
  EXPECT_EQ(sums[1].as<int64_t>(), kRows * (kRows + 1) / 2);
}

TEST_F(BinaryCopyTest, AValueOfTheWrongWidthFailsTheCopyAndLoadsNothing) {
  pqxx::work tx(db());
  BinaryCopy out{tx, "t", {"n", "small"}};
  out.Row(2);
  out.Int8(1);
  out.Int8(2);  // `small` is an integer: four bytes, not eight
  try {
    out.Complete();
    FAIL() << "the server took eight bytes for an integer";
  } catch (const pqxx::sql_error& e) {
    EXPECT_EQ(e.sqlstate(), "22P03") << e.what();  // invalid_binary_representation
  }
  EXPECT_THROW(tx.exec0("SELECT 1"), pqxx::sql_error);  // the transaction is aborted
  tx.abort();
  EXPECT_EQ(Rows(), 0);
}

TEST_F(BinaryCopyTest, ACopyAbandonedBeforeCompleteAbortsItsTransaction) {
  pqxx::work tx(db());
  {
    BinaryCopy out{tx, "t", {"n"}};
    out.Row(1);
    out.Int8(1);
  }  // as when an exception leaves the scope
  try {
    tx.exec0("SELECT 1");
    FAIL() << "the transaction went on after an abandoned COPY";
  } catch (const pqxx::sql_error& e) {
    EXPECT_EQ(e.sqlstate(), "25P02") << e.what();  // in_failed_sql_transaction
  }
  tx.abort();
  EXPECT_EQ(Rows(), 0);
  // The connection itself is fine.
  pqxx::work again(db());
  EXPECT_EQ(again.exec1("SELECT 1")[0].as<int>(), 1);
}

// The reading side, against the server's own binary output functions.
TEST_F(BinaryCopyTest, ReadsEveryTypeAsTheServerHoldsIt) {
  {
    pqxx::work tx(db());
    tx.exec0(
        "INSERT INTO t VALUES "
        "(-9223372036854775808, '', '1970-01-01T00:00:00Z', NULL, 1), "
        "(9223372036854775807, '한국어 후원자', '2024-11-30T20:53:20.123456Z', 7, 2), "
        "(0, E'tab\\tand\\nnewline\\\\', '2000-01-01T00:00:00Z', -1, 3), "
        "(-42, NULL, '1969-12-31T23:59:59.999999Z', 0, NULL)");
    tx.commit();
  }
  pqxx::work tx(db());
  BinaryCopyOut in{tx, "SELECT n, s, at, maybe, small FROM t ORDER BY n"};
  struct Row {
    int64_t n;
    std::optional<std::string> s;
    Timestamp at;
    std::optional<int64_t> maybe;
  };
  const Row want[] = {
      {std::numeric_limits<int64_t>::min(), "", At(0), std::nullopt},
      {-42, std::nullopt, At(-1), 0},
      {0, "tab\tand\nnewline\\", At(946'684'800'000'000), -1},
      {std::numeric_limits<int64_t>::max(), "한국어 후원자", At(1'733'000'000'123'456), 7},
  };
  for (const Row& w : want) {
    SCOPED_TRACE(w.n);
    ASSERT_TRUE(in.Next());
    ASSERT_EQ(in.size(), 5U);
    EXPECT_EQ(in.Int8(0), w.n);
    EXPECT_EQ(in.IsNull(1), !w.s.has_value());
    if (w.s) {
      EXPECT_EQ(in.Bytes(1), *w.s);
    }
    EXPECT_EQ(in.TimestampTz(2), w.at);
    EXPECT_EQ(in.Int8(3), w.maybe);
    EXPECT_EQ(in.IsNull(3), !w.maybe.has_value());
    // An integer is four bytes: not a bigint, whatever its value.
    EXPECT_EQ(in.Int8(4), std::nullopt);
  }
  EXPECT_FALSE(in.Next());
  EXPECT_FALSE(in.Next());  // and stays at the end
  // The connection left the COPY: the transaction goes on.
  EXPECT_EQ(tx.exec1("SELECT 1")[0].as<int>(), 1);
}

TEST_F(BinaryCopyTest, ReadsInfiniteTimestampsAsNoInstant) {
  pqxx::work tx(db());
  BinaryCopyOut in{tx,
                   "SELECT 'infinity'::timestamptz, '-infinity'::timestamptz, NULL::timestamptz"};
  ASSERT_TRUE(in.Next());
  EXPECT_EQ(in.TimestampTz(0), std::nullopt);
  EXPECT_EQ(in.Int8(0), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(in.TimestampTz(1), std::nullopt);
  EXPECT_EQ(in.Int8(1), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(in.TimestampTz(2), std::nullopt);
  EXPECT_TRUE(in.IsNull(2));
  EXPECT_FALSE(in.Next());
}

TEST_F(BinaryCopyTest, ReadsNoRowsAndManyRows) {
  {
    pqxx::work tx(db());
    BinaryCopyOut none{tx, "SELECT n FROM t"};
    EXPECT_FALSE(none.Next());
  }
  pqxx::work tx(db());
  constexpr int64_t kRows = 100'000;  // many messages, each a row
  BinaryCopyOut in{tx, "SELECT n::bigint, 'backer-' || n FROM generate_series(1, " +
                           std::to_string(kRows) + ") AS n"};
  int64_t rows = 0;
  int64_t sum = 0;
  while (in.Next()) {
    ++rows;
    const int64_t n = in.Int8(0).value();
    sum += n;
    ASSERT_EQ(in.Bytes(1), "backer-" + std::to_string(n));
  }
  EXPECT_EQ(rows, kRows);
  EXPECT_EQ(sum, kRows * (kRows + 1) / 2);
}

TEST_F(BinaryCopyTest, AQueryThatFailsOnTheWayThrowsTheServersError) {
  pqxx::work tx(db());
  // Rows 1-4 go out before the division by zero at 5.
  BinaryCopyOut in{tx, "SELECT 1 / (5 - n) FROM generate_series(1, 10) AS n"};
  try {
    while (in.Next()) {
    }
    FAIL() << "the COPY ended without the server's error";
  } catch (const pqxx::sql_error& e) {
    EXPECT_EQ(e.sqlstate(), "22012") << e.what();  // division_by_zero
  }
}

TEST_F(BinaryCopyTest, ACopyAbandonedBeforeItsEndAbortsItsTransaction) {
  pqxx::work tx(db());
  {
    BinaryCopyOut in{tx, "SELECT n FROM generate_series(1, 1000000) AS n"};
    ASSERT_TRUE(in.Next());
  }  // as when an exception leaves the scope
  EXPECT_THROW(tx.exec0("SELECT 1"), pqxx::sql_error);
  tx.abort();
  // The connection itself is fine.
  pqxx::work again(db());
  EXPECT_EQ(again.exec1("SELECT 1")[0].as<int>(), 1);
}

}  // namespace
}  // namespace ledger::projections
