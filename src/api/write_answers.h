#pragma once

// The answer to a command once the sequencer has decided it: the resulting
// post (create, edit), the funding (fund), nothing (delete), with its log
// position; or the problem of a rejection, a conflict or an outage.

#include <cstddef>
#include <string>

#include "api/context.h"
#include "commands/sequencer.h"
#include "http/message.h"

namespace ledger::api {

enum class WriteKind { kCreate, kEdit, kDelete, kFund, kCancel };

// What a write's answer needs of its request once the sequencer is done.
struct WriteRequest {
  std::string path;
  std::string request_id;
  size_t posts_created = 0;   // create: how many
  bool create_array = false;  // create: the client sent an array
  // The writer's RateLimit fields (write_limiter.h), when writes are limited.
  http::HeaderList rate_fields;
};

// True when WriteAnswer may copy posts out of the sequencer or read the
// log for this result: an accepted create or edit, or an accepted funding
// without its event (a replay). Such an answer is built off the sequencer's
// completion thread; any other is built from `result` alone.
bool AnswerMayRead(WriteKind kind, const commands::CommandResult& result);

// May copy posts out of `sequencer` (the one that decided) and read the log
// (AnswerMayRead).
http::Response WriteAnswer(const ApiContext& c, const commands::Sequencer& sequencer,
                           const WriteRequest& w, WriteKind kind,
                           const commands::CommandResult& result);

}  // namespace ledger::api
