// Bearer tokens (src/api/jwt.h): VerifyBearer under a fixed secret at a fixed
// time (2026-11-21T03:00:00Z). The first byte picks what the rest is:
//
//   'k'  a claim set, signed by the target under the fixed header
//   'h'  a header and a claim set split at the first '\n', both signed by
//        the target: the fuzzer cannot forge HMAC-SHA256, and VerifyBearer
//        reads the claims only behind a valid signature
//   'm'  claims (sub, name, iat, nbf, exp) that MintToken signs: the token
//        must verify exactly when TokenTimesHold accepts them and it is at
//        most kMaxTokenBytes long, and give them back
//   any other byte: the Authorization header value as sent
//
// Every refusal must be 401 with a WWW-Authenticate challenge; accepted
// claims must pass CheckSubject and TokenTimesHold.

#include "api/jwt.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/base64url.h"
#include "common/check.h"
#include "common/clock.h"
#include "common/utf8.h"

namespace {

namespace api = ledger::api;

constexpr std::string_view kSecret = "fuzz-secret-fuzz-secret-fuzz-sec";
constexpr std::string_view kHeaderJson = R"({"alg":"HS256","typ":"JWT"})";

ledger::Timestamp Now() { return ledger::Timestamp(std::chrono::seconds(1'795'230'000)); }

std::string Sign(std::string_view header_json, std::string_view claims_json) {
  std::string token = ledger::Base64UrlEncode(header_json);
  token += '.';
  token += ledger::Base64UrlEncode(claims_json);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_bytes = 0;
  HMAC(EVP_sha256(), kSecret.data(), static_cast<int>(kSecret.size()),
       reinterpret_cast<const unsigned char*>(token.data()), token.size(), mac, &mac_bytes);
  token += '.';
  token += ledger::Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(mac), mac_bytes));
  return "Bearer " + token;
}

void Verify(std::string_view authorization) {
  const auto verified = api::VerifyBearer(authorization, kSecret, Now());
  if (!verified.ok()) {
    const ledger::http::Problem& p = verified.error();
    LEDGER_CHECK(p.status == 401 && p.name == "unauthorized", "a token refusal is 401");
    bool challenged = false;
    for (const auto& [name, value] : p.headers) {
      challenged = challenged || (name == "WWW-Authenticate" && value.starts_with("Bearer "));
    }
    LEDGER_CHECK(challenged, "a 401 carries a Bearer challenge");
    return;
  }
  LEDGER_CHECK(api::CheckSubject(verified->sub).ok(), "an accepted sub passes CheckSubject");
  LEDGER_CHECK(api::TokenTimesHold(*verified, Now()), "accepted times hold now");
  LEDGER_CHECK(ledger::CountCodePoints(verified->name).has_value(), "name is UTF-8");
}

// A NumericDate in [0, kMaxNumericDate] from 8 bytes at `offset`.
ledger::Timestamp DateAt(std::string_view bytes, size_t offset) {
  uint64_t raw = 0;
  if (bytes.size() >= offset + sizeof raw) std::memcpy(&raw, bytes.data() + offset, sizeof raw);
  // Mostly near now, so that the time checks go both ways.
  const int64_t seconds =
      (raw & 1) != 0 ? static_cast<int64_t>((raw >> 1) % (uint64_t{api::kMaxNumericDate} + 1))
                     : 1'795'230'000 + static_cast<int64_t>((raw >> 1) % 7'200) - 3'600;
  return ledger::Timestamp(std::chrono::seconds(seconds));
}

void MintRoundTrip(std::string_view rest) {
  if (rest.size() < 27) return;
  const uint8_t flags = static_cast<uint8_t>(rest[0]);
  const size_t sub_bytes = static_cast<uint8_t>(rest[1]);
  const std::string_view texts = rest.substr(26);
  if (sub_bytes > texts.size()) return;
  api::TokenClaims claims;
  claims.sub = std::string(texts.substr(0, sub_bytes));
  claims.name = std::string(texts.substr(sub_bytes));
  // MintToken writes what it is given; the service only mints for subjects
  // that pass CheckSubject (token_command.cc), with UTF-8 names.
  if (!api::CheckSubject(claims.sub).ok() || !ledger::CountCodePoints(claims.name)) return;
  claims.expires_at = DateAt(rest, 2);
  if ((flags & 1) != 0) claims.issued_at = DateAt(rest, 10);
  if ((flags & 2) != 0) claims.not_before = DateAt(rest, 18);
  // MintToken does not bound the name; a token longer than kMaxTokenBytes
  // (a name of a few KB, or fewer characters that need escapes) is refused.
  const std::string token = api::MintToken(kSecret, claims);
  const auto verified = api::VerifyBearer("Bearer " + token, kSecret, Now());
  LEDGER_CHECK(
      verified.ok() == (api::TokenTimesHold(claims, Now()) && token.size() <= api::kMaxTokenBytes),
      "a minted token verifies exactly when its times hold and it fits the bound");
  if (!verified.ok()) return;
  LEDGER_CHECK(verified->sub == claims.sub && verified->name == claims.name &&
                   verified->expires_at == claims.expires_at &&
                   verified->issued_at == claims.issued_at &&
                   verified->not_before == claims.not_before,
               "a minted token gives its claims back");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0]) {
    case 'k':
      Verify(Sign(kHeaderJson, rest));
      break;
    case 'h': {
      const size_t split = rest.find('\n');
      if (split == std::string_view::npos) return 0;
      Verify(Sign(rest.substr(0, split), rest.substr(split + 1)));
      break;
    }
    case 'm':
      MintRoundTrip(rest);
      break;
    default:
      Verify(rest);
      break;
  }
  return 0;
}
