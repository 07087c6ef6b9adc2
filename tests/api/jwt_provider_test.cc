// VerifyBearer with an identity provider's keys: RS256 and ES256 tokens
// chosen by kid, iss and aud, and the attacks RFC 8725 names.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "api/jwk_set.h"
#include "api/jwt.h"
#include "common/base64url.h"
#include "support/identity_provider.h"
#include "support/status_matchers.h"
#include "support/time_literals.h"

namespace ledger::api {
namespace {

using http::Problem;
using testing::At;
using testing::JwkSetJson;
using testing::ProviderKey;

constexpr std::string_view kSecret = "test-secret-0123456789abcdef";
constexpr std::string_view kIssuer = "https://sso.example.com/realms/funding";
constexpr std::string_view kAudience = "funding-ledger";

Timestamp Now() { return At("2026-11-21T03:00:00.000000Z"); }
constexpr int64_t kNowSeconds = 1'795'230'000;

const ProviderKey& RsaKey() { return testing::SharedRsaKey(); }
const ProviderKey& EcKey() { return testing::SharedEcKey(); }

// The provider's keys: both of the above.
const JwkSet& Keys() {
  static const JwkSet set = [] {
    Result<JwkSet> parsed = JwkSet::Parse(JwkSetJson({RsaKey().Jwk(), EcKey().Jwk()}), nullptr);
    EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
    return std::move(parsed).value();
  }();
  return set;
}

TokenTrust Trust() {
  TokenTrust trust;
  trust.secret = kSecret;
  trust.jwks = &Keys();
  trust.issuer = kIssuer;
  trust.audience = kAudience;
  return trust;
}

// Claims as Keycloak writes them, with `aud` as given (raw JSON) and an exp
// `ttl_s` from now.
std::string Claims(std::string_view aud = R"("funding-ledger")", int64_t ttl_s = 300,
                   std::string_view iss = kIssuer) {
  std::string out = R"({"exp":)" + std::to_string(kNowSeconds + ttl_s) + R"(,"iat":)" +
                    std::to_string(kNowSeconds - 10) + R"(,"iss":")" + std::string(iss) +
                    R"(","sub":"5f0c1e2a-7d3b-4c55-9a7e-0e8f3b2c1d00")" +
                    R"(,"typ":"Bearer","azp":"funding-web","scope":"openid profile")" +
                    R"(,"realm_access":{"roles":["user"]},"name":"Kim Minji")";
  if (!aud.empty()) out += R"(,"aud":)" + std::string(aud);
  return out + "}";
}

Result<TokenClaims, Problem> Verify(const std::string& token, const TokenTrust& trust = Trust()) {
  return VerifyBearer("Bearer " + token, trust, Now());
}

void ExpectRefused(const std::string& token, std::string_view why,
                   const TokenTrust& trust = Trust()) {
  const auto r = Verify(token, trust);
  ASSERT_FALSE(r.ok()) << "accepted: " << why;
  EXPECT_EQ(r.error().status, 401);
  EXPECT_NE(r.error().detail.find(why), std::string::npos) << r.error().detail;
  ASSERT_FALSE(r.error().headers.empty());
  EXPECT_NE(r.error().headers[0].second.find(R"(error="invalid_token")"), std::string::npos);
}

std::string HmacToken(std::string_view header, std::string_view claims, std::string_view key) {
  const std::string input = Base64UrlEncode(header) + "." + Base64UrlEncode(claims);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &mac_len);
  return input + "." + Base64UrlEncode(std::string_view(reinterpret_cast<char*>(mac), mac_len));
}

TEST(JwtProviderTest, AcceptsRs256AndEs256TokensOfTheProvider) {
  for (const ProviderKey* key : {&RsaKey(), &EcKey()}) {
    const auto r = Verify(key->Token(Claims()));
    ASSERT_TRUE(r.ok()) << key->alg() << ": " << r.error().detail;
    EXPECT_EQ(r->sub, "5f0c1e2a-7d3b-4c55-9a7e-0e8f3b2c1d00");
    EXPECT_EQ(r->name, "Kim Minji");
    EXPECT_EQ(r->expires_at, Timestamp(std::chrono::seconds(kNowSeconds + 300)));
  }
}

TEST(JwtProviderTest, TheServicesOwnHs256TokensStillWork) {
  TokenClaims claims;
  claims.sub = "alice";
  claims.expires_at = Now() + std::chrono::hours(1);
  // Without iss and aud: those bind the provider's keys, not the secret.
  const auto r = Verify(MintToken(kSecret, claims));
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(r->sub, "alice");
}

TEST(JwtProviderTest, RefusesAWrongSignature) {
  const ProviderKey stranger = ProviderKey::Rsa("rsa-1");  // the kid, not the key
  ExpectRefused(stranger.Token(Claims()), "signature does not match");
  const ProviderKey stranger_ec = ProviderKey::P256("ec-1");
  ExpectRefused(stranger_ec.Token(Claims()), "signature does not match");
  // Claims changed after signing.
  std::string token = RsaKey().Token(Claims());
  const size_t dot = token.find('.');
  const size_t dot2 = token.find('.', dot + 1);
  const std::string forged = token.substr(0, dot + 1) +
                             Base64UrlEncode(Claims(R"("funding-ledger")", 99'999)) +
                             token.substr(dot2);
  ExpectRefused(forged, "signature does not match");
  // An ES256 signature in DER, as OpenSSL writes it, is not a JWS one.
  const std::string es256 = EcKey().Token(Claims());
  ExpectRefused(es256.substr(0, es256.rfind('.') + 1) + Base64UrlEncode(std::string(70, '\x30')),
                "signature does not match");
  ExpectRefused(EcKey().Token(Claims()) + "AAAA", "signature does not match");
}

TEST(JwtProviderTest, RefusesAlgNone) {
  const std::string unsigned_token =
      Base64UrlEncode(R"({"alg":"none","kid":"rsa-1"})") + "." + Base64UrlEncode(Claims()) + ".";
  ExpectRefused(unsigned_token, "alg must be HS256, RS256 or ES256");
}

// The classic confusion: HS256 "signed" with the provider's public key as
// the HMAC secret. HS256 only ever uses the service's secret.
TEST(JwtProviderTest, RefusesHs256SignedWithThePublicKey) {
  for (const std::string& public_key : {RsaKey().PublicPem(), RsaKey().Jwk()}) {
    ExpectRefused(HmacToken(R"({"alg":"HS256","kid":"rsa-1"})", Claims(), public_key),
                  "signature does not match");
  }
  // And with HS256 not configured at all, the alg itself is refused.
  TokenTrust provider_only = Trust();
  provider_only.secret = {};
  ExpectRefused(HmacToken(R"({"alg":"HS256","kid":"rsa-1"})", Claims(), RsaKey().PublicPem()),
                "alg must be RS256 or ES256", provider_only);
}

TEST(JwtProviderTest, TheAlgMustBeTheKeys) {
  // An RS256 header naming the EC key, and the reverse.
  ExpectRefused(EcKey().SignWithHeader(R"({"alg":"RS256","kid":"ec-1"})", Claims()),
                "alg is not its key's (ES256)");
  ExpectRefused(RsaKey().SignWithHeader(R"({"alg":"ES256","kid":"rsa-1"})", Claims()),
                "alg is not its key's (RS256)");
  // RS256 is refused where no JWKS is configured.
  TokenTrust secret_only;
  secret_only.secret = kSecret;
  ExpectRefused(RsaKey().Token(Claims()), "alg must be HS256", secret_only);
}

TEST(JwtProviderTest, RefusesUnknownOrMissingKid) {
  const ProviderKey other = ProviderKey::P256("ec-2");
  ExpectRefused(other.Token(Claims()), "kid names no key the service trusts");
  ExpectRefused(EcKey().SignWithHeader(R"({"alg":"ES256"})", Claims()), "has no kid");
  ExpectRefused(EcKey().SignWithHeader(R"({"alg":"ES256","kid":["ec-1"]})", Claims()),
                "kid is not a string");
}

TEST(JwtProviderTest, RefusesAnotherIssuer) {
  ExpectRefused(RsaKey().Token(Claims(R"("funding-ledger")", 300, "https://evil.example.com")),
                "iss is not the configured issuer");
  ExpectRefused(RsaKey().Token(R"({"sub":"a","exp":)" + std::to_string(kNowSeconds + 60) +
                               R"(,"aud":"funding-ledger"})"),
                "has no iss claim");
  // Without a configured issuer any iss is taken.
  TokenTrust any_issuer = Trust();
  any_issuer.issuer = {};
  EXPECT_TRUE(
      Verify(RsaKey().Token(Claims(R"("funding-ledger")", 300, "https://other")), any_issuer).ok());
}

TEST(JwtProviderTest, AudMustNameTheAudience) {
  ExpectRefused(RsaKey().Token(Claims(R"("account")")), "aud does not name");
  ExpectRefused(RsaKey().Token(Claims("")), "has no aud claim");
  ExpectRefused(RsaKey().Token(Claims(R"(["account","funding"])")), "aud does not name");
  ExpectRefused(RsaKey().Token(Claims(R"({"funding-ledger":1})")), "aud does not name");
  // An array holding it is accepted (RFC 7519 §4.1.3).
  const auto r = Verify(RsaKey().Token(Claims(R"(["account","funding-ledger"])")));
  EXPECT_TRUE(r.ok()) << r.error().detail;
}

TEST(JwtProviderTest, RefusesExpiredTokens) {
  // Expired 61 s ago: past the leeway.
  ExpectRefused(EcKey().Token(Claims(R"("funding-ledger")", -61)), "the token expired at");
  EXPECT_TRUE(Verify(EcKey().Token(Claims(R"("funding-ledger")", -59))).ok());
}

TEST(JwtProviderTest, AKeyWithoutKidTakesTokensWithoutKid) {
  const ProviderKey lone = ProviderKey::Rsa("");
  const Result<JwkSet> set = JwkSet::Parse(JwkSetJson({lone.Jwk()}), nullptr);
  ASSERT_OK(set);
  TokenTrust trust = Trust();
  trust.jwks = &*set;
  EXPECT_TRUE(Verify(lone.Token(Claims()), trust).ok());
  ExpectRefused(lone.SignWithHeader(R"({"alg":"RS256","kid":"x"})", Claims()), "kid names no key",
                trust);
}

}  // namespace
}  // namespace ledger::api
