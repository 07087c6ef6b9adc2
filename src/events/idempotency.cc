#include "events/idempotency.h"

#include <cstring>

#include "events/keys.h"

namespace ledger::events {

namespace {
constexpr uint8_t kIdempotencyFormatV1 = 1;
constexpr size_t kHeaderSize = 1 + 32 + 8;
}  // namespace

std::string EncodeIdempotencyRecord(const IdempotencyRecord& record) {
  std::string out;
  out.reserve(kHeaderSize + record.outcome.size());
  out.push_back(static_cast<char>(kIdempotencyFormatV1));
  out.append(reinterpret_cast<const char*>(record.fingerprint.data()), record.fingerprint.size());
  AppendBigEndian64(&out, static_cast<uint64_t>(record.recorded_at.time_since_epoch().count()));
  out.append(record.outcome);
  return out;
}

Result<IdempotencyRecord> DecodeIdempotencyRecord(std::string_view value) {
  if (value.size() < kHeaderSize || static_cast<uint8_t>(value[0]) != kIdempotencyFormatV1) {
    return Status::Corruption("malformed idempotency record");
  }
  IdempotencyRecord record;
  std::memcpy(record.fingerprint.data(), value.data() + 1, 32);
  record.recorded_at = Timestamp(
      std::chrono::microseconds(static_cast<int64_t>(ReadBigEndian64(value.substr(1 + 32, 8)))));
  record.outcome = std::string(value.substr(kHeaderSize));
  return record;
}

Timestamp IdempotencyPurgeCutoff(Timestamp now, std::chrono::seconds retention) {
  return now - retention - kIdempotencyPurgeMargin;
}

bool IdempotencyRecordExpired(std::string_view value, Timestamp cutoff) {
  if (value.size() < kHeaderSize || static_cast<uint8_t>(value[0]) != kIdempotencyFormatV1) {
    return false;
  }
  const auto recorded_us = static_cast<int64_t>(ReadBigEndian64(value.substr(1 + 32, 8)));
  return recorded_us <= cutoff.time_since_epoch().count();
}

}  // namespace ledger::events
