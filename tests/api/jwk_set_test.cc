#include "api/jwk_set.h"

#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/base64url.h"
#include "support/identity_provider.h"
#include "support/status_matchers.h"
#include "support/temp_dir.h"

namespace ledger::api {
namespace {

using testing::JwkSetJson;
using testing::ProviderKey;

const ProviderKey& RsaKey() { return testing::SharedRsaKey(); }
const ProviderKey& EcKey() { return testing::SharedEcKey(); }

// Expects `json` to be refused with a message that contains `why`.
void ExpectRefused(const std::string& json, std::string_view why) {
  const Result<JwkSet> set = JwkSet::Parse(json, nullptr);
  ASSERT_FALSE(set.ok()) << "accepted: " << why;
  EXPECT_EQ(set.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(set.status().message().find(why), std::string::npos) << set.status().ToString();
}

TEST(JwkSetTest, ReadsRsaAndP256KeysByKid) {
  const Result<JwkSet> set = JwkSet::Parse(
      JwkSetJson({RsaKey().Jwk(R"(,"alg":"RS256")"), EcKey().Jwk(R"(,"alg":"ES256")")}), nullptr);
  ASSERT_OK(set);
  ASSERT_EQ(set->keys().size(), 2u);
  ASSERT_NE(set->Find("rsa-1"), nullptr);
  EXPECT_EQ(set->Find("rsa-1")->alg, JwsAlgorithm::kRs256);
  ASSERT_NE(set->Find("ec-1"), nullptr);
  EXPECT_EQ(set->Find("ec-1")->alg, JwsAlgorithm::kEs256);
  EXPECT_EQ(set->Find("other"), nullptr);
  EXPECT_EQ(set->Find(""), nullptr);
}

TEST(JwkSetTest, AloneAKeyMayGoWithoutKid) {
  const ProviderKey anonymous = ProviderKey::P256("");
  const Result<JwkSet> set = JwkSet::Parse(JwkSetJson({anonymous.Jwk()}), nullptr);
  ASSERT_OK(set);
  EXPECT_NE(set->Find(""), nullptr);
  ExpectRefused(JwkSetJson({anonymous.Jwk(), EcKey().Jwk()}), "without kid beside other keys");
}

// Keycloak's set has an encryption key beside the signing ones; such keys
// are left out and said so, not refused.
TEST(JwkSetTest, SkipsKeysThatAreNotForRs256OrEs256) {
  const std::string n = Base64UrlEncode(std::string(256, '\x01'));
  std::vector<std::string> skipped;
  const Result<JwkSet> set = JwkSet::Parse(
      JwkSetJson({
          RsaKey().Jwk(),
          R"({"kty":"RSA","kid":"enc","use":"enc","alg":"RSA-OAEP","n":")" + n + R"(","e":"AQAB"})",
          R"({"kty":"RSA","kid":"rs512","alg":"RS512","n":")" + n + R"(","e":"AQAB"})",
          R"({"kty":"EC","kid":"p384","crv":"P-384","x":"AA","y":"AA"})",
          R"({"kty":"OKP","kid":"ed","crv":"Ed25519","x":"AA"})",
          R"({"kty":"oct","kid":"hmac","k":"c2VjcmV0"})",
      }),
      &skipped);
  ASSERT_OK(set);
  EXPECT_EQ(set->keys().size(), 1u);
  ASSERT_EQ(skipped.size(), 5u);
  EXPECT_EQ(skipped[0], R"(key 1 (kid "enc"): use is not sig)");
  EXPECT_EQ(skipped[1], R"(key 2 (kid "rs512"): alg is not RS256 or ES256)");
  EXPECT_EQ(skipped[2], R"(key 3 (kid "p384"): crv is not P-256)");
  EXPECT_EQ(skipped[3], R"(key 4 (kid "ed"): kty is neither RSA nor EC)");
}

TEST(JwkSetTest, RefusesASetWithoutUsableKeys) {
  ExpectRefused(R"({"keys":[]})", "no usable key");
  ExpectRefused(R"({"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0"}]})", "no usable key");
  const std::string n = Base64UrlEncode(std::string(256, '\x01'));
  ExpectRefused(R"({"keys":[{"kty":"RSA","kid":"e","use":"enc","n":")" + n + R"(","e":"AQAB"}]})",
                "no usable key");
  ExpectRefused(R"({"keys":{}})", "no \"keys\" array");
  ExpectRefused(R"([])", "not a JSON object");
  ExpectRefused("{\"keys\":[", "the JWKS ");
  ExpectRefused("", "the JWKS ");
}

TEST(JwkSetTest, RefusesRsaKeysUnder2048Bits) {
  const ProviderKey weak = ProviderKey::Rsa("weak", 1024);
  ExpectRefused(JwkSetJson({weak.Jwk()}), R"(key 0 (kid "weak") has a 1024-bit modulus)");
  // Beside a good key too: a weak key named by tokens is a mistake to fix.
  ExpectRefused(JwkSetJson({RsaKey().Jwk(), weak.Jwk()}), "1024-bit modulus");
}

TEST(JwkSetTest, RefusesBrokenKeysForOurAlgorithms) {
  const std::string e = R"("e":"AQAB")";
  ExpectRefused(R"({"keys":[{"kty":"RSA","kid":"a","n":"***",)" + e + "}]}",
                "member n that is not base64url");
  ExpectRefused(R"({"keys":[{"kty":"RSA","kid":"a",)" + e + "}]}", "has no n");
  ExpectRefused(R"({"keys":[{"kty":"RSA","kid":"a","n":"AQAB","e":"AQAB"}]})", "-bit modulus");
  ExpectRefused(R"({"keys":[{"kid":"a","n":"AQAB","e":"AQAB"}]})", "has no kty");
  ExpectRefused(R"({"keys":[{"kty":"RSA","kid":"","n":"AQAB","e":"AQAB"}]})", "empty kid");
  ExpectRefused(R"({"keys":[{"kty":"RSA","kid":7,"n":"AQAB","e":"AQAB"}]})",
                "member kid that is not a string");
  ExpectRefused(R"({"keys":[42]})", "key 0 is not an object");
  // The algorithm a key names must be its type's.
  ExpectRefused(JwkSetJson({RsaKey().Jwk(R"(,"alg":"ES256")")}), "has kty RSA but alg ES256");
  ExpectRefused(JwkSetJson({EcKey().Jwk(R"(,"alg":"RS256")")}), "has kty EC but alg RS256");
  ExpectRefused(R"({"keys":[{"kty":"EC","kid":"a","alg":"ES256","crv":"P-384"}]})",
                "crv is not P-256");
  ExpectRefused(R"({"keys":[{"kty":"oct","kid":"a","alg":"RS256"}]})", "alg RS256 but kty oct");
  // Short coordinates, and a point that is not on the curve.
  ExpectRefused(R"({"keys":[{"kty":"EC","kid":"a","crv":"P-256","x":"AQ","y":"AQ"}]})",
                "not 32 bytes");
  const std::string zero = Base64UrlEncode(std::string(32, '\x01'));
  ExpectRefused(R"({"keys":[{"kty":"EC","kid":"a","crv":"P-256","x":")" + zero + R"(","y":")" +
                    zero + R"("}]})",
                "not a valid public key");
  // An even exponent.
  const std::string jwk = RsaKey().Jwk();
  std::string even = jwk;
  even.replace(even.find(R"("e":"AQAB")"), 10, R"("e":"AQAC")");
  ExpectRefused(JwkSetJson({even}), "exponent");
}

TEST(JwkSetTest, RefusesTheSameKidTwice) {
  const ProviderKey twin = ProviderKey::P256("rsa-1");
  ExpectRefused(JwkSetJson({RsaKey().Jwk(), twin.Jwk()}), "kid of an earlier key");
}

TEST(JwkSetTest, ReadFileNamesThePath) {
  ledger::testing::TempDir dir;
  const std::string path = dir.Sub("jwks.json");
  const Result<JwkSet> missing = JwkSet::ReadFile(path, nullptr);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Status::Code::kIOError);
  EXPECT_NE(missing.status().message().find(path + ": cannot be opened"), std::string::npos)
      << missing.status().ToString();

  std::ofstream(path) << "not json";
  const Result<JwkSet> garbage = JwkSet::ReadFile(path, nullptr);
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.status().message().rfind(path + ": the JWKS is not JSON", 0), 0u)
      << garbage.status().ToString();

  std::ofstream(path, std::ios::trunc) << JwkSetJson({EcKey().Jwk()});
  ASSERT_OK(JwkSet::ReadFile(path, nullptr));

  std::ofstream(path, std::ios::trunc) << std::string(kMaxJwksBytes + 1, ' ');
  const Result<JwkSet> huge = JwkSet::ReadFile(path, nullptr);
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.status().message().find("larger than"), std::string::npos);
}

}  // namespace
}  // namespace ledger::api
