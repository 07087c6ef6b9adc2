#pragma once

// The signature check of a JWS (RFC 7515 §5.2) under an identity provider's
// public key: RS256 (RSASSA-PKCS1-v1_5 with SHA-256) and ES256 (ECDSA P-256
// with SHA-256), RFC 7518 §3.3 and §3.4.

#include <string_view>

#include "api/jwk_set.h"

namespace ledger::api {

// True when `signature` (the decoded third part of the token) signs
// `signing_input` (the token up to its second dot) under `key`, with the
// key's algorithm. RS256 signatures are as long as the modulus; ES256 ones
// are R || S, 64 bytes (not DER), anything else is false.
bool VerifyJwsSignature(const Jwk& key, std::string_view signing_input, std::string_view signature);

}  // namespace ledger::api
