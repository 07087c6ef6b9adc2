// The streaming phase of a connection (http::StreamSource answers): the
// head, then the source's chunks until the stream ends. Part of Connection,
// in a file of its own to keep connection.cc's size (and build time) down.

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

// The Boost headers must stay between these two.
// clang-format off
#include "http/boost_warnings_begin.h"
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include "http/boost_warnings_end.h"
// clang-format on

#include "common/log.h"
#include "http/connection.h"

namespace ledger::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

// A client of a stream only listens; one that sends more than this while
// streaming is cut off.
constexpr size_t kStreamInputBytesMax = size_t{64} * 1024;

}  // namespace

asio::awaitable<bool> Connection::WriteStreamHead(Response response, unsigned version,
                                                  const std::string& request_id) {
  phase_ = Phase::kWriting;
  response.body.clear();
  std::optional<BeastResponse> message;
  try {
    message = ToMessage(std::move(response), version, false, request_id, true);
  } catch (const std::exception& e) {
    LEDGER_LOG(LogLevel::kError, "http", "could not build an answer")
        .Str("request_id", request_id)
        .Str("error", e.what());
    co_return false;
  }
  message->erase(bhttp::field::content_length);
  if (version >= 11) message->chunked(true);
  bhttp::response_serializer<bhttp::string_body> serializer(*message);
  Tcp().expires_after(owner_.limits().write_timeout);
  const auto [ec, bytes] = co_await OnStream(
      [&](auto& s) { return bhttp::async_write_header(s, serializer, kNoThrow); });
  Tcp().expires_never();
  co_return !ec;
}

asio::awaitable<void> Connection::Stream(StreamSource& source, std::chrono::milliseconds heartbeat,
                                         bool chunked) {
  phase_ = Phase::kStreaming;
  // Nothing more is read as a request on this connection.
  buffer_.clear();
  buffer_.shrink_to_fit();
  source.Start([weak = weak_from_this()] {
    const std::shared_ptr<Connection> self = weak.lock();
    if (!self) return;
    asio::post(self->executor_, [self] {
      self->stream_woken_ = true;
      self->stream_timer_.cancel();
    });
  });
  WatchForHangUp();
  std::vector<StreamSource::Chunk> chunks;
  SteadyClock::time_point last_write = SteadyClock::now();
  bool more = true;
  bool failed = false;
  while (more && !client_gone_) {
    if (owner_.stopping()) {
      chunks.assign(1, source.Farewell());
      failed = !co_await WriteChunks(chunks, chunked);
      break;
    }
    stream_woken_ = false;
    chunks.clear();
    more = source.Take(chunks);
    if (!chunks.empty()) {
      if (!co_await WriteChunks(chunks, chunked)) {
        failed = true;
        break;
      }
      last_write = SteadyClock::now();
      continue;
    }
    if (!more || stream_woken_) continue;
    stream_timer_.expires_at(last_write + heartbeat);
    const auto [ec] = co_await stream_timer_.async_wait(kNoThrow);
    if (ec || stream_woken_ || client_gone_ || owner_.stopping()) continue;
    chunks.assign(1, source.Heartbeat());
    if (!co_await WriteChunks(chunks, chunked)) {
      failed = true;
      break;
    }
    last_write = SteadyClock::now();
  }
  source.Close();
  if (!failed && !client_gone_ && chunked) {
    Tcp().expires_after(owner_.limits().write_timeout);
    co_await OnStream(
        [](auto& s) { return asio::async_write(s, bhttp::make_chunk_last(), kNoThrow); });
    Tcp().expires_never();
  }
}

asio::awaitable<bool> Connection::WriteChunks(const std::vector<StreamSource::Chunk>& chunks,
                                              bool chunked) {
  std::vector<asio::const_buffer> buffers;
  buffers.reserve(chunks.size());
  for (const StreamSource::Chunk& chunk : chunks) {
    if (chunk != nullptr && !chunk->empty()) buffers.emplace_back(chunk->data(), chunk->size());
  }
  if (buffers.empty()) co_return true;
  beast::error_code ec;
  size_t bytes = 0;
  Tcp().expires_after(owner_.limits().write_timeout);
  if (chunked) {
    std::tie(ec, bytes) = co_await OnStream(
        [&](auto& s) { return asio::async_write(s, bhttp::make_chunk(buffers), kNoThrow); });
  } else {
    std::tie(ec, bytes) =
        co_await OnStream([&](auto& s) { return asio::async_write(s, buffers, kNoThrow); });
  }
  Tcp().expires_never();
  co_return !ec;
}

void Connection::WatchForHangUp() {
  // Over TLS through the TLS stream: the socket's own bytes are records
  // that only the TLS layer may consume.
  OnStream([this](auto& s) {
    s.async_read_some(asio::buffer(hang_up_probe_),
                      [self = shared_from_this()](const beast::error_code& ec, size_t bytes) {
                        self->stream_input_bytes_ += bytes;
                        if (ec || self->stream_input_bytes_ > kStreamInputBytesMax) {
                          self->client_gone_ = true;
                          self->stream_timer_.cancel();
                          return;
                        }
                        self->WatchForHangUp();
                      });
  });
}

}  // namespace ledger::http
