#include "api/jwt.h"

#include <array>
#include <climits>
#include <utility>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

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

// Checks the JOSE header: alg exactly HS256 (never taken from the token:
// "none" or another algorithm is refused, RFC 8725 §3.1), typ absent or JWT,
// no crit extensions (RFC 7515 §4.1.11: we understand none). Errors:
// kInvalidArgument saying what is wrong.
Status CheckHeader(std::string_view encoded) {
  const auto refuse = [](std::string why) { return Status::InvalidArgument(std::move(why)); };
  const std::optional<std::string> text = Base64UrlDecode(encoded);
  if (!text) return refuse("the token's header is not base64url without padding");
  const Result<JsonValue> read = ReadStrictJson(*text);
  if (!read.ok()) return refuse("the token's header " + read.status().message());
  const JsonValue& header = *read;
  if (header.kind != JsonValue::Kind::kObject)
    return refuse("the token's header is not a JSON object");
  const JsonValue* alg = FindMember(header, "alg");
  if (alg == nullptr || alg->kind != JsonValue::Kind::kString || alg->text != "HS256") {
    return refuse("the token's alg must be HS256");
  }
  if (const JsonValue* typ = FindMember(header, "typ")) {
    if (typ->kind != JsonValue::Kind::kString || !EqualsIgnoreAsciiCase(typ->text, "JWT")) {
      return refuse("the token's typ must be JWT");
    }
  }
  if (FindMember(header, "crit") != nullptr) return refuse("the token has crit header parameters");
  return Status::Ok();
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
Result<TokenClaims, Problem> ReadClaims(std::string_view encoded, Timestamp now) {
  const std::optional<std::string> text = Base64UrlDecode(encoded);
  if (!text) return InvalidToken("the token's claim set is not base64url without padding");
  const Result<JsonValue> read = ReadStrictJson(*text);
  if (!read.ok()) return InvalidToken("the token's claim set " + read.status().message());
  const JsonValue& claims = *read;
  if (claims.kind != JsonValue::Kind::kObject) {
    return InvalidToken("the token's claim set is not a JSON object");
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
                                          std::string_view secret, Timestamp now) {
  LEDGER_CHECK(!secret.empty(), "the JWT secret is configured before tokens are used");
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
  if (const Status checked = CheckHeader(header); !checked.ok()) {
    return InvalidToken(checked.message());
  }

  // The claims are read only once the signature proves that we wrote them;
  // before that, only the small fixed header has been parsed.
  const std::optional<std::string> signature = Base64UrlDecode((*parts)[2]);
  if (!signature) return InvalidToken("the token's signature is not base64url without padding");
  const std::string expected =
      HmacSha256(secret, token.substr(0, header.size() + 1 + claims.size()));
  // The length is public; the bytes are compared in constant time.
  if (signature->size() != expected.size() ||
      CRYPTO_memcmp(signature->data(), expected.data(), expected.size()) != 0) {
    return InvalidToken("the token's signature does not match");
  }
  return ReadClaims(claims, now);
}

}  // namespace ledger::api
