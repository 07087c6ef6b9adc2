#pragma once

// Internal to src/api: one client's live stream (a StreamSource), and what
// the hub (stream_hub.cc) shares with its streams. The hub's feeder pushes
// frames; the client's connection takes them.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "api/stream_hub.h"
#include "http/stream_source.h"

namespace ledger::api {

// One frame queued for a client: bytes shared by every stream that gets it.
struct StreamFrame {
  http::StreamSource::Chunk bytes;
  int64_t position = 0;  // of a ledger event; 0 for anything else
};

http::StreamSource::Chunk MakeStreamChunk(std::string text);

// What a hub shares with its streams: the options, the counters of /metrics
// and a way to wake its feeder. Held by shared_ptr, so that a stream the
// connection still holds may outlive its hub.
class StreamShared {
 public:
  explicit StreamShared(StreamOptions options) : options_(options) {}
  StreamShared(const StreamShared&) = delete;
  StreamShared& operator=(const StreamShared&) = delete;
  virtual ~StreamShared() = default;

  const StreamOptions& options() const { return options_; }

  // The feeder should look again: a stream that was half full has room.
  virtual void Nudge() = 0;
  // A stream closed: the feeder drops it.
  virtual void Closed() = 0;

  // Counters (any thread).
  std::atomic<uint64_t> open{0};
  std::atomic<uint64_t> opened_total{0};
  std::atomic<uint64_t> refused_total{0};
  std::atomic<uint64_t> events_sent_total{0};
  std::atomic<uint64_t> cut_slow_total{0};
  std::atomic<uint64_t> cut_shutdown_total{0};
  std::atomic<uint64_t> cut_failed_total{0};

 private:
  const StreamOptions options_;
};

// One client's stream: frames queued by the feeder, taken by the connection.
class Subscription final : public http::StreamSource {
 public:
  Subscription(std::shared_ptr<StreamShared> shared, int64_t post_id, int64_t after,
               std::vector<StreamFrame> opening);

  void Start(Wake wake) override;
  bool Take(std::vector<Chunk>& out) override;
  Chunk Heartbeat() override;
  Chunk Farewell() override;
  void Close() override;

  int64_t post_id() const { return post_id_; }

  // The feeder's side. Push queues `frames`; past the buffer, the stream is
  // cut after those that fit. False once the stream has ended.
  bool Push(std::span<const StreamFrame> frames);
  // Ends the stream after what is queued with `event: cut` naming `reason`.
  void Cut(std::string_view reason);
  bool ended() const;
  size_t queued_bytes() const;

  // Feeder only: the last position queued (or the start), and for a post
  // stream catching up, the next stream version to read (0: not found yet).
  int64_t cursor = 0;
  int64_t next_version = 0;

 private:
  void CutLocked(std::string_view reason);

  const std::shared_ptr<StreamShared> shared_;
  const int64_t post_id_;

  mutable std::mutex mu_;
  std::vector<StreamFrame> queue_;  // guarded by mu_
  size_t queued_bytes_ = 0;         // guarded by mu_
  int64_t taken_ = 0;               // guarded by mu_: the last position handed out
  int64_t queued_last_ = 0;         // guarded by mu_: the last position queued
  bool ended_ = false;              // guarded by mu_: no more frames will come
  bool closed_ = false;             // guarded by mu_
  bool started_ = false;            // guarded by mu_; wake_ is fixed once set
  bool wake_pending_ = false;       // guarded by mu_
  Wake wake_;
};

}  // namespace ledger::api
