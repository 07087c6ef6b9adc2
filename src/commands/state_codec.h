#pragma once

// The sequencer's durable state: what Decide needs of every post, stored as
// keys and values beside the events (events::EventLog's state space) and
// written in the same atomic write as the events it follows from. The keys
// split a post so that a funding, a cancellation or a refund writes only the
// records of the fundings it changes, never the whole post:
//
//   key                                        value
//   "m" "head"                                 StateHead: the log position the
//                                              state is the fold of, and more
//   "p" post (8) "b" backer                    what the backer has live on the
//                                              post: units, amount, fundings
//   "p" post (8) "d"                           the post's texts (owner, title,
//                                              uploader, description)
//   "p" post (8) "f" position (8)              one PostFunded: live (backer,
//                                              units, amount), cancelled or
//                                              refunded (backer), and the
//                                              version of the event that
//                                              wrote it
//   "p" post (8) "h"                           the post's terms and status, as
//                                              of its header_version
//   "p" post (8) "t"                           the sums of its live fundings
//                                              (total, count, backers) as of
//                                              funds_version; once funded
//   "s" closes_at (8) post (8)                 empty: a post awaiting settlement
//
// Integers are big-endian (closes_at with its sign bit flipped), so one post's
// records are contiguous and the schedule walks deadlines in order. A post's
// summary (texts, header, totals) is three point reads whatever its history;
// a backer's record is what a funding decision needs of that backer, and a
// funding record what a cancellation needs of that funding. Only a deletion
// and a settlement read a post whole, and its backer and totals records are
// then checked against the sums of its funding records.

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "commands/post_state.h"
#include "common/clock.h"
#include "common/result.h"
#include "events/event.h"
#include "events/event_log.h"
#include "events/hash.h"

namespace ledger::commands::state {

// Where the stored state stands: the fold of the log up to `position`.
struct StateHead {
  int64_t position = 0;
  events::Hash hash = events::kGenesisHash;
  int64_t next_post = 1;         // the id the next created post gets
  Timestamp last_recorded_at{};  // the newest event's recorded_at (epoch: none)

  bool operator==(const StateHead&) const = default;
};

std::string HeadKey();
std::string EncodeHead(const StateHead& head);
// kFailedPrecondition naming both layouts when the head was written in an
// older layout (OlderLayout), kCorruption when it is malformed.
Result<StateHead> DecodeHead(std::string_view value);
// True when a head record was written in an older layout than this binary's:
// the state is then rebuilt from the log, not read.
bool OlderLayout(std::string_view head_value);
// Why a state whose head record is `head` is not the fold of a log whose head
// is `log_head`, or nothing when both name the same position and hash. The
// state is written in the same atomic write as its events, so they differ
// only when something else wrote the log or the state (an older binary, a
// log put together from two copies). Serve refuses such a state and verify
// reports it, in these words.
std::optional<std::string> HeadDisagreement(const StateHead& head, const events::LogHead& log_head);

// The key range of one post's records: [PostBegin(id), PostEnd(id)).
std::string PostBegin(int64_t post_id);
std::string PostEnd(int64_t post_id);
// The key range of every post's records and of the schedule.
std::string AllPostsBegin();
std::string AllPostsEnd();
std::string ScheduleBegin();
std::string ScheduleEnd();

std::string TextKey(int64_t post_id);
std::string HeaderKey(int64_t post_id);
std::string TotalsKey(int64_t post_id);
std::string BackerKey(int64_t post_id, std::string_view backer);
std::string FundingKey(int64_t post_id, int64_t position);
std::string ScheduleKey(Timestamp closes_at, int64_t post_id);
// REQUIRES: `key` is in [ScheduleBegin(), ScheduleEnd()). kCorruption when
// it is not a schedule key.
Result<std::pair<Timestamp, int64_t>> DecodeScheduleKey(std::string_view key);

// What a key names, for people: "the head record", "post 17's header",
// "post 17's funding at position 1234", "the settlement schedule's entry for
// post 17 (closing 2026-12-31T15:00:00.000000Z)".
std::string DescribeKey(std::string_view key);

std::string EncodeText(const PostState& post);
std::string EncodeHeader(const PostState& post);
// The post's totals record: written by every funding, cancellation and
// refund (its funds_version moves), absent until the first funding.
std::string EncodeTotals(const PostState& post);
std::string EncodeBacker(const BackerTotal& backer);
// kCorruption unless every figure is positive.
Result<BackerTotal> DecodeBacker(std::string_view value);
enum class FundingFate : uint8_t { kLive = 1, kCancelled = 2, kRefunded = 3 };
// `version`: the stream_version of the event that wrote the record (the
// PostFunded, or the cancellation or refund that ended it).
std::string EncodeFunding(FundingFate fate, int64_t version, std::string_view backer, int64_t units,
                          int64_t amount);
struct FundingRecord {
  FundingFate fate = FundingFate::kLive;
  int64_t version = 0;
  std::string backer;
  int64_t units = 0;   // live only
  int64_t amount = 0;  // live only
};
Result<FundingRecord> DecodeFunding(std::string_view value);

// True when the post awaits settlement: it has a schedule key.
bool Schedulable(const PostState& post);

// Every record of one post, in key order (its schedule key not included).
std::vector<std::pair<std::string, std::string>> EncodePost(const PostState& post);

// Rebuilds one post from its records. kWhole: every record of the post, in
// key order (as ScanState over [PostBegin(id), PostEnd(id)) yields them); the
// collections are built from the funding records, and the totals and backer
// records must equal their sums. kSummary: the texts, header and (once
// funded) totals records only; the collections stay empty. Checks what it
// can: every record decodes, the header and texts are present, the live
// fundings' sums do not overflow. Any problem is kCorruption naming the post.
class PostDecoder {
 public:
  enum class Mode { kWhole, kSummary };
  PostDecoder(int64_t post_id, Mode mode) : post_id_(post_id), mode_(mode) {}
  Status Add(std::string_view key, std::string_view value);
  Result<PostState> Finish();

 private:
  struct Totals {
    int64_t funds_version = 0;
    int64_t total_funded = 0;
    int64_t funding_count = 0;
    int64_t participants = 0;
    bool operator==(const Totals&) const = default;
  };
  Status Broken(std::string_view problem) const;

  int64_t post_id_;
  Mode mode_;
  PostState post_;
  Totals funded_;                 // what the funding records add up to, or the stored totals
  std::optional<Totals> totals_;  // the totals record
  std::vector<std::pair<std::string, BackerTotal>> stored_backers_;
  bool has_text_ = false;
  bool has_header_ = false;
};

// What a run of applied events changes in the stored state: the sequencer's
// batch, or a chunk of a rebuild. Apply applies an event to its post (the
// same Apply as everywhere) and notes the records it changes; Take returns
// them as writes in the order they must be applied: the funding and
// schedule records, then once per post the header and texts when they
// moved, the totals when its fundings moved, and the record of each backer
// whose live fundings moved (deleted when none is left); then `head`'s
// record when given.
class StateChanges {
 public:
  Status Apply(PostState& post, const events::Event& event);
  // `post_of(id)` returns the current state of a touched post.
  template <typename PostOf>
  std::vector<events::StateWrite> Take(const PostOf& post_of, const StateHead* head);
  // The posts touched since the last Take or Clear, each once, ascending.
  std::vector<int64_t> TouchedPosts() const;
  bool empty() const { return touched_.empty(); }
  void Clear();

 private:
  void Put(std::string key, std::string value);
  void Delete(std::string key);

  static constexpr uint8_t kHeaderPart = 1;
  static constexpr uint8_t kTextPart = 2;
  static constexpr uint8_t kTotalsPart = 4;

  std::vector<events::StateWrite> ordered_;               // fundings and schedule, in order
  std::vector<std::pair<int64_t, uint8_t>> touched_;      // post id, parts changed
  std::vector<std::pair<int64_t, std::string>> backers_;  // (post, backer) changed
};

template <typename PostOf>
std::vector<events::StateWrite> StateChanges::Take(const PostOf& post_of, const StateHead* head) {
  std::vector<events::StateWrite> out = std::move(ordered_);
  std::sort(touched_.begin(), touched_.end());
  for (size_t i = 0; i < touched_.size();) {
    const int64_t id = touched_[i].first;
    uint8_t parts = 0;
    for (; i < touched_.size() && touched_[i].first == id; ++i) parts |= touched_[i].second;
    if (parts == 0) continue;
    const PostState& post = post_of(id);
    if ((parts & kTextPart) != 0) out.push_back(events::StateWrite{TextKey(id), EncodeText(post)});
    if ((parts & kHeaderPart) != 0) {
      out.push_back(events::StateWrite{HeaderKey(id), EncodeHeader(post)});
    }
    if ((parts & kTotalsPart) != 0) {
      out.push_back(events::StateWrite{TotalsKey(id), EncodeTotals(post)});
    }
  }
  std::sort(backers_.begin(), backers_.end());
  backers_.erase(std::unique(backers_.begin(), backers_.end()), backers_.end());
  for (const auto& [id, name] : backers_) {
    const PostState& post = post_of(id);
    const auto it = post.backers.find(name);
    out.push_back(it == post.backers.end()
                      ? events::StateWrite{BackerKey(id, name), std::nullopt}
                      : events::StateWrite{BackerKey(id, name), EncodeBacker(it->second)});
  }
  if (head != nullptr) out.push_back(events::StateWrite{HeadKey(), EncodeHead(*head)});
  Clear();
  return out;
}

}  // namespace ledger::commands::state
