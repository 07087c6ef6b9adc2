#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "commands/rejection.h"
#include "common/result.h"

namespace ledger::commands {

// The durable result of a command: what the client was (or will be) told.
// It is what an idempotency record replays.
struct CommandOutcome {
  bool accepted = false;
  // Accepted: the command's events occupy [first_position, last_position];
  // post_id is the (first) post it created or the post it changed, and
  // stream_version that post's version after the command.
  int64_t first_position = 0;
  int64_t last_position = 0;
  int64_t post_id = 0;
  int64_t stream_version = 0;
  // Rejected: why.
  Rejection rejection;

  bool operator==(const CommandOutcome&) const = default;
};

// Binary form stored in idempotency records:
//   version 1 (1) | accepted (1) | reason (1, 0 when accepted) | first (8) |
//   last (8) | post_id (8) | stream_version (8) | field length (4) |
//   detail length (4) | field | detail
std::string EncodeOutcome(const CommandOutcome& outcome);
Result<CommandOutcome> DecodeOutcome(std::string_view bytes);

}  // namespace ledger::commands
