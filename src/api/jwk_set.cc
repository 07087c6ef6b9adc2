#include "api/jwk_set.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <utility>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "api/strict_json.h"
#include "common/base64url.h"
#include "common/check.h"

namespace ledger::api {
namespace {

// P-256 coordinates are 32 bytes, written in full (RFC 7518 §6.2.1.2).
constexpr size_t kP256CoordinateBytes = 32;
// RSA exponents of more than 64 bits are refused by OpenSSL's verifier.
constexpr size_t kMaxRsaExponentBytes = 8;
// The longest modulus worth reading as a number: kMaxRsaBits and one
// leading zero byte.
constexpr size_t kMaxRsaModulusBytes = kMaxRsaBits / 8 + 1;

struct BnFree {
  void operator()(BIGNUM* bn) const { BN_free(bn); }
};
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* bld) const { OSSL_PARAM_BLD_free(bld); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* params) const { OSSL_PARAM_free(params); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

const JsonValue* FindMember(const JsonValue& object, std::string_view name) {
  for (const JsonMember& m : object.members) {
    if (m.name == name) return &m.value;
  }
  return nullptr;
}

// A member that must be a string when present; nullopt when absent.
Result<std::optional<std::string>> OptionalString(const JsonValue& jwk, std::string_view name) {
  const JsonValue* v = FindMember(jwk, name);
  if (v == nullptr) return std::optional<std::string>();
  if (v->kind != JsonValue::Kind::kString) {
    return Status::InvalidArgument("has a member " + std::string(name) + " that is not a string");
  }
  return std::optional<std::string>(v->text);
}

// A required base64url member, decoded.
Result<std::string> Base64UrlMember(const JsonValue& jwk, std::string_view name) {
  LEDGER_ASSIGN_OR_RETURN(const std::optional<std::string> text, OptionalString(jwk, name));
  if (!text) return Status::InvalidArgument("has no " + std::string(name));
  std::optional<std::string> bytes = Base64UrlDecode(*text);
  if (!bytes || bytes->empty()) {
    return Status::InvalidArgument("has a member " + std::string(name) +
                                   " that is not base64url without padding");
  }
  return std::move(*bytes);
}

BnPtr ToBignum(std::string_view bytes) {
  BnPtr bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                     static_cast<int>(bytes.size()), nullptr));
  LEDGER_CHECK(bn != nullptr, "BN_bin2bn fails only without memory");
  return bn;
}

// A public key of `type` ("RSA", "EC") from OpenSSL 3 parameters.
Result<std::shared_ptr<evp_pkey_st>> KeyFromParams(const char* type, OSSL_PARAM_BLD* bld) {
  const std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld));
  const std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  LEDGER_CHECK(params != nullptr && ctx != nullptr, "OpenSSL has RSA and EC");
  EVP_PKEY* key = nullptr;
  if (EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return Status::InvalidArgument("is not a valid public key");
  }
  std::shared_ptr<evp_pkey_st> owned(key, EVP_PKEY_free);
  // fromdata takes the parameters as they come; the check proves the point
  // is on the curve (EC) and the modulus and exponent sane (RSA).
  const std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> check(
      EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (check == nullptr || EVP_PKEY_public_check(check.get()) != 1) {
    return Status::InvalidArgument("is not a valid public key");
  }
  return owned;
}

Result<std::shared_ptr<evp_pkey_st>> RsaKey(const JsonValue& jwk) {
  LEDGER_ASSIGN_OR_RETURN(const std::string n, Base64UrlMember(jwk, "n"));
  LEDGER_ASSIGN_OR_RETURN(const std::string e, Base64UrlMember(jwk, "e"));
  if (n.size() > kMaxRsaModulusBytes) {
    return Status::InvalidArgument("has a modulus longer than " + std::to_string(kMaxRsaBits) +
                                   " bits");
  }
  const BnPtr modulus = ToBignum(n);
  const int bits = BN_num_bits(modulus.get());
  if (bits < kMinRsaBits || bits > kMaxRsaBits) {
    return Status::InvalidArgument("has a " + std::to_string(bits) + "-bit modulus; RS256 keys " +
                                   "need " + std::to_string(kMinRsaBits) + ".." +
                                   std::to_string(kMaxRsaBits) + " bits");
  }
  if (e.size() > kMaxRsaExponentBytes) {
    return Status::InvalidArgument("has an exponent longer than 64 bits");
  }
  const BnPtr exponent = ToBignum(e);
  if (!BN_is_odd(exponent.get()) || BN_is_one(exponent.get())) {
    return Status::InvalidArgument("has an exponent that is not an odd number above 1");
  }
  const std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  LEDGER_CHECK(bld != nullptr, "OSSL_PARAM_BLD_new fails only without memory");
  LEDGER_CHECK(OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, modulus.get()) == 1 &&
                   OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, exponent.get()) == 1,
               "pushing a BIGNUM fails only without memory");
  return KeyFromParams("RSA", bld.get());
}

Result<std::shared_ptr<evp_pkey_st>> P256Key(const JsonValue& jwk) {
  LEDGER_ASSIGN_OR_RETURN(const std::string x, Base64UrlMember(jwk, "x"));
  LEDGER_ASSIGN_OR_RETURN(const std::string y, Base64UrlMember(jwk, "y"));
  if (x.size() != kP256CoordinateBytes || y.size() != kP256CoordinateBytes) {
    return Status::InvalidArgument("has x or y that is not 32 bytes, as P-256 needs");
  }
  // The uncompressed point: 0x04 || x || y (SEC 1 §2.3.3).
  std::string point = "\x04" + x + y;
  const std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  LEDGER_CHECK(bld != nullptr, "OSSL_PARAM_BLD_new fails only without memory");
  LEDGER_CHECK(OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1",
                                               0) == 1 &&
                   OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY,
                                                    point.data(), point.size()) == 1,
               "pushing a parameter fails only without memory");
  return KeyFromParams("EC", bld.get());
}

// What one JWK of the set turns into: a key, a reason to skip it, or an
// error that refuses the set.
struct KeyOrSkip {
  std::optional<Jwk> key;
  std::string skip_reason;
};

Result<KeyOrSkip> ReadJwk(const JsonValue& jwk) {
  if (jwk.kind != JsonValue::Kind::kObject) return Status::InvalidArgument("is not an object");
  LEDGER_ASSIGN_OR_RETURN(const std::optional<std::string> kty, OptionalString(jwk, "kty"));
  LEDGER_ASSIGN_OR_RETURN(const std::optional<std::string> use, OptionalString(jwk, "use"));
  LEDGER_ASSIGN_OR_RETURN(const std::optional<std::string> alg, OptionalString(jwk, "alg"));
  LEDGER_ASSIGN_OR_RETURN(const std::optional<std::string> kid, OptionalString(jwk, "kid"));
  if (!kty) return Status::InvalidArgument("has no kty");
  if (kid && kid->empty()) return Status::InvalidArgument("has an empty kid");
  KeyOrSkip out;
  if (use && *use != "sig") {
    out.skip_reason = "use is not sig";
    return out;
  }
  if (alg && *alg != "RS256" && *alg != "ES256") {
    out.skip_reason = "alg is not RS256 or ES256";
    return out;
  }
  Jwk key;
  key.kid = kid.value_or("");
  if (*kty == "RSA") {
    if (alg && *alg != "RS256") return Status::InvalidArgument("has kty RSA but alg " + *alg);
    key.alg = JwsAlgorithm::kRs256;
    LEDGER_ASSIGN_OR_RETURN(key.key, RsaKey(jwk));
  } else if (*kty == "EC") {
    if (alg && *alg != "ES256") return Status::InvalidArgument("has kty EC but alg " + *alg);
    LEDGER_ASSIGN_OR_RETURN(const std::optional<std::string> crv, OptionalString(jwk, "crv"));
    if (!crv || *crv != "P-256") {
      if (alg) return Status::InvalidArgument("has alg ES256 but crv is not P-256");
      out.skip_reason = "crv is not P-256";
      return out;
    }
    key.alg = JwsAlgorithm::kEs256;
    LEDGER_ASSIGN_OR_RETURN(key.key, P256Key(jwk));
  } else {
    if (alg) return Status::InvalidArgument("has alg " + *alg + " but kty " + *kty);
    out.skip_reason = "kty is neither RSA nor EC";
    return out;
  }
  out.key = std::move(key);
  return out;
}

// "key 2 (kid \"abc\")" or "key 2".
std::string KeyName(size_t index, const JsonValue& jwk) {
  std::string name = "key " + std::to_string(index);
  if (jwk.kind == JsonValue::Kind::kObject) {
    const JsonValue* kid = FindMember(jwk, "kid");
    if (kid != nullptr && kid->kind == JsonValue::Kind::kString && !kid->text.empty()) {
      name += " (kid \"" + kid->text + "\")";
    }
  }
  return name;
}

}  // namespace

std::string_view JwsAlgorithmName(JwsAlgorithm alg) {
  return alg == JwsAlgorithm::kRs256 ? "RS256" : "ES256";
}

Result<JwkSet> JwkSet::Parse(std::string_view json, std::vector<std::string>* skipped) {
  const Result<JsonValue> read = ReadStrictJson(json);
  if (!read.ok()) return Status::InvalidArgument("the JWKS " + read.status().message());
  if (read->kind != JsonValue::Kind::kObject) {
    return Status::InvalidArgument("the JWKS is not a JSON object");
  }
  const JsonValue* keys = FindMember(*read, "keys");
  if (keys == nullptr || keys->kind != JsonValue::Kind::kArray) {
    return Status::InvalidArgument("the JWKS has no \"keys\" array");
  }
  JwkSet set;
  for (size_t i = 0; i < keys->elements.size(); ++i) {
    const JsonValue& jwk = keys->elements[i];
    Result<KeyOrSkip> read_key = ReadJwk(jwk);
    if (!read_key.ok()) {
      return Status::InvalidArgument("the JWKS's " + KeyName(i, jwk) + " " +
                                     read_key.status().message());
    }
    if (!read_key->key) {
      if (skipped != nullptr) skipped->push_back(KeyName(i, jwk) + ": " + read_key->skip_reason);
      continue;
    }
    if (set.Find(read_key->key->kid) != nullptr) {
      return Status::InvalidArgument("the JWKS's " + KeyName(i, jwk) +
                                     " has the kid of an earlier key");
    }
    if (set.keys_.size() == kMaxJwks) {
      return Status::InvalidArgument("the JWKS has more than " + std::to_string(kMaxJwks) +
                                     " usable keys");
    }
    set.keys_.push_back(std::move(*read_key->key));
  }
  if (set.keys_.empty()) {
    return Status::InvalidArgument(
        "the JWKS has no usable key (RSA for RS256 or EC P-256 for ES256, use sig)");
  }
  // Without a kid a token could not say which key signed it.
  if (set.keys_.size() > 1 && set.Find("") != nullptr) {
    return Status::InvalidArgument("the JWKS has a key without kid beside other keys");
  }
  return set;
}

Result<JwkSet> JwkSet::ReadFile(const std::string& path, std::vector<std::string>* skipped) {
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::IOError(path + ": cannot be opened for reading" +
                           (errno != 0 ? std::string(": ") + std::strerror(errno) : ""));
  }
  std::string text(kMaxJwksBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return Status::IOError(path + ": cannot be read");
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxJwksBytes) {
    return Status::IOError(path + ": larger than " + std::to_string(kMaxJwksBytes) + " bytes");
  }
  Result<JwkSet> set = Parse(text, skipped);
  if (!set.ok()) return Status::InvalidArgument(path + ": " + set.status().message());
  return set;
}

const Jwk* JwkSet::Find(std::string_view kid) const {
  for (const Jwk& key : keys_) {
    if (key.kid == kid) return &key;
  }
  return nullptr;
}

}  // namespace ledger::api
