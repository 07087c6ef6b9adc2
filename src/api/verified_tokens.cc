#include "api/verified_tokens.h"

#include <functional>
#include <utility>

namespace ledger::api {
namespace {

// The token of "Bearer <token>", or nullopt for anything else (which
// VerifyBearer then explains). The scheme is case-insensitive (RFC 9110
// §11.1).
std::optional<std::string_view> BearerToken(std::string_view value) {
  constexpr std::string_view kScheme = "bearer";
  if (value.size() <= kScheme.size() || value[kScheme.size()] != ' ') return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    const char c = value[i];
    if ((c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c) != kScheme[i]) return std::nullopt;
  }
  value.remove_prefix(kScheme.size());
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (value.empty() || value.size() > kMaxTokenBytes) return std::nullopt;
  return value;
}

}  // namespace

Result<TokenClaims, http::Problem> VerifiedTokens::Verify(
    std::optional<std::string_view> authorization, std::string_view secret, Timestamp now) {
  const std::optional<std::string_view> token =
      authorization ? BearerToken(*authorization) : std::nullopt;
  if (!token || !ServesSecret(secret)) return VerifyBearer(authorization, secret, now);
  Shard& shard = ShardOf(*token);
  {
    std::lock_guard lock(shard.mu);
    const auto kept = shard.tokens.find(std::string(*token));
    if (kept != shard.tokens.end()) {
      if (TokenTimesHold(kept->second, now)) return kept->second;
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
  return shards_[std::hash<std::string_view>{}(token) % kTokenCacheShards];
}

bool VerifiedTokens::ServesSecret(std::string_view secret) {
  std::call_once(secret_set_, [&] { secret_ = std::string(secret); });
  return secret == secret_;
}

}  // namespace ledger::api
