#include "events/event.h"

#include <array>

namespace ledger::events {
namespace {

constexpr std::array<std::string_view, kEventTypeCount> kTypeNames = {
    "PostCreated", "PostEdited", "PostDeleted", "PostFunded", "FundingRefunded"};

}  // namespace

EventType TypeOf(const EventData& data) { return static_cast<EventType>(data.index()); }

std::string_view TypeName(EventType type) { return kTypeNames.at(static_cast<size_t>(type)); }

std::optional<EventType> TypeFromName(std::string_view name) {
  for (size_t i = 0; i < kTypeNames.size(); ++i) {
    if (kTypeNames[i] == name) {
      return static_cast<EventType>(i);
    }
  }
  return std::nullopt;
}

}  // namespace ledger::events
