#include "api/jws_signature.h"

#include <memory>
#include <string>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include "common/check.h"

namespace ledger::api {
namespace {

// R and S of a P-256 signature, each 32 bytes big-endian (RFC 7518 §3.4).
constexpr size_t kEs256HalfBytes = 32;

struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* sig) const { ECDSA_SIG_free(sig); }
};

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// The DER ECDSA-Sig-Value that OpenSSL verifies, from JOSE's R || S.
std::string Es256ToDer(std::string_view raw) {
  std::unique_ptr<ECDSA_SIG, EcdsaSigFree> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(Bytes(raw), kEs256HalfBytes, nullptr);
  BIGNUM* s = BN_bin2bn(Bytes(raw) + kEs256HalfBytes, kEs256HalfBytes, nullptr);
  LEDGER_CHECK(sig != nullptr && r != nullptr && s != nullptr, "out of memory");
  LEDGER_CHECK(ECDSA_SIG_set0(sig.get(), r, s) == 1, "ECDSA_SIG_set0 takes two numbers");
  unsigned char* der = nullptr;
  const int length = i2d_ECDSA_SIG(sig.get(), &der);
  LEDGER_CHECK(length > 0, "i2d_ECDSA_SIG fails only without memory");
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(length));
  OPENSSL_free(der);
  return out;
}

}  // namespace

bool VerifyJwsSignature(const Jwk& key, std::string_view signing_input,
                        std::string_view signature) {
  LEDGER_CHECK(key.key != nullptr, "a Jwk always holds a key");
  std::string der;
  if (key.alg == JwsAlgorithm::kEs256) {
    if (signature.size() != 2 * kEs256HalfBytes) return false;
    der = Es256ToDer(signature);
    signature = der;
  } else if (signature.size() != static_cast<size_t>(EVP_PKEY_get_size(key.key.get()))) {
    return false;
  }
  const std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  LEDGER_CHECK(ctx != nullptr, "EVP_MD_CTX_new fails only without memory");
  // The key's type fixes the scheme: an RSA key verifies PKCS #1 v1.5
  // (OpenSSL's default padding), an EC key ECDSA.
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.key.get()) != 1) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), Bytes(signature), signature.size(), Bytes(signing_input),
                          signing_input.size()) == 1;
}

}  // namespace ledger::api
