#include "common/utf8.h"

#include <cstdint>

namespace ledger {
namespace {

constexpr char32_t kInvalid = 0xFFFFFFFF;

// Decodes the code point at text[*pos] and advances *pos; kInvalid on a
// malformed sequence.
char32_t DecodeOne(std::string_view text, size_t* pos) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  const size_t i = *pos;
  const uint8_t b0 = byte(i);
  if (b0 < 0x80) {
    *pos = i + 1;
    return b0;
  }
  size_t len = 0;
  char32_t cp = 0;
  char32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    cp = b0 & 0x1Fu;
    min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    cp = b0 & 0x0Fu;
    min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    cp = b0 & 0x07u;
    min = 0x10000;
  } else {
    return kInvalid;
  }
  if (i + len > text.size()) {
    return kInvalid;
  }
  for (size_t k = 1; k < len; ++k) {
    const uint8_t b = byte(i + k);
    if ((b & 0xC0) != 0x80) {
      return kInvalid;
    }
    cp = (cp << 6) | (b & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return kInvalid;
  }
  *pos = i + len;
  return cp;
}

bool IsWhiteSpace(char32_t cp) {
  switch (cp) {
    case 0x09:
    case 0x0A:
    case 0x0B:
    case 0x0C:
    case 0x0D:
    case 0x20:
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

bool IsControl(char32_t cp) { return cp <= 0x1F || (cp >= 0x7F && cp <= 0x9F); }

}  // namespace

std::optional<char32_t> DecodeCodePoint(std::string_view text, size_t* pos) {
  const char32_t cp = DecodeOne(text, pos);
  if (cp == kInvalid) return std::nullopt;
  return cp;
}

std::optional<size_t> CountCodePoints(std::string_view text) {
  size_t count = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    if (DecodeOne(text, &pos) == kInvalid) {
      return std::nullopt;
    }
    ++count;
  }
  return count;
}

std::string_view TrimUnicodeSpace(std::string_view text) {
  size_t begin = 0;
  size_t end = text.size();
  // Leading: decode forward while the code point is white space.
  while (begin < end) {
    size_t next = begin;
    const char32_t cp = DecodeOne(text, &next);
    if (cp == kInvalid || !IsWhiteSpace(cp)) {
      break;
    }
    begin = next;
  }
  // Trailing: find the start of the last code point, test it, repeat.
  while (end > begin) {
    size_t start = end - 1;
    while (start > begin && (static_cast<uint8_t>(text[start]) & 0xC0) == 0x80) {
      --start;
    }
    size_t next = start;
    const char32_t cp = DecodeOne(text, &next);
    if (cp == kInvalid || next != end || !IsWhiteSpace(cp)) {
      break;
    }
    end = start;
  }
  return text.substr(begin, end - begin);
}

bool HasControlCharacter(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    const char32_t cp = DecodeOne(text, &pos);
    if (cp == kInvalid) {
      return false;
    }
    if (IsControl(cp)) {
      return true;
    }
  }
  return false;
}

}  // namespace ledger
