#include "api/stream_frames.h"

#include <utility>

#include "common/check.h"
#include "common/json_writer.h"
#include "events/codec.h"

namespace ledger::api {
namespace {

std::string Frame(std::string_view head, std::string_view data) {
  LEDGER_CHECK(data.find_first_of("\r\n") == std::string_view::npos,
               "an SSE data line holds one line of compact JSON");
  std::string frame;
  frame.reserve(head.size() + data.size() + 8);
  frame.append(head);
  frame.append("data: ");
  frame.append(data);
  frame.append("\n\n");
  return frame;
}

}  // namespace

std::string SseRetryFrame(std::chrono::milliseconds retry) {
  return "retry: " + std::to_string(retry.count()) + "\n\n";
}

std::string SseLedgerFrame(const events::Event& event) {
  return SseLedgerFrame(event.position, events::EncodeEnvelopeJson(event));
}

std::string SseLedgerFrame(int64_t position, std::string_view envelope_json) {
  const std::string head = "id: " + std::to_string(position) + "\nevent: ledger\n";
  return Frame(head, envelope_json);
}

std::string SseFiguresFrame(std::string_view json) { return Frame("event: figures\n", json); }

std::string SseCutFrame(std::string_view reason, int64_t resume_after) {
  JsonWriter w;
  w.StartObject().Member("reason", reason).Member("resume_after", resume_after).EndObject();
  return Frame("event: cut\n", std::move(w).Take());
}

std::string DeletedFiguresJson(int64_t post_id, int64_t position) {
  JsonWriter w;
  w.StartObject()
      .Member("id", post_id)
      .Member("deleted", true)
      .Member("position", position)
      .EndObject();
  return std::move(w).Take();
}

}  // namespace ledger::api
