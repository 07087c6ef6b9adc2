#include "events/chain.h"

#include <charconv>

#include "events/record.h"

namespace ledger::events {
namespace {

// The canonical bytes start with {"position":N, by construction (codec.h), so
// the position can be checked without parsing the whole event.
bool CanonicalPositionIs(std::string_view canonical, int64_t position) {
  constexpr std::string_view kPrefix = "{\"position\":";
  if (canonical.substr(0, kPrefix.size()) != kPrefix) {
    return false;
  }
  int64_t value = 0;
  const char* first = canonical.data() + kPrefix.size();
  const char* last = canonical.data() + canonical.size();
  const auto [ptr, ec] = std::from_chars(first, last, value);
  return ec == std::errc() && ptr != last && *ptr == ',' && value == position;
}

}  // namespace

ChainVerifier::ChainVerifier(int64_t first_position, const Hash& expected_prev)
    : next_position_(first_position) {
  result_.last_position = first_position - 1;
  result_.last_hash = expected_prev;
}

void ChainVerifier::FailAt(int64_t position, std::string problem) {
  if (!result_.ok) return;
  result_.ok = false;
  result_.first_bad_position = position;
  result_.problem = std::move(problem);
}

bool ChainVerifier::Feed(int64_t key_position, std::string_view record) {
  if (!result_.ok) return false;
  const auto view = ParseRecord(record);
  return Feed(key_position, record,
              view.ok() ? ChainHash(view->prev_hash, view->canonical) : Hash{});
}

bool ChainVerifier::Feed(int64_t key_position, std::string_view record, const Hash& computed_hash) {
  if (!result_.ok) return false;
  if (key_position != next_position_) {
    FailAt(next_position_,
           "event missing: next stored position is " + std::to_string(key_position));
    return false;
  }
  const auto view = ParseRecord(record);
  if (!view.ok()) {
    FailAt(key_position, view.status().message());
    return false;
  }
  if (view->prev_hash != result_.last_hash) {
    FailAt(key_position, "prev_hash does not match the hash of the previous event");
    return false;
  }
  if (computed_hash != view->hash) {
    FailAt(key_position, "hash does not match the event's bytes");
    return false;
  }
  if (!CanonicalPositionIs(view->canonical, key_position)) {
    FailAt(key_position, "event bytes name a different position than their key");
    return false;
  }
  result_.last_position = key_position;
  result_.last_hash = view->hash;
  ++result_.events_checked;
  ++next_position_;
  return true;
}

}  // namespace ledger::events
