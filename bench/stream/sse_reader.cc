#include "sse_reader.h"

#include <algorithm>
#include <charconv>

namespace ledger::bench {
namespace {

constexpr size_t kChunkSizeLineBytesMax = 256;  // hex digits and extensions

}  // namespace

SseFeed SseReader::Feed(std::string_view bytes, std::vector<SseFrame>* frames) {
  if (chunked_) return FeedChunked(bytes, frames);
  return FeedBody(bytes, frames) ? SseFeed::kMore : SseFeed::kMalformed;
}

SseFeed SseReader::FeedChunked(std::string_view bytes, std::vector<SseFrame>* frames) {
  while (!bytes.empty()) {
    switch (chunk_) {
      case Chunk::kSize: {
        const size_t eol = bytes.find('\n');
        size_line_.append(bytes.substr(0, eol));
        if (size_line_.size() > kChunkSizeLineBytesMax) return SseFeed::kMalformed;
        if (eol == std::string_view::npos) return SseFeed::kMore;
        bytes.remove_prefix(eol + 1);
        std::string_view digits = size_line_;
        digits = digits.substr(0, std::min(digits.find(';'), digits.find('\r')));
        uint64_t size = 0;
        const auto [end, ec] =
            std::from_chars(digits.data(), digits.data() + digits.size(), size, 16);
        if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty()) {
          return SseFeed::kMalformed;
        }
        size_line_.clear();
        if (size == 0) {
          chunk_ = Chunk::kDone;  // trailers, if any, are not read
          return SseFeed::kEnd;
        }
        chunk_ = Chunk::kData;
        chunk_left_ = size;
        break;
      }
      case Chunk::kData: {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk_left_, bytes.size()));
        if (!FeedBody(bytes.substr(0, n), frames)) return SseFeed::kMalformed;
        bytes.remove_prefix(n);
        chunk_left_ -= n;
        if (chunk_left_ == 0) {
          chunk_ = Chunk::kDataEnd;
          chunk_left_ = 2;
        }
        break;
      }
      case Chunk::kDataEnd:
        if (bytes.front() != (chunk_left_ == 2 ? '\r' : '\n')) return SseFeed::kMalformed;
        bytes.remove_prefix(1);
        if (--chunk_left_ == 0) chunk_ = Chunk::kSize;
        break;
      case Chunk::kDone:
        return SseFeed::kEnd;
    }
  }
  return chunk_ == Chunk::kDone ? SseFeed::kEnd : SseFeed::kMore;
}

bool SseReader::FeedBody(std::string_view bytes, std::vector<SseFrame>* frames) {
  while (!bytes.empty()) {
    const size_t eol = bytes.find('\n');
    if (eol == std::string_view::npos) {
      line_.append(bytes);
      return line_.size() <= kSseLineBytesMax;
    }
    bool ok = true;
    if (line_.empty()) {
      ok = Line(bytes.substr(0, eol), frames);
    } else {
      line_.append(bytes.substr(0, eol));
      ok = line_.size() <= kSseLineBytesMax && Line(line_, frames);
      line_.clear();
    }
    if (!ok) return false;
    bytes.remove_prefix(eol + 1);
  }
  return true;
}

// One line of the event stream (its '\n' removed), by the SSE rules: a blank
// line dispatches the frame, ':' starts a comment, else "field: value".
bool SseReader::Line(std::string_view line, std::vector<SseFrame>* frames) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) {
    if (fields_ || comment_) {
      SseFrame frame;
      if (event_ == "ledger") {
        frame.kind = SseFrame::Kind::kLedger;
        frame.id = id_;
      } else if (event_ == "figures") {
        frame.kind = SseFrame::Kind::kFigures;
      } else if (event_ == "cut") {
        frame.kind = SseFrame::Kind::kCut;
        frame.data = std::move(data_);
      } else if (!fields_) {
        frame.kind = SseFrame::Kind::kHeartbeat;
      }
      frames->push_back(std::move(frame));
    }
    event_.clear();
    data_.clear();
    id_ = -1;
    comment_ = fields_ = false;
    return true;
  }
  if (line.front() == ':') {
    comment_ = true;
    return true;
  }
  const size_t colon = line.find(':');
  const std::string_view field = line.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  fields_ = true;
  if (field == "event") {
    event_.assign(value);
  } else if (field == "data") {
    data_.assign(value);
  } else if (field == "id") {
    int64_t id = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), id);
    if (ec != std::errc() || end != value.data() + value.size()) return false;
    id_ = id;
  }
  return true;
}

}  // namespace ledger::bench
