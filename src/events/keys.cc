#include "events/keys.h"

namespace ledger::events {

void AppendBigEndian64(std::string* out, uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((value >> shift) & 0xFF));
  }
}

void AppendBigEndian32(std::string* out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((value >> shift) & 0xFF));
  }
}

uint64_t ReadBigEndian64(std::string_view bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < 8; ++i) {
    value = (value << 8) | static_cast<uint8_t>(bytes[i]);
  }
  return value;
}

std::string PositionKey(int64_t position) {
  std::string key;
  AppendBigEndian64(&key, static_cast<uint64_t>(position));
  return key;
}

std::string StreamKey(int64_t stream, int64_t stream_version) {
  std::string key;
  AppendBigEndian64(&key, static_cast<uint64_t>(stream));
  AppendBigEndian64(&key, static_cast<uint64_t>(stream_version));
  return key;
}

std::string IdempotencyKey(std::string_view actor, std::string_view key) {
  std::string out;
  AppendBigEndian32(&out, static_cast<uint32_t>(actor.size()));
  out.append(actor);
  out.append(key);
  return out;
}

}  // namespace ledger::events
