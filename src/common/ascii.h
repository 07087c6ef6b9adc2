#pragma once

// ASCII case and hexadecimal digits: the byte-level helpers that protocols
// (HTTP header names, media types, token schemes, hashes, escapes) define
// over ASCII only. Bytes outside ASCII pass through unchanged, so UTF-8 text
// is never altered.

#include <cstddef>
#include <string>
#include <string_view>

namespace ledger {

// 'A'..'Z' → 'a'..'z'; every other byte as it is.
constexpr char AsciiToLower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// `text` with AsciiToLower applied to every byte.
std::string AsciiLowercase(std::string_view text);

// Whether `a` and `b` are equal once both are AsciiLowercase'd.
bool EqualsIgnoreAsciiCase(std::string_view a, std::string_view b);

// Whether `text` begins with `prefix`, ignoring ASCII case.
bool StartsWithIgnoreAsciiCase(std::string_view text, std::string_view prefix);

// The lower-case hexadecimal digit of `nibble`. REQUIRES: nibble < 16.
constexpr char HexDigit(unsigned nibble) { return "0123456789abcdef"[nibble & 0xfU]; }

// The value of the hexadecimal digit `c` (either case), or -1.
constexpr int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Two lower-case hexadecimal digits per byte of `bytes`, appended to `out`.
void AppendHex(std::string_view bytes, std::string& out);
// The same, as a new string.
std::string HexEncode(std::string_view bytes);

}  // namespace ledger
