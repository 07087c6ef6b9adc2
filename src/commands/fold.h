#pragma once

// The fold of the log: history turned into post states with Apply, checking
// the log on the way. FoldLog folds every post (replay, verify, and the check
// of the sequencer's durable state against the log), FoldPostStream one
// post's stream in bounded memory (as-of reads). It lives beside Apply because
// the sequencer's state is the same fold; projections use it from here.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "commands/post_state.h"
#include "common/clock.h"
#include "common/result.h"
#include "events/chain.h"
#include "events/event_log.h"
#include "events/hash.h"

namespace ledger::commands {

// Events read from the log per ScanRecords call, and the granularity of
// progress reports. Bounds the records decoded ahead of the fold.
inline constexpr int64_t kFoldChunkEvents = 8'192;
// Chunks decoded ahead of the fold at most (hardware threads + 1, capped
// here): bounds the memory and the threads a fold uses.
inline constexpr size_t kFoldChunksInFlightMax = 8;

// Every post's state as of one position of the log: what replay writes into
// the read tables, what verify compares them with, and what as-of reads serve.
struct FoldedLog {
  std::vector<PostState> posts;              // index id - 1; ids are dense from 1
  std::vector<int64_t> last_position;        // per post, the position of its last event
  int64_t position = 0;                      // the last folded position
  events::Hash hash = events::kGenesisHash;  // its hash (genesis for position 0)
  int64_t events = 0;                        // events folded
  Timestamp latest_recorded_at;              // the greatest recorded_at folded (epoch: none)
};

// Folds events 1..to_position of `log` into per-post states, checking the log
// on the way: every position present and in order, each prev_hash the previous
// hash, each stored hash the hash of the stored bytes, every event decodable,
// the posts' ids dense (a stream is either known or the next new id), and
// every event acceptable to Apply. When to_position is the head, the
// last hash must also equal the head hash.
//
// Chunks are decoded on up to kFoldChunksInFlightMax threads at once; states
// are applied in log order on the calling thread.
//
// Any problem is kCorruption naming the position; to_position < 0 or past the
// head is kInvalidArgument; I/O errors of the log pass through.
// `progress`, when set, is called after each chunk with (events done, total).
// `stop`, when set, is asked after each chunk; true ends the fold with
// kCancelled.
// `observe`, when set, sees each event in log order with its post's state
// before the event is applied (a default state for a PostCreated): what a
// caller needs to keep more history than a PostState holds.
using FoldObserver = std::function<void(const events::Event& event, const PostState& before)>;
Result<FoldedLog> FoldLog(const events::EventLog& log, int64_t to_position,
                          const std::function<void(int64_t done, int64_t total)>& progress = {},
                          const std::function<bool()>& stop = {}, const FoldObserver& observe = {});

// What WalkAndFoldLog found: the hash chain over its walk, and the fold.
struct WalkedFold {
  events::ChainCheck chain;  // as events::VerifyLogChain(log, 1, walk_to) reports it
  // The fold to fold_to as FoldLog returns it, or the kCorruption FoldLog
  // would return (the same message).
  Result<FoldedLog> folded = FoldedLog{};
};

// One read of the log for two audits: walks the hash chain over events
// 1..walk_to, with exactly the checks and the report of
// events::VerifyLogChain(log, 1, walk_to), and folds events 1..fold_to, with
// exactly the checks and the result of FoldLog(log, fold_to). Each record is
// read and hashed once, and only events up to fold_to are decoded. The chain
// walk goes on past a position that does not fold (a log whose events do not
// fold can still be whole), and stops where both audits have stopped.
//
// As FoldLog, chunks are read, hashed and decoded on up to
// kFoldChunksInFlightMax threads at once; the chain is checked and the states
// are applied in log order on the calling thread.
//
// REQUIRES: 0 <= fold_to <= walk_to <= the head (kInvalidArgument otherwise).
// Errors: I/O errors of the log pass through; `stop`, asked after each
// chunk, ends it with kCancelled. Problems of the data are in the result.
// `progress`, when set, is called after each chunk with (events walked,
// walk_to); `observe` is FoldLog's.
Result<WalkedFold> WalkAndFoldLog(const events::EventLog& log, int64_t fold_to, int64_t walk_to,
                                  const std::function<void(int64_t done, int64_t total)>& progress,
                                  const std::function<bool()>& stop, const FoldObserver& observe);

// Stream positions FoldPostStream takes from the stream index per step (8
// bytes each). Events are then read and applied one at a time, so memory stays
// bounded whatever the length of the post's history (a popular post has tens
// of thousands of events, an edit can carry 80 KB of description).
inline constexpr size_t kStreamFoldChunkEvents = 4'096;

// Folds the events of post `post_id` at positions <= `to_position` into a
// state, taking `chunk_events` positions from the stream index at a time, and
// stops at the first event past `to_position` without reading it. A post with
// no event by then comes back as a default state (!exists()); a deleted one
// with `deleted` set.
// REQUIRES: to_position <= log.Head().position (later positions could still
// be written, so the answer would not be final); chunk_events >= 1.
// Errors: the log's read errors as they are; kCorruption when the stream
// index and the events disagree or Apply refuses an event.
Result<PostState> FoldPostStream(const events::EventLog& log, int64_t post_id, int64_t to_position,
                                 size_t chunk_events = kStreamFoldChunkEvents);

}  // namespace ledger::commands
