#include "projections/array_literal.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "pg_fixture.h"

namespace ledger::projections {
namespace {

using testing::PgTest;

TEST(ArrayLiteralTest, WritesTheTextForm) {
  ArrayLiteral empty;
  EXPECT_EQ(empty.Finish(), "{}");
  EXPECT_EQ(empty.size(), 0U);

  ArrayLiteral numbers;
  numbers.Add(int64_t{1});
  numbers.Add(int64_t{-2});
  numbers.AddNull();
  EXPECT_EQ(numbers.Finish(), "{1,-2,NULL}");
  EXPECT_EQ(numbers.size(), 3U);

  ArrayLiteral text;
  text.Add("a\"b\\c");
  text.Add("");
  EXPECT_EQ(text.Finish(), R"({"a\"b\\c",""})");
}

TEST(ArrayLiteralDeathTest, RefusesANulByte) {
  ArrayLiteral text;
  EXPECT_DEATH(text.Add(std::string("a\0b", 3)), "NUL");
}

class ArrayLiteralRoundTripTest : public PgTest {};

// What the server makes of a literal is what was put in, however awkward.
TEST_F(ArrayLiteralRoundTripTest, TextArrivesUnchanged) {
  const std::vector<std::string> values = {
      "plain",     "",          "NULL",      "null", " padded ",  "a,b",
      "{braces}",  "\"q\"",     "back\\sla", "\\\"", "'",         "취미 만들기",
      "tab\there", "new\nline", "\\",        "\"",   "trailing\\"};
  ArrayLiteral literal;
  for (const std::string& v : values) literal.Add(v);
  literal.AddNull();
  pqxx::work tx(db());
  const pqxx::result rows = tx.exec_params(
      "SELECT v, v IS NULL FROM unnest($1::text[]) WITH ORDINALITY AS t(v, n) ORDER BY n",
      literal.Finish());
  ASSERT_EQ(rows.size(), values.size() + 1);
  for (size_t i = 0; i < values.size(); ++i) {
    const auto row = rows[static_cast<pqxx::result::size_type>(i)];
    EXPECT_FALSE(row[1].as<bool>()) << i;
    EXPECT_EQ(row[0].as<std::string>(), values[i]) << i;
  }
  EXPECT_TRUE(rows[static_cast<pqxx::result::size_type>(values.size())][1].as<bool>());
}

TEST_F(ArrayLiteralRoundTripTest, IntegersArriveUnchanged) {
  const std::vector<int64_t> values = {0, 1, -1, std::numeric_limits<int64_t>::max(),
                                       std::numeric_limits<int64_t>::min()};
  ArrayLiteral literal;
  for (const int64_t v : values) literal.Add(v);
  pqxx::work tx(db());
  const pqxx::result rows = tx.exec_params(
      "SELECT v FROM unnest($1::bigint[]) WITH ORDINALITY AS t(v, n) ORDER BY n", literal.Finish());
  ASSERT_EQ(rows.size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(rows[static_cast<pqxx::result::size_type>(i)][0].as<int64_t>(), values[i]);
  }
}

}  // namespace
}  // namespace ledger::projections
