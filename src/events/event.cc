#include "events/event.h"

#include <array>

namespace ledger::events {
namespace {

constexpr std::array<std::string_view, kEventTypeCount> kTypeNames = {
    "PostCreated",     "PostEdited",       "PostDeleted", "PostFunded",
    "FundingRefunded", "FundingCancelled", "PostSettled"};

constexpr std::array<std::string_view, 2> kFundingModelNames = {"keep_it_all", "all_or_nothing"};
constexpr std::array<std::string_view, 2> kOutcomeNames = {"successful", "failed"};

template <typename Enum, size_t N>
std::optional<Enum> FromName(const std::array<std::string_view, N>& names, std::string_view name) {
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<Enum>(i);
  }
  return std::nullopt;
}

}  // namespace

EventType TypeOf(const EventData& data) { return static_cast<EventType>(data.index()); }

std::string_view TypeName(EventType type) { return kTypeNames.at(static_cast<size_t>(type)); }

std::optional<EventType> TypeFromName(std::string_view name) {
  return FromName<EventType>(kTypeNames, name);
}

int32_t FirstSchemaVersion(EventType type) {
  switch (type) {
    case EventType::kFundingCancelled:
    case EventType::kPostSettled:
      return 2;
    case EventType::kPostCreated:
    case EventType::kPostEdited:
    case EventType::kPostDeleted:
    case EventType::kPostFunded:
    case EventType::kFundingRefunded:
      return 1;
  }
  return kCurrentSchemaVersion;
}

std::string_view FundingModelName(FundingModel model) {
  return kFundingModelNames.at(static_cast<size_t>(model));
}

std::optional<FundingModel> FundingModelFromName(std::string_view name) {
  return FromName<FundingModel>(kFundingModelNames, name);
}

std::string_view OutcomeName(SettlementOutcome outcome) {
  return kOutcomeNames.at(static_cast<size_t>(outcome));
}

std::optional<SettlementOutcome> OutcomeFromName(std::string_view name) {
  return FromName<SettlementOutcome>(kOutcomeNames, name);
}

}  // namespace ledger::events
