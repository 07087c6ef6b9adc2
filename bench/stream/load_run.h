#pragma once

// The event loop of the stream load tool (bench/stream/stream_load.cc): one
// thread, epoll, non-blocking sockets. It opens Server-Sent Event streams and
// reads them, and sends fundings open-loop over a few keep-alive connections,
// recording when each 201 and each streamed event arrived.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <netinet/in.h>

#include "sse_reader.h"

namespace ledger::bench {

using Steady = std::chrono::steady_clock;

// Bounds of LoadRun::Fund, so that its arithmetic in µs cannot overflow.
inline constexpr int64_t kRateMax = 1'000'000;  // fundings per second
inline constexpr auto kFundDurationMax = std::chrono::hours(24);

struct LoadConfig {
  sockaddr_in address{};
  std::string host_header;  // "HOST:PORT"
  int64_t streams = 0;
  bool post_streams = true;  // else GET /api/events/stream
  int64_t posts = 0;         // post streams and fundings go to posts 1..posts
  int64_t connections = 0;   // for fundings
  std::vector<std::string> tokens;
  uint64_t seed = 1;
};

// A 201 to a funding: its log position, post and when it arrived.
struct Funding {
  int64_t position = 0;
  int64_t post_id = 0;
  Steady::time_point at;
};

// A ledger event seen on a stream: when (the last of its arrivals, when
// several streams carry it) and on which post's stream (0: a global one).
struct Arrival {
  Steady::time_point at;
  int64_t post_id = 0;
};

// Everything counted; a reason string maps to how often it happened.
struct LoadCounts {
  int64_t streams_opened = 0;
  int64_t streams_open = 0;  // now
  std::map<std::string, int64_t> open_failed;
  std::map<std::string, int64_t> ended_early;  // streams that ended before the tool closed them
  std::string first_failure;                   // what the server said, when it said anything
  int64_t ledger_frames = 0;
  int64_t figures_frames = 0;
  int64_t heartbeats = 0;
  int64_t cuts = 0;
  int64_t fundings_due = 0;
  int64_t fundings_sent = 0;
  int64_t fundings_missed = 0;  // due while every connection had one in flight
  int64_t fundings_201 = 0;
  std::map<int, int64_t> fundings_other;  // status → count
  std::string first_other_body;
  std::map<std::string, int64_t> fund_errors;  // connections lost or refused
};

class LoadRun {
 public:
  // REQUIRES: config.streams >= 1, config.posts >= 1, and, for Fund,
  // config.connections >= 1 and at least one token.
  explicit LoadRun(LoadConfig config);
  LoadRun(const LoadRun&) = delete;
  LoadRun& operator=(const LoadRun&) = delete;
  ~LoadRun();  // closes every socket

  // False when epoll cannot be created (errno says why).
  bool Init();

  // Opens every stream, at most kOpeningMax at a time, until each is open or
  // has failed, none has for `stall_timeout` (a server out of file
  // descriptors leaves connections unanswered in its backlog), or `*stop` is
  // set. Progress on stderr.
  void OpenStreams(Steady::duration stall_timeout, const volatile bool* stop);

  // Reads the streams for `duration` (or until `*stop`).
  void Hold(Steady::duration duration, const volatile bool* stop);

  // Sends fundings at `rate_per_s` for `duration`, to posts drawn uniformly
  // from 1..posts, then waits up to `drain` for the answers in flight and
  // for the events of every 201. Returns how long the sending lasted.
  Steady::duration Fund(int64_t rate_per_s, Steady::duration duration, Steady::duration drain,
                        const volatile bool* stop);

  // Closes every stream and connection (the ends they meet later are not
  // counted as early).
  void CloseAll();

  const LoadCounts& counts() const { return counts_; }
  const std::vector<Funding>& fundings() const { return fundings_; }
  // From each funding's send to its whole answer, in µs, whatever the status.
  const std::vector<int64_t>& answer_us() const { return answer_us_; }
  const std::unordered_map<int64_t, Arrival>& arrivals() const { return arrivals_; }

 private:
  struct Stream;
  struct FundConnection;

  void Poll(Steady::duration timeout);
  void StartStream(size_t i);
  void OnStream(size_t i, uint32_t events);
  void StreamBody(size_t i, std::string_view bytes, Steady::time_point now);
  void StreamLost(size_t i, const std::string& reason);
  void FailOpen(size_t i, const std::string& reason, std::string_view said);
  void CloseStream(size_t i);
  void Connect(size_t i);
  void OnFund(size_t i, uint32_t events);
  void FundAnswer(size_t i, int status, std::string_view body, Steady::time_point now);
  void FundLost(size_t i, const std::string& reason);
  bool SendFunding();
  bool Watch(int fd, uint32_t events, uint64_t tag, bool add);

  LoadConfig config_;
  int epoll_fd_ = -1;
  std::vector<Stream> streams_;
  std::vector<FundConnection> funds_;
  size_t next_stream_ = 0;     // the next one OpenStreams starts
  size_t opening_ = 0;         // streams connecting or waiting for their head
  size_t opens_answered_ = 0;  // streams opened, or failed to
  size_t in_flight_ = 0;       // fundings sent and not answered
  size_t fund_cursor_ = 0;     // where SendFunding looks for an idle connection first
  bool funding_ = false;       // lost funding connections are reconnected
  int64_t reconnects_ = 0;
  bool record_ = false;  // arrivals are recorded (while fundings run)
  std::unique_ptr<char[]> read_buffer_;
  std::vector<SseFrame> frames_;  // reused by StreamBody
  std::mt19937_64 random_;
  LoadCounts counts_;
  std::vector<Funding> fundings_;
  std::vector<int64_t> answer_us_;
  std::unordered_map<int64_t, Arrival> arrivals_;
  std::unordered_set<int64_t> awaited_;  // positions of 201s whose event has not arrived
};

}  // namespace ledger::bench
