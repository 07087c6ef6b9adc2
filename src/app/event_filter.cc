#include "app/event_filter.h"

#include <optional>
#include <string>

#include "commands/limits.h"
#include "common/ascii.h"
#include "common/time_format.h"

namespace ledger::app {
namespace {

// Column widths of the table format (the widest usual value; longer ones
// push the line, never get cut).
constexpr int kPositionWidth = 10;
constexpr int kTypeWidth = 15;
constexpr int kPostWidth = 8;
constexpr int kVersionWidth = 7;
constexpr int kActorWidth = 14;
constexpr int kTimestampWidth = 27;  // FormatTimestamp's fixed width

std::string Pad(std::string text, int width, bool right) {
  const auto missing = static_cast<int>(width - static_cast<int>(text.size()));
  if (missing <= 0) return text;
  return right ? std::string(static_cast<size_t>(missing), ' ') + text
               : text + std::string(static_cast<size_t>(missing), ' ');
}

// A funding limit as the events command prints it: the number, or "none".
std::string LimitText(const std::optional<int64_t>& limit) {
  return limit ? std::to_string(*limit) : "none";
}

struct DataText {
  std::string operator()(const events::PostCreated& e) const {
    return "title=" + QuoteForTerminal(e.title) + " uploader=" + QuoteForTerminal(e.uploader) +
           " owner=" + QuoteForTerminal(e.owner) +
           " target_amount=" + std::to_string(e.target_amount) +
           " funding_unit=" + std::to_string(e.funding_unit) +
           " end_date=" + FormatDate(e.end_date) +
           " funding_model=" + std::string(events::FundingModelName(e.funding_model)) +
           " max_fundings_per_backer=" + LimitText(e.max_fundings_per_backer);
  }
  std::string operator()(const events::PostEdited& e) const {
    std::string out;
    const auto add = [&out](std::string_view key, const std::string& value) {
      if (!out.empty()) out += ' ';
      out += key;
      out += '=';
      out += value;
    };
    if (e.title) add("title", QuoteForTerminal(*e.title));
    if (e.uploader) add("uploader", QuoteForTerminal(*e.uploader));
    if (e.description) add("description", QuoteForTerminal(*e.description));
    if (e.funding_unit) add("funding_unit", std::to_string(*e.funding_unit));
    if (e.end_date) add("end_date", FormatDate(*e.end_date));
    if (e.funding_model) {
      add("funding_model", std::string(events::FundingModelName(*e.funding_model)));
    }
    if (e.max_fundings_per_backer)
      add("max_fundings_per_backer", LimitText(*e.max_fundings_per_backer));
    return out;
  }
  std::string operator()(const events::PostDeleted& e) const {
    return "refunded_amount=" + std::to_string(e.refunded_amount) +
           " refunded_backers=" + std::to_string(e.refunded_backers);
  }
  std::string operator()(const events::PostFunded& e) const {
    return "backer=" + QuoteForTerminal(e.backer) + " units=" + std::to_string(e.units) +
           " amount=" + std::to_string(e.amount);
  }
  std::string operator()(const events::FundingRefunded& e) const {
    return "backer=" + QuoteForTerminal(e.backer) + " units=" + std::to_string(e.units) +
           " amount=" + std::to_string(e.amount);
  }
  std::string operator()(const events::FundingCancelled& e) const {
    return "backer=" + QuoteForTerminal(e.backer) +
           " funding_position=" + std::to_string(e.funding_position) +
           " units=" + std::to_string(e.units) + " amount=" + std::to_string(e.amount);
  }
  std::string operator()(const events::PostSettled& e) const {
    return "outcome=" + std::string(events::OutcomeName(e.outcome)) +
           " total_funded=" + std::to_string(e.total_funded) +
           " participant_count=" + std::to_string(e.participant_count) +
           " refunded_amount=" + std::to_string(e.refunded_amount) +
           " refunded_backers=" + std::to_string(e.refunded_backers);
  }
};

}  // namespace

bool EventFilter::Matches(const events::Event& event) const {
  if (!types.empty() && types.count(event.type()) == 0) return false;
  if (since && event.recorded_at < *since) return false;
  if (correlation_id && event.correlation_id != *correlation_id) return false;
  return true;
}

Result<std::set<events::EventType>> ParseEventTypes(std::string_view text) {
  std::set<events::EventType> types;
  while (true) {
    const size_t comma = text.find(',');
    const std::string_view name = text.substr(0, comma);
    const auto type = events::TypeFromName(name);
    if (!type) {
      std::string known;
      for (size_t i = 0; i < events::kEventTypeCount; ++i) {
        if (i > 0) known += ", ";
        known += events::TypeName(static_cast<events::EventType>(i));
      }
      return Status::InvalidArgument("--type: unknown event type '" + std::string(name) +
                                     "' (one of " + known + ")");
    }
    types.insert(*type);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return types;
}

Result<Timestamp> ParseSince(std::string_view text) {
  constexpr size_t kDateLength = 10;     // YYYY-MM-DD
  constexpr size_t kSecondsLength = 20;  // YYYY-MM-DDTHH:MM:SSZ
  std::optional<Timestamp> parsed;
  if (text.size() == kDateLength) {
    if (const auto date = ParseDate(text)) parsed = Timestamp(std::chrono::sys_days(*date));
  } else if (text.size() == kSecondsLength && text.back() == 'Z') {
    std::string full(text.substr(0, kSecondsLength - 1));
    full += ".000000Z";
    parsed = ParseTimestamp(full);
  } else {
    parsed = ParseTimestamp(text);
  }
  if (!parsed) {
    return Status::InvalidArgument("--since: '" + std::string(text) +
                                   "' is not YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or "
                                   "YYYY-MM-DDTHH:MM:SS.ffffffZ (UTC)");
  }
  return *parsed;
}

Result<std::string> ParseCorrelationId(std::string_view text) {
  if (text.empty() || text.size() > commands::kCorrelationIdMaxBytes) {
    return Status::InvalidArgument(
        "--correlation-id: must be 1.." + std::to_string(commands::kCorrelationIdMaxBytes) +
        " bytes, as the log keeps them, got " + std::to_string(text.size()));
  }
  return std::string(text);
}

Result<EventFormat> ParseEventFormat(std::string_view text) {
  if (text == "ndjson") return EventFormat::kNdjson;
  if (text == "table") return EventFormat::kTable;
  return Status::InvalidArgument("--format: '" + std::string(text) + "' is not ndjson or table");
}

std::string QuoteForTerminal(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20 || byte == 0x7f) {
      out += "\\x";
      out += HexDigit(byte >> 4U);
      out += HexDigit(byte);
    } else {
      out += c;  // UTF-8 (Korean titles) stays readable
    }
  }
  out += '"';
  return out;
}

std::string TableHeader() {
  return Pad("POSITION", kPositionWidth, true) + "  " + Pad("RECORDED_AT", kTimestampWidth, false) +
         "  " + Pad("TYPE", kTypeWidth, false) + "  " + Pad("POST", kPostWidth, true) + "  " +
         Pad("VERSION", kVersionWidth, true) + "  " + Pad("ACTOR", kActorWidth, false) + "  DATA";
}

std::string TableRow(const events::Event& event) {
  return Pad(std::to_string(event.position), kPositionWidth, true) + "  " +
         FormatTimestamp(event.recorded_at) + "  " +
         Pad(std::string(events::TypeName(event.type())), kTypeWidth, false) + "  " +
         Pad(std::to_string(event.stream), kPostWidth, true) + "  " +
         Pad(std::to_string(event.stream_version), kVersionWidth, true) + "  " +
         Pad(QuoteForTerminal(event.actor), kActorWidth, false) + "  " +
         std::visit(DataText{}, event.data);
}

}  // namespace ledger::app
