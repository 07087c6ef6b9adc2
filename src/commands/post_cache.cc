#include "commands/post_cache.h"

#include <string>
#include <utility>
#include <vector>

#include "commands/state_codec.h"
#include "common/check.h"

namespace ledger::commands {

Result<PostState> LoadPost(const events::EventLog& log, int64_t post_id) {
  state::PostDecoder decoder(post_id);
  Status added = Status::Ok();
  LEDGER_RETURN_IF_ERROR(log.ScanState(state::PostBegin(post_id), state::PostEnd(post_id),
                                       [&](std::string_view key, std::string_view value) {
                                         added = decoder.Add(key, value);
                                         return added.ok();
                                       }));
  LEDGER_RETURN_IF_ERROR(added);
  LEDGER_ASSIGN_OR_RETURN(PostState post, decoder.Finish());
  // The post's next event gets version + 1: a state wrong about the version
  // would write a gap or a repeat into the chain, which nothing can take back
  // later. One seek in the log's stream index says whether the post's stream
  // ends exactly there.
  std::vector<int64_t> positions;
  LEDGER_RETURN_IF_ERROR(log.StreamPositions(post_id, post.version, 2, &positions));
  if (positions.size() != 1) {
    return Status::Corruption(
        "the sequencer state of post " + std::to_string(post_id) + " is at version " +
        std::to_string(post.version) + ", but the log's stream of that post " +
        (positions.empty() ? "has no event of that version" : "goes on after it"));
  }
  return post;
}

size_t EstimatedBytes(const PostState& p) {
  // Per entry: a hash-map node with its key string and positions vector; a
  // live funding slot; a std::map node with its string and version.
  constexpr size_t kPerBacker = 160;
  constexpr size_t kPerLiveFunding = 88;
  constexpr size_t kPerEndedFunding = 104;
  return sizeof(PostState) + p.owner.size() + p.title.size() + p.uploader.size() +
         p.description.size() + p.backers.size() * kPerBacker +
         p.live_fundings.size() * kPerLiveFunding +
         (p.cancelled_fundings.size() + p.refunded_fundings.size()) * kPerEndedFunding;
}

PostCache::PostCache(const events::EventLog* log, size_t capacity_bytes)
    : log_(log), capacity_bytes_(capacity_bytes) {}

Result<PostState*> PostCache::Get(int64_t post_id) {
  if (const auto it = entries_.find(post_id); it != entries_.end()) {
    ++hits_;
    uses_.splice(uses_.begin(), uses_, it->second.use);
    used_.push_back(post_id);
    return &it->second.post;
  }
  LEDGER_ASSIGN_OR_RETURN(PostState loaded, LoadPost(*log_, post_id));
  ++loads_;
  return &Insert(post_id, std::move(loaded));
}

PostState& PostCache::Create(int64_t post_id) {
  LEDGER_CHECK(!entries_.contains(post_id), "a created post is cached already");
  return Insert(post_id, PostState{});
}

PostState& PostCache::Insert(int64_t post_id, PostState post) {
  uses_.push_front(post_id);
  Entry& e = entries_[post_id];
  e.post = std::move(post);
  e.use = uses_.begin();
  e.bytes = EstimatedBytes(e.post);
  bytes_ += e.bytes;
  used_.push_back(post_id);
  return e.post;
}

const PostState* PostCache::Peek(int64_t post_id) const {
  const auto it = entries_.find(post_id);
  return it == entries_.end() ? nullptr : &it->second.post;
}

PostState* PostCache::Peek(int64_t post_id) {
  const auto it = entries_.find(post_id);
  return it == entries_.end() ? nullptr : &it->second.post;
}

void PostCache::Forget(int64_t post_id) {
  const auto it = entries_.find(post_id);
  if (it == entries_.end()) return;
  bytes_ -= it->second.bytes;
  uses_.erase(it->second.use);
  entries_.erase(it);
}

void PostCache::Clear() {
  entries_.clear();
  uses_.clear();
  used_.clear();
  bytes_ = 0;
}

void PostCache::Trim() {
  // A post handed out may have changed size since: measure those again.
  for (const int64_t id : used_) {
    const auto it = entries_.find(id);
    if (it == entries_.end()) continue;
    bytes_ -= it->second.bytes;
    it->second.bytes = EstimatedBytes(it->second.post);
    bytes_ += it->second.bytes;
  }
  used_.clear();
  while (bytes_ > capacity_bytes_ && uses_.size() > 1) {
    const auto it = entries_.find(uses_.back());
    bytes_ -= it->second.bytes;
    entries_.erase(it);
    uses_.pop_back();
    ++evictions_;
  }
}

PostCache::Counts PostCache::counts() const {
  return Counts{entries_.size(), bytes_, hits_, loads_, evictions_};
}

}  // namespace ledger::commands
