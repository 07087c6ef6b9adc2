#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ledger::events {

// Key layout of the RocksDB log. Integers are big-endian so that byte order is
// numeric order and iterators walk positions and versions in sequence.
//
//   column family  key                                       value
//   events         position (8)                              record (record.h)
//   streams        stream (8) | stream_version (8)           position (8)
//   idempotency    actor length (4) | actor | key            idempotency record
//   meta           "head"                                    position (8) | hash (32)
//   meta           "format"                                  kLogFormat
//   state          the sequencer's state (commands/state_codec.h)
//   default        "wal-keepalive"                           empty, written without the
//                                                            WAL (rocks_log.cc)
inline constexpr std::string_view kEventsFamily = "events";
inline constexpr std::string_view kStreamsFamily = "streams";
inline constexpr std::string_view kIdempotencyFamily = "idempotency";
inline constexpr std::string_view kMetaFamily = "meta";
inline constexpr std::string_view kStateFamily = "state";
inline constexpr std::string_view kHeadKey = "head";
inline constexpr std::string_view kFormatKey = "format";
inline constexpr std::string_view kLogFormat = "funding-ledger-log/1";

void AppendBigEndian64(std::string* out, uint64_t value);
void AppendBigEndian32(std::string* out, uint32_t value);
// REQUIRES: bytes.size() >= 8.
uint64_t ReadBigEndian64(std::string_view bytes);

std::string PositionKey(int64_t position);
std::string StreamKey(int64_t stream, int64_t stream_version);
std::string IdempotencyKey(std::string_view actor, std::string_view key);

}  // namespace ledger::events
