#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "commands/post_state.h"
#include "common/result.h"
#include "events/event.h"
#include "events/event_log.h"

namespace ledger::commands {

// The sequencer's posts in memory: the summaries of the ones recently used,
// read from the durable state (state_codec.h) on a miss, so that memory is
// set by `capacity_bytes` and not by the length of history. A summary is
// three point reads however many fundings the post has; what a command needs
// beyond it (a backer's live totals, a funding, or the whole post) is read
// when it asks (Need). The backers read stay with the summary (a backer who
// funds again is not read again) within a quarter of the bound, least
// recently used posts' backers dropped first, so that backers never crowd
// out the summaries; fundings and whole posts are dropped again by Trim.
// Sizes are estimates
// (EstimatedBytes). Nothing is evicted or dropped while a batch is being
// decided — the posts it changed are written from here after the batch —
// only by Trim, which the owner calls between batches once the batch is
// written; the cache may therefore hold one batch's posts beyond its
// capacity, and always keeps the most recently used post however large.
//
// Not thread-safe: one owner (the sequencer thread, under its state lock).
class PostCache {
 public:
  struct Counts {
    size_t posts = 0;
    size_t bytes = 0;  // estimated
    uint64_t hits = 0;
    uint64_t loads = 0;  // misses: summaries read from the durable state
    uint64_t evictions = 0;
    uint64_t backer_reads = 0;  // backer records read (found)
    uint64_t whole_reads = 0;   // posts read whole
    size_t backer_bytes = 0;    // estimated, of the backers held (within bytes)
  };

  // What of a post a command or an event needs beyond its summary.
  struct Need {
    enum class Kind : uint8_t { kSummary, kBacker, kFunding, kWhole };
    static Need Summary() { return Need{}; }
    static Need Backer(std::string_view name) { return Need{Kind::kBacker, name, 0}; }
    // The funding at `position` and, when it is live, its backer.
    static Need Funding(int64_t position) { return Need{Kind::kFunding, {}, position}; }
    static Need Whole() { return Need{Kind::kWhole, {}, 0}; }

    Kind kind = Kind::kSummary;
    std::string_view backer;
    int64_t position = 0;
  };

  PostCache(const events::EventLog* log, size_t capacity_bytes);

  // The post's state with at least what `need` names in it; from the
  // durable state when not cached. `unwritten`: the events applied since the
  // last write (in order; any post's), which a post read whole must have
  // applied again on top of the durable state.
  // REQUIRES: 1 <= post_id and the post exists in the durable state or was
  // added with Create. Errors: the log's read errors, kCorruption when its
  // records are missing or malformed.
  Result<PostState*> Get(int64_t post_id, const Need& need,
                         std::span<const events::Event> unwritten);
  Result<PostState*> Get(int64_t post_id) { return Get(post_id, Need::Summary(), {}); }
  // Reads at once (EventLog::ReadStates: one round trip where the log can)
  // the state records that Get would read one by one for `wants`: the
  // summaries of the posts not cached and the backers not read yet. They
  // answer those reads until ClearPrefetched. REQUIRES: as Get, for each
  // post; the durable state does not change before ClearPrefetched (one
  // batch of the sequencer, prefetched before its decisions).
  Status Prefetch(std::span<const std::pair<int64_t, Need>> wants);
  void ClearPrefetched() { prefetched_.clear(); }

  // A new post with no events yet (its PostCreated is about to be applied).
  PostState& Create(int64_t post_id);
  // The cached state, or nullptr; does not count as a use.
  const PostState* Peek(int64_t post_id) const;
  PostState* Peek(int64_t post_id);
  // Drops a post (its durable state is the truth again, or it never was).
  void Forget(int64_t post_id);
  void Clear();
  // Drops what the posts used since the last Trim held beyond their
  // summaries and backers, then the backers of the posts least recently
  // used until the backers held are within a quarter of the capacity, then
  // evicts the least recently used posts until the estimate is within the
  // capacity, keeping at least the most recent one. Call it only when the
  // changes to the cached posts are written (or forgotten).
  void Trim();

  Counts counts() const;
  size_t capacity_bytes() const { return capacity_bytes_; }

 private:
  struct Entry {
    PostState post;
    std::list<int64_t>::iterator use;  // in uses_
    size_t bytes = 0;                  // as of the last Trim
    // What is in `post` beyond its summary: everything, or the backers and
    // fundings read (or added by this batch) since the last Trim.
    bool whole = false;
    size_t backer_bytes = 0;  // of post.backers, as of the last Trim
    bool holds_backers = false;
    std::list<int64_t>::iterator backer_use;  // in backer_uses_ while holds_backers
    std::unordered_set<std::string> backers_read;
    std::vector<std::string> backers_used;  // since the last Trim (may repeat)
    std::unordered_set<int64_t> fundings_read;
  };
  PostState& Insert(int64_t post_id, PostState post, bool whole);
  // ReadState through the prefetched records.
  Result<std::optional<std::string>> ReadKey(const std::string& key) const;
  Status ReadBacker(int64_t post_id, Entry& entry, std::string_view name);
  Status ReadFunding(int64_t post_id, Entry& entry, int64_t position);
  Status ReadWhole(int64_t post_id, Entry& entry, std::span<const events::Event> unwritten);
  void DropBackers(Entry& entry);
  void Erase(std::unordered_map<int64_t, Entry>::iterator it);

  const events::EventLog* const log_;
  const size_t capacity_bytes_;
  std::unordered_map<int64_t, Entry> entries_;
  std::unordered_map<std::string, std::optional<std::string>> prefetched_;  // Prefetch
  std::list<int64_t> uses_;                                                 // most recent first
  std::vector<int64_t> used_;  // handed out since the last Trim (may repeat)
  size_t bytes_ = 0;           // sum of entries' bytes
  // Backers are held within capacity_bytes_ / kBackerShare.
  static constexpr size_t kBackerShare = 4;
  std::list<int64_t> backer_uses_;  // posts holding backers, most recent first
  size_t backer_bytes_ = 0;         // sum of entries' backer_bytes
  uint64_t hits_ = 0;
  uint64_t loads_ = 0;
  uint64_t evictions_ = 0;
  uint64_t backer_reads_ = 0;
  uint64_t whole_reads_ = 0;
};

// A post's state read whole from the durable state, not cached.
Result<PostState> LoadPost(const events::EventLog& log, int64_t post_id);
// A post's summary (state_codec.h) read from the durable state: the
// collections are empty.
Result<PostState> LoadPostSummary(const events::EventLog& log, int64_t post_id);

// What a post's state takes in memory, roughly: the texts, and per backer,
// live funding and ended funding a fixed cost measured for this layout (a
// summary has none of them).
size_t EstimatedBytes(const PostState& post);

}  // namespace ledger::commands
