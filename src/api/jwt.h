#pragma once

// Bearer tokens: JWT (RFC 7519) signed with HMAC-SHA256 (JWS HS256) under
// the service's secret, or with RS256 or ES256 under an identity provider's
// keys (jwk_set.h), checked the way RFC 8725 (JWT best practices) asks: the
// accepted algorithms are fixed by the configuration and each is bound to its
// own kind of key (the token's alg only picks among them, and never makes a
// public key an HMAC secret), the signature is checked before the claims are
// read, and every failure is the same 401.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/jwk_set.h"
#include "common/clock.h"
#include "common/result.h"
#include "common/status.h"
#include "http/problem.h"

namespace ledger::api {

// A token longer than this is refused before it is decoded. Ours are about
// 200 bytes; the bound stays well inside the header limit.
inline constexpr size_t kMaxTokenBytes = 4'096;

// Clock skew allowed between the issuer and us, for exp, nbf and iat.
inline constexpr std::chrono::seconds kTokenLeeway{60};

// NumericDate claims must lie in [0, this] (9999-12-31T23:59:59Z), which
// keeps every one representable as a Timestamp.
inline constexpr int64_t kMaxNumericDate = 253'402'300'799;

// The realm of every WWW-Authenticate challenge.
inline constexpr std::string_view kAuthRealm = "funding-ledger";

struct TokenClaims {
  std::string sub;   // the user id: 1..commands::kActorMaxBytes bytes, no control characters
  std::string name;  // display name; "" when absent (and then not written)
  std::optional<Timestamp> issued_at;   // iat; optional in a token
  Timestamp expires_at;                 // exp; required
  std::optional<Timestamp> not_before;  // nbf
};

// Why `sub` cannot name a user (empty, too long, not UTF-8, control
// characters, or the service's own actor "system"), or OK. For the token
// CLI, which refuses such a subject before it mints a token the service
// would never accept.
Status CheckSubject(std::string_view sub);

// A compact JWS: base64url(header).base64url(claims).base64url(HMAC-SHA256).
// Header {"alg":"HS256","typ":"JWT"}; claims sub, name (when not empty),
// iat (when set), nbf (when set), exp, in seconds (sub-second parts dropped).
// REQUIRES: `secret` is not empty.
std::string MintToken(std::string_view secret, const TokenClaims& claims);

// The credentials of an Authorization header of the Bearer scheme (RFC 6750
// §2.1; the scheme case-insensitive, RFC 9110 §11.1), leading spaces dropped,
// possibly empty; nullopt for any other scheme.
std::optional<std::string_view> BearerCredentials(std::string_view authorization);

// True when `claims`' exp, nbf and iat admit a request at `now`, with
// kTokenLeeway: the part of VerifyBearer's checks that depends on the time.
bool TokenTimesHold(const TokenClaims& claims, Timestamp now);

// What a token may be signed with, and whom the provider's tokens must come
// from and be for.
struct TokenTrust {
  // HS256 under this secret; empty: HS256 tokens are refused.
  std::string_view secret;
  // RS256 and ES256 under these keys, the one named by the token's kid (a
  // token without kid: the set's key without kid); null: refused. A token
  // verified with them must carry iss equal to `issuer` and an aud that is,
  // or is an array holding, `audience`, each when not empty. The service's
  // own HS256 tokens carry neither.
  const JwkSet* jwks = nullptr;
  std::string_view issuer;
  std::string_view audience;
};

// Checks `authorization` (the Authorization header, nullopt when absent) at
// `now`: "Bearer <token>" (scheme case-insensitive), at most kMaxTokenBytes,
// three strict base64url parts, a header with alg exactly one that `trust`
// accepts ("HS256", "RS256", "ES256"), typ absent or "JWT" and no crit; for
// RS256 and ES256 a kid (when present) that names a key of trust.jwks of
// that algorithm; a valid signature (HS256: compared in constant time),
// claims with sub (see CheckSubject) and exp; exp, nbf and iat are judged
// with kTokenLeeway; name, when present, must be a string; iss and aud as
// TokenTrust says. Other claims are ignored.
//
// Every failure is 401 unauthorized with WWW-Authenticate: Bearer
// realm="funding-ledger", plus error="invalid_token" and an
// error_description when a Bearer token was sent (RFC 6750 §3: a request
// without one, or with another scheme, gets the bare challenge). The detail
// says what was wrong; it never repeats the token.
// REQUIRES: trust.secret is not empty or trust.jwks is set.
Result<TokenClaims, http::Problem> VerifyBearer(std::optional<std::string_view> authorization,
                                                const TokenTrust& trust, Timestamp now);

// VerifyBearer with HS256 under `secret` alone.
// REQUIRES: `secret` is not empty.
Result<TokenClaims, http::Problem> VerifyBearer(std::optional<std::string_view> authorization,
                                                std::string_view secret, Timestamp now);

}  // namespace ledger::api
