#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ledger::events {

// A SHA-256 digest.
using Hash = std::array<uint8_t, 32>;

// The prev_hash of the first event (position 1): 32 zero bytes.
inline constexpr Hash kGenesisHash{};

// hash = SHA-256(prev_hash || canonical_bytes). The chain rule of the log.
Hash ChainHash(const Hash& prev_hash, std::string_view canonical_bytes);

// SHA-256 of arbitrary bytes (request fingerprints).
Hash Sha256(std::string_view bytes);

// Lower-case hex, 64 characters.
std::string ToHex(const Hash& hash);
// Accepts exactly 64 hex digits (either case).
std::optional<Hash> HashFromHex(std::string_view hex);

}  // namespace ledger::events
