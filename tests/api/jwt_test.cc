#include "api/jwt.h"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "commands/command.h"
#include "commands/limits.h"
#include "common/base64url.h"
#include "support/status_matchers.h"
#include "support/time_literals.h"

namespace ledger::api {

using http::Problem;
namespace {

using std::chrono::seconds;
using testing::At;

constexpr std::string_view kSecret = "test-secret-0123456789abcdef";
constexpr std::string_view kHs256Header = R"({"alg":"HS256","typ":"JWT"})";

// 2026-11-21T03:00:00Z, a whole second, as NumericDate 1795230000.
Timestamp Now() { return At("2026-11-21T03:00:00.000000Z"); }
int64_t NowSeconds() { return 1'795'230'000; }

std::string B64(std::string_view bytes) { return Base64UrlEncode(bytes); }

// A token with exactly this header and payload, signed with HMAC over `md`.
std::string Sign(std::string_view header, std::string_view payload,
                 std::string_view secret = kSecret, const EVP_MD* md = EVP_sha256()) {
  std::string input = B64(header) + "." + B64(payload);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(md, secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &mac_len);
  return input + "." + B64(std::string_view(reinterpret_cast<const char*>(mac), mac_len));
}

std::string Claims(std::string_view extra = "") {
  return R"({"sub":"user-1","exp":)" + std::to_string(NowSeconds() + 3600) + std::string(extra) +
         "}";
}

Result<TokenClaims, Problem> Verify(const std::string& token, Timestamp now = Now()) {
  const std::string header = "Bearer " + token;
  return VerifyBearer(header, kSecret, now);
}

std::string Challenge(const Problem& p) {
  for (const auto& [name, value] : p.headers) {
    if (name == "WWW-Authenticate") return value;
  }
  return "<none>";
}

// Expects the token to be refused with an invalid_token challenge whose
// detail contains `why` and says nothing of the token itself.
void ExpectRefused(const std::string& token, std::string_view why, Timestamp now = Now()) {
  const auto r = Verify(token, now);
  ASSERT_FALSE(r.ok()) << "accepted: " << why;
  const Problem& p = r.error();
  EXPECT_EQ(p.name, "unauthorized");
  EXPECT_EQ(p.status, 401);
  EXPECT_NE(p.detail.find(why), std::string::npos) << p.detail;
  const std::string challenge = Challenge(p);
  EXPECT_EQ(challenge.rfind(R"(Bearer realm="funding-ledger", error="invalid_token", )", 0), 0U)
      << challenge;
  EXPECT_NE(challenge.find("error_description=\""), std::string::npos) << challenge;
  // Never the token or any of its parts.
  for (size_t start = 0; start < token.size();) {
    size_t dot = token.find('.', start);
    if (dot == std::string::npos) dot = token.size();
    const std::string part = token.substr(start, dot - start);
    if (part.size() >= 8) {
      EXPECT_EQ(p.detail.find(part), std::string::npos) << p.detail;
      EXPECT_EQ(challenge.find(part), std::string::npos) << challenge;
    }
    start = dot + 1;
  }
}

TokenClaims Accepted(const std::string& token, Timestamp now = Now()) {
  auto r = Verify(token, now);
  EXPECT_TRUE(r.ok()) << (!r.ok() ? r.error().detail : "");
  if (!r.ok()) return {};
  return std::move(r).value();
}

// --- minting ----------------------------------------------------------------

TEST(JwtTest, MintThenVerifyRoundTrip) {
  TokenClaims claims;
  claims.sub = "user-1";
  claims.name = "홍길동";
  claims.issued_at = Now();
  claims.not_before = Now() - seconds(5);
  claims.expires_at = Now() + seconds(3600);
  const std::string token = MintToken(kSecret, claims);
  const TokenClaims got = Accepted(token);
  EXPECT_EQ(got.sub, "user-1");
  EXPECT_EQ(got.name, "홍길동");
  EXPECT_EQ(got.issued_at, Now());
  EXPECT_EQ(got.not_before, Now() - seconds(5));
  EXPECT_EQ(got.expires_at, Now() + seconds(3600));
}

TEST(JwtTest, MintWritesTheStandardHeaderAndWholeSeconds) {
  TokenClaims claims;
  claims.sub = "u";
  claims.expires_at = Now() + std::chrono::microseconds(1'999'999);
  const std::string token = MintToken(kSecret, claims);
  const size_t dot = token.find('.');
  EXPECT_EQ(Base64UrlDecode(token.substr(0, dot)), std::string(kHs256Header));
  const size_t dot2 = token.find('.', dot + 1);
  EXPECT_EQ(Base64UrlDecode(token.substr(dot + 1, dot2 - dot - 1)),
            R"({"sub":"u","exp":)" + std::to_string(NowSeconds() + 1) + "}");
  EXPECT_EQ(token,
            Sign(kHs256Header, R"({"sub":"u","exp":)" + std::to_string(NowSeconds() + 1) + "}"));
  const TokenClaims got = Accepted(token);
  EXPECT_EQ(got.name, "");
  EXPECT_FALSE(got.issued_at);
  EXPECT_FALSE(got.not_before);
}

TEST(JwtTest, CheckSubjectBounds) {
  EXPECT_OK(CheckSubject("a"));
  EXPECT_OK(CheckSubject("사용자"));
  EXPECT_OK(CheckSubject(std::string(commands::kActorMaxBytes, 'x')));
  EXPECT_FALSE(CheckSubject("").ok());
  EXPECT_FALSE(CheckSubject(std::string(commands::kActorMaxBytes + 1, 'x')).ok());
  EXPECT_FALSE(CheckSubject("a\nb").ok());
  EXPECT_FALSE(CheckSubject("a\x7F").ok());
  EXPECT_FALSE(CheckSubject("\xC3\x28").ok());
  // The service's own actor, which settles posts.
  EXPECT_FALSE(CheckSubject(commands::kSystemActor).ok());
  EXPECT_OK(CheckSubject("System"));
}

// --- the Authorization header -------------------------------------------------

TEST(JwtTest, MissingHeaderGetsTheBareChallenge) {
  const auto r = VerifyBearer(std::nullopt, kSecret, Now());
  ASSERT_FALSE(r.ok());
  const Problem& p = r.error();
  EXPECT_EQ(p.name, "unauthorized");
  EXPECT_EQ(p.status, 401);
  EXPECT_EQ(Challenge(p), R"(Bearer realm="funding-ledger")");
  EXPECT_NE(p.detail.find("no Authorization header"), std::string::npos);
}

TEST(JwtTest, OtherSchemesGetTheBareChallenge) {
  for (const std::string_view header : {"Basic dXNlcjpwYXNz", "", "Token abc", "Bearer2 abc"}) {
    const auto r = VerifyBearer(header, kSecret, Now());
    ASSERT_FALSE(r.ok()) << header;
    EXPECT_EQ(Challenge(r.error()), R"(Bearer realm="funding-ledger")") << header;
  }
}

TEST(JwtTest, SchemeIsCaseInsensitive) {
  const std::string token = Sign(kHs256Header, Claims());
  for (const std::string& header :
       {"bearer " + token, "BEARER " + token, "BeArEr " + token, "Bearer   " + token}) {
    EXPECT_TRUE(VerifyBearer(header, kSecret, Now()).ok()) << header;
  }
}

TEST(JwtTest, BearerWithoutATokenIsInvalid) {
  for (const std::string_view header : {"Bearer", "Bearer ", "bearer    "}) {
    const auto r = VerifyBearer(header, kSecret, Now());
    ASSERT_FALSE(r.ok()) << header;
    EXPECT_NE(Challenge(r.error()).find(R"(error="invalid_token")"), std::string::npos);
  }
}

TEST(JwtTest, TooLongTokensAreRefusedUnread) {
  ExpectRefused(std::string(kMaxTokenBytes + 1, 'A'), "longer than 4096 bytes");
  // A valid token padded into the limit by a long claim is still read.
  std::string filler(kMaxTokenBytes, 'x');
  const std::string big = Sign(kHs256Header, Claims(R"(,"pad":")" + filler + "\""));
  ASSERT_GT(big.size(), kMaxTokenBytes);
  ExpectRefused(big, "longer than");
  const std::string fits =
      Sign(kHs256Header, Claims(R"(,"pad":")" + filler.substr(0, 2900) + "\""));
  ASSERT_LE(fits.size(), kMaxTokenBytes);
  Accepted(fits);
}

// --- structure and header -----------------------------------------------------

TEST(JwtTest, RefusesTokensThatAreNotThreeParts) {
  const std::string token = Sign(kHs256Header, Claims());
  ExpectRefused("abc", "three parts");
  ExpectRefused("a.b", "three parts");
  ExpectRefused(token + ".extra", "three parts");
  ExpectRefused(token + ".", "three parts");
}

TEST(JwtTest, RefusesGarbageBase64) {
  const std::string token = Sign(kHs256Header, Claims());
  const size_t dot = token.find('.');
  const size_t dot2 = token.find('.', dot + 1);
  ExpectRefused("!!!." + token.substr(dot + 1), "header is not base64url");
  ExpectRefused("..", "header");
  ExpectRefused(token.substr(0, dot2) + ".***", "signature is not base64url");
  ExpectRefused(token.substr(0, dot2) + ".a+b/", "signature is not base64url");
  ExpectRefused(token + "=", "signature is not base64url");  // padding
  // Header in standard base64 with padding instead of base64url.
  ExpectRefused("eyJhbGciOiJIUzI1NiJ9=" + token.substr(dot), "header is not base64url");
}

TEST(JwtTest, RefusesAlgNone) {
  const std::string claims = B64(Claims());
  ExpectRefused(B64(R"({"alg":"none","typ":"JWT"})") + "." + claims + ".", "alg must be HS256");
  ExpectRefused(B64(R"({"alg":"none"})") + "." + claims + "." + B64("sig"), "alg must be HS256");
  // Signed correctly, but the header says none: the header is never trusted.
  ExpectRefused(Sign(R"({"alg":"none"})", Claims()), "alg must be HS256");
}

TEST(JwtTest, RefusesOtherAlgorithms) {
  ExpectRefused(Sign(R"({"alg":"HS512","typ":"JWT"})", Claims(), kSecret, EVP_sha512()),
                "alg must be HS256");
  ExpectRefused(Sign(R"({"alg":"RS256"})", Claims()), "alg must be HS256");
  ExpectRefused(Sign(R"({"alg":"hs256"})", Claims()), "alg must be HS256");
  ExpectRefused(Sign(R"({"typ":"JWT"})", Claims()), "alg must be HS256");
  ExpectRefused(Sign(R"({"alg":["HS256"]})", Claims()), "alg must be HS256");
}

TEST(JwtTest, TypMustBeJwtWhenPresent) {
  Accepted(Sign(R"({"alg":"HS256"})", Claims()));
  Accepted(Sign(R"({"alg":"HS256","typ":"jwt"})", Claims()));
  Accepted(Sign(R"({"typ":"JWT","kid":"k1","alg":"HS256"})", Claims()));
  ExpectRefused(Sign(R"({"alg":"HS256","typ":"JOSE"})", Claims()), "typ must be JWT");
  ExpectRefused(Sign(R"({"alg":"HS256","typ":null})", Claims()), "typ must be JWT");
}

TEST(JwtTest, RefusesCrit) {
  ExpectRefused(Sign(R"({"alg":"HS256","crit":["exp"]})", Claims()), "crit");
}

TEST(JwtTest, RefusesMalformedHeaderJson) {
  ExpectRefused(Sign("not json", Claims()), "header is not JSON");
  ExpectRefused(Sign(R"(["HS256"])", Claims()), "header is not a JSON object");
  ExpectRefused(Sign(R"({"alg":"HS256","alg":"none"})", Claims()), "duplicate member /alg");
  ExpectRefused(Sign("{\"alg\":\"HS256\",\"x\":\"\xC3\x28\"}", Claims()), "not valid UTF-8");
}

// --- signature ------------------------------------------------------------------

TEST(JwtTest, RefusesTamperedPayload) {
  const std::string token = Sign(kHs256Header, Claims());
  const size_t dot = token.find('.');
  const size_t dot2 = token.find('.', dot + 1);
  const std::string forged =
      token.substr(0, dot) + "." +
      B64(R"({"sub":"admin","exp":)" + std::to_string(NowSeconds() + 3600) + "}") +
      token.substr(dot2);
  ExpectRefused(forged, "signature does not match");
}

TEST(JwtTest, RefusesTamperedSignature) {
  const std::string token = Sign(kHs256Header, Claims());
  const size_t dot2 = token.rfind('.');
  std::string flipped = token;
  flipped[dot2 + 1] = flipped[dot2 + 1] == 'A' ? 'B' : 'A';
  ExpectRefused(flipped, "signature does not match");
  ExpectRefused(token.substr(0, token.size() - 3), "signature");  // shorter
  ExpectRefused(token.substr(0, dot2 + 1) + B64(std::string(32, '\0')), "signature does not match");
  ExpectRefused(token.substr(0, dot2 + 1) + B64(std::string(64, 'x')), "signature does not match");
}

TEST(JwtTest, RefusesTheWrongSecret) {
  ExpectRefused(Sign(kHs256Header, Claims(), "another-secret"), "signature does not match");
  TokenClaims claims;
  claims.sub = "u";
  claims.expires_at = Now() + seconds(60);
  ExpectRefused(MintToken("another-secret", claims), "signature does not match");
}

// --- claims -----------------------------------------------------------------------

TEST(JwtTest, ExpiryHonoursTheLeeway) {
  const auto token = [](int64_t exp) {
    return Sign(kHs256Header, R"({"sub":"u","exp":)" + std::to_string(exp) + "}");
  };
  Accepted(token(NowSeconds() + 1));
  Accepted(token(NowSeconds()));  // at exp, within the leeway
  Accepted(token(NowSeconds() - 59));
  ExpectRefused(token(NowSeconds() - 60), "expired at 2026-11-21T02:59:00.000000Z");
  ExpectRefused(token(NowSeconds() - 86'400), "expired");
  // One microsecond before exp + leeway is still fine.
  Accepted(token(NowSeconds() - 60), Now() - std::chrono::microseconds(1));
}

TEST(JwtTest, NotBeforeHonoursTheLeeway) {
  const auto token = [](int64_t nbf) {
    return Sign(kHs256Header, Claims(R"(,"nbf":)" + std::to_string(nbf)));
  };
  Accepted(token(NowSeconds() - 1000));
  Accepted(token(NowSeconds() + 60));
  ExpectRefused(token(NowSeconds() + 61), "not valid before 2026-11-21T03:01:01.000000Z");
}

TEST(JwtTest, IssuedInTheFutureIsRefused) {
  const auto token = [](int64_t iat) {
    return Sign(kHs256Header, Claims(R"(,"iat":)" + std::to_string(iat)));
  };
  Accepted(token(NowSeconds() - 10));
  Accepted(token(NowSeconds() + 60));
  ExpectRefused(token(NowSeconds() + 61), "issued in the future");
}

TEST(JwtTest, ExpIsRequiredAndMustBeWholeSeconds) {
  ExpectRefused(Sign(kHs256Header, R"({"sub":"u"})"), "no exp claim");
  const std::string later = std::to_string(NowSeconds() + 100);
  for (const std::string& exp :
       {"\"" + later + "\"", later + ".5", later + ".0", std::string("null"), std::string("-1"),
        std::string("253402300800"), std::string("1e20"), std::string("99999999999999999999")}) {
    ExpectRefused(Sign(kHs256Header, R"({"sub":"u","exp":)" + exp + "}"),
                  "exp is not a NumericDate");
  }
  ExpectRefused(Sign(kHs256Header, Claims(R"(,"nbf":"soon")")), "nbf is not a NumericDate");
  ExpectRefused(Sign(kHs256Header, Claims(R"(,"iat":1.5)")), "iat is not a NumericDate");
}

TEST(JwtTest, SubIsRequiredAndBounded) {
  const std::string exp = R"(,"exp":)" + std::to_string(NowSeconds() + 100) + "}";
  ExpectRefused(Sign(kHs256Header, "{\"name\":\"x\"" + exp), "no sub claim");
  ExpectRefused(Sign(kHs256Header, R"({"sub":7)" + exp), "sub is not a string");
  ExpectRefused(Sign(kHs256Header, R"({"sub":null)" + exp), "sub is not a string");
  ExpectRefused(Sign(kHs256Header, R"({"sub":"")" + exp), "sub is empty");
  ExpectRefused(Sign(kHs256Header, R"({"sub":"a\u0001b")" + exp), "sub has control characters");
  ExpectRefused(Sign(kHs256Header, R"({"sub":"a\u0085")" + exp), "sub has control characters");
  const std::string max(commands::kActorMaxBytes, 's');
  EXPECT_EQ(Accepted(Sign(kHs256Header, R"({"sub":")" + max + "\"" + exp)).sub, max);
  ExpectRefused(Sign(kHs256Header, R"({"sub":")" + max + "s\"" + exp), "longer than 255 bytes");
  EXPECT_EQ(Accepted(Sign(kHs256Header, R"({"sub":"사용자-1")" + exp)).sub, "사용자-1");
}

TEST(JwtTest, NameMustBeAStringWhenPresent) {
  EXPECT_EQ(Accepted(Sign(kHs256Header, Claims(R"(,"name":"김")"))).name, "김");
  ExpectRefused(Sign(kHs256Header, Claims(R"(,"name":1)")), "name is not a string");
}

TEST(JwtTest, OtherClaimsAreIgnored) {
  Accepted(Sign(kHs256Header, Claims(R"(,"aud":"x","iss":"y","jti":"z","scope":[1,2])")));
}

TEST(JwtTest, RefusesMalformedClaims) {
  ExpectRefused(Sign(kHs256Header, "[]"), "claim set is not a JSON object");
  ExpectRefused(Sign(kHs256Header, "{"), "claim set is not JSON");
  ExpectRefused(Sign(kHs256Header, R"({"sub":"a","sub":"b","exp":1})"), "duplicate member /sub");
  ExpectRefused(Sign(kHs256Header, R"({"sub":"\udc00","exp":1})"), "lone surrogate");
}

TEST(JwtTest, ChallengeDescriptionHasNoQuotes) {
  const auto r = Verify(Sign(R"({"alg":"none"})", Claims()));
  ASSERT_FALSE(r.ok());
  const std::string challenge = Challenge(r.error());
  EXPECT_EQ(challenge, R"(Bearer realm="funding-ledger", error="invalid_token", )"
                       R"(error_description="the token's alg must be HS256")");
}

TEST(JwtDeathTest, EmptySecretIsABug) {
  TokenClaims claims;
  claims.sub = "u";
  EXPECT_DEATH(MintToken("", claims), "secret");
  EXPECT_DEATH((void)VerifyBearer("Bearer x", "", Now()), "secret");
}

}  // namespace
}  // namespace ledger::api
