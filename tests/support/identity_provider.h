#pragma once

// A stand-in for an identity provider in tests: key pairs generated at run
// time with OpenSSL (none are committed), their public halves as JWKs, and
// tokens signed with their private halves.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct evp_pkey_st;

namespace ledger::testing {

class ProviderKey {
 public:
  // A fresh RSA key of `bits` (RS256), or P-256 key (ES256), named `kid`
  // ("" : none).
  static ProviderKey Rsa(std::string kid, int bits = 2048);
  static ProviderKey P256(std::string kid);

  // "RS256" or "ES256".
  std::string alg() const;
  const std::string& kid() const { return kid_; }

  // The public JWK: kty, kid (when not empty), use "sig", n and e or crv, x
  // and y; `extra` (e.g. R"(,"alg":"RS256")") is added to the object.
  std::string Jwk(std::string_view extra = "") const;
  // The public key as PEM (SubjectPublicKeyInfo), as a provider publishes it.
  std::string PublicPem() const;

  // A compact JWS of `claims_json` with the header {"alg":alg(),"typ":"JWT",
  // "kid":kid()} (no kid when empty).
  std::string Token(std::string_view claims_json) const;
  // The same with any header, signed with this key's algorithm (ES256: the
  // raw R || S of RFC 7518 §3.4).
  std::string SignWithHeader(std::string_view header_json, std::string_view claims_json) const;

 private:
  ProviderKey(std::string kid, std::shared_ptr<evp_pkey_st> key, bool rsa);

  std::string kid_;
  std::shared_ptr<evp_pkey_st> key_;
  bool rsa_ = true;
};

// {"keys":[jwks...]}.
std::string JwkSetJson(const std::vector<std::string>& jwks);

// One RSA key "rsa-1" and one P-256 key "ec-1" per test process, made on
// first use (RSA generation takes a while).
const ProviderKey& SharedRsaKey();
const ProviderKey& SharedEcKey();

}  // namespace ledger::testing
