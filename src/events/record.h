#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "events/event.h"

namespace ledger::events {

// The stored value of one event in the log's "events" column family:
//
//   offset  size  field
//   0       1     record format version, kRecordFormatV1
//   1       32    prev_hash
//   33      32    hash = SHA-256(prev_hash || canonical bytes)
//   65      n     canonical bytes (events/codec.h)
//
// The canonical bytes are stored exactly as hashed, so verifying the chain
// never depends on re-encoding.
inline constexpr uint8_t kRecordFormatV1 = 1;
inline constexpr size_t kRecordHeaderSize = 1 + 32 + 32;

struct RecordView {
  Hash prev_hash{};
  Hash hash{};
  std::string_view canonical;  // points into the record passed to ParseRecord
};

// Fills in event.hash from event.prev_hash and returns the record to store.
// `canonical` must be EncodeCanonical(event).
std::string SealRecord(Event& event, std::string_view canonical);

// Splits a record into its parts without parsing the JSON or checking hashes.
Result<RecordView> ParseRecord(std::string_view record);

// Parses a record and decodes its event, checking that the stored hash is
// the hash of the stored bytes. A mismatch is kCorruption.
Result<Event> DecodeRecord(std::string_view record);

// As DecodeRecord, for a record already split by ParseRecord whose hash was
// already computed: `computed_hash` must be ChainHash(view.prev_hash,
// view.canonical). For readers that check the chain and decode the same
// record, so that it is hashed once.
Result<Event> DecodeRecord(const RecordView& view, const Hash& computed_hash);

}  // namespace ledger::events
