#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace ledger {

// Number of Unicode code points in `text`, or nullopt when it is not valid
// UTF-8 (overlong forms, surrogates and code points above U+10FFFF are invalid).
std::optional<size_t> CountCodePoints(std::string_view text);

// The code point of the UTF-8 sequence at text[*pos], advancing *pos past
// it; nullopt, with *pos unchanged, when the bytes there are not a valid
// sequence (as CountCodePoints defines it). REQUIRES: *pos < text.size().
std::optional<char32_t> DecodeCodePoint(std::string_view text, size_t* pos);

// `text` without leading and trailing Unicode White_Space (ASCII blanks, NBSP,
// the ideographic space U+3000 used in Korean text, and the other Zs/Zl/Zp
// spaces). REQUIRES: `text` is valid UTF-8.
std::string_view TrimUnicodeSpace(std::string_view text);

// True when `text` contains a C0 or C1 control character (U+0000..U+001F,
// U+007F..U+009F). REQUIRES: `text` is valid UTF-8.
bool HasControlCharacter(std::string_view text);

}  // namespace ledger
