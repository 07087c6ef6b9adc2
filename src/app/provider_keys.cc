#include "app/provider_keys.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/log.h"

namespace ledger::app {
namespace {

// Logs the keys of a JWKS file that were left out, and why.
void LogSkippedKeys(const std::string& path, const std::vector<std::string>& skipped) {
  for (const std::string& key : skipped) {
    LEDGER_LOG(LogLevel::kInfo, "serve", "JWKS key not used").Str("path", path).Str("key", key);
  }
}

// Logs the keys now in use, by kid.
void LogKeysInUse(const api::KeyRing& ring, std::string_view message) {
  std::string kids;
  for (const api::Jwk& key : ring.Current().keys->keys()) {
    if (!kids.empty()) kids += ',';
    kids += key.kid.empty() ? "(no kid)" : key.kid;
    kids += ':';
    kids += api::JwsAlgorithmName(key.alg);
  }
  LEDGER_LOG(LogLevel::kInfo, "serve", message)
      .Str("path", ring.jwks_file())
      .Str("keys", kids)
      .Int("generation", static_cast<int64_t>(ring.generation()));
}

}  // namespace

Result<std::shared_ptr<api::KeyRing>> OpenProviderKeys(const Config& config) {
  if (config.jwks_file.empty()) return std::shared_ptr<api::KeyRing>();
  api::KeyRingOptions options;
  options.jwks_file = config.jwks_file;
  options.issuer = config.jwt_issuer;
  options.audience = config.jwt_audience;
  std::vector<std::string> skipped;
  LEDGER_ASSIGN_OR_RETURN(std::unique_ptr<api::KeyRing> ring,
                          api::KeyRing::Open(std::move(options), &skipped));
  LogSkippedKeys(config.jwks_file, skipped);
  LogKeysInUse(*ring, "JWKS read");
  if (config.jwt_audience.empty()) {
    // RFC 8725 §3.9: a provider that serves several clients signs tokens
    // for all of them with the same keys.
    LEDGER_LOG(LogLevel::kWarn, "serve", "jwt-audience is not set")
        .Str("hint", "any token of the provider is accepted, whatever client it was issued for");
  }
  return std::shared_ptr<api::KeyRing>(std::move(ring));
}

void ReloadProviderKeys(api::KeyRing* ring) {
  if (ring == nullptr) {
    LEDGER_LOG(LogLevel::kInfo, "serve", "SIGHUP ignored").Str("reason", "no --jwks-file");
    return;
  }
  std::vector<std::string> skipped;
  if (const Status reloaded = ring->Reload(&skipped); !reloaded.ok()) {
    LEDGER_LOG(LogLevel::kError, "serve", "JWKS reload failed; the keys in use stay")
        .Str("error", reloaded.ToString());
    return;
  }
  LogSkippedKeys(ring->jwks_file(), skipped);
  LogKeysInUse(*ring, "JWKS reloaded");
}

}  // namespace ledger::app
