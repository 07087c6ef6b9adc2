// The sequencer's state from the log: all of it on start, and the posts a
// failed write touched.
#include <algorithm>
#include <vector>

#include "commands/fold.h"
#include "commands/sequencer.h"

namespace ledger::commands {

// FoldLog checks the whole chain, that post ids are dense and that the newest
// event has the recorded head hash.
Status Sequencer::Rebuild() {
  LEDGER_ASSIGN_OR_RETURN(FoldedLog folded, FoldLog(*log_, log_->Head().position));
  posts_ = std::move(folded.posts);
  last_recorded_at_ = folded.latest_recorded_at;
  for (const PostState& post : posts_) Schedule(post);
  return Status::Ok();
}

// Each post folds again from its stream in bounded memory, however long.
Status Sequencer::RestorePosts(const std::vector<int64_t>& post_ids, int64_t next_post) {
  posts_.resize(static_cast<size_t>(next_post - 1));
  std::vector<int64_t> ids(post_ids);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  const int64_t durable = log_->Head().position;
  for (const int64_t id : ids) {
    if (id >= next_post) continue;  // created by the failed batch: gone
    LEDGER_ASSIGN_OR_RETURN(posts_[static_cast<size_t>(id - 1)],
                            FoldPostStream(*log_, id, durable));
    // Its settlement may have been in the failed batch.
    Schedule(posts_[static_cast<size_t>(id - 1)]);
  }
  return Status::Ok();
}

}  // namespace ledger::commands
