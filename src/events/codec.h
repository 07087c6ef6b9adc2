#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "events/event.h"
#include "events/event_log.h"

namespace ledger::events {

// The canonical bytes of an event: the input of its hash. Compact JSON, UTF-8
// unescaped, keys in this fixed order:
//   position, stream, stream_version, type, schema_version, recorded_at,
//   actor, correlation_id, idempotency_key, data
// with data's keys in the order of the struct's fields (absent optionals
// omitted). prev_hash and hash are not part of it. The same event always
// yields the same bytes; see docs/architecture.md.
// REQUIRES: every string of `event` is valid UTF-8.
std::string EncodeCanonical(const Event& event);

// The envelope as served to clients and audit tools: the canonical fields
// followed by "prev_hash" and "hash" in hex.
std::string EncodeEnvelopeJson(const Event& event);

// A stored event's envelope straight from its record, without decoding it:
// the canonical bytes with "prev_hash" and "hash" added before their closing
// brace. For every record the service writes this is byte for byte
// EncodeEnvelopeJson(DecodeRecord(record)), because canonical bytes
// re-encode to themselves (upcast events included). nullopt when the bytes do
// not start as canonical bytes do (`{"position":P,"stream":"post-S",`) or do
// not end in `}}`: the caller then decodes. The hash is not checked here.
struct RecordEnvelope {
  int64_t position = 0;
  int64_t stream = 0;
  std::string json;
};
std::optional<RecordEnvelope> EnvelopeFromRecord(const Hash& prev_hash, const Hash& hash,
                                                 std::string_view canonical);

// {"position": N, "hash": "<64 hex>"}: the log head as GET /api/ledger/head
// serves it and `funding-ledger head` prints it.
std::string EncodeHeadJson(const LogHead& head);

// Parses canonical bytes. Every field must be present with the right JSON
// type, no unknown field may appear, and the text must be valid UTF-8. The
// hashes of the result are left zero. Never aborts on bad input.
Result<Event> DecodeCanonical(std::string_view bytes);

// The JSON text of an event's stream, "post-<id>".
std::string StreamName(int64_t stream);

}  // namespace ledger::events
