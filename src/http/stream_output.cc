#include "http/stream_output.h"

#include <cstdio>

#include "common/check.h"

namespace ledger::http {
namespace {

// A drained output keeps at most this many pieces of room, so that an idle
// stream holds (almost) nothing.
constexpr size_t kIdlePiecesMax = 16;

}  // namespace

std::string_view StreamOutput::Piece::bytes() const {
  const std::string_view all =
      data != nullptr ? std::string_view(*data) : std::string_view(line.data(), line_size);
  return all.substr(sent);
}

void StreamOutput::Add(const std::vector<StreamSource::Chunk>& chunks, bool chunked) {
  size_t total = 0;
  for (const StreamSource::Chunk& chunk : chunks) {
    if (chunk != nullptr) total += chunk->size();
  }
  if (total == 0) return;
  if (chunked) {
    // The chunk's size in hex, then CRLF (RFC 9112, 7.1).
    Piece& size_line = pieces_.emplace_back();
    const int n = std::snprintf(size_line.line.data(), size_line.line.size(), "%zx\r\n", total);
    LEDGER_CHECK(n > 0 && static_cast<size_t>(n) < size_line.line.size(),
                 "a chunk size line fits its piece");
    size_line.line_size = static_cast<uint8_t>(n);
    bytes_ += size_line.line_size;
  }
  for (const StreamSource::Chunk& chunk : chunks) {
    if (chunk == nullptr || chunk->empty()) continue;
    pieces_.push_back(Piece{chunk});
    bytes_ += chunk->size();
  }
  if (chunked) {
    Piece& crlf = pieces_.emplace_back();
    crlf.line[0] = '\r';
    crlf.line[1] = '\n';
    crlf.line_size = 2;
    bytes_ += 2;
  }
}

void StreamOutput::Buffers(std::vector<boost::asio::const_buffer>& out, size_t max_buffers) const {
  out.clear();
  for (size_t i = first_; i < pieces_.size() && out.size() < max_buffers; ++i) {
    const std::string_view bytes = pieces_[i].bytes();
    out.emplace_back(bytes.data(), bytes.size());
  }
}

void StreamOutput::Consume(size_t bytes) {
  LEDGER_CHECK(bytes <= bytes_, "a write took no more than was queued");
  bytes_ -= bytes;
  while (bytes > 0) {
    Piece& piece = pieces_[first_];
    const size_t left = piece.bytes().size();
    if (bytes < left) {
      piece.sent += bytes;
      return;
    }
    bytes -= left;
    piece = Piece{};  // lets go of the chunk now
    ++first_;
  }
  if (empty()) {
    pieces_.clear();
    first_ = 0;
    if (pieces_.capacity() > kIdlePiecesMax) std::vector<Piece>().swap(pieces_);
  }
}

}  // namespace ledger::http
