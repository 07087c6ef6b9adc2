#pragma once

// RFC 4648 §5 base64url without padding: the alphabet of JWTs and of the
// list's opaque cursors.

#include <optional>
#include <string>
#include <string_view>

namespace ledger {

// Encodes `bytes`; the output has no '=' padding.
std::string Base64UrlEncode(std::string_view bytes);

// Decodes `text`, or nullopt. Padding, characters outside the alphabet and
// encodings whose unused trailing bits are not zero are refused, so each byte
// string has exactly one accepted encoding.
std::optional<std::string> Base64UrlDecode(std::string_view text);

}  // namespace ledger
