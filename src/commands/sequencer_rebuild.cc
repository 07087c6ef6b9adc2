// The sequencer's state from the log: all of it on start, and the posts a
// failed write touched.
#include <algorithm>
#include <string>
#include <vector>

#include "commands/sequencer.h"
#include "events/event_log.h"

namespace ledger::commands {
namespace {

// How many events Rebuild decodes per read.
constexpr size_t kRebuildChunkEvents = 8192;

}  // namespace

Status Sequencer::Rebuild() {
  const events::LogHead head = log_->Head();
  events::Hash prev = events::kGenesisHash;
  std::vector<events::Event> chunk;
  for (int64_t from = 1; from <= head.position;) {
    chunk.clear();
    LEDGER_RETURN_IF_ERROR(
        events::ReadEvents(*log_, from, head.position, kRebuildChunkEvents, &chunk));
    if (chunk.empty()) {
      return Status::Corruption("event at position " + std::to_string(from) + " is missing");
    }
    for (const events::Event& e : chunk) {
      LEDGER_RETURN_IF_ERROR(events::CheckFollows({from - 1, prev}, e));
      const auto known = static_cast<int64_t>(posts_.size());
      if (e.stream == known + 1) {
        posts_.emplace_back();
      } else if (e.stream < 1 || e.stream > known) {
        return Status::Corruption("event at position " + std::to_string(from) + " names post " +
                                  std::to_string(e.stream) + " out of sequence");
      }
      LEDGER_RETURN_IF_ERROR(Apply(posts_[static_cast<size_t>(e.stream - 1)], e));
      last_recorded_at_ = std::max(last_recorded_at_, e.recorded_at);
      prev = e.hash;
      ++from;
    }
  }
  if (prev != head.hash) {
    return Status::Corruption("the head hash differs from the hash of the newest event");
  }
  return Status::Ok();
}

Status Sequencer::RestorePosts(const std::vector<int64_t>& post_ids, int64_t next_post) {
  posts_.resize(static_cast<size_t>(next_post - 1));
  std::vector<int64_t> ids(post_ids);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::vector<events::Event> stream;
  for (const int64_t id : ids) {
    if (id >= next_post) continue;  // created by the failed batch: gone
    stream.clear();
    LEDGER_RETURN_IF_ERROR(events::ReadStream(*log_, id, 1, SIZE_MAX, &stream));
    PostState state;
    for (const events::Event& e : stream) {
      LEDGER_RETURN_IF_ERROR(Apply(state, e));
    }
    posts_[static_cast<size_t>(id - 1)] = std::move(state);
  }
  return Status::Ok();
}

}  // namespace ledger::commands
