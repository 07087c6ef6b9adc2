#include "commands/post_cache.h"

#include <array>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "commands/state_codec.h"
#include "common/check.h"

namespace ledger::commands {

namespace {

// The post's next event gets version + 1: a state wrong about the version
// would write a gap or a repeat into the chain, which nothing can take back
// later. One seek in the log's stream index says whether the post's stream
// ends exactly there.
Status CheckVersion(const events::EventLog& log, const PostState& post) {
  std::vector<int64_t> positions;
  LEDGER_RETURN_IF_ERROR(log.StreamPositions(post.id, post.version, 2, &positions));
  if (positions.size() != 1) {
    return Status::Corruption(
        "the sequencer state of post " + std::to_string(post.id) + " is at version " +
        std::to_string(post.version) + ", but the log's stream of that post " +
        (positions.empty() ? "has no event of that version" : "goes on after it"));
  }
  return Status::Ok();
}

// A backer held in memory, roughly: a slot of the post's flat map (80
// bytes, in a table between 7/16 and 7/8 full) with its positions vector,
// and the name again in the set of backers read.
constexpr size_t kBackerBytes = 224;

template <typename... Ts>
void Release(Ts&... containers) {
  // Assigning an empty one frees the memory; clear() keeps a hash map's buckets.
  ((containers = Ts{}), ...);
}

}  // namespace

Result<PostState> LoadPost(const events::EventLog& log, int64_t post_id) {
  state::PostDecoder decoder(post_id, state::PostDecoder::Mode::kWhole);
  Status added = Status::Ok();
  LEDGER_RETURN_IF_ERROR(log.ScanState(state::PostBegin(post_id), state::PostEnd(post_id),
                                       [&](std::string_view key, std::string_view value) {
                                         added = decoder.Add(key, value);
                                         return added.ok();
                                       }));
  LEDGER_RETURN_IF_ERROR(added);
  LEDGER_ASSIGN_OR_RETURN(PostState post, decoder.Finish());
  LEDGER_RETURN_IF_ERROR(CheckVersion(log, post));
  return post;
}

namespace {

// The keys of a post's summary records.
std::array<std::string, 3> SummaryKeys(int64_t post_id) {
  return {state::TextKey(post_id), state::HeaderKey(post_id), state::TotalsKey(post_id)};
}

// LoadPostSummary, reading each key through `read`.
template <typename Read>
Result<PostState> LoadSummaryWith(const events::EventLog& log, int64_t post_id, const Read& read) {
  state::PostDecoder decoder(post_id, state::PostDecoder::Mode::kSummary);
  for (const std::string& key : SummaryKeys(post_id)) {
    LEDGER_ASSIGN_OR_RETURN(const std::optional<std::string> value, read(key));
    if (value) LEDGER_RETURN_IF_ERROR(decoder.Add(key, *value));
  }
  LEDGER_ASSIGN_OR_RETURN(PostState post, decoder.Finish());
  LEDGER_RETURN_IF_ERROR(CheckVersion(log, post));
  return post;
}

}  // namespace

Result<PostState> LoadPostSummary(const events::EventLog& log, int64_t post_id) {
  return LoadSummaryWith(log, post_id,
                         [&log](const std::string& key) { return log.ReadState(key); });
}

Status PostCache::Prefetch(std::span<const std::pair<int64_t, Need>> wants) {
  std::vector<std::string> keys;
  std::unordered_set<int64_t> posts;
  for (const auto& [post_id, need] : wants) {
    const auto it = entries_.find(post_id);
    const bool cached = it != entries_.end();
    if (!cached && posts.insert(post_id).second) {
      for (std::string& key : SummaryKeys(post_id)) keys.push_back(std::move(key));
    }
    if (need.kind == Need::Kind::kBacker &&
        !(cached &&
          (it->second.whole || it->second.backers_read.contains(std::string(need.backer))))) {
      keys.push_back(state::BackerKey(post_id, need.backer));
    }
  }
  if (keys.size() < 2) return Status::Ok();  // nothing to gain
  std::vector<std::optional<std::string>> values;
  LEDGER_RETURN_IF_ERROR(log_->ReadStates(keys, &values));
  for (size_t i = 0; i < keys.size(); ++i) prefetched_[std::move(keys[i])] = std::move(values[i]);
  return Status::Ok();
}

Result<std::optional<std::string>> PostCache::ReadKey(const std::string& key) const {
  if (const auto it = prefetched_.find(key); it != prefetched_.end()) return it->second;
  return log_->ReadState(key);
}

size_t EstimatedBytes(const PostState& p) {
  // Per entry: a backer (kBackerBytes); a live funding slot; a std::map
  // node with its string and version.
  constexpr size_t kPerLiveFunding = 88;
  constexpr size_t kPerEndedFunding = 104;
  return sizeof(PostState) + p.owner.size() + p.title.size() + p.uploader.size() +
         p.description.size() + p.backers.size() * kBackerBytes +
         p.live_fundings.size() * kPerLiveFunding +
         (p.cancelled_fundings.size() + p.refunded_fundings.size()) * kPerEndedFunding;
}

PostCache::PostCache(const events::EventLog* log, size_t capacity_bytes)
    : log_(log), capacity_bytes_(capacity_bytes) {}

Result<PostState*> PostCache::Get(int64_t post_id, const Need& need,
                                  std::span<const events::Event> unwritten) {
  auto it = entries_.find(post_id);
  if (it != entries_.end()) {
    ++hits_;
    uses_.splice(uses_.begin(), uses_, it->second.use);
  } else {
    LEDGER_ASSIGN_OR_RETURN(
        PostState loaded,
        LoadSummaryWith(*log_, post_id, [this](const std::string& key) { return ReadKey(key); }));
    ++loads_;
    Insert(post_id, std::move(loaded), /*whole=*/false);
    it = entries_.find(post_id);
  }
  used_.push_back(post_id);
  Entry& entry = it->second;
  if (!entry.whole) {
    switch (need.kind) {
      case Need::Kind::kSummary:
        break;
      case Need::Kind::kBacker:
        LEDGER_RETURN_IF_ERROR(ReadBacker(post_id, entry, need.backer));
        break;
      case Need::Kind::kFunding:
        LEDGER_RETURN_IF_ERROR(ReadFunding(post_id, entry, need.position));
        break;
      case Need::Kind::kWhole:
        LEDGER_RETURN_IF_ERROR(ReadWhole(post_id, entry, unwritten));
        break;
    }
  }
  return &entry.post;
}

// A backer read once since the last Trim is not read again: the events
// applied since have changed it (or removed it) in memory only.
Status PostCache::ReadBacker(int64_t post_id, Entry& entry, std::string_view name) {
  // Noted as read only once it was: a read that failed is tried again.
  if (entry.backers_read.contains(std::string(name))) {
    entry.backers_used.emplace_back(name);
    return Status::Ok();
  }
  LEDGER_ASSIGN_OR_RETURN(const std::optional<std::string> value,
                          ReadKey(state::BackerKey(post_id, name)));
  if (value) {
    const Result<BackerTotal> backer = state::DecodeBacker(*value);
    if (!backer.ok()) {
      return Status::Corruption("the sequencer state of post " + std::to_string(post_id) + ": " +
                                backer.status().message());
    }
    BackerState read;
    static_cast<BackerTotal&>(read) = *backer;
    entry.post.backers.emplace(std::string(name), std::move(read));
    ++backer_reads_;
  }
  entry.backers_read.emplace(name);
  entry.backers_used.emplace_back(name);
  return Status::Ok();
}

// A funding the batch itself added has no record yet and is in memory
// already; one read before is not read again.
Status PostCache::ReadFunding(int64_t post_id, Entry& entry, int64_t position) {
  if (entry.fundings_read.contains(position)) return Status::Ok();
  LEDGER_ASSIGN_OR_RETURN(const std::optional<std::string> value,
                          log_->ReadState(state::FundingKey(post_id, position)));
  if (!value) {
    entry.fundings_read.insert(position);
    return Status::Ok();
  }
  Result<state::FundingRecord> decoded = state::DecodeFunding(*value);
  if (!decoded.ok()) {
    return Status::Corruption("the sequencer state of post " + std::to_string(post_id) + ": " +
                              decoded.status().message());
  }
  state::FundingRecord& f = *decoded;
  PostState& post = entry.post;
  switch (f.fate) {
    case state::FundingFate::kLive:
      LEDGER_RETURN_IF_ERROR(ReadBacker(post_id, entry, f.backer));
      post.live_fundings.Insert(position,
                                LiveFunding{std::move(f.backer), f.units, f.amount, f.version});
      break;
    case state::FundingFate::kCancelled:
      post.cancelled_fundings.emplace(position, EndedFunding{std::move(f.backer), f.version});
      break;
    case state::FundingFate::kRefunded:
      post.refunded_fundings.emplace(position, EndedFunding{std::move(f.backer), f.version});
      break;
  }
  entry.fundings_read.insert(position);
  return Status::Ok();
}

// The durable state is the post as of the last write; the events applied
// since then are applied again on top of it.
Status PostCache::ReadWhole(int64_t post_id, Entry& entry,
                            std::span<const events::Event> unwritten) {
  LEDGER_ASSIGN_OR_RETURN(PostState post, LoadPost(*log_, post_id));
  for (const events::Event& e : unwritten) {
    if (e.stream != post_id) continue;
    LEDGER_RETURN_IF_ERROR(
        Apply(post, e).WithContext("applying an unwritten event to a post read whole"));
  }
  entry.post = std::move(post);
  entry.whole = true;
  Release(entry.backers_read, entry.fundings_read);
  ++whole_reads_;
  return Status::Ok();
}

PostState& PostCache::Create(int64_t post_id) {
  LEDGER_CHECK(!entries_.contains(post_id), "a created post is cached already");
  used_.push_back(post_id);
  return Insert(post_id, PostState{}, /*whole=*/true);
}

PostState& PostCache::Insert(int64_t post_id, PostState post, bool whole) {
  uses_.push_front(post_id);
  Entry& e = entries_[post_id];
  e.post = std::move(post);
  e.use = uses_.begin();
  e.whole = whole;
  e.bytes = EstimatedBytes(e.post);
  bytes_ += e.bytes;
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
  if (it != entries_.end()) Erase(it);
}

void PostCache::Erase(std::unordered_map<int64_t, Entry>::iterator it) {
  Entry& e = it->second;
  if (e.holds_backers) backer_uses_.erase(e.backer_use);
  backer_bytes_ -= e.backer_bytes;
  bytes_ -= e.bytes;
  uses_.erase(e.use);
  entries_.erase(it);
}

void PostCache::Clear() {
  entries_.clear();
  uses_.clear();
  used_.clear();
  backer_uses_.clear();
  bytes_ = 0;
  backer_bytes_ = 0;
}

// Read again from the durable state when next needed.
void PostCache::DropBackers(Entry& e) {
  Release(e.post.backers, e.backers_read);
  backer_bytes_ -= e.backer_bytes;
  e.backer_bytes = 0;
  if (e.holds_backers) backer_uses_.erase(e.backer_use);
  e.holds_backers = false;
  bytes_ -= e.bytes;
  e.bytes = EstimatedBytes(e.post);
  bytes_ += e.bytes;
}

void PostCache::Trim() {
  // A post handed out holds what its batch read beyond its summary. The
  // fundings (and a post read whole) are dropped; the backers read stay, so
  // that a backer who funds the post again is not read again, within their
  // own share of the bound.
  for (const int64_t id : used_) {
    const auto it = entries_.find(id);
    if (it == entries_.end()) continue;
    Entry& e = it->second;
    if (e.whole) Release(e.post.backers, e.backers_read);
    if (e.whole || !e.fundings_read.empty() || !e.post.live_fundings.empty() ||
        !e.post.cancelled_fundings.empty() || !e.post.refunded_fundings.empty()) {
      Release(e.post.live_fundings, e.post.cancelled_fundings, e.post.refunded_fundings,
              e.fundings_read);
      e.whole = false;
    }
    // The positions Apply added to a backer held in part are not all of
    // theirs: only a post read whole has them (for its refunds).
    for (const std::string& name : e.backers_used) {
      if (const auto b = e.post.backers.find(name); b != e.post.backers.end()) {
        Release(b->second.live_positions);
      }
    }
    e.backers_used.clear();
    const size_t held = e.post.backers.size() * kBackerBytes;
    backer_bytes_ = backer_bytes_ - e.backer_bytes + held;
    e.backer_bytes = held;
    if (held > 0 && e.holds_backers) {
      backer_uses_.splice(backer_uses_.begin(), backer_uses_, e.backer_use);
    } else if (held > 0) {
      backer_uses_.push_front(id);
      e.backer_use = backer_uses_.begin();
      e.holds_backers = true;
    } else if (e.holds_backers) {
      backer_uses_.erase(e.backer_use);
      e.holds_backers = false;
    }
    bytes_ -= e.bytes;
    e.bytes = EstimatedBytes(e.post);
    bytes_ += e.bytes;
  }
  used_.clear();
  // Backers are the cheaper loss: a summary missed costs three reads and a
  // seek, a backer one read that a Bloom filter mostly answers.
  while (backer_bytes_ > capacity_bytes_ / kBackerShare && !backer_uses_.empty()) {
    DropBackers(entries_.find(backer_uses_.back())->second);
  }
  while (bytes_ > capacity_bytes_ && uses_.size() > 1) {
    Erase(entries_.find(uses_.back()));
    ++evictions_;
  }
}

PostCache::Counts PostCache::counts() const {
  return Counts{entries_.size(), bytes_,        hits_,        loads_,
                evictions_,      backer_reads_, whole_reads_, backer_bytes_};
}

}  // namespace ledger::commands
