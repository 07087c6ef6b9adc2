#include "api/jwt.h"

#include <array>
#include <climits>
#include <utility>
#include <vector>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "api/jws_signature.h"
#include "api/strict_json.h"
#include "commands/command.h"
#include "commands/limits.h"
#include "common/ascii.h"
#include "common/base64url.h"
#include "common/check.h"
#include "common/json_writer.h"
#include "common/time_format.h"
#include "common/utf8.h"

namespace ledger::api {

using http::MakeProblem;
using http::Problem;
namespace {

constexpr size_t kSignatureBytes = 32;  // SHA-256

// The one JOSE header we mint.
constexpr std::string_view kHeaderJson = R"({"alg":"HS256","typ":"JWT"})";

std::string HmacSha256(std::string_view secret, std::string_view data) {
  LEDGER_CHECK(!secret.empty(), "the JWT secret is configured before tokens are used");
  LEDGER_CHECK(secret.size() <= static_cast<size_t>(INT_MAX), "the JWT secret is a few bytes");
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  const unsigned char* out =
      HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &md_len);
  LEDGER_CHECK(out != nullptr && md_len == kSignatureBytes, "HMAC-SHA256 cannot fail");
  return std::string(reinterpret_cast<const char*>(md), md_len);
}

// The 401 for a request that sent no Bearer token at all.
Problem Challenge(std::string detail) {
  Problem p = MakeProblem("unauthorized", std::move(detail));
  p.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"" + std::string(kAuthRealm) + "\"");
  return p;
}

// The 401 for a Bearer token that was sent but is not acceptable.
Problem InvalidToken(std::string detail) {
  // RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E. Our
  // details are ASCII prose; anything else is dropped rather than escaped.
  std::string description;
  for (const char c : detail) {
    if (c >= 0x20 && c <= 0x7E && c != '"' && c != '\\') description += c;
  }
  Problem p = MakeProblem("unauthorized", std::move(detail));
  p.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"" + std::string(kAuthRealm) +
                                                 "\", error=\"invalid_token\", "
                                                 "error_description=\"" +
                                                 description + "\"");
  return p;
}

const JsonValue* FindMember(const JsonValue& object, std::string_view name) {
  for (const JsonMember& m : object.members) {
    if (m.name == name) return &m.value;
  }
  return nullptr;
}

// A NumericDate claim (whole seconds since the epoch) as a Timestamp;
// nullopt when it is not an integer in [0, kMaxNumericDate]. Fractions are
// refused: our tokens never carry them, and one form is easier to reason about.
std::optional<Timestamp> ReadNumericDate(const JsonValue& v) {
  const Result<int64_t> seconds = ReadInt64(v);
  if (!seconds.ok() || *seconds < 0 || *seconds > kMaxNumericDate) return std::nullopt;
  return Timestamp(std::chrono::seconds(*seconds));
}

int64_t Seconds(Timestamp t) {
  return std::chrono::floor<std::chrono::seconds>(t).time_since_epoch().count();
}

// The token's three parts, or nullopt unless it has exactly two dots.
std::optional<std::array<std::string_view, 3>> SplitToken(std::string_view token) {
  const size_t first = token.find('.');
  if (first == std::string_view::npos) return std::nullopt;
  const size_t second = token.find('.', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  if (token.find('.', second + 1) != std::string_view::npos) return std::nullopt;
  return std::array<std::string_view, 3>{token.substr(0, first),
                                         token.substr(first + 1, second - first - 1),
                                         token.substr(second + 1)};
}

// The JOSE header's parameters that choose the key.
struct JoseHeader {
  std::string alg;
  std::optional<std::string> kid;
};

// "HS256", "HS256 or RS256", "HS256, RS256 or ES256": what `trust` accepts.
std::string AcceptedAlgorithms(const TokenTrust& trust) {
  std::vector<std::string_view> names;
  if (!trust.secret.empty()) names.emplace_back("HS256");
  if (trust.jwks != nullptr) {
    names.push_back(JwsAlgorithmName(JwsAlgorithm::kRs256));
    names.push_back(JwsAlgorithmName(JwsAlgorithm::kEs256));
  }
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += names[i];
  }
  return out;
}

// Reads the JOSE header: alg exactly one that `trust` accepts (never
// "none", RFC 8725 §3.1), kid a string when present, typ absent or JWT, no
// crit extensions (RFC 7515 §4.1.11: we understand none). Errors:
// kInvalidArgument saying what is wrong.
Result<JoseHeader> ReadHeader(std::string_view encoded, const TokenTrust& trust) {
  const auto refuse = [](std::string why) { return Status::InvalidArgument(std::move(why)); };
  const std::optional<std::string> text = Base64UrlDecode(encoded);
  if (!text) return refuse("the token's header is not base64url without padding");
  const Result<JsonValue> read = ReadStrictJson(*text);
  if (!read.ok()) return refuse("the token's header " + read.status().message());
  const JsonValue& header = *read;
  if (header.kind != JsonValue::Kind::kObject)
    return refuse("the token's header is not a JSON object");
  const JsonValue* alg = FindMember(header, "alg");
  const bool accepted = alg != nullptr && alg->kind == JsonValue::Kind::kString &&
                        ((alg->text == "HS256" && !trust.secret.empty()) ||
                         ((alg->text == "RS256" || alg->text == "ES256") && trust.jwks != nullptr));
  if (!accepted) return refuse("the token's alg must be " + AcceptedAlgorithms(trust));
  JoseHeader out;
  out.alg = alg->text;
  // An HS256 token's kid names nothing: there is one secret.
  const JsonValue* kid = FindMember(header, "kid");
  if (kid != nullptr && out.alg != "HS256") {
    if (kid->kind != JsonValue::Kind::kString) return refuse("the token's kid is not a string");
    out.kid = kid->text;
  }
  if (const JsonValue* typ = FindMember(header, "typ")) {
    if (typ->kind != JsonValue::Kind::kString || !EqualsIgnoreAsciiCase(typ->text, "JWT")) {
      return refuse("the token's typ must be JWT");
    }
  }
  if (FindMember(header, "crit") != nullptr) return refuse("the token has crit header parameters");
  return out;
}

// Checks the signature of `signing_input` with the key `header` chooses
// within `trust`: HS256 only ever with the secret, RS256 and ES256 only with
// a JWKS key of that algorithm. Errors: kInvalidArgument saying what is
// wrong.
Status CheckSignature(const JoseHeader& header, const TokenTrust& trust,
                      std::string_view signing_input, std::string_view signature) {
  if (header.alg == "HS256") {
    const std::string expected = HmacSha256(trust.secret, signing_input);
    // The length is public; the bytes are compared in constant time.
    if (signature.size() != expected.size() ||
        CRYPTO_memcmp(signature.data(), expected.data(), expected.size()) != 0) {
      return Status::InvalidArgument("the token's signature does not match");
    }
    return Status::Ok();
  }
  const Jwk* key = trust.jwks->Find(header.kid.value_or(""));
  if (key == nullptr) {
    return Status::InvalidArgument(header.kid ? "the token's kid names no key the service trusts"
                                              : "the token has no kid");
  }
  if (JwsAlgorithmName(key->alg) != header.alg) {
    return Status::InvalidArgument("the token's alg is not its key's (" +
                                   std::string(JwsAlgorithmName(key->alg)) + ")");
  }
  if (!VerifyJwsSignature(*key, signing_input, signature)) {
    return Status::InvalidArgument("the token's signature does not match");
  }
  return Status::Ok();
}

// Why the claims' iss and aud do not meet `trust`'s issuer and audience, or
// nullopt.
std::optional<std::string> AddressFault(const JsonValue& claims, const TokenTrust& trust) {
  if (!trust.issuer.empty()) {
    const JsonValue* iss = FindMember(claims, "iss");
    if (iss == nullptr) return "the token has no iss claim";
    if (iss->kind != JsonValue::Kind::kString || iss->text != trust.issuer) {
      return "the token's iss is not the configured issuer";
    }
  }
  if (!trust.audience.empty()) {
    const JsonValue* aud = FindMember(claims, "aud");
    if (aud == nullptr) return "the token has no aud claim";
    // RFC 7519 §4.1.3: one string, or an array of strings.
    bool found = aud->kind == JsonValue::Kind::kString && aud->text == trust.audience;
    if (aud->kind == JsonValue::Kind::kArray) {
      for (const JsonValue& one : aud->elements) {
        found = found || (one.kind == JsonValue::Kind::kString && one.text == trust.audience);
      }
    }
    if (!found) return "the token's aud does not name the configured audience";
  }
  return std::nullopt;
}

// Why `claims` admit no request at `now` (exp, nbf and iat with
// kTokenLeeway), or nullopt.
std::optional<std::string> TimeFault(const TokenClaims& claims, Timestamp now) {
  // RFC 7519 §4.1.4: valid strictly before exp; the leeway absorbs skew.
  if (now >= claims.expires_at + kTokenLeeway) {
    return "the token expired at " + FormatTimestamp(claims.expires_at);
  }
  if (claims.not_before && now + kTokenLeeway < *claims.not_before) {
    return "the token is not valid before " + FormatTimestamp(*claims.not_before);
  }
  // A token from the future means a broken clock at the issuer or a forgery
  // with a lifetime longer than it admits; either way it is not trusted.
  if (claims.issued_at && now + kTokenLeeway < *claims.issued_at) {
    return "the token was issued in the future, at " + FormatTimestamp(*claims.issued_at);
  }
  return std::nullopt;
}

// The claims of a token whose signature was checked; Problem on any flaw.
// `address` (null for the service's own HS256 tokens) holds the iss and aud
// the claims must carry.
Result<TokenClaims, Problem> ReadClaims(std::string_view encoded, const TokenTrust* address,
                                        Timestamp now) {
  const std::optional<std::string> text = Base64UrlDecode(encoded);
  if (!text) return InvalidToken("the token's claim set is not base64url without padding");
  const Result<JsonValue> read = ReadStrictJson(*text);
  if (!read.ok()) return InvalidToken("the token's claim set " + read.status().message());
  const JsonValue& claims = *read;
  if (claims.kind != JsonValue::Kind::kObject) {
    return InvalidToken("the token's claim set is not a JSON object");
  }
  if (address != nullptr) {
    if (std::optional<std::string> fault = AddressFault(claims, *address)) {
      return InvalidToken(*fault);
    }
  }
  TokenClaims out;
  const JsonValue* sub = FindMember(claims, "sub");
  if (sub == nullptr) return InvalidToken("the token has no sub claim");
  if (sub->kind != JsonValue::Kind::kString) return InvalidToken("the token's sub is not a string");
  if (Status s = CheckSubject(sub->text); !s.ok()) {
    return InvalidToken("the token's " + s.message());
  }
  out.sub = sub->text;
  if (const JsonValue* name = FindMember(claims, "name")) {
    if (name->kind != JsonValue::Kind::kString) {
      return InvalidToken("the token's name is not a string");
    }
    out.name = name->text;
  }
  const JsonValue* exp = FindMember(claims, "exp");
  if (exp == nullptr) return InvalidToken("the token has no exp claim");
  const std::optional<Timestamp> expires_at = ReadNumericDate(*exp);
  if (!expires_at) return InvalidToken("the token's exp is not a NumericDate in whole seconds");
  out.expires_at = *expires_at;
  if (const JsonValue* nbf = FindMember(claims, "nbf")) {
    out.not_before = ReadNumericDate(*nbf);
    if (!out.not_before) {
      return InvalidToken("the token's nbf is not a NumericDate in whole seconds");
    }
  }
  if (const JsonValue* iat = FindMember(claims, "iat")) {
    out.issued_at = ReadNumericDate(*iat);
    if (!out.issued_at) {
      return InvalidToken("the token's iat is not a NumericDate in whole seconds");
    }
  }
  if (std::optional<std::string> fault = TimeFault(out, now)) return InvalidToken(*fault);
  return out;
}

}  // namespace

std::optional<std::string_view> BearerCredentials(std::string_view authorization) {
  // RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token.
  const size_t space = authorization.find(' ');
  if (!EqualsIgnoreAsciiCase(authorization.substr(0, space), "Bearer")) return std::nullopt;
  std::string_view token = space == std::string_view::npos ? "" : authorization.substr(space);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  return token;
}

bool TokenTimesHold(const TokenClaims& claims, Timestamp now) {
  return !TimeFault(claims, now).has_value();
}

Status CheckSubject(std::string_view sub) {
  if (sub.empty()) return Status::InvalidArgument("sub is empty");
  if (sub.size() > commands::kActorMaxBytes) {
    return Status::InvalidArgument("sub is longer than " +
                                   std::to_string(commands::kActorMaxBytes) + " bytes");
  }
  if (!CountCodePoints(sub)) return Status::InvalidArgument("sub is not valid UTF-8");
  if (HasControlCharacter(sub)) return Status::InvalidArgument("sub has control characters");
  // The service's own actor (settlements): no user may act under its name.
  if (sub == commands::kSystemActor) {
    return Status::InvalidArgument("sub '" + std::string(commands::kSystemActor) +
                                   "' is reserved for the service");
  }
  return Status::Ok();
}

std::string MintToken(std::string_view secret, const TokenClaims& claims) {
  JsonWriter w;
  w.StartObject();
  w.Member("sub", claims.sub);
  if (!claims.name.empty()) w.Member("name", claims.name);
  if (claims.issued_at) w.Member("iat", Seconds(*claims.issued_at));
  if (claims.not_before) w.Member("nbf", Seconds(*claims.not_before));
  w.Member("exp", Seconds(claims.expires_at));
  w.EndObject();

  std::string token = Base64UrlEncode(kHeaderJson);
  token += '.';
  token += Base64UrlEncode(std::move(w).Take());
  const std::string signature = HmacSha256(secret, token);
  token += '.';
  token += Base64UrlEncode(signature);
  return token;
}

Result<TokenClaims, Problem> VerifyBearer(std::optional<std::string_view> authorization,
                                          const TokenTrust& trust, Timestamp now) {
  LEDGER_CHECK(!trust.secret.empty() || trust.jwks != nullptr,
               "a secret or a JWKS is configured before tokens are used");
  if (!authorization) return Challenge("the request has no Authorization header");
  const std::optional<std::string_view> credentials = BearerCredentials(*authorization);
  if (!credentials) return Challenge("the Authorization header must use the Bearer scheme");
  const std::string_view token = *credentials;
  if (token.empty()) return InvalidToken("the Authorization header has no token");
  if (token.size() > kMaxTokenBytes) {
    return InvalidToken("the token is longer than " + std::to_string(kMaxTokenBytes) + " bytes");
  }
  const std::optional<std::array<std::string_view, 3>> parts = SplitToken(token);
  if (!parts) return InvalidToken("the token is not three parts joined by '.'");
  const std::string_view header = (*parts)[0];
  const std::string_view claims = (*parts)[1];
  const Result<JoseHeader> jose = ReadHeader(header, trust);
  if (!jose.ok()) return InvalidToken(jose.status().message());

  // The claims are read only once the signature proves who wrote them;
  // before that, only the small header has been parsed.
  const std::optional<std::string> signature = Base64UrlDecode((*parts)[2]);
  if (!signature) return InvalidToken("the token's signature is not base64url without padding");
  const std::string_view signing_input = token.substr(0, header.size() + 1 + claims.size());
  if (const Status checked = CheckSignature(*jose, trust, signing_input, *signature);
      !checked.ok()) {
    return InvalidToken(checked.message());
  }
  return ReadClaims(claims, jose->alg == "HS256" ? nullptr : &trust, now);
}

Result<TokenClaims, Problem> VerifyBearer(std::optional<std::string_view> authorization,
                                          std::string_view secret, Timestamp now) {
  LEDGER_CHECK(!secret.empty(), "the JWT secret is configured before tokens are used");
  TokenTrust trust;
  trust.secret = secret;
  return VerifyBearer(authorization, trust, now);
}

}  // namespace ledger::api
