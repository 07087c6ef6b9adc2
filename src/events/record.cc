#include "events/record.h"

#include <cstring>

#include "events/codec.h"

namespace ledger::events {

std::string SealRecord(Event& event, std::string_view canonical) {
  event.hash = ChainHash(event.prev_hash, canonical);
  std::string out;
  out.reserve(kRecordHeaderSize + canonical.size());
  out.push_back(static_cast<char>(kRecordFormatV1));
  out.append(reinterpret_cast<const char*>(event.prev_hash.data()), event.prev_hash.size());
  out.append(reinterpret_cast<const char*>(event.hash.data()), event.hash.size());
  out.append(canonical);
  return out;
}

Result<RecordView> ParseRecord(std::string_view record) {
  if (record.size() <= kRecordHeaderSize) {
    return Status::Corruption("record of " + std::to_string(record.size()) +
                              " bytes is shorter than its header");
  }
  if (static_cast<uint8_t>(record[0]) != kRecordFormatV1) {
    return Status::Corruption("unknown record format version " +
                              std::to_string(static_cast<uint8_t>(record[0])));
  }
  RecordView view;
  std::memcpy(view.prev_hash.data(), record.data() + 1, 32);
  std::memcpy(view.hash.data(), record.data() + 33, 32);
  view.canonical = record.substr(kRecordHeaderSize);
  return view;
}

Result<Event> DecodeRecord(std::string_view record) {
  LEDGER_ASSIGN_OR_RETURN(const RecordView view, ParseRecord(record));
  return DecodeRecord(view, ChainHash(view.prev_hash, view.canonical));
}

Result<Event> DecodeRecord(const RecordView& view, const Hash& computed_hash) {
  if (computed_hash != view.hash) {
    return Status::Corruption("stored hash does not match the stored bytes");
  }
  LEDGER_ASSIGN_OR_RETURN(Event event, DecodeCanonical(view.canonical));
  event.prev_hash = view.prev_hash;
  event.hash = view.hash;
  return event;
}

}  // namespace ledger::events
