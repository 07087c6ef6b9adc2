#include "api/verified_tokens.h"

#include <string_view>
#include <utility>

#include "common/check.h"

namespace ledger::api {

Result<TokenClaims, http::Problem> VerifiedTokens::Verify(
    std::optional<std::string_view> authorization, std::string_view secret, Timestamp now) {
  const std::optional<std::string_view> token =
      authorization ? BearerCredentials(*authorization) : std::nullopt;
  if (!token || token->empty() || !ServesSecret(secret)) {
    return VerifyNow(authorization, secret, now, nullptr);
  }
  const uint64_t current = ring_ != nullptr ? ring_->generation() : 0;
  Shard& shard = ShardOf(*token);
  {
    std::lock_guard lock(shard.mu);
    const auto kept = shard.tokens.find(*token);
    if (kept != shard.tokens.end()) {
      if (kept->second.generation == current && TokenTimesHold(kept->second.claims, now)) {
        hits_.fetch_add(1, std::memory_order_relaxed);
        return kept->second.claims;
      }
      shard.tokens.erase(kept);
    }
  }
  // Verified under the generation it reports, which may be newer than
  // `current` but never older: a token kept under keys that were replaced
  // meanwhile is never taken for one of the new keys.
  uint64_t generation = 0;
  Result<TokenClaims, http::Problem> verified = VerifyNow(authorization, secret, now, &generation);
  if (verified.ok()) {
    std::lock_guard lock(shard.mu);
    if (shard.tokens.size() >= kTokenCacheShardTokens) shard.tokens.clear();
    shard.tokens.insert_or_assign(std::string(*token), Kept{*verified, generation});
  }
  return verified;
}

void VerifiedTokens::TrustProvider(std::shared_ptr<const KeyRing> ring) {
  LEDGER_CHECK(ring_ == nullptr, "one provider per cache");
  ring_ = std::move(ring);
}

Result<TokenClaims, http::Problem> VerifiedTokens::VerifyNow(
    std::optional<std::string_view> authorization, std::string_view secret, Timestamp now,
    uint64_t* generation) const {
  TokenTrust trust;
  trust.secret = secret;
  KeyRing::Snapshot keys;
  if (ring_ != nullptr) {
    keys = ring_->Current();
    trust.jwks = keys.keys.get();
    trust.issuer = ring_->issuer();
    trust.audience = ring_->audience();
  }
  if (generation != nullptr) *generation = keys.generation;
  return VerifyBearer(authorization, trust, now);
}

size_t VerifiedTokens::size() const {
  size_t total = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    total += shard.tokens.size();
  }
  return total;
}

VerifiedTokens::Shard& VerifiedTokens::ShardOf(std::string_view token) {
  return shards_[TokenHash{}(token) % kTokenCacheShards];
}

bool VerifiedTokens::ServesSecret(std::string_view secret) {
  std::call_once(secret_set_, [&] { secret_ = std::string(secret); });
  return secret == secret_;
}

}  // namespace ledger::api
