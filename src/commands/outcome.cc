#include "commands/outcome.h"

#include "events/keys.h"

namespace ledger::commands {
namespace {
constexpr uint8_t kOutcomeFormatV1 = 1;
constexpr size_t kFixedSize = 3 + 4 * 8 + 4 + 4;
}  // namespace

std::string EncodeOutcome(const CommandOutcome& o) {
  std::string out;
  out.reserve(kFixedSize + o.rejection.field.size() + o.rejection.detail.size());
  out.push_back(static_cast<char>(kOutcomeFormatV1));
  out.push_back(o.accepted ? 1 : 0);
  out.push_back(o.accepted ? 0 : static_cast<char>(o.rejection.reason));
  for (const int64_t v : {o.first_position, o.last_position, o.post_id, o.stream_version}) {
    events::AppendBigEndian64(&out, static_cast<uint64_t>(v));
  }
  events::AppendBigEndian32(&out, static_cast<uint32_t>(o.rejection.field.size()));
  events::AppendBigEndian32(&out, static_cast<uint32_t>(o.rejection.detail.size()));
  out.append(o.rejection.field);
  out.append(o.rejection.detail);
  return out;
}

Result<CommandOutcome> DecodeOutcome(std::string_view b) {
  if (b.size() < kFixedSize || static_cast<uint8_t>(b[0]) != kOutcomeFormatV1 ||
      static_cast<uint8_t>(b[1]) > 1) {
    return Status::Corruption("malformed command outcome");
  }
  CommandOutcome o;
  o.accepted = b[1] == 1;
  if (o.accepted && b[2] != 0) {
    return Status::Corruption("accepted command outcome carries a rejection reason");
  }
  if (!o.accepted) {
    const auto reason = ReasonFromValue(static_cast<uint8_t>(b[2]));
    if (!reason) return Status::Corruption("command outcome has an unknown rejection reason");
    o.rejection.reason = *reason;
  }
  const auto read64 = [&b](size_t at) {
    return static_cast<int64_t>(events::ReadBigEndian64(b.substr(at, 8)));
  };
  o.first_position = read64(3);
  o.last_position = read64(11);
  o.post_id = read64(19);
  o.stream_version = read64(27);
  const auto read32 = [&b](size_t at) {
    uint32_t v = 0;
    for (size_t i = at; i < at + 4; ++i) v = (v << 8) | static_cast<uint8_t>(b[i]);
    return static_cast<size_t>(v);
  };
  const size_t field_len = read32(35);
  const size_t detail_len = read32(39);
  if (b.size() != kFixedSize + field_len + detail_len) {
    return Status::Corruption("command outcome length does not match its header");
  }
  o.rejection.field = std::string(b.substr(kFixedSize, field_len));
  o.rejection.detail = std::string(b.substr(kFixedSize + field_len, detail_len));
  return o;
}

}  // namespace ledger::commands
