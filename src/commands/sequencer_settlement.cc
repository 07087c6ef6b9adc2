// The sequencer settles posts itself: a schedule ordered by deadline, the
// service's own SettlePost commands in the ordinary batches, and, on start,
// every post whose deadline passed while the service was down.
#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "commands/sequencer.h"
#include "common/log.h"

namespace ledger::commands {

size_t Sequencer::settlement_schedule_entries() const {
  std::lock_guard state_lock(state_mu_);
  return schedule_.size();
}

void Sequencer::Schedule(const PostState& post) {
  if (!options_.settle_posts) return;
  if (post.exists() && !post.deleted && !post.settled()) schedule_.Add(post.id, post.closes_at);
}

std::vector<Sequencer::Item> Sequencer::DueSettlements(Timestamp now, size_t max) {
  // The cache is shared with FindPost's readers.
  std::lock_guard state_lock(state_mu_);
  std::vector<Item> items;
  std::vector<int64_t> retry;
  std::set<int64_t> taken;            // a post can be in the schedule more than once
  std::optional<Timestamp> settling;  // the earliest deadline taken
  while (items.size() < max) {
    const std::vector<int64_t> due = schedule_.PopDue(now, max - items.size());
    if (due.empty()) break;
    for (const int64_t id : due) {
      // nullptr: created by a batch whose write failed. A post that cannot
      // be read now is settled later: it goes back into the schedule.
      const Result<PostState*> found = FindState(id);
      if (!found.ok()) {
        // Said every time: the schedule then holds the retry's time, not the
        // deadline, so the overdue gauge does not show this post.
        LEDGER_LOG(LogLevel::kError, "sequencer",
                   "a post due for settlement cannot be read; it is tried again later")
            .Int("post", id)
            .Str("error", found.status().ToString());
        retry.push_back(id);
        continue;
      }
      if (*found == nullptr) continue;
      const PostState& post = **found;
      // A stale entry: the post was deleted or settled since, or its
      // deadline moved later (the new deadline has an entry of its own).
      if (post.deleted || post.settled() || post.closes_at > now) continue;
      if (!taken.insert(id).second) continue;
      Submission settle{SettlePost{id}, std::string(kSystemActor),
                        "settlement-" + std::to_string(id), ""};
      items.push_back(Item{std::move(settle), {}, [](const CommandResult&) {}});
      if (!settling || post.closes_at < *settling) settling = post.closes_at;
    }
  }
  // Overdue already: looked at again after a poll interval, not in a spin.
  for (const int64_t id : retry) schedule_.Add(id, now + options_.settlement_poll);
  // For the overdue gauge: these posts are out of the schedule until their
  // batch is written (ProcessBatch publishes again then).
  schedule_.PublishPending(settling);
  return items;
}

// Runs on Start's thread before the sequencer's own thread exists, so that
// nothing is served as funding that should already be settled.
Status Sequencer::SettleOverdue() {
  const Timestamp now = clock_->Now();
  while (true) {
    std::vector<Item> items = DueSettlements(now, options_.max_batch_commands);
    if (items.empty()) return Status::Ok();
    const std::vector<CommandResult> results = ProcessBatch(items);
    if (options_.count_metrics) CountAnswered(items, results);
    if (broken_) return broken_status_;
    for (const CommandResult& r : results) {
      if (r.status == CommandStatus::kUnavailable) {
        return r.error.WithContext("settling the posts whose deadline has passed");
      }
    }
  }
}

std::chrono::microseconds Sequencer::SettlementWait() const {
  const std::optional<Timestamp> next = schedule_.next_deadline();
  if (!next) return std::chrono::microseconds::max();
  const auto until = std::chrono::duration_cast<std::chrono::microseconds>(*next - clock_->Now());
  const auto poll = std::chrono::duration_cast<std::chrono::microseconds>(options_.settlement_poll);
  // Due now: no wait (what is due is taken at once). Otherwise at least a
  // millisecond, so that a clock standing still just before a deadline (a
  // test's) does not spin the thread.
  if (until <= std::chrono::microseconds(0)) return std::chrono::microseconds(0);
  return std::clamp<std::chrono::microseconds>(until, std::chrono::milliseconds(1), poll);
}

}  // namespace ledger::commands
