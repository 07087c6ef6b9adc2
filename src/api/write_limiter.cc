#include "api/write_limiter.h"

#include <algorithm>
#include <cmath>

#include "common/check.h"

namespace ledger::api {
namespace {

// Whole seconds, rounded up, for `seconds` >= 0 (delay-seconds).
int64_t CeilSeconds(double seconds) {
  return static_cast<int64_t>(std::ceil(std::max(0.0, seconds) - 1e-9));
}

}  // namespace

WriteLimiter::WriteLimiter(WriteLimits limits)
    : limits_(limits),
      shard_users_(limits.max_users / kShards),
      policy_("\"writes\";q=" + std::to_string(limits.burst) + ";w=" +
              std::to_string(std::max<int64_t>(
                  1, CeilSeconds(static_cast<double>(limits.burst) / limits.per_second)))) {
  LEDGER_CHECK(limits.per_second > 0 && limits.burst >= 1 && limits.max_users >= kShards,
               "write limits are positive");
}

double WriteLimiter::Refilled(const Bucket& bucket, Timestamp now) const {
  const double elapsed = std::max(0.0, std::chrono::duration<double>(now - bucket.at).count());
  return std::min(static_cast<double>(limits_.burst), bucket.tokens + elapsed * limits_.per_second);
}

void WriteLimiter::MakeRoom(Shard& shard, Timestamp now) const {
  const double full = static_cast<double>(limits_.burst);
  std::erase_if(shard.buckets,
                [&](const auto& entry) { return Refilled(entry.second, now) >= full; });
  const size_t keep = shard_users_ - std::max<size_t>(1, shard_users_ / 8);
  while (shard.buckets.size() > keep) shard.buckets.erase(shard.buckets.begin());
}

RateDecision WriteLimiter::Take(std::string_view user, Timestamp now) {
  Shard& shard = shards_[Hash{}(user) % kShards];
  double tokens = 0;  // left after this write, or found on a refusal
  bool allowed = false;
  {
    const std::lock_guard lock(shard.mu);
    auto it = shard.buckets.find(user);
    if (it == shard.buckets.end()) {
      if (shard.buckets.size() >= shard_users_) MakeRoom(shard, now);
      it = shard.buckets.emplace(std::string(user), Bucket{static_cast<double>(limits_.burst), now})
               .first;
    }
    Bucket& bucket = it->second;
    bucket.tokens = Refilled(bucket, now);
    // A clock that went back must not make the next refill count twice.
    bucket.at = std::max(bucket.at, now);
    allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;  // a refused write takes nothing
    tokens = bucket.tokens;
  }
  RateDecision decision;
  decision.allowed = allowed;
  if (!allowed) {
    decision.retry_after_s = std::max<int64_t>(1, CeilSeconds((1 - tokens) / limits_.per_second));
    decision.remaining = 0;
    decision.reset_s = decision.retry_after_s;
    refused_.fetch_add(1, std::memory_order_relaxed);
    return decision;
  }
  decision.remaining = static_cast<int64_t>(std::floor(tokens));
  decision.reset_s =
      CeilSeconds((static_cast<double>(limits_.burst) - tokens) / limits_.per_second);
  return decision;
}

std::vector<std::pair<std::string, std::string>> WriteLimiter::Fields(
    const RateDecision& decision) const {
  std::vector<std::pair<std::string, std::string>> fields;
  fields.reserve(3);
  fields.emplace_back("RateLimit-Policy", policy_);
  fields.emplace_back("RateLimit", "\"writes\";r=" + std::to_string(decision.remaining) +
                                       ";t=" + std::to_string(decision.reset_s));
  if (!decision.allowed) fields.emplace_back("Retry-After", std::to_string(decision.retry_after_s));
  return fields;
}

size_t WriteLimiter::users() const {
  size_t total = 0;
  for (const Shard& shard : shards_) {
    const std::lock_guard lock(shard.mu);
    total += shard.buckets.size();
  }
  return total;
}

}  // namespace ledger::api
