#include "common/utf8.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace ledger {
namespace {

// Builds a string_view over a literal that may hold NUL bytes.
template <size_t N>
std::string_view Bytes(const char (&literal)[N]) {
  return std::string_view(literal, N - 1);
}

TEST(Utf8Test, CountsAsciiAndEmpty) {
  EXPECT_EQ(CountCodePoints(""), 0u);
  EXPECT_EQ(CountCodePoints("hello"), 5u);
  EXPECT_EQ(CountCodePoints(Bytes("a\0b")), 3u);  // NUL is a valid code point
}

TEST(Utf8Test, CountsKoreanCodePointsNotBytes) {
  const std::string_view title = "내 취미 만들기";
  EXPECT_EQ(title.size(), 20u);
  EXPECT_EQ(CountCodePoints(title), 8u);
}

TEST(Utf8Test, CountsEveryEncodedLength) {
  EXPECT_EQ(CountCodePoints("\xc2\x80"), 1u);          // U+0080, smallest 2-byte
  EXPECT_EQ(CountCodePoints("\xdf\xbf"), 1u);          // U+07FF
  EXPECT_EQ(CountCodePoints("\xe0\xa0\x80"), 1u);      // U+0800, smallest 3-byte
  EXPECT_EQ(CountCodePoints("\xed\x9f\xbf"), 1u);      // U+D7FF, below surrogates
  EXPECT_EQ(CountCodePoints("\xee\x80\x80"), 1u);      // U+E000, above surrogates
  EXPECT_EQ(CountCodePoints("\xef\xbf\xbf"), 1u);      // U+FFFF
  EXPECT_EQ(CountCodePoints("\xf0\x90\x80\x80"), 1u);  // U+10000, smallest 4-byte
  EXPECT_EQ(CountCodePoints("\xf4\x8f\xbf\xbf"), 1u);  // U+10FFFF, the largest
  EXPECT_EQ(CountCodePoints("\xf0\x9f\x98\x80"), 1u);  // 😀
  EXPECT_EQ(CountCodePoints("a\xf0\x9f\x98\x80가b"), 4u);
}

TEST(Utf8Test, RejectsOverlongForms) {
  EXPECT_EQ(CountCodePoints("\xc0\x80"), std::nullopt);          // overlong NUL
  EXPECT_EQ(CountCodePoints("\xc1\xbf"), std::nullopt);          // overlong U+007F
  EXPECT_EQ(CountCodePoints("\xe0\x80\x80"), std::nullopt);      // overlong 3-byte
  EXPECT_EQ(CountCodePoints("\xe0\x9f\xbf"), std::nullopt);      // overlong U+07FF
  EXPECT_EQ(CountCodePoints("\xf0\x80\x80\x80"), std::nullopt);  // overlong 4-byte
  EXPECT_EQ(CountCodePoints("\xf0\x8f\xbf\xbf"), std::nullopt);  // overlong U+FFFF
}

TEST(Utf8Test, RejectsSurrogates) {
  EXPECT_EQ(CountCodePoints("\xed\xa0\x80"), std::nullopt);              // U+D800
  EXPECT_EQ(CountCodePoints("\xed\xbf\xbf"), std::nullopt);              // U+DFFF
  EXPECT_EQ(CountCodePoints("\xed\xa0\xbd\xed\xb8\x80"), std::nullopt);  // CESU-8 pair
}

TEST(Utf8Test, RejectsCodePointsAboveMax) {
  EXPECT_EQ(CountCodePoints("\xf4\x90\x80\x80"), std::nullopt);  // U+110000
  EXPECT_EQ(CountCodePoints("\xf7\xbf\xbf\xbf"), std::nullopt);
  EXPECT_EQ(CountCodePoints("\xf5\x80\x80\x80"), std::nullopt);
  EXPECT_EQ(CountCodePoints("\xf8\x88\x80\x80\x80"), std::nullopt);  // 5-byte form
  EXPECT_EQ(CountCodePoints("\xfc\x84\x80\x80\x80\x80"), std::nullopt);
  EXPECT_EQ(CountCodePoints("\xfe"), std::nullopt);
  EXPECT_EQ(CountCodePoints("\xff"), std::nullopt);
}

TEST(Utf8Test, RejectsTruncatedSequences) {
  EXPECT_EQ(CountCodePoints("\xc3"), std::nullopt);
  EXPECT_EQ(CountCodePoints("\xea\xb0"), std::nullopt);  // 가 without its last byte
  EXPECT_EQ(CountCodePoints("\xf0\x9f\x98"), std::nullopt);
  EXPECT_EQ(CountCodePoints("abc\xe3"), std::nullopt);
  EXPECT_EQ(CountCodePoints("\xea\xb0 "), std::nullopt);  // cut short by an ASCII byte
  EXPECT_EQ(CountCodePoints("\xf0\x9f\x98z"), std::nullopt);
  EXPECT_EQ(CountCodePoints(Bytes("\xe3\x85\0")), std::nullopt);
}

TEST(Utf8Test, RejectsLoneContinuationBytes) {
  EXPECT_EQ(CountCodePoints("\x80"), std::nullopt);
  EXPECT_EQ(CountCodePoints("\xbf"), std::nullopt);
  EXPECT_EQ(CountCodePoints("y\x80z"), std::nullopt);
  EXPECT_EQ(CountCodePoints("\xea\xb0\x80\x80"), std::nullopt);  // 가 plus an extra byte
}

TEST(Utf8Test, EveryTruncationOfValidTextIsDetected) {
  const std::string_view text = "a가\xf0\x9f\x98\x80\xc2\xa0";
  ASSERT_EQ(CountCodePoints(text), 4u);
  // Cuts that fall inside a multi-byte sequence.
  for (const size_t cut : {2u, 3u, 5u, 6u, 7u, 9u}) {
    EXPECT_EQ(CountCodePoints(text.substr(0, cut)), std::nullopt) << cut;
  }
  for (const size_t cut : {0u, 1u, 4u, 8u, 10u}) {
    EXPECT_TRUE(CountCodePoints(text.substr(0, cut)).has_value()) << cut;
  }
}

TEST(Utf8Test, TrimsAsciiWhiteSpaceOnBothEnds) {
  EXPECT_EQ(TrimUnicodeSpace(" \t\n\r\v\fabc \t\n\r"), "abc");
  EXPECT_EQ(TrimUnicodeSpace("abc"), "abc");
  EXPECT_EQ(TrimUnicodeSpace(""), "");
  EXPECT_EQ(TrimUnicodeSpace(" \t\n "), "");
}

TEST(Utf8Test, TrimsNoBreakAndIdeographicSpace) {
  EXPECT_EQ(TrimUnicodeSpace("\xc2\xa0xyz\xc2\xa0"), "xyz");  // U+00A0
  EXPECT_EQ(TrimUnicodeSpace("\u3000내 취미 만들기\u3000"), "내 취미 만들기");
  EXPECT_EQ(TrimUnicodeSpace("\u3000 \u00a0\t제목\u2003\n\u3000"), "제목");
  EXPECT_EQ(TrimUnicodeSpace("\u3000\u3000"), "");
  EXPECT_EQ(TrimUnicodeSpace("\u2028x\u2029"), "x");  // line and paragraph separators
  EXPECT_EQ(TrimUnicodeSpace("\u1680\u202f\u205fx\u200a"), "x");
  EXPECT_EQ(TrimUnicodeSpace("\u0085x\u0085"), "x");  // NEL is White_Space
}

TEST(Utf8Test, KeepsInnerWhiteSpace) {
  EXPECT_EQ(TrimUnicodeSpace("  a b  "), "a b");
  EXPECT_EQ(TrimUnicodeSpace("\u3000내\u3000취미\u3000"), "내\u3000취미");
  EXPECT_EQ(TrimUnicodeSpace("a\u00a0\u00a0b"), "a\u00a0\u00a0b");
}

TEST(Utf8Test, DoesNotTrimNonWhiteSpaceFormatCharacters) {
  // Zero-width space and BOM are not White_Space.
  EXPECT_EQ(TrimUnicodeSpace("\u200bx\u200b"), "\u200bx\u200b");
  EXPECT_EQ(TrimUnicodeSpace("\ufeffx"), "\ufeffx");
  EXPECT_EQ(TrimUnicodeSpace("가"), "가");
  EXPECT_EQ(TrimUnicodeSpace("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80");
}

TEST(Utf8Test, TrimReturnsViewIntoInput) {
  const std::string text = "\u3000abc ";
  const std::string_view trimmed = TrimUnicodeSpace(text);
  EXPECT_EQ(trimmed.data(), text.data() + 3);
  EXPECT_EQ(trimmed.size(), 3u);
}

TEST(Utf8Test, DetectsControlCharacters) {
  EXPECT_TRUE(HasControlCharacter("\x01"));
  EXPECT_TRUE(HasControlCharacter("y\x01z"));
  EXPECT_TRUE(HasControlCharacter(Bytes("a\0b")));
  EXPECT_TRUE(HasControlCharacter("\x1f"));
  EXPECT_TRUE(HasControlCharacter("\t"));
  EXPECT_TRUE(HasControlCharacter("line\nbreak"));
  EXPECT_TRUE(HasControlCharacter("\x7f"));
  EXPECT_TRUE(HasControlCharacter("\xc2\x80"));  // U+0080
  EXPECT_TRUE(HasControlCharacter("\xc2\x85"));  // U+0085 NEL
  EXPECT_TRUE(HasControlCharacter("\xc2\x9f"));  // U+009F
  EXPECT_TRUE(HasControlCharacter("내 취미\x1b[0m"));
}

TEST(Utf8Test, PrintableTextHasNoControlCharacters) {
  EXPECT_FALSE(HasControlCharacter(""));
  EXPECT_FALSE(HasControlCharacter(" ~"));
  EXPECT_FALSE(HasControlCharacter("내 취미 만들기"));
  EXPECT_FALSE(HasControlCharacter("\xc2\xa0"));  // U+00A0, first after C1
  EXPECT_FALSE(HasControlCharacter("\u3000"));
  EXPECT_FALSE(HasControlCharacter("\xf0\x9f\x98\x80"));
}

TEST(Utf8Test, DecodesOneCodePointAndAdvancesPastIt) {
  const std::string_view text = "a\xea\xb0\x80\xf0\x9f\x98\x80";  // a, U+AC00, U+1F600
  size_t pos = 0;
  EXPECT_EQ(DecodeCodePoint(text, &pos), U'a');
  EXPECT_EQ(pos, 1u);
  EXPECT_EQ(DecodeCodePoint(text, &pos), U'\uAC00');
  EXPECT_EQ(pos, 4u);
  EXPECT_EQ(DecodeCodePoint(text, &pos), U'\U0001F600');
  EXPECT_EQ(pos, text.size());
}

TEST(Utf8Test, DecodeLeavesThePositionAtABadSequence) {
  for (const std::string_view bad :
       {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe0\xa4", "\x80", "\xea\x41\x80"}) {
    size_t pos = 0;
    EXPECT_FALSE(DecodeCodePoint(bad, &pos).has_value()) << bad;
    EXPECT_EQ(pos, 0u) << bad;
  }
}

}  // namespace
}  // namespace ledger
