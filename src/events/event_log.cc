#include "events/event_log.h"

#include <functional>
#include <limits>

#include "events/chain.h"
#include "events/record.h"

namespace ledger::events {

std::string_view WriteFailureCauseName(WriteFailureCause cause) {
  switch (cause) {
    case WriteFailureCause::kNoSpace:
      return "no_space";
    case WriteFailureCause::kIOError:
      return "io_error";
    case WriteFailureCause::kWaiting:
      return "waiting";
  }
  return "unknown";
}

Status EventLog::FindIdempotencies(
    std::span<const std::pair<std::string_view, std::string_view>> scopes,
    std::vector<std::optional<IdempotencyRecord>>* records) const {
  records->clear();
  for (const auto& [actor, key] : scopes) {
    LEDGER_ASSIGN_OR_RETURN(std::optional<IdempotencyRecord> record, FindIdempotency(actor, key));
    records->push_back(std::move(record));
  }
  return Status::Ok();
}

Status EventLog::ReadStates(std::span<const std::string> keys,
                            std::vector<std::optional<std::string>>* values) const {
  values->clear();
  for (const std::string& key : keys) {
    LEDGER_ASSIGN_OR_RETURN(std::optional<std::string> value, ReadState(key));
    values->push_back(std::move(value));
  }
  return Status::Ok();
}

Status CheckFollows(const LogHead& previous, const Event& event) {
  const int64_t expected = previous.position + 1;
  if (event.position != expected) {
    return Status::Corruption("event at position " + std::to_string(expected) +
                              ": event missing: next stored position is " +
                              std::to_string(event.position));
  }
  if (event.prev_hash != previous.hash) {
    return Status::Corruption("event at position " + std::to_string(event.position) +
                              ": prev_hash does not match the hash of the previous event");
  }
  return Status::Ok();
}

Status ReadEvents(const EventLog& log, int64_t from, int64_t to, size_t max_count,
                  std::vector<Event>* out) {
  return ReadEvents(log, from, to, max_count, std::numeric_limits<size_t>::max(), out);
}

Status ReadEvents(const EventLog& log, int64_t from, int64_t to, size_t max_count, size_t max_bytes,
                  std::vector<Event>* out) {
  Status decode_status;
  size_t taken = 0;
  size_t bytes = 0;
  LEDGER_RETURN_IF_ERROR(log.ScanRecords(from, to, [&](int64_t position, std::string_view record) {
    auto event = DecodeRecord(record);
    if (!event.ok()) {
      decode_status = event.status().WithContext("event at position " + std::to_string(position));
      return false;
    }
    if (event->position != position) {
      decode_status = Status::Corruption("event at position " + std::to_string(position) +
                                         " names position " + std::to_string(event->position));
      return false;
    }
    out->push_back(std::move(event).value());
    bytes += record.size();
    return ++taken < max_count && bytes < max_bytes;
  }));
  return decode_status;
}

Result<Event> ReadEvent(const EventLog& log, int64_t position) {
  std::vector<Event> found;
  LEDGER_RETURN_IF_ERROR(ReadEvents(log, position, position, 1, &found));
  if (found.size() != 1) {
    return Status::Corruption("event at position " + std::to_string(position) + ": event missing");
  }
  return std::move(found.front());
}

Status ReadStream(const EventLog& log, int64_t stream, int64_t from_version, size_t max_count,
                  std::vector<Event>* out) {
  std::vector<int64_t> positions;
  LEDGER_RETURN_IF_ERROR(log.StreamPositions(stream, from_version, max_count, &positions));
  for (const int64_t position : positions) {
    const size_t before = out->size();
    LEDGER_RETURN_IF_ERROR(ReadEvents(log, position, position, 1, out));
    if (out->size() != before + 1) {
      return Status::Corruption("stream index names position " + std::to_string(position) +
                                " which holds no event");
    }
    const Event& e = out->back();
    if (e.stream != stream) {
      return Status::Corruption("stream index entry for " + std::to_string(stream) +
                                " points at an event of stream " + std::to_string(e.stream));
    }
  }
  return Status::Ok();
}

Result<ChainCheck> VerifyLogChain(const EventLog& log, int64_t from, int64_t to,
                                  const std::function<void(int64_t checked)>& progress) {
  const LogHead head = log.Head();
  if (from < 1) from = 1;
  if (to > head.position) to = head.position;
  Hash prev = kGenesisHash;
  if (from > 1) {
    bool found = false;
    LEDGER_RETURN_IF_ERROR(log.ScanRecords(from - 1, from - 1, [&](int64_t, std::string_view r) {
      const auto view = ParseRecord(r);
      if (view.ok()) {
        prev = view->hash;
        found = true;
      }
      return false;
    }));
    if (!found) {
      ChainVerifier verifier(from, prev);
      verifier.FailAt(from - 1, "event missing or unreadable before the range");
      return verifier.result();
    }
  }
  ChainVerifier verifier(from, prev);
  if (from > to) {
    return verifier.result();
  }
  int64_t until_progress = kChainProgressEvents;
  LEDGER_RETURN_IF_ERROR(log.ScanRecords(from, to, [&](int64_t position, std::string_view record) {
    if (progress && --until_progress == 0) {
      until_progress = kChainProgressEvents;
      progress(verifier.result().events_checked);
    }
    return verifier.Feed(position, record);
  }));
  if (verifier.result().ok && verifier.result().last_position != to) {
    verifier.FailAt(verifier.result().last_position + 1, "event missing");
  }
  if (verifier.result().ok && to == head.position && verifier.result().last_hash != head.hash) {
    verifier.FailAt(to, "hash differs from the recorded head hash");
  }
  return verifier.result();
}

Result<LogHead> AdvanceToCheckedHead(const EventLog& log, const LogHead& before,
                                     const LogHead& head,
                                     const std::function<void(const LogHead&)>& set_head) {
  if (head.position < before.position) {
    return Status::Corruption("the log head went back from " + std::to_string(before.position) +
                              " to " + std::to_string(head.position));
  }
  set_head(head);
  // The new events must continue the chain this instance has already seen.
  const Result<ChainCheck> check = VerifyLogChain(log, before.position + 1, head.position);
  if (!check.ok() || !check->ok) {
    set_head(before);
    if (!check.ok()) return check.status();
    return Status::Corruption("hash chain broken at position " +
                              std::to_string(check->first_bad_position) + ": " + check->problem);
  }
  return head;
}

}  // namespace ledger::events
