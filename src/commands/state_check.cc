#include "commands/state_check.h"

#include <algorithm>
#include <string_view>
#include <utility>
#include <vector>

#include "commands/state_codec.h"

namespace ledger::commands {
namespace {

// The records the fold says the state holds, generated in key order: the
// head, each post's records, then the schedule.
class ExpectedRecords {
 public:
  explicit ExpectedRecords(const FoldedLog& folded) : folded_(folded) {
    const state::StateHead head{folded.position, folded.hash,
                                static_cast<int64_t>(folded.posts.size()) + 1,
                                folded.latest_recorded_at};
    pending_.emplace_back(state::HeadKey(), state::EncodeHead(head));
    for (const PostState& post : folded.posts) {
      if (state::Schedulable(post)) schedule_.emplace_back(post.closes_at, post.id);
    }
    std::sort(schedule_.begin(), schedule_.end());
  }

  // The next record, or nullptr after the last.
  const std::pair<std::string, std::string>* Next() {
    while (next_ >= pending_.size()) {
      pending_.clear();
      next_ = 0;
      if (post_ < folded_.posts.size()) {
        pending_ = state::EncodePost(folded_.posts[post_++]);
      } else if (scheduled_ < schedule_.size()) {
        const auto& [closes_at, id] = schedule_[scheduled_++];
        pending_.emplace_back(state::ScheduleKey(closes_at, id), "");
      } else {
        return nullptr;
      }
    }
    return &pending_[next_++];
  }

 private:
  const FoldedLog& folded_;
  std::vector<std::pair<std::string, std::string>> pending_;
  size_t next_ = 0;
  size_t post_ = 0;
  std::vector<std::pair<Timestamp, int64_t>> schedule_;
  size_t scheduled_ = 0;
};

}  // namespace

Result<StateComparison> CompareState(const events::EventLog& log, const FoldedLog& folded) {
  StateComparison out;
  LEDGER_ASSIGN_OR_RETURN(const std::optional<std::string> head, log.ReadState(state::HeadKey()));
  out.stored = head.has_value();
  if (!out.stored) return out;
  ExpectedRecords expected(folded);
  const auto differ = [&](std::string_view key, std::string_view what) {
    out.difference = state::DescribeKey(key) + ": " + std::string(what);
  };
  LEDGER_RETURN_IF_ERROR(log.ScanState("", "", [&](std::string_view key, std::string_view value) {
    const auto* want = expected.Next();
    if (want == nullptr) {
      differ(key, "stored, but the log's fold has no such record");
      return false;
    }
    if (want->first != key) {
      // Whichever key comes first is the one the other side lacks.
      if (want->first < key) {
        differ(want->first, "missing from the stored state");
      } else {
        differ(key, "stored, but the log's fold has no such record");
      }
      return false;
    }
    if (want->second != value) {
      differ(key, "stored value differs from the log's fold");
      return false;
    }
    ++out.records;
    return true;
  }));
  if (!out.difference) {
    if (const auto* want = expected.Next()) differ(want->first, "missing from the stored state");
  }
  return out;
}

}  // namespace ledger::commands
