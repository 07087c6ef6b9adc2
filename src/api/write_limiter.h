#pragma once

// Writes per user, limited by a token bucket each: a user may write `burst`
// times at once and `per_second` times a second on average; past that a
// write is answered 429 too_many_requests with Retry-After. Answers carry the
// RateLimit-Policy and RateLimit fields of draft-ietf-httpapi-ratelimit-
// headers-10 ("writes";q=BURST;w=SECONDS and "writes";r=LEFT;t=SECONDS).
// Memory is bounded: a full bucket is the same as none, so those are the
// first forgotten when the table is full.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/clock.h"

namespace ledger::api {

struct WriteLimits {
  double per_second = 10;  // 0: writes are not limited
  int64_t burst = 100;     // the bucket's size, >= 1
  // Users whose buckets are kept at once (16 shards share it).
  size_t max_users = 100'000;
};

// What Take decided, with what the answer's fields say.
struct RateDecision {
  bool allowed = true;
  int64_t remaining = 0;      // whole writes left now
  int64_t reset_s = 0;        // seconds until the bucket is full (on a 429: Retry-After)
  int64_t retry_after_s = 0;  // a 429's Retry-After, >= 1
};

class WriteLimiter {
 public:
  // REQUIRES: limits.per_second > 0, limits.burst >= 1, limits.max_users >= 16.
  explicit WriteLimiter(WriteLimits limits);
  WriteLimiter(const WriteLimiter&) = delete;
  WriteLimiter& operator=(const WriteLimiter&) = delete;

  // Takes one write from `user`'s bucket at `now`, when there is one.
  // Thread-safe. A clock that goes back refills nothing.
  RateDecision Take(std::string_view user, Timestamp now);

  // The header fields of an answer given with `decision` (two, or three
  // with Retry-After on a refusal).
  std::vector<std::pair<std::string, std::string>> Fields(const RateDecision& decision) const;

  const WriteLimits& limits() const { return limits_; }
  // Writes refused since the start.
  uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }
  // Buckets kept now.
  size_t users() const;

 private:
  struct Bucket {
    double tokens = 0;
    Timestamp at;
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Bucket, Hash, std::equal_to<>> buckets;  // guarded by mu
  };
  static constexpr size_t kShards = 16;

  // Tokens of `bucket` at `now`, capped at burst.
  double Refilled(const Bucket& bucket, Timestamp now) const;
  // Frees room in a full shard: every full bucket, then others until an
  // eighth of the shard is free, so the sweep is paid once per many inserts.
  void MakeRoom(Shard& shard, Timestamp now) const;

  const WriteLimits limits_;
  const size_t shard_users_;
  const std::string policy_;  // the RateLimit-Policy value
  std::array<Shard, kShards> shards_;
  std::atomic<uint64_t> refused_{0};
};

}  // namespace ledger::api
