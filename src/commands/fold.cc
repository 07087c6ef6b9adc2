#include "commands/fold.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <future>
#include <mutex>
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

// The stored records of one chunk, copied out of the log, each hashed once,
// and those up to the fold's end decoded: the per-record work, done off the
// thread that checks the chain and applies events.
struct ReadChunk {
  std::vector<int64_t> positions;  // the keys, as stored
  std::vector<size_t> ends;        // record i is bytes[ends[i-1], ends[i])
  std::string bytes;
  std::vector<events::Hash> hashes;  // record i's computed hash (zero: it does not parse)
  // The records at positions <= the fold's end, decoded and each checked
  // against its own stored hash, up to the first that fails: `problem`.
  std::vector<events::Event> events;
  std::optional<Status> problem;
  Status read;  // not OK: the log could not be read

  std::string_view record(size_t i) const {
    const size_t begin = i == 0 ? 0 : ends[i - 1];
    return std::string_view(bytes).substr(begin, ends[i] - begin);
  }

  // Empty again, keeping the buffers' capacity.
  void Clear() {
    positions.clear();
    ends.clear();
    bytes.clear();
    hashes.clear();
    events.clear();
    problem.reset();
    read = Status::Ok();
  }
};

// The buffers of chunks already applied, for the next chunks to be read
// into. A fold's chunks are alike in size, and fresh buffers for each (about
// 2 MiB of records and decoded events) cost a page fault per 4 KiB touched:
// with the copies of their growth, a fifth of a fold's page faults.
class ChunkPool {
 public:
  ReadChunk Take() {
    const std::lock_guard lock(mu_);
    if (free_.empty()) return ReadChunk{};
    ReadChunk chunk = std::move(free_.back());
    free_.pop_back();
    return chunk;
  }

  void Give(ReadChunk chunk) {
    chunk.Clear();
    const std::lock_guard lock(mu_);
    if (free_.size() < kFoldChunksInFlightMax) free_.push_back(std::move(chunk));
  }

 private:
  std::mutex mu_;
  std::vector<ReadChunk> free_;
};

// Reads positions from..last, hashes every record and decodes those at
// positions <= fold_to while `decode` holds (the fold has not failed yet).
// Decoding checks what needs no other record: the stored hash is the hash
// of the stored bytes, the bytes decode, and they name the key's position.
// The links between records are checked in order by the caller.
ReadChunk ReadHashAndDecode(const events::EventLog& log, int64_t from, int64_t last,
                            int64_t fold_to, const std::atomic<bool>& decode, ChunkPool& pool) {
  ReadChunk out = pool.Take();
  const auto expected = static_cast<size_t>(last - from + 1);
  out.positions.reserve(expected);
  out.ends.reserve(expected);
  out.read = log.ScanRecords(from, last, [&](int64_t position, std::string_view record) {
    out.positions.push_back(position);
    out.bytes.append(record);
    out.ends.push_back(out.bytes.size());
    return true;
  });
  if (!out.read.ok()) return out;
  out.hashes.resize(out.positions.size());
  const bool decoding = from <= fold_to && decode.load(std::memory_order_relaxed);
  if (decoding) out.events.reserve(static_cast<size_t>(std::min(last, fold_to) - from + 1));
  for (size_t i = 0; i < out.positions.size(); ++i) {
    const int64_t position = out.positions[i];
    const auto view = events::ParseRecord(out.record(i));
    if (view.ok()) out.hashes[i] = events::ChainHash(view->prev_hash, view->canonical);
    if (!decoding || position > fold_to || out.problem) continue;
    if (!view.ok()) {
      out.problem = At(position, view.status().message());
      continue;
    }
    auto event = events::DecodeRecord(*view, out.hashes[i]);
    if (!event.ok()) {
      out.problem = At(position, event.status().message());
    } else if (event->position != position) {
      out.problem = At(position, "event bytes name position " + std::to_string(event->position));
    } else {
      out.events.push_back(std::move(event).value());
    }
  }
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

// Applies a chunk's decoded events in order, checking that positions follow
// each other and that each prev_hash is the previous event's hash; then that
// the chunk held every position of [from, fold_last].
Status ApplyChunk(FoldedLog& folded, const ReadChunk& chunk, int64_t from, int64_t fold_last,
                  const FoldObserver& observe) {
  for (const events::Event& event : chunk.events) {
    LEDGER_RETURN_IF_ERROR(events::CheckFollows({folded.position, folded.hash}, event));
    LEDGER_RETURN_IF_ERROR(FoldEvent(folded, event, observe));
    folded.position = event.position;
    folded.hash = event.hash;
    folded.latest_recorded_at = std::max(folded.latest_recorded_at, event.recorded_at);
    ++folded.events;
  }
  if (chunk.problem) return *chunk.problem;
  const auto stored = static_cast<int64_t>(
      std::upper_bound(chunk.positions.begin(), chunk.positions.end(), fold_last) -
      chunk.positions.begin());
  if (stored != fold_last - from + 1) {
    // A hole: everything before it was checked and applied first, so the
    // first problem in log order is the one reported.
    return At(folded.position + 1, "event missing");
  }
  return Status::Ok();
}

// The pipeline behind FoldLog and WalkAndFoldLog. Without `walk_chain`, the
// chain is not checked and reading ends with the fold.
// REQUIRES: 0 <= fold_to <= walk_to <= head.position.
Result<WalkedFold> Walk(const events::EventLog& log, const events::LogHead& head, int64_t fold_to,
                        int64_t walk_to, bool walk_chain,
                        const std::function<void(int64_t done, int64_t total)>& progress,
                        const std::function<bool()>& stop, const FoldObserver& observe) {
  // Reading, hashing and decoding are most of the work and need no order,
  // so chunks are read on their own threads while this one checks the chain
  // and applies finished ones in order. launch::deferred lets a chunk be read
  // here when no thread can be started.
  const size_t in_flight_max =
      std::clamp<size_t>(std::thread::hardware_concurrency() + 1, 1, kFoldChunksInFlightMax);
  struct InFlight {
    int64_t from;
    int64_t last;
    std::future<ReadChunk> future;
  };
  // Declared before `in_flight`, so destroyed after it: on an early return
  // the futures still running finish in in_flight's destructor, and they
  // read `decode` until then.
  std::atomic<bool> decode{true};  // false once the fold has failed
  ChunkPool pool;                  // (also outlives the futures)
  std::deque<InFlight> in_flight;
  events::ChainVerifier chain(1, events::kGenesisHash);
  FoldedLog folded;
  std::optional<Status> fold_failed;
  // Whether reading on can still find anything: the chain walk goes on to
  // walk_to until it breaks, the fold to fold_to until it fails.
  const auto wanted = [&](int64_t from) {
    const bool chain_wants = walk_chain && chain.result().ok;
    const bool fold_wants = !fold_failed && from <= fold_to;
    return chain_wants || fold_wants;
  };
  const auto apply_oldest = [&]() -> Status {
    ReadChunk chunk = in_flight.front().future.get();
    const int64_t from = in_flight.front().from;
    const int64_t last = in_flight.front().last;
    in_flight.pop_front();
    LEDGER_RETURN_IF_ERROR(chunk.read);
    if (walk_chain) {
      for (size_t i = 0; i < chunk.positions.size(); ++i) {
        if (!chain.Feed(chunk.positions[i], chunk.record(i), chunk.hashes[i])) break;
      }
    }
    if (!fold_failed && from <= fold_to) {
      Status applied = ApplyChunk(folded, chunk, from, std::min(last, fold_to), observe);
      if (!applied.ok()) {
        fold_failed = std::move(applied);
        decode.store(false, std::memory_order_relaxed);
      }
    }
    pool.Give(std::move(chunk));
    if (progress) progress(last, walk_to);
    if (stop && stop()) {
      return Status::Cancelled(std::string("stopped after ") +
                               (walk_chain ? "reading " : "folding ") + std::to_string(last) +
                               " of " + std::to_string(walk_to) + " events");
    }
    return Status::Ok();
  };
  for (int64_t from = 1; from <= walk_to && wanted(from); from += kFoldChunkEvents) {
    const int64_t last = std::min(walk_to, from + kFoldChunkEvents - 1);
    in_flight.push_back({from, last,
                         std::async(std::launch::async | std::launch::deferred,
                                    [&log, &decode, &pool, from, last, fold_to] {
                                      return ReadHashAndDecode(log, from, last, fold_to, decode,
                                                               pool);
                                    })});
    if (in_flight.size() >= in_flight_max) LEDGER_RETURN_IF_ERROR(apply_oldest());
  }
  // (On an early return, the futures still running finish in their
  // destructors, before `decode` and `log` go away.)
  while (!in_flight.empty()) LEDGER_RETURN_IF_ERROR(apply_oldest());

  WalkedFold out;
  if (walk_chain) {
    if (chain.result().ok && chain.result().last_position != walk_to) {
      chain.FailAt(chain.result().last_position + 1, "event missing");
    }
    if (chain.result().ok && walk_to == head.position && chain.result().last_hash != head.hash) {
      chain.FailAt(walk_to, "hash differs from the recorded head hash");
    }
    out.chain = chain.result();
  }
  if (!fold_failed && fold_to == head.position && folded.hash != head.hash) {
    fold_failed = At(fold_to, "hash differs from the recorded head hash");
  }
  if (fold_failed) {
    out.folded = std::move(*fold_failed);
  } else {
    out.folded = std::move(folded);
  }
  return out;
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
  LEDGER_ASSIGN_OR_RETURN(WalkedFold walked, Walk(log, head, to_position, to_position,
                                                  /*walk_chain=*/false, progress, stop, observe));
  return std::move(walked.folded);
}

Result<WalkedFold> WalkAndFoldLog(const events::EventLog& log, int64_t fold_to, int64_t walk_to,
                                  const std::function<void(int64_t done, int64_t total)>& progress,
                                  const std::function<bool()>& stop, const FoldObserver& observe) {
  const events::LogHead head = log.Head();
  if (fold_to < 0 || walk_to < fold_to || walk_to > head.position) {
    return Status::InvalidArgument("cannot fold to position " + std::to_string(fold_to) +
                                   " and walk to " + std::to_string(walk_to) +
                                   ": the log's head is " + std::to_string(head.position));
  }
  return Walk(log, head, fold_to, walk_to, /*walk_chain=*/true, progress, stop, observe);
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
