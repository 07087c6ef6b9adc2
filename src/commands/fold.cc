#include "commands/fold.h"

#include <algorithm>
#include <deque>
#include <future>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "common/check.h"
#include "events/codec.h"
#include "events/record.h"

namespace ledger::commands {
namespace {

Status At(int64_t position, std::string_view problem) {
  return Status::Corruption("event at position " + std::to_string(position) + ": " +
                            std::string(problem));
}

Status StreamBroken(int64_t post_id, int64_t position, std::string_view problem) {
  return Status::Corruption("stream of post " + std::to_string(post_id) + ", event at position " +
                            std::to_string(position) + ": " + std::string(problem));
}

// The stored records of one chunk, copied out of the log so that they can be
// decoded on another thread.
struct RawChunk {
  std::vector<int64_t> positions;  // the keys, as stored
  std::vector<size_t> ends;        // record i is bytes[ends[i-1], ends[i])
  std::string bytes;
};

// A chunk's events, decoded and each checked against its own stored hash.
// When `problem` is set, events holds the good ones before it. `stored` is
// how many records the log held for the chunk's positions.
struct DecodedChunk {
  std::vector<events::Event> events;
  std::optional<Status> problem;
  int64_t stored = 0;
  Status read;  // not OK: the log could not be read
};

// Per-record checks that need no other record: the stored hash is the hash
// of the stored bytes, the bytes decode, and they name the key's position.
// The links between records are checked in order by the caller.
void Decode(const RawChunk& raw, DecodedChunk& out) {
  out.events.reserve(raw.positions.size());
  size_t begin = 0;
  for (size_t i = 0; i < raw.positions.size(); ++i) {
    const int64_t position = raw.positions[i];
    const std::string_view record(raw.bytes.data() + begin, raw.ends[i] - begin);
    begin = raw.ends[i];
    auto event = events::DecodeRecord(record);
    if (!event.ok()) {
      out.problem = At(position, event.status().message());
      break;
    }
    if (event->position != position) {
      out.problem = At(position, "event bytes name position " + std::to_string(event->position));
      break;
    }
    out.events.push_back(std::move(event).value());
  }
}

// Reads positions from..last out of the log and decodes them: the whole
// per-chunk work, so that it runs off the thread that applies events.
DecodedChunk ReadAndDecode(const events::EventLog& log, int64_t from, int64_t last) {
  DecodedChunk out;
  RawChunk raw;
  raw.positions.reserve(static_cast<size_t>(last - from + 1));
  raw.ends.reserve(static_cast<size_t>(last - from + 1));
  out.read = log.ScanRecords(from, last, [&](int64_t position, std::string_view record) {
    raw.positions.push_back(position);
    raw.bytes.append(record);
    raw.ends.push_back(raw.bytes.size());
    return true;
  });
  if (!out.read.ok()) return out;
  out.stored = static_cast<int64_t>(raw.positions.size());
  Decode(raw, out);
  return out;
}

// Folds one decoded event into `folded`, growing the post vector when the
// event opens the next post id.
Status FoldEvent(FoldedLog& folded, const events::Event& event, const FoldObserver& observe) {
  const auto known = static_cast<int64_t>(folded.posts.size());
  if (event.stream == known + 1) {
    folded.posts.emplace_back();
    folded.last_position.push_back(0);
  } else if (event.stream < 1 || event.stream > known) {
    return At(event.position, "names post " + std::to_string(event.stream) + " out of sequence (" +
                                  std::to_string(known) + " posts so far)");
  }
  const auto index = static_cast<size_t>(event.stream - 1);
  if (observe) observe(event, folded.posts[index]);
  LEDGER_RETURN_IF_ERROR(Apply(folded.posts[index], event));
  folded.last_position[index] = event.position;
  return Status::Ok();
}

// Applies a decoded chunk in order, checking that positions follow each
// other and that each prev_hash is the previous event's hash.
Status ApplyChunk(FoldedLog& folded, const DecodedChunk& chunk, const FoldObserver& observe) {
  for (const events::Event& event : chunk.events) {
    LEDGER_RETURN_IF_ERROR(events::CheckFollows({folded.position, folded.hash}, event));
    LEDGER_RETURN_IF_ERROR(FoldEvent(folded, event, observe));
    folded.position = event.position;
    folded.hash = event.hash;
    folded.latest_recorded_at = std::max(folded.latest_recorded_at, event.recorded_at);
    ++folded.events;
  }
  if (chunk.problem) return *chunk.problem;
  return Status::Ok();
}

}  // namespace

Result<FoldedLog> FoldLog(const events::EventLog& log, int64_t to_position,
                          const std::function<void(int64_t done, int64_t total)>& progress,
                          const std::function<bool()>& stop, const FoldObserver& observe) {
  const events::LogHead head = log.Head();
  if (to_position < 0 || to_position > head.position) {
    return Status::InvalidArgument("cannot fold to position " + std::to_string(to_position) +
                                   ": the log's head is " + std::to_string(head.position));
  }
  // Reading and decoding (hash and JSON) are most of the work and need no
  // order, so chunks are read and decoded on their own threads while this
  // one applies finished ones in order. launch::deferred lets a chunk
  // be decoded here when no thread can be started.
  const size_t in_flight_max =
      std::clamp<size_t>(std::thread::hardware_concurrency() + 1, 1, kFoldChunksInFlightMax);
  struct Chunk {
    int64_t from;
    int64_t last;
  };
  struct InFlight {
    Chunk range;
    std::future<DecodedChunk> future;
  };
  std::deque<InFlight> in_flight;
  FoldedLog folded;
  const auto apply_oldest = [&]() -> Status {
    const DecodedChunk chunk = in_flight.front().future.get();
    const Chunk range = in_flight.front().range;
    in_flight.pop_front();
    LEDGER_RETURN_IF_ERROR(chunk.read);
    LEDGER_RETURN_IF_ERROR(ApplyChunk(folded, chunk, observe));
    if (chunk.stored != range.last - range.from + 1) {
      // A hole: everything before it was checked and applied first, so the
      // first problem in log order is the one reported.
      return At(folded.position + 1, "event missing");
    }
    if (progress) progress(folded.position, to_position);
    if (stop && stop()) {
      return Status::Cancelled("stopped after folding " + std::to_string(folded.position) + " of " +
                               std::to_string(to_position) + " events");
    }
    return Status::Ok();
  };
  for (int64_t from = 1; from <= to_position; from += kFoldChunkEvents) {
    const int64_t last = std::min(to_position, from + kFoldChunkEvents - 1);
    in_flight.push_back(
        {{from, last}, std::async(std::launch::async | std::launch::deferred, [&log, from, last] {
           return ReadAndDecode(log, from, last);
         })});
    if (in_flight.size() >= in_flight_max) LEDGER_RETURN_IF_ERROR(apply_oldest());
  }
  // (On an early return, the futures still running finish in their
  // destructors, before `log` can go away.)
  while (!in_flight.empty()) LEDGER_RETURN_IF_ERROR(apply_oldest());
  if (to_position == head.position && folded.hash != head.hash) {
    return At(to_position, "hash differs from the recorded head hash");
  }
  return folded;
}

Result<PostState> FoldPostStream(const events::EventLog& log, int64_t post_id, int64_t to_position,
                                 size_t chunk_events) {
  LEDGER_CHECK(chunk_events >= 1, "FoldPostStream needs chunks of at least one event");
  PostState state;
  std::vector<int64_t> positions;
  std::vector<events::Event> read;
  // Every step but the last applies chunk_events events, each at its own
  // position <= to_position: at most to_position / chunk_events + 1 steps.
  while (true) {
    positions.clear();
    LEDGER_RETURN_IF_ERROR(
        log.StreamPositions(post_id, state.version + 1, chunk_events, &positions));
    for (const int64_t position : positions) {
      // Positions grow with the stream version: the first one past
      // to_position ends the fold, and nothing after it is read.
      if (position > to_position) return state;
      read.clear();
      LEDGER_RETURN_IF_ERROR(events::ReadEvents(log, position, position, 1, &read));
      if (read.size() != 1) return StreamBroken(post_id, position, "the index names no event");
      const events::Event& event = read.front();
      if (event.stream != post_id) {
        return StreamBroken(post_id, position,
                            "the index names an event of post " + std::to_string(event.stream));
      }
      // Checks the version sequence and every money rule.
      LEDGER_RETURN_IF_ERROR(Apply(state, event));
    }
    if (positions.size() < chunk_events) return state;
  }
}

}  // namespace ledger::commands
