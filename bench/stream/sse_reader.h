#pragma once

// The body of a text/event-stream answer, read incrementally: undoes HTTP/1.1
// chunked framing when there is any, splits Server-Sent Event frames and
// reports the ones the load tool counts. Bytes may arrive split anywhere.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ledger::bench {

// A line longer than this (the service's data lines hold one compact JSON
// envelope of a few hundred bytes) makes the stream malformed, so that a
// broken server cannot grow the client without bound.
inline constexpr size_t kSseLineBytesMax = size_t{1} << 20;

struct SseFrame {
  enum class Kind { kLedger, kFigures, kHeartbeat, kCut, kOther };
  Kind kind = Kind::kOther;
  int64_t id = -1;   // kLedger: the log position; -1 when the frame had none
  std::string data;  // kCut only: its data line ({"reason":…,"resume_after":N})
};

enum class SseFeed {
  kMore,       // keep reading
  kEnd,        // the last chunk arrived: the server ended the body
  kMalformed,  // not chunked framing or not SSE; stop reading this stream
};

class SseReader {
 public:
  // `chunked`: the answer's head said Transfer-Encoding: chunked.
  explicit SseReader(bool chunked = true) : chunked_(chunked) {}

  // Appends to `*frames` every frame that `bytes` completes.
  // REQUIRES: no earlier Feed returned kEnd or kMalformed.
  SseFeed Feed(std::string_view bytes, std::vector<SseFrame>* frames);

 private:
  enum class Chunk { kSize, kData, kDataEnd, kDone };

  SseFeed FeedChunked(std::string_view bytes, std::vector<SseFrame>* frames);
  bool FeedBody(std::string_view bytes, std::vector<SseFrame>* frames);
  bool Line(std::string_view line, std::vector<SseFrame>* frames);

  bool chunked_;
  Chunk chunk_ = Chunk::kSize;
  uint64_t chunk_left_ = 0;  // kData: bytes of the chunk still to come; kDataEnd: of its CRLF
  std::string size_line_;
  std::string line_;  // a line whose end has not arrived yet
  // The frame being read (fields seen since the last blank line).
  std::string event_;
  int64_t id_ = -1;
  bool comment_ = false;
  bool fields_ = false;
  std::string data_;
};

}  // namespace ledger::bench
