#pragma once

// Bearer tokens already verified, so that a client's requests with the token
// it holds cost a lookup instead of base64, HMAC-SHA256 and a JSON parse
// (4 of the 21 µs an HTTP thread spent on a funding; docs/performance.md,
// issue 18).

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "api/jwt.h"
#include "api/key_ring.h"
#include "common/clock.h"
#include "common/result.h"
#include "http/problem.h"

namespace ledger::api {

// How many tokens the cache keeps: kTokenCacheShards shards of at most
// kTokenCacheShardTokens each. A shard that is full is emptied before it
// takes the next token. Only tokens whose signature checked are kept, so only
// holders of the secret (or of the provider's keys) can fill it: at most 16 384 × kMaxTokenBytes
// (64 MiB), about 4 MiB with tokens of ours.
inline constexpr size_t kTokenCacheShards = 16;
inline constexpr size_t kTokenCacheShardTokens = 1'024;

// Thread-safe. Answers exactly what VerifyBearer answers, with HS256 under
// `secret` and, once TrustProvider was called, RS256 and ES256 under the
// provider's keys. A token is kept once VerifyBearer accepted it; a kept
// token is accepted again, without its signature and claims being checked
// again, while its exp, nbf and iat hold at the request's time
// (TokenTimesHold) and the provider's keys are those it was verified with
// (the same KeyRing generation: a reload, which may drop its key, sends
// every kept token back to VerifyBearer); otherwise VerifyBearer judges it
// anew and names what is wrong. One cache serves one secret: a call with any
// other secret than the first call's is judged by VerifyBearer alone.
class VerifiedTokens {
 public:
  Result<TokenClaims, http::Problem> Verify(std::optional<std::string_view> authorization,
                                            std::string_view secret, Timestamp now);

  // Accepts the provider's tokens too, under `ring`'s current keys, issuer
  // and audience. REQUIRES: called at most once, before the first Verify.
  void TrustProvider(std::shared_ptr<const KeyRing> ring);
  // The provider's keys; null without TrustProvider.
  const KeyRing* provider() const { return ring_.get(); }

  // Tokens kept now.
  size_t size() const;
  // Requests answered from a kept token so far.
  uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }

 private:
  // Looks a token up by the request's view of it, without a copy.
  struct TokenHash {
    using is_transparent = void;
    size_t operator()(std::string_view token) const { return std::hash<std::string_view>{}(token); }
  };
  struct Kept {
    TokenClaims claims;
    uint64_t generation = 0;  // the KeyRing's when it was verified; 0 without one
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Kept, TokenHash, std::equal_to<>> tokens;  // guarded by mu
  };
  Shard& ShardOf(std::string_view token);
  bool ServesSecret(std::string_view secret);
  // VerifyBearer under `secret` and the provider's keys now; `generation`
  // (when not null) receives the keys' generation.
  Result<TokenClaims, http::Problem> VerifyNow(std::optional<std::string_view> authorization,
                                               std::string_view secret, Timestamp now,
                                               uint64_t* generation) const;

  std::shared_ptr<const KeyRing> ring_;  // null: HS256 alone; set before use
  std::atomic<uint64_t> hits_{0};
  std::once_flag secret_set_;
  std::string secret_;  // the first call's, set once under secret_set_
  std::array<Shard, kTokenCacheShards> shards_;
};

}  // namespace ledger::api
