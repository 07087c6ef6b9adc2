#include "common/json_writer.h"

#include <cstdint>
#include <limits>
#include <string>

#include <gtest/gtest.h>

namespace ledger {
namespace {

TEST(JsonWriterTest, WritesCompactNestedValues) {
  JsonWriter w;
  w.StartObject()
      .Member("id", int64_t{7})
      .Member("title", "내 취미")
      .Key("tags")
      .StartArray()
      .String("a")
      .Null()
      .Bool(true)
      .Bool(false)
      .StartObject()
      .EndObject()
      .StartArray()
      .EndArray()
      .EndArray()
      .Key("next")
      .Null()
      .EndObject();
  ASSERT_TRUE(w.complete());
  EXPECT_EQ(
      std::move(w).Take(),
      "{\"id\":7,\"title\":\"내 취미\",\"tags\":[\"a\",null,true,false,{},[]],\"next\":null}");
}

TEST(JsonWriterTest, WritesTheWholeInt64Range) {
  JsonWriter w;
  w.StartArray()
      .Int64(std::numeric_limits<int64_t>::min())
      .Int64(0)
      .Int64(-1)
      .Int64(std::numeric_limits<int64_t>::max())
      .EndArray();
  EXPECT_EQ(std::move(w).Take(), "[-9223372036854775808,0,-1,9223372036854775807]");
}

// The same rule as the canonical event bytes (codec_test pins those): only
// quote, backslash and the bytes below 0x20 are escaped, those with short
// forms by them, the rest as \u00XX in upper-case hex.
TEST(JsonWriterTest, EscapesQuoteBackslashAndControlsOnly) {
  JsonWriter w;
  w.String(std::string("\"\\/\b\f\n\r\t\x01\x1f\x7f\0 é🎉", 19));
  EXPECT_EQ(std::move(w).Take(),
            std::string("\"\\\"\\\\/\\b\\f\\n\\r\\t\\u0001\\u001F\x7f\\u0000 é🎉\""));
}

TEST(JsonWriterTest, EscapesKeysLikeStrings) {
  JsonWriter w;
  w.StartObject().Key("a\"b\n").Int64(1).EndObject();
  EXPECT_EQ(std::move(w).Take(), "{\"a\\\"b\\n\":1}");
}

TEST(JsonWriterTest, SplicesRawValues) {
  JsonWriter w;
  w.StartObject().Key("items").StartArray().Raw("{\"x\":1}").Raw("[2]").EndArray().EndObject();
  EXPECT_EQ(std::move(w).Take(), "{\"items\":[{\"x\":1},[2]]}");
}

TEST(JsonWriterTest, IsCompleteOnlyAfterTheTopLevelValue) {
  JsonWriter w;
  EXPECT_FALSE(w.complete());
  w.StartObject().Key("a");
  EXPECT_FALSE(w.complete());
  w.Int64(1);
  EXPECT_FALSE(w.complete());
  w.EndObject();
  EXPECT_TRUE(w.complete());
}

TEST(JsonWriterDeathTest, StopsOnMisuse) {
  EXPECT_DEATH(
      {
        JsonWriter w;
        w.StartArray().Key("a");
      },
      "a key outside an object");
  EXPECT_DEATH(
      {
        JsonWriter w;
        w.StartObject().Int64(1);
      },
      "without its key");
  EXPECT_DEATH(
      {
        JsonWriter w;
        w.Int64(1).Int64(2);
      },
      "a second top-level value");
  EXPECT_DEATH(
      {
        JsonWriter w;
        w.StartObject().Key("a").EndObject();
      },
      "dangling key");
  EXPECT_DEATH(
      {
        JsonWriter w;
        w.StartObject();
        (void)std::move(w).Take();
      },
      "before the value is complete");
}

}  // namespace
}  // namespace ledger
