#include "support/identity_provider.h"

#include <memory>
#include <utility>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "common/base64url.h"
#include "common/check.h"

namespace ledger::testing {
namespace {

std::string BignumParam(const EVP_PKEY* key, const char* name, int pad_to = 0) {
  BIGNUM* bn = nullptr;
  LEDGER_CHECK(EVP_PKEY_get_bn_param(key, name, &bn) == 1, "the key has the parameter");
  const int size = pad_to > 0 ? pad_to : BN_num_bytes(bn);
  std::string out(static_cast<size_t>(size), '\0');
  LEDGER_CHECK(BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), size) == size,
               "the number fits");
  BN_free(bn);
  return out;
}

}  // namespace

ProviderKey::ProviderKey(std::string kid, std::shared_ptr<evp_pkey_st> key, bool rsa)
    : kid_(std::move(kid)), key_(std::move(key)), rsa_(rsa) {}

ProviderKey ProviderKey::Rsa(std::string kid, int bits) {
  EVP_PKEY* key = EVP_RSA_gen(static_cast<unsigned>(bits));
  LEDGER_CHECK(key != nullptr, "RSA key generation works");
  return ProviderKey(std::move(kid), std::shared_ptr<evp_pkey_st>(key, EVP_PKEY_free), true);
}

ProviderKey ProviderKey::P256(std::string kid) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  LEDGER_CHECK(key != nullptr, "EC key generation works");
  return ProviderKey(std::move(kid), std::shared_ptr<evp_pkey_st>(key, EVP_PKEY_free), false);
}

std::string ProviderKey::alg() const { return rsa_ ? "RS256" : "ES256"; }

std::string ProviderKey::Jwk(std::string_view extra) const {
  std::string out = rsa_ ? R"({"kty":"RSA")" : R"({"kty":"EC","crv":"P-256")";
  if (!kid_.empty()) out += R"(,"kid":")" + kid_ + "\"";
  out += R"(,"use":"sig")";
  if (rsa_) {
    out += R"(,"n":")" + Base64UrlEncode(BignumParam(key_.get(), OSSL_PKEY_PARAM_RSA_N)) + "\"";
    out += R"(,"e":")" + Base64UrlEncode(BignumParam(key_.get(), OSSL_PKEY_PARAM_RSA_E)) + "\"";
  } else {
    out +=
        R"(,"x":")" + Base64UrlEncode(BignumParam(key_.get(), OSSL_PKEY_PARAM_EC_PUB_X, 32)) + "\"";
    out +=
        R"(,"y":")" + Base64UrlEncode(BignumParam(key_.get(), OSSL_PKEY_PARAM_EC_PUB_Y, 32)) + "\"";
  }
  out += extra;
  out += "}";
  return out;
}

std::string ProviderKey::PublicPem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  LEDGER_CHECK(bio != nullptr && PEM_write_bio_PUBKEY(bio, key_.get()) == 1, "PEM works");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(size));
  BIO_free(bio);
  return pem;
}

std::string ProviderKey::Token(std::string_view claims_json) const {
  std::string header = R"({"alg":")" + alg() + R"(","typ":"JWT")";
  if (!kid_.empty()) header += R"(,"kid":")" + kid_ + "\"";
  header += "}";
  return SignWithHeader(header, claims_json);
}

std::string ProviderKey::SignWithHeader(std::string_view header_json,
                                        std::string_view claims_json) const {
  const std::string input = Base64UrlEncode(header_json) + "." + Base64UrlEncode(claims_json);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  LEDGER_CHECK(
      ctx != nullptr && EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key_.get()) == 1,
      "signing starts");
  size_t size = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  LEDGER_CHECK(EVP_DigestSign(ctx, nullptr, &size, data, input.size()) == 1, "size known");
  std::string signature(size, '\0');
  LEDGER_CHECK(EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &size, data,
                              input.size()) == 1,
               "signing works");
  EVP_MD_CTX_free(ctx);
  signature.resize(size);
  if (!rsa_) {
    // OpenSSL writes DER; JWS wants R || S, 32 bytes each.
    const auto* der = reinterpret_cast<const unsigned char*>(signature.data());
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(signature.size()));
    LEDGER_CHECK(sig != nullptr, "OpenSSL's signature is DER");
    std::string raw(64, '\0');
    auto* out = reinterpret_cast<unsigned char*>(raw.data());
    LEDGER_CHECK(BN_bn2binpad(ECDSA_SIG_get0_r(sig), out, 32) == 32 &&
                     BN_bn2binpad(ECDSA_SIG_get0_s(sig), out + 32, 32) == 32,
                 "R and S fit");
    ECDSA_SIG_free(sig);
    signature = std::move(raw);
  }
  return input + "." + Base64UrlEncode(signature);
}

std::string JwkSetJson(const std::vector<std::string>& jwks) {
  std::string out = R"({"keys":[)";
  for (size_t i = 0; i < jwks.size(); ++i) {
    if (i > 0) out += ",";
    out += jwks[i];
  }
  out += "]}";
  return out;
}

const ProviderKey& SharedRsaKey() {
  static const ProviderKey key = ProviderKey::Rsa("rsa-1");
  return key;
}

const ProviderKey& SharedEcKey() {
  static const ProviderKey key = ProviderKey::P256("ec-1");
  return key;
}

}  // namespace ledger::testing
