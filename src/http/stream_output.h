#pragma once

// Internal to src/http: the bytes of a streamed answer that are framed but
// not yet on the wire. A connection adds the chunks its source hands out,
// framed as one HTTP/1.1 chunk per batch (or bare, for an HTTP/1.0 stream
// delimited by the close), and sends them from here in as many writes as
// the socket takes: a write may take only part, and the rest waits for the
// next one, so the same bytes can go out through a non-blocking write now
// and an asynchronous one later without being framed twice.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "http/stream_source.h"

// clang-format off
#include "http/boost_warnings_begin.h"
#include <boost/asio/buffer.hpp>
#include "http/boost_warnings_end.h"
// clang-format on

namespace ledger::http {

class StreamOutput {
 public:
  // Appends `chunks` (empty ones are skipped): as one chunk of the chunked
  // transfer coding when `chunked`, else as they are.
  void Add(const std::vector<StreamSource::Chunk>& chunks, bool chunked);

  bool empty() const { return first_ == pieces_.size(); }
  size_t size() const { return bytes_; }

  // The unsent bytes, at most `max_buffers` pieces of them, into `out`
  // (cleared first). They stay valid until the next Add or Consume.
  void Buffers(std::vector<boost::asio::const_buffer>& out, size_t max_buffers) const;

  // Drops the first `bytes` unsent bytes (what a write took).
  void Consume(size_t bytes);

 private:
  struct Piece {
    StreamSource::Chunk data;  // null: framing, held in `line`
    size_t sent = 0;           // of it, already written
    uint8_t line_size = 0;
    std::array<char, 22> line{};

    std::string_view bytes() const;
  };

  std::vector<Piece> pieces_;
  size_t first_ = 0;  // pieces_ before it are sent
  size_t bytes_ = 0;
};

}  // namespace ledger::http
