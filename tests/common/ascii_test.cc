#include "common/ascii.h"

#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace ledger {
namespace {

TEST(AsciiTest, LowercasesOnlyAsciiLetters) {
  EXPECT_EQ(AsciiLowercase("Content-Type: APPLICATION/Json"), "content-type: application/json");
  // UTF-8 bytes (Korean, and the Latin capitals outside ASCII) pass through.
  EXPECT_EQ(AsciiLowercase("취미 ÄB"), "취미 Äb");
  EXPECT_EQ(AsciiLowercase(std::string_view("A\0Z", 3)), std::string("a\0z", 3));
  EXPECT_EQ(AsciiToLower('@'), '@');  // the byte before 'A'
  EXPECT_EQ(AsciiToLower('['), '[');  // the byte after 'Z'
}

TEST(AsciiTest, ComparesIgnoringAsciiCase) {
  EXPECT_TRUE(EqualsIgnoreAsciiCase("Bearer", "bEARER"));
  EXPECT_FALSE(EqualsIgnoreAsciiCase("Bearer", "Bearer "));
  EXPECT_FALSE(EqualsIgnoreAsciiCase("[", "{"));  // 0x5b and 0x7b differ by 0x20, not letters
  EXPECT_TRUE(StartsWithIgnoreAsciiCase("Application/JSON; charset=utf-8", "application/json"));
  EXPECT_FALSE(StartsWithIgnoreAsciiCase("application/js", "application/json"));
}

TEST(AsciiTest, EncodesBytesAsLowerCaseHex) {
  EXPECT_EQ(HexEncode(""), "");
  EXPECT_EQ(HexEncode(std::string_view("\x00\x0f\xa0\xff", 4)), "000fa0ff");
  std::string out = "x=";
  AppendHex("AZ", out);
  EXPECT_EQ(out, "x=415a");
}

TEST(AsciiTest, ReadsHexDigitsOfEitherCase) {
  EXPECT_EQ(HexDigitValue('0'), 0);
  EXPECT_EQ(HexDigitValue('9'), 9);
  EXPECT_EQ(HexDigitValue('a'), 10);
  EXPECT_EQ(HexDigitValue('F'), 15);
  for (const char c : {'g', 'G', '/', ':', '@', '`', ' ', '\0'}) {
    EXPECT_EQ(HexDigitValue(c), -1) << static_cast<int>(c);
  }
  for (unsigned n = 0; n < 16; ++n) EXPECT_EQ(HexDigitValue(HexDigit(n)), static_cast<int>(n));
}

}  // namespace
}  // namespace ledger
