#pragma once

// HTTP requests and responses as the rest of the service sees them: plain
// values, no Beast types. The server (server.h) converts at its edge.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/stream_source.h"

namespace ledger::http {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;  // "GET", "POST", …
  std::string path;    // the target up to '?', as sent (not percent-decoded)
  std::string query;   // after '?', as sent; empty when none
  HeaderList headers;  // names lower-case, in arrival order
  std::string body;
  // X-Request-Id as sent when sane, else generated; echoed in the answer.
  std::string request_id;
  // Set by the router: the route template ("/api/posts/{id}") and the values
  // of its {placeholders}, in order.
  std::string route;
  std::vector<std::pair<std::string, std::string>> path_params;

  // The first header named `name` (lower-case), if any.
  std::optional<std::string_view> Header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
      if (n == name) return std::string_view(v);
    }
    return std::nullopt;
  }
  std::optional<std::string_view> PathParam(std::string_view name) const {
    for (const auto& [n, v] : path_params) {
      if (n == name) return std::string_view(v);
    }
    return std::nullopt;
  }
};

struct Response {
  int status = 200;
  std::string content_type;  // empty: no body
  std::string body;
  HeaderList headers;  // besides Content-Type, Content-Length, X-Request-Id
  // Close the connection after this answer.
  bool close = false;
  // Set: the body is this stream (status 200, `body` empty), written with
  // chunked transfer coding (HTTP/1.0: until the connection closes); the
  // connection closes when the stream ends. A HEAD request gets the head only.
  std::shared_ptr<StreamSource> stream;
  // With `stream`: the longest silence before a StreamSource::Heartbeat.
  std::chrono::milliseconds heartbeat{15'000};
};

// Completes a request. Called exactly once, from any thread.
using Respond = std::function<void(Response)>;
// Handles a routed request. May answer at once or later from another thread;
// must not block an I/O thread on I/O (queries go to a worker pool).
using Handler = std::function<void(Request request, Respond respond)>;

}  // namespace ledger::http
