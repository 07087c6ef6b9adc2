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
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include "http/boost_warnings_end.h"
// clang-format on

#include "http/connection.h"

namespace ledger::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

// A client of a stream only listens; one that sends more than this while
// streaming is cut off.
constexpr size_t kStreamInputBytesMax = size_t{64} * 1024;
// At most this many pieces go into one write (each batch of chunks is a
// size line, its frames and a CRLF); the rest go in the next.
constexpr size_t kBuffersPerWrite = 64;

}  // namespace

asio::awaitable<bool> Connection::WriteStreamHead(Response response, unsigned version,
                                                  const std::string& request_id) {
  phase_ = Phase::kWriting;
  response.body.clear();
  std::optional<BeastResponse> message =
      MessageOf(std::move(response), version, false, request_id, true);
  if (!message) co_return false;
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
  stream_source_ = &source;
  stream_chunked_ = chunked;
  // Nothing more is read as a request on this connection.
  buffer_.clear();
  buffer_.shrink_to_fit();
  source.Start([weak = weak_from_this()] {
    const std::shared_ptr<Connection> self = weak.lock();
    if (!self) return;
    asio::post(self->executor_, [self] { self->OnStreamWake(); });
  });
  WatchForHangUp();
  stream_last_write_ = SteadyClock::now();
  while (!client_gone_ && !stream_failed_) {
    if (owner_.stopping()) {
      stream_out_.Add({source.Farewell()}, chunked);
      stream_failed_ = !co_await SendRest();
      break;
    }
    if (!stream_out_.empty()) {
      if (!SendNow() || !co_await SendRest()) break;
      stream_last_write_ = SteadyClock::now();
      continue;
    }
    if (!stream_more_) break;
    stream_woken_ = false;
    TakeFromSource();
    if (!stream_out_.empty() || !stream_more_) continue;
    stream_timer_.expires_at(stream_last_write_ + heartbeat);
    stream_parked_ = true;
    const auto [ec] = co_await stream_timer_.async_wait(kNoThrow);
    stream_parked_ = false;
    if (ec || stream_woken_ || client_gone_ || stream_failed_ || owner_.stopping()) continue;
    // Wakes wrote meanwhile: the heartbeat is due later.
    if (SteadyClock::now() < stream_last_write_ + heartbeat) continue;
    stream_out_.Add({source.Heartbeat()}, chunked);
  }
  stream_source_ = nullptr;
  source.Close();
  if (!stream_failed_ && !client_gone_ && chunked) {
    Tcp().expires_after(owner_.limits().write_timeout);
    co_await OnStream(
        [](auto& s) { return asio::async_write(s, bhttp::make_chunk_last(), kNoThrow); });
    Tcp().expires_never();
  }
}

void Connection::OnStreamWake() {
  stream_woken_ = true;
  // Take is not called again once it said the stream ended, and a failed
  // socket is written to no more; the loop sees to both.
  if (!stream_parked_ || stream_source_ == nullptr || !stream_more_ || stream_failed_ ||
      client_gone_ || owner_.stopping() || !std::holds_alternative<PlainStream>(stream_)) {
    stream_timer_.cancel();
    return;
  }
  TakeFromSource();
  if (!stream_out_.empty() && SendNow() && stream_out_.empty()) {
    stream_last_write_ = SteadyClock::now();
  }
  stream_woken_ = false;
  // The loop takes over what could not be finished here.
  if (!stream_out_.empty() || !stream_more_ || stream_failed_) stream_timer_.cancel();
}

void Connection::TakeFromSource() {
  stream_taken_.clear();
  stream_more_ = stream_source_->Take(stream_taken_);
  stream_out_.Add(stream_taken_, stream_chunked_);
  stream_taken_.clear();
}

bool Connection::SendNow() {
  auto* plain = std::get_if<PlainStream>(&stream_);
  if (plain == nullptr) return true;
  asio::ip::tcp::socket& socket = plain->socket();
  beast::error_code ec;
  // Only this connection's synchronous writes see the flag; its
  // asynchronous operations (the hang-up read) go on as before.
  if (!socket.non_blocking()) socket.non_blocking(true, ec);
  while (!ec && !stream_out_.empty()) {
    stream_out_.Buffers(stream_buffers_, kBuffersPerWrite);
    const size_t written = socket.write_some(stream_buffers_, ec);
    stream_out_.Consume(written);
  }
  stream_buffers_.clear();
  if (!ec || ec == asio::error::would_block || ec == asio::error::try_again) return true;
  stream_failed_ = true;
  return false;
}

asio::awaitable<bool> Connection::SendRest() {
  while (!stream_out_.empty()) {
    stream_out_.Buffers(stream_buffers_, kBuffersPerWrite);
    Tcp().expires_after(owner_.limits().write_timeout);
    const auto [ec, written] =
        co_await OnStream([&](auto& s) { return asio::async_write(s, stream_buffers_, kNoThrow); });
    Tcp().expires_never();
    stream_buffers_.clear();
    if (ec) {
      stream_failed_ = true;
      co_return false;
    }
    stream_out_.Consume(written);
  }
  co_return true;
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
