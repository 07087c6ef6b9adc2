#include "api/verified_tokens.h"

#include <string_view>

namespace ledger::api {

Result<TokenClaims, http::Problem> VerifiedTokens::Verify(
    std::optional<std::string_view> authorization, std::string_view secret, Timestamp now) {
  const std::optional<std::string_view> token =
      authorization ? BearerCredentials(*authorization) : std::nullopt;
  if (!token || token->empty() || !ServesSecret(secret)) {
    return VerifyBearer(authorization, secret, now);
  }
  Shard& shard = ShardOf(*token);
  {
    std::lock_guard lock(shard.mu);
    const auto kept = shard.tokens.find(*token);
    if (kept != shard.tokens.end()) {
      if (TokenTimesHold(kept->second, now)) {
        hits_.fetch_add(1, std::memory_order_relaxed);
        return kept->second;
      }
      shard.tokens.erase(kept);
    }
  }
  Result<TokenClaims, http::Problem> verified = VerifyBearer(authorization, secret, now);
  if (verified.ok()) {
    std::lock_guard lock(shard.mu);
    if (shard.tokens.size() >= kTokenCacheShardTokens) shard.tokens.clear();
    shard.tokens.emplace(std::string(*token), *verified);
  }
  return verified;
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
