#pragma once

// Internal to src/projections (it takes pqxx transactions): the projector's
// checkpoint, one row of <schema>.checkpoints per projector name holding the
// position of the last event the read tables hold and that event's hash. The
// projector, replay and verify read and write the row only through here.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <pqxx/transaction>

#include "common/result.h"
#include "events/event_log.h"
#include "events/hash.h"

namespace ledger::projections {

// A checkpoint row as stored, before it is checked against the log.
struct StoredCheckpoint {
  int64_t position = 0;
  std::optional<events::Hash> hash;  // nullopt: the stored text is not a hash
  std::string hash_text{};           // the hash as stored, for reports
};

// Creates the checkpoint row of `name` unless it exists (position 0, the
// genesis hash: a first start), then reads it and locks it until `tx` ends,
// so that two projectors with one name take turns instead of applying a
// batch twice. REQUIRES: `schema` holds the read tables and is a lower-case
// SQL identifier (checked). Throws what pqxx throws: call under Guard.
StoredCheckpoint LockCheckpoint(pqxx::work& tx, std::string_view schema, const std::string& name);

// The checkpoint row of `name` as `tx` sees it, neither created nor locked
// (an audit reads it in its own snapshot); nullopt when there is none.
// REQUIRES: as for LockCheckpoint. Throws what pqxx throws: call under Guard.
std::optional<StoredCheckpoint> ReadCheckpoint(pqxx::transaction_base& tx, std::string_view schema,
                                               const std::string& name);

// `checkpoint` as a place in the log whose head is `head`.
// Errors: kCorruption when the stored hash of projector `name` is not a
// hash, when the checkpoint is past the head (the read tables belong to
// another log), or when it is at the head with another hash.
Result<events::LogHead> CheckAgainstHead(const StoredCheckpoint& checkpoint,
                                         const events::LogHead& head, std::string_view name);

// Moves the checkpoint row of `name` to `last`, in the transaction that wrote
// the rows of the events up to it. REQUIRES: LockCheckpoint(tx, schema, name)
// ran in `tx`. Throws what pqxx throws: call under Guard.
void WriteCheckpoint(pqxx::work& tx, std::string_view schema, const std::string& name,
                     const events::LogHead& last);

// Creates the checkpoint row of `name` at `last`, for read tables built from
// the log up to it (a replay, in the transaction that loads them). REQUIRES:
// `schema` has no row of that name (a second one violates the primary key);
// otherwise as for LockCheckpoint. Throws what pqxx throws: call under Guard.
void InsertCheckpoint(pqxx::work& tx, std::string_view schema, const std::string& name,
                      const events::LogHead& last);

}  // namespace ledger::projections
