#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <unordered_map>
#include <vector>

#include "commands/post_state.h"
#include "common/result.h"
#include "events/event_log.h"

namespace ledger::commands {

// The sequencer's posts in memory: the ones recently used, loaded from the
// durable state (state_codec.h) on a miss, so that memory is set by
// `capacity_bytes` and not by the length of history. Sizes are estimates
// (EstimatedBytes). Nothing is evicted while a batch is being decided — the
// posts it changed are written from here after the batch — only by Trim,
// which the owner calls between batches; the cache may therefore hold one
// batch's posts beyond its capacity, and always keeps the most recently used
// post however large it is.
//
// Not thread-safe: one owner (the sequencer thread, under its state lock).
class PostCache {
 public:
  struct Counts {
    size_t posts = 0;
    size_t bytes = 0;  // estimated
    uint64_t hits = 0;
    uint64_t loads = 0;  // misses read from the durable state
    uint64_t evictions = 0;
  };

  PostCache(const events::EventLog* log, size_t capacity_bytes);

  // The post's state; from the durable state when not cached.
  // REQUIRES: 1 <= post_id and the post exists in the durable state or was
  // added with Create. Errors: the log's read errors, kCorruption when its
  // records are missing or malformed.
  Result<PostState*> Get(int64_t post_id);
  // A new post with no events yet (its PostCreated is about to be applied).
  PostState& Create(int64_t post_id);
  // The cached state, or nullptr; does not count as a use.
  const PostState* Peek(int64_t post_id) const;
  PostState* Peek(int64_t post_id);
  // Drops a post (its durable state is the truth again, or it never was).
  void Forget(int64_t post_id);
  void Clear();
  // Evicts the least recently used posts until the estimate is within the
  // capacity, keeping at least the most recent one.
  void Trim();

  Counts counts() const;
  size_t capacity_bytes() const { return capacity_bytes_; }

 private:
  struct Entry {
    PostState post;
    std::list<int64_t>::iterator use;  // in uses_
    size_t bytes = 0;                  // as of the last Trim
  };
  PostState& Insert(int64_t post_id, PostState post);

  const events::EventLog* const log_;
  const size_t capacity_bytes_;
  std::unordered_map<int64_t, Entry> entries_;
  std::list<int64_t> uses_;    // most recent first
  std::vector<int64_t> used_;  // handed out since the last Trim (may repeat)
  size_t bytes_ = 0;           // sum of entries' bytes
  uint64_t hits_ = 0;
  uint64_t loads_ = 0;
  uint64_t evictions_ = 0;
};

// A post's state read from the durable state, not cached.
Result<PostState> LoadPost(const events::EventLog& log, int64_t post_id);

// What a post's state takes in memory, roughly: the texts, and per backer,
// live funding and ended funding a fixed cost measured for this layout.
size_t EstimatedBytes(const PostState& post);

}  // namespace ledger::commands
