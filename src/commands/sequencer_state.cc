// The sequencer's durable state: taken up on start (or built from the log),
// and the posts a failed write touched dropped so they are read again.
#include <string>
#include <utility>
#include <vector>

#include "commands/sequencer.h"
#include "commands/state_codec.h"
#include "common/log.h"

namespace ledger::commands {
namespace {

// Events read from the log per step of a build.
constexpr size_t kBuildChunkEvents = 8'192;

// What applying `e` needs of its post beyond the summary.
PostCache::Need NeedOf(const events::Event& e) {
  if (const auto* f = std::get_if<events::PostFunded>(&e.data)) {
    return PostCache::Need::Backer(f->backer);
  }
  if (const auto* c = std::get_if<events::FundingCancelled>(&e.data)) {
    return PostCache::Need::Funding(c->funding_position);
  }
  if (std::holds_alternative<events::FundingRefunded>(e.data)) return PostCache::Need::Whole();
  return PostCache::Need::Summary();
}

}  // namespace

Status Sequencer::LoadState() {
  LEDGER_ASSIGN_OR_RETURN(const std::optional<std::string> stored,
                          log_->ReadState(state::HeadKey()));
  const events::LogHead log_head = log_->Head();
  const bool older = stored && state::OlderLayout(*stored);
  if (!stored || older || options_.rebuild_state) {
    LEDGER_LOG(LogLevel::kInfo, "sequencer",
               !stored ? "building the durable state from the log"
               : older ? "rebuilding the durable state from the log: it was written in an "
                         "older layout"
                       : "rebuilding the durable state from the log, as asked")
        .Int("events", log_head.position);
    LEDGER_RETURN_IF_ERROR(BuildState());
  } else {
    LEDGER_ASSIGN_OR_RETURN(const state::StateHead head, state::DecodeHead(*stored));
    if (const auto differs = state::HeadDisagreement(head, log_head)) {
      return Status::FailedPrecondition(
          *differs +
          ", so it is not used. Start with --rebuild-state to fold the log into a "
          "new state");
    }
    next_post_ = head.next_post;
    last_recorded_at_ = head.last_recorded_at;
  }
  Status scheduled = Status::Ok();
  LEDGER_RETURN_IF_ERROR(log_->ScanState(state::ScheduleBegin(), state::ScheduleEnd(),
                                         [&](std::string_view key, std::string_view) {
                                           const auto entry = state::DecodeScheduleKey(key);
                                           if (!entry.ok()) {
                                             scheduled = entry.status();
                                             return false;
                                           }
                                           if (options_.settle_posts)
                                             schedule_.Add(entry->second, entry->first);
                                           return true;
                                         }));
  return scheduled;
}

// Folds the log from its first event into a new durable state, chunk by
// chunk, with no more posts in memory than the cache holds. The head record
// is written last: a build cut short leaves no head, and the next start
// builds again.
Status Sequencer::BuildState() {
  LEDGER_RETURN_IF_ERROR(log_->ClearState());
  cache_.Clear();
  next_post_ = 1;
  last_recorded_at_ = Timestamp{};
  const events::LogHead log_head = log_->Head();
  events::LogHead folded;
  state::StateChanges changes;
  std::vector<events::Event> chunk;
  while (folded.position < log_head.position) {
    chunk.clear();
    LEDGER_RETURN_IF_ERROR(events::ReadEvents(*log_, folded.position + 1, log_head.position,
                                              kBuildChunkEvents, &chunk));
    if (chunk.empty()) {
      return Status::Corruption("the log has no event at position " +
                                std::to_string(folded.position + 1));
    }
    for (const events::Event& e : chunk) {
      LEDGER_RETURN_IF_ERROR(events::CheckFollows(folded, e));
      PostState* post = nullptr;
      if (e.stream == next_post_) {
        post = &cache_.Create(next_post_++);
      } else {
        const size_t applied = static_cast<size_t>(&e - chunk.data());
        LEDGER_ASSIGN_OR_RETURN(post,
                                FindState(e.stream, NeedOf(e), std::span(chunk.data(), applied)));
        if (post == nullptr) {
          return Status::Corruption("event at position " + std::to_string(e.position) +
                                    " names post " + std::to_string(e.stream) +
                                    ", which is neither known nor the next new one");
        }
      }
      LEDGER_RETURN_IF_ERROR(changes.Apply(*post, e));
      folded = events::LogHead{e.position, e.hash};
      last_recorded_at_ = std::max(last_recorded_at_, e.recorded_at);
    }
    const auto writes =
        changes.Take([this](int64_t id) -> const PostState& { return *cache_.Peek(id); }, nullptr);
    LEDGER_RETURN_IF_ERROR(log_->WriteState(writes, /*sync=*/false));
    cache_.Trim();
  }
  if (folded.hash != log_head.hash) {
    return Status::Corruption("the newest event's hash differs from the log's head record");
  }
  const state::StateHead head{folded.position, folded.hash, next_post_, last_recorded_at_};
  const events::StateWrite head_write{state::HeadKey(), state::EncodeHead(head)};
  return log_->WriteState(std::span(&head_write, 1), /*sync=*/true);
}

Result<PostState*> Sequencer::FindState(int64_t post_id, const PostCache::Need& need,
                                        std::span<const events::Event> unwritten) {
  if (post_id < 1 || post_id >= next_post_) return nullptr;
  return cache_.Get(post_id, need, unwritten);
}

// The failed batch's changes are in the cached posts only: dropping them
// leaves the durable state, which the failed write did not change. Nothing
// is read here: a post is loaded again when a command next needs it.
void Sequencer::ForgetPosts(const std::vector<int64_t>& post_ids, int64_t next_post) {
  for (const int64_t id : post_ids) cache_.Forget(id);
  next_post_ = next_post;
  cache_.Trim();
}

}  // namespace ledger::commands
