#pragma once

#include "commands/command.h"
#include "events/hash.h"

namespace ledger::commands {

// SHA-256 over an unambiguous serialization of the command (type, target and
// every field as sent, length-prefixed). Two requests under one
// Idempotency-Key are "the same request" exactly when their fingerprints are
// equal.
events::Hash Fingerprint(const Command& command);

}  // namespace ledger::commands
