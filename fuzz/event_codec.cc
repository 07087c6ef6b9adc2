// The event JSON codec (src/events/codec.h, canonical_fast.h): canonical
// bytes as read from a record, an export or a backup. Properties:
//
//   - decode, encode, decode gives the same event, and encoding is stable;
//   - the fast path accepts only canonical bytes (it re-encodes to its
//     input), and the general parser decodes the same bytes (behind a
//     leading space, which only it accepts) to the same event;
//   - the envelope cut straight from canonical bytes (EnvelopeFromRecord),
//     when it is cut at all, is EncodeEnvelopeJson of the decoded event.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/check.h"
#include "events/canonical_fast.h"
#include "events/codec.h"
#include "events/hash.h"

namespace {

namespace events = ledger::events;

void FastPath(std::string_view bytes) {
  const std::optional<events::Event> fast = events::DecodeCanonicalFast(bytes);
  if (!fast) return;
  LEDGER_CHECK(events::EncodeCanonical(*fast) == bytes, "the fast path takes canonical bytes only");
  const auto general = events::DecodeCanonical(" " + std::string(bytes));
  LEDGER_CHECK(general.ok() && *general == *fast, "the general parser agrees with the fast path");
}

void Envelope(std::string_view bytes, events::Event event) {
  event.prev_hash = events::Sha256("prev");
  event.hash = events::ChainHash(event.prev_hash, bytes);
  const std::optional<events::RecordEnvelope> cut =
      events::EnvelopeFromRecord(event.prev_hash, event.hash, bytes);
  if (!cut) return;
  LEDGER_CHECK(cut->position == event.position && cut->stream == event.stream,
               "a cut envelope names its event");
  LEDGER_CHECK(cut->json == events::EncodeEnvelopeJson(event),
               "a cut envelope is the encoded envelope");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  FastPath(bytes);
  const auto decoded = events::DecodeCanonical(bytes);
  if (!decoded.ok()) {
    // Whatever the bytes, cutting an envelope must not crash.
    (void)events::EnvelopeFromRecord(events::Hash{}, events::Hash{}, bytes);
    return 0;
  }
  LEDGER_CHECK(decoded->prev_hash == events::Hash{} && decoded->hash == events::Hash{},
               "decoded hashes are zero");
  const std::string canonical = events::EncodeCanonical(*decoded);
  const auto again = events::DecodeCanonical(canonical);
  LEDGER_CHECK(again.ok() && *again == *decoded, "decode, encode, decode gives the same event");
  LEDGER_CHECK(events::EncodeCanonical(*again) == canonical, "encoding is stable");
  Envelope(canonical, *decoded);
  if (canonical == bytes) return 0;
  (void)events::EnvelopeFromRecord(events::Hash{}, events::Hash{}, bytes);
  return 0;
}
