#pragma once

// The public keys of an identity provider, read from a JWK Set (RFC 7517
// §5), as the provider publishes it (Keycloak: /realms/REALM/protocol/
// openid-connect/certs). Only signature keys of the two algorithms the
// service verifies are kept: RSA for RS256 and P-256 for ES256 (RFC 7518
// §3.3, §3.4).

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

// OpenSSL stays inside src/api's .cc files.
struct evp_pkey_st;

namespace ledger::api {

// A JWKS file larger than this is refused unread. A provider publishes a few
// keys of a few KiB each (with their certificate chains).
inline constexpr size_t kMaxJwksBytes = size_t{1} << 20;
// Usable keys kept from one set; more is a mistake, not a rotation.
inline constexpr size_t kMaxJwks = 64;
// RSA moduli: below the minimum is too weak (RFC 7518 §3.3 asks for 2048
// bits); above the maximum costs too much per token for nothing.
inline constexpr int kMinRsaBits = 2'048;
inline constexpr int kMaxRsaBits = 8'192;

enum class JwsAlgorithm { kRs256, kEs256 };

// "RS256" or "ES256".
std::string_view JwsAlgorithmName(JwsAlgorithm alg);

struct Jwk {
  std::string kid;  // "" when the key has none (then it is the set's only key)
  JwsAlgorithm alg = JwsAlgorithm::kRs256;  // from kty (and alg when present)
  std::shared_ptr<evp_pkey_st> key;         // the public key; never null
};

class JwkSet {
 public:
  // Reads a JWK Set: {"keys": [JWK, ...]}. A key is skipped (and said why in
  // `skipped`, when not null) when it is not one the service verifies with:
  // "use" present and not "sig", "alg" present and neither RS256 nor ES256, a
  // kty other than RSA and EC, an EC curve other than P-256. A key that is
  // for RS256 or ES256 but broken refuses the whole set: n or e not
  // base64url, a modulus outside kMinRsaBits..kMaxRsaBits, an even or too
  // large exponent, x or y not 32 bytes or not a point of P-256, alg not
  // matching kty, a kid that is not a non-empty string or is used twice, a
  // key without kid beside other keys. Errors: kInvalidArgument naming the
  // key (by kid or index) and what is wrong, including a set with no usable
  // key at all.
  static Result<JwkSet> Parse(std::string_view json, std::vector<std::string>* skipped);

  // Parse on the file at `path`. Errors: kIOError when it cannot be read or
  // is larger than kMaxJwksBytes, else Parse's; messages start with the path.
  static Result<JwkSet> ReadFile(const std::string& path, std::vector<std::string>* skipped);

  // The key named `kid` ("" for a key without kid), or null.
  const Jwk* Find(std::string_view kid) const;

  const std::vector<Jwk>& keys() const { return keys_; }

 private:
  std::vector<Jwk> keys_;  // kids unique; at most one key, alone, without kid
};

}  // namespace ledger::api
