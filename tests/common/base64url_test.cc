#include "common/base64url.h"

#include <optional>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace ledger {
namespace {

TEST(Base64UrlTest, MatchesRfc4648Vectors) {
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("foob"), "Zm9vYg");
  EXPECT_EQ(Base64UrlEncode("fooba"), "Zm9vYmE");
  EXPECT_EQ(Base64UrlEncode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  for (const std::string_view text :
       {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xfb\xff", "\x00\x01\x02"}) {
    EXPECT_EQ(Base64UrlDecode(Base64UrlEncode(text)), std::string(text));
  }
}

TEST(Base64UrlTest, RefusesEverythingButTheCanonicalEncoding) {
  EXPECT_EQ(Base64UrlDecode("Zg=="), std::nullopt);      // padding
  EXPECT_EQ(Base64UrlDecode("Zh"), std::nullopt);        // unused bits set
  EXPECT_EQ(Base64UrlDecode("Z"), std::nullopt);         // impossible length
  EXPECT_EQ(Base64UrlDecode("+/8"), std::nullopt);       // standard alphabet
  EXPECT_EQ(Base64UrlDecode("Zm9v Yg"), std::nullopt);   // white space
  EXPECT_EQ(Base64UrlDecode("Zm9v\nYg"), std::nullopt);  // line break
}

}  // namespace
}  // namespace ledger
