#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "commands/command.h"
#include "commands/post_state.h"
#include "commands/rejection.h"
#include "common/clock.h"
#include "common/time_zone.h"
#include "events/event.h"

namespace ledger::commands {

// Everything a decision may depend on besides the post's state. Time comes in
// here; Decide never reads a clock.
struct DecideContext {
  Timestamp now;
  const TimeZone* time_zone = nullptr;  // the service time zone; never null
  std::string_view actor;               // authenticated user id
  int64_t next_post_id = 1;             // the id the next created post gets
  // Whether `post` holds all of its backers. When not (the sequencer's
  // summary), a deletion or settlement that would refund someone asks for
  // the whole post instead of deciding (Decision::needs_whole_post).
  bool whole_post = true;
};

// An event Decide wants appended, before it has a position or hash.
struct NewEvent {
  int64_t stream = 0;
  events::EventData data;
};

struct Decision {
  std::vector<NewEvent> events;  // in append order; empty when rejected
  std::optional<Rejection> rejection;
  // Nothing decided: the command passes every check the summary can answer
  // and refunds backers, so decide it again with the whole post.
  bool needs_whole_post = false;

  bool accepted() const { return !rejection.has_value(); }
};

// Pure decision for one command against the current state of the post it
// addresses (`post` is null for CreatePosts, or when the post never existed).
// Every rule of product.md lives here.
Decision Decide(const PostState* post, const Command& command, const DecideContext& ctx);

}  // namespace ledger::commands
