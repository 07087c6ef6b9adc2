// The log's stored bytes: event records (src/events/record.h), idempotency
// records (idempotency.h, with the command outcome inside) and the
// sequencer's state records (src/commands/state_codec.h). These are read
// back from disk, where a bad sector or a foreign writer can put anything:
// a decoder must refuse with a Status, never crash. The first byte picks
// what the rest is:
//
//   's'  prev_hash (32 bytes) and canonical bytes, sealed by the target into
//        a record with the right hash, so that DecodeRecord gets past the
//        hash check; it must agree with DecodeCanonical and re-seal to the
//        same record when the bytes are canonical
//   'h' 'b' 'f'  a state head, backer or funding record; what decodes must
//        re-encode and decode to the same value
//   'i'  an idempotency record, then its outcome
//   'k'  a settlement schedule key
//   'p'  a post's records for PostDecoder: [key suffix length (1)][suffix]
//        [value length (1)][value]..., each key PostBegin(1) + suffix; what
//        decodes whole must re-encode (EncodePost) and decode to the same post
//   any other byte: a record as stored (ParseRecord, DecodeRecord)

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "commands/outcome.h"
#include "commands/state_codec.h"
#include "common/check.h"
#include "events/codec.h"
#include "events/hash.h"
#include "events/idempotency.h"
#include "events/record.h"

namespace {

namespace events = ledger::events;
namespace state = ledger::commands::state;

void RawRecord(std::string_view record) {
  const auto view = events::ParseRecord(record);
  if (view.ok()) {
    LEDGER_CHECK(view->canonical.size() + events::kRecordHeaderSize == record.size(),
                 "a record's canonical bytes follow its header");
  }
  const auto event = events::DecodeRecord(record);
  if (event.ok()) LEDGER_CHECK(view.ok(), "a record that decodes parses");
}

void SealedRecord(std::string_view rest) {
  if (rest.size() < 32) return;
  events::Hash prev{};
  std::memcpy(prev.data(), rest.data(), prev.size());
  const std::string_view canonical = rest.substr(32);
  const events::Hash hash = events::ChainHash(prev, canonical);
  std::string record(1, static_cast<char>(events::kRecordFormatV1));
  record.append(reinterpret_cast<const char*>(prev.data()), prev.size());
  record.append(reinterpret_cast<const char*>(hash.data()), hash.size());
  record.append(canonical);
  const auto event = events::DecodeRecord(record);
  const auto plain = events::DecodeCanonical(canonical);
  LEDGER_CHECK(event.ok() == plain.ok(), "DecodeRecord agrees with DecodeCanonical");
  if (!event.ok()) return;
  LEDGER_CHECK(event->prev_hash == prev && event->hash == hash, "a record's hashes come back");
  events::Event copy = *event;
  const std::string encoded = events::EncodeCanonical(copy);
  if (encoded != canonical) return;  // an upcast or non-canonical spelling
  LEDGER_CHECK(events::SealRecord(copy, encoded) == record, "a canonical record re-seals");
}

void StateRecord(char kind, std::string_view value) {
  switch (kind) {
    case 'h': {
      (void)state::OlderLayout(value);
      const auto head = state::DecodeHead(value);
      if (head.ok()) {
        LEDGER_CHECK(state::DecodeHead(state::EncodeHead(*head)).value() == *head,
                     "a head record round-trips");
      }
      break;
    }
    case 'b': {
      const auto backer = state::DecodeBacker(value);
      if (backer.ok()) {
        LEDGER_CHECK(state::DecodeBacker(state::EncodeBacker(*backer)).value() == *backer,
                     "a backer record round-trips");
      }
      break;
    }
    case 'f': {
      const auto f = state::DecodeFunding(value);
      if (!f.ok()) break;
      const auto again = state::DecodeFunding(
          state::EncodeFunding(f->fate, f->version, f->backer, f->units, f->amount));
      LEDGER_CHECK(again.ok() && again->fate == f->fate && again->version == f->version &&
                       again->backer == f->backer && again->units == f->units &&
                       again->amount == f->amount,
                   "a funding record round-trips");
      break;
    }
    case 'i': {
      const auto record = events::DecodeIdempotencyRecord(value);
      if (record.ok()) {
        LEDGER_CHECK(
            events::DecodeIdempotencyRecord(events::EncodeIdempotencyRecord(*record)).value() ==
                *record,
            "an idempotency record round-trips");
      }
      const auto outcome =
          ledger::commands::DecodeOutcome(record.ok() ? std::string_view(record->outcome) : value);
      if (outcome.ok()) {
        LEDGER_CHECK(
            ledger::commands::DecodeOutcome(ledger::commands::EncodeOutcome(*outcome)).value() ==
                *outcome,
            "an outcome round-trips");
      }
      break;
    }
    default: {
      // DecodeScheduleKey REQUIRES a key of the schedule's range.
      if (value < state::ScheduleBegin() || value >= state::ScheduleEnd()) break;
      const auto key = state::DecodeScheduleKey(value);
      if (key.ok()) {
        LEDGER_CHECK(state::ScheduleKey(key->first, key->second) == value,
                     "a schedule key round-trips");
      }
      (void)state::DescribeKey(value);
      break;
    }
  }
}

void PostRecords(std::string_view rest) {
  if (rest.empty()) return;
  const auto mode =
      (rest[0] & 1) != 0 ? state::PostDecoder::Mode::kWhole : state::PostDecoder::Mode::kSummary;
  state::PostDecoder decoder(1, mode);
  size_t at = 1;
  while (at < rest.size()) {
    const size_t key_bytes = static_cast<uint8_t>(rest[at++]);
    if (key_bytes > rest.size() - at) return;
    const std::string key = state::PostBegin(1) + std::string(rest.substr(at, key_bytes));
    at += key_bytes;
    if (at >= rest.size()) return;
    const size_t value_bytes = static_cast<uint8_t>(rest[at++]);
    if (value_bytes > rest.size() - at) return;
    (void)state::DescribeKey(key);
    if (!decoder.Add(key, rest.substr(at, value_bytes)).ok()) return;
    at += value_bytes;
  }
  const auto post = decoder.Finish();
  if (!post.ok() || mode != state::PostDecoder::Mode::kWhole) return;
  state::PostDecoder again(1, state::PostDecoder::Mode::kWhole);
  for (const auto& [key, value] : state::EncodePost(*post)) {
    LEDGER_CHECK(again.Add(key, value).ok(), "an encoded post's records decode");
  }
  const auto decoded = again.Finish();
  LEDGER_CHECK(decoded.ok() && *decoded == *post, "a decoded post round-trips");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const char kind = static_cast<char>(data[0]);
  switch (kind) {
    case 's':
      SealedRecord(rest);
      break;
    case 'h':
    case 'b':
    case 'f':
    case 'i':
    case 'k':
      StateRecord(kind, rest);
      break;
    case 'p':
      PostRecords(rest);
      break;
    default:
      RawRecord(rest);
      break;
  }
  return 0;
}
