#pragma once

// The live streams (GET /api/events/stream, GET /api/posts/{id}/stream):
// the log fanned out to Server-Sent Event clients, each behind a bounded
// buffer, so that neither a slow client nor ten thousand idle ones cost the
// writers anything.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "common/clock.h"
#include "events/event_log.h"
#include "http/stream_source.h"
#include "projections/queries.h"

namespace ledger::api {

struct StreamOptions {
  // Open streams; one more is 503 too_many_streams. Each holds a connection,
  // so --max-connections bounds it too.
  size_t max_streams = 1'000;
  // Frames queued for one client that it has not taken yet. A client that
  // falls this far behind gets `event: cut` (slow_consumer) and is closed.
  size_t buffer_bytes = size_t{256} * 1024;
  // The longest silence on a stream before a heartbeat comment.
  std::chrono::milliseconds heartbeat{15'000};
  // What EventSource clients wait before they reconnect (the retry: field).
  std::chrono::milliseconds retry{2'000};
  // The head is looked at this often without LogAdvanced (a cluster node
  // that does not sequence hears of new events only this way).
  std::chrono::milliseconds poll{100};
};

// Counters for /metrics (ledger_streams_*, ledger_stream_*).
struct StreamStats {
  uint64_t open = 0;
  uint64_t opened_total = 0;
  uint64_t refused_total = 0;  // at max_streams
  uint64_t events_sent_total = 0;
  uint64_t cut_slow_total = 0;      // fell buffer_bytes behind
  uint64_t cut_shutdown_total = 0;  // the server stopped
  uint64_t cut_failed_total = 0;    // the log could not be read for it
};

// One thread (the feeder) reads each new event from the log once, when woken
// by LogAdvanced or every `poll`, formats its frame once and queues it on
// every stream that wants it. It also brings streams that start in the past
// up to the live position, one bounded page at a time and only as fast as
// their clients take them, and after the projector commits it reads the
// figures of the watched posts that changed, in one query. Writers never
// wait for it: LogAdvanced and Projected only set a flag.
class StreamHub {
 public:
  // `queries` may be null: post streams then carry no figures after the
  // first. Everything must outlive the hub.
  StreamHub(const events::EventLog* log, const projections::QueryService* queries,
            const Clock* clock, StreamOptions options);
  StreamHub(const StreamHub&) = delete;
  StreamHub& operator=(const StreamHub&) = delete;
  ~StreamHub();  // Stop()

  void Start();
  // Joins the feeder; streams still open end (their Take returns false).
  // Stop the HTTP server first, so that they end with a farewell. Idempotent.
  void Stop();

  // The log's head moved (the sequencer wrote a batch). Any thread, cheap.
  void LogAdvanced();
  // The read tables reached `position` (the projector committed). Any
  // thread, cheap.
  void Projected(int64_t position);

  // A stream of the ledger events after position `after`: of every post
  // (`post_id` 0) or of one post, whose stream begins with `figures_json`
  // (the post's figures at open). nullptr when max_streams are open.
  std::shared_ptr<http::StreamSource> Open(int64_t post_id, int64_t after,
                                           std::optional<std::string> figures_json);

  const StreamOptions& options() const;
  StreamStats stats() const;

 private:
  class Core;  // the feeder's state, shared with the streams (stream_subscription.h)

  std::shared_ptr<Core> core_;
  std::thread feeder_;
  bool started_ = false;
};

}  // namespace ledger::api
