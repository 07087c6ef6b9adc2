#include "api/strict_json.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace ledger::api {
namespace {

TEST(StrictJsonTest, ReaderKeepsNumberLiteralsAndMemberOrder) {
  auto r = ReadStrictJson(R"({"b":[1,-0,2.50,1e3],"a":{"x":null,"y":true,"z":false}})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const JsonValue& v = r.value();
  ASSERT_EQ(v.members.size(), 2U);
  EXPECT_EQ(v.members[0].name, "b");
  const std::vector<JsonValue>& n = v.members[0].value.elements;
  ASSERT_EQ(n.size(), 4U);
  EXPECT_EQ(n[1].text, "-0");
  EXPECT_EQ(n[2].text, "2.50");
  EXPECT_EQ(n[3].text, "1e3");
  const JsonValue& a = v.members[1].value;
  EXPECT_EQ(a.members[0].value.kind, JsonValue::Kind::kNull);
  EXPECT_EQ(a.members[1].value.kind, JsonValue::Kind::kTrue);
  EXPECT_EQ(a.members[2].value.kind, JsonValue::Kind::kFalse);
}

TEST(StrictJsonTest, SameNameInDifferentObjectsIsNotADuplicate) {
  auto r = ReadStrictJson(R"([{"a":1},{"a":2,"b":{"a":3}}])");
  EXPECT_TRUE(r.ok());
}

TEST(StrictJsonTest, EscapesPointerTokens) {
  EXPECT_EQ(EscapePointerToken("plain"), "plain");
  EXPECT_EQ(EscapePointerToken("a/b~c"), "a~1b~0c");
  EXPECT_EQ(EscapePointerToken("~1"), "~01");
  EXPECT_EQ(EscapePointerToken(""), "");
}

// The reader's refusals as a body sees them are in json_body_test (each is
// a malformed_json answer there); these are its messages themselves.
TEST(StrictJsonTest, SaysWhatIsWrongWithoutEchoingTheInput) {
  const auto message = [](std::string_view text) {
    const Result<JsonValue> r = ReadStrictJson(text);
    EXPECT_FALSE(r.ok()) << text;
    return r.ok() ? std::string() : r.status().message();
  };
  EXPECT_EQ(message("\xff"), "is not valid UTF-8");
  EXPECT_EQ(message(std::string_view("{}\0", 3)), "contains a NUL byte at offset 2");
  EXPECT_EQ(message(R"({"title":1,"title":2})"), "has a duplicate member /title");
  EXPECT_EQ(message(R"(["\udc00"])"), "has a \\u escape of a lone surrogate in /0");
  EXPECT_EQ(message(std::string(17, '[') + std::string(17, ']')), "nests deeper than 16 levels");
  EXPECT_EQ(message("{\"secret\":"), "is not JSON at offset 10: Invalid value.");
}

TEST(StrictJsonTest, ReadsOnlyExactInt64Integers) {
  const auto read = [](std::string_view literal) {
    JsonValue v;
    v.kind = JsonValue::Kind::kNumber;
    v.text = std::string(literal);
    return ReadInt64(v);
  };
  EXPECT_EQ(read("-9223372036854775808").value(), INT64_MIN);
  EXPECT_EQ(read("-0").value(), 0);
  EXPECT_EQ(read("1.0").status().message(),
            "must be an integer, written without a fraction or exponent");
  EXPECT_EQ(read("9223372036854775808").status().message(),
            "must be an integer from -9223372036854775808 to 9223372036854775807");
  JsonValue text;
  text.kind = JsonValue::Kind::kString;
  EXPECT_EQ(ReadInt64(text).status().message(), "must be an integer, not a string");
}

}  // namespace
}  // namespace ledger::api
