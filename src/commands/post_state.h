#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/container_hash/hash.hpp>
#include <boost/unordered/unordered_flat_map.hpp>

#include "common/clock.h"
#include "common/status.h"
#include "common/time_format.h"
#include "events/event.h"

namespace ledger::commands {

// What one backer has live on a post.
struct BackerTotal {
  int64_t units = 0;
  int64_t amount = 0;
  int64_t fundings = 0;  // live PostFunded events

  bool operator==(const BackerTotal&) const = default;
};

// The positions of one backer's live fundings of one post, in the order
// added (ascending). Most backers fund a post once, so one position is held
// inline: a fold of ten million (post, backer) pairs then allocates nothing
// for them, where a vector each cost a heap block to make and to free. Log
// positions start at 1, so 0 inline means none.
class LivePositions {
 public:
  const int64_t* begin() const { return heap_.empty() ? &inline_ : heap_.data(); }
  const int64_t* end() const { return begin() + size(); }
  size_t size() const { return heap_.empty() ? (inline_ != 0 ? 1 : 0) : heap_.size(); }
  bool empty() const { return size() == 0; }
  // REQUIRES: position >= 1.
  void push_back(int64_t position);
  // Removes every occurrence of `position`.
  void erase(int64_t position);
  bool operator==(const LivePositions& other) const;

 private:
  // None or one: in inline_ (0 for none), heap_ empty. Two or more: all in
  // heap_.
  int64_t inline_ = 0;
  std::vector<int64_t> heap_;
};

// A backer's live totals and the positions of their live fundings, ascending:
// what a refund returns, found without walking every funding of the post.
struct BackerState : BackerTotal {
  LivePositions live_positions;

  bool operator==(const BackerState&) const = default;
};

// Hashes a backer's name, and a view of one: the backers of a post are found
// by a name an event or a command holds without copying it into a string.
struct BackerNameHash {
  using is_transparent = void;
  // boost::hash of a string view mixes every bit (the map then skips its own
  // mixing step).
  using is_avalanching = void;
  size_t operator()(std::string_view name) const noexcept {
    return boost::hash<std::string_view>{}(name);
  }
};

// A post's backers with a live funding, by name. Open addressing: a fold of
// a million events looks a backer up per funding in posts whose backers are
// spread over the heap, and std::unordered_map's node per backer was a
// fifth of the fold's time (a bucket, then a node, then the key, each a
// cache miss; every rehash touched every node again). References into it
// do not outlive an insert.
using BackerMap =
    boost::unordered_flat_map<std::string, BackerState, BackerNameHash, std::equal_to<>>;

// One live PostFunded event, by its log position: what a cancellation names.
struct LiveFunding {
  std::string backer;
  int64_t units = 0;
  int64_t amount = 0;
  int64_t version = 0;  // the PostFunded's stream_version

  bool operator==(const LiveFunding&) const = default;
};

// A funding that is no longer live: who made it, and the stream_version of
// the event that ended it (the cancellation or the refund).
struct EndedFunding {
  std::string backer;
  int64_t version = 0;

  bool operator==(const EndedFunding&) const = default;
};

// The live fundings of a post by position. Positions only grow, so a new
// funding is appended to a vector; a cancelled or refunded one is marked gone
// and the vector is compacted once half of it is gone. Against a std::map:
// no allocation and no rebalancing per funding (the fund path's hottest
// work in Apply), lookups by binary search.
class LiveFundings {
 public:
  // nullptr when no live funding has that position.
  const LiveFunding* Find(int64_t position) const;
  // Adds a funding after every earlier one; false (nothing added) when
  // `position` does not follow the last position added.
  bool Append(int64_t position, LiveFunding funding);
  // Adds a funding in position order wherever it falls (a post read in
  // parts: the funding a cancellation names, read after newer ones); false
  // (nothing added) when a funding at `position` is there already.
  bool Insert(int64_t position, LiveFunding funding);
  // Ends the live funding at `position`; false when there is none.
  bool Remove(int64_t position);
  size_t size() const { return live_; }
  bool empty() const { return live_ == 0; }
  // The live positions, ascending.
  std::vector<int64_t> Positions() const;
  // Equal when the same fundings are live, however they are laid out.
  bool operator==(const LiveFundings& other) const;

 private:
  struct Slot {
    int64_t position = 0;
    LiveFunding funding;
    bool live = true;
  };
  std::vector<Slot>::const_iterator Locate(int64_t position) const;
  void CompactIfSparse();

  std::vector<Slot> slots_;  // by position, ascending
  size_t live_ = 0;
};

// The post aggregate: everything Decide needs, folded from the post's stream.
// A default-constructed state is a post that does not exist (version 0).
//
// A fold holds every post whole. The sequencer holds a post in part: its
// summary (every field but the four collections) always, and of the
// collections only what the commands of the current batch need, read from
// the durable state first (PostCache::Need). Apply keeps the counts
// (`participants`, `funding_count`, `total_funded`) itself, so it gives the
// same summary either way, provided the backer and funding an event names
// were read before it is applied, and the whole post before a refund.
struct PostState {
  int64_t id = 0;
  int64_t version = 0;  // stream_version of the newest applied event
  // stream_version of the newest event other than a funding, a cancellation
  // or a refund: those change only their fundings' figures, which the
  // durable state keeps per funding (commands/state_codec.h).
  int64_t header_version = 0;
  // stream_version of the newest funding, cancellation or refund (0: none).
  // The version is the newer of the two.
  int64_t funds_version = 0;
  bool deleted = false;
  std::string owner;
  std::string title;
  std::string uploader;
  std::string description;
  int64_t target_amount = 0;
  int64_t funding_unit = 0;
  CivilDate end_date{};
  Timestamp closes_at;
  Timestamp created_at;
  events::FundingModel funding_model = events::FundingModel::kKeepItAll;
  std::optional<int64_t> max_fundings_per_backer;       // live fundings of one backer
  bool ever_funded = false;                             // fixes model and limit
  std::optional<events::SettlementOutcome> settlement;  // set by PostSettled
  int64_t total_funded = 0;                             // sum of live fundings
  int64_t funding_count = 0;                            // live PostFunded events
  int64_t participants = 0;                             // backers with a live funding
  BackerMap backers;                                    // live fundings by backer
  LiveFundings live_fundings;                           // by the PostFunded's position
  std::map<int64_t, EndedFunding> cancelled_fundings;   // by the PostFunded's position
  std::map<int64_t, EndedFunding> refunded_fundings;    // by the PostFunded's position

  bool exists() const { return version > 0; }
  bool settled() const { return settlement.has_value(); }
  int64_t participant_count() const { return participants; }
  bool operator==(const PostState&) const = default;
};

// The post without its backers and fundings: what Sequencer::FindPost gives.
PostState SummaryOf(const PostState& post);

// True for the events that change a post only through its fundings (and the
// figures summed from them): PostFunded, FundingCancelled, FundingRefunded.
// Every other event moves `header_version`.
bool ChangesOnlyFundings(events::EventType type);

// Folds one event of the post's stream into `state`. Pure: no I/O, no clock.
// Fails with kCorruption (leaving `state` unspecified) when the event cannot
// follow the state: a version gap, an event for another post, a funding of a
// post that does not exist, a refund of more than was funded, a cancellation
// of a funding that is not live, an event a settled post no longer takes, a
// settlement whose figures are not the post's, an overflow.
// The sequencer treats a failure as a broken invariant; verify and replay
// report it.
Status Apply(PostState& state, const events::Event& event);

}  // namespace ledger::commands
