#pragma once

// Sends a request on to another node of the service and answers with what
// that node answered: how a node of a cluster that does not sequence passes
// a write to the one that does. Asynchronous on its own I/O thread, so that a
// forwarded write holds no thread while the other node works; bounded in
// requests at once, each with a deadline. Beast stays in forwarder.cc.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "http/message.h"

namespace ledger::http {

struct ForwarderOptions {
  // Requests forwarded and not yet answered; past it Forward refuses (the
  // caller answers 503).
  size_t max_in_flight = 1024;
  // The other node must answer within this (connect, send, answer), else
  // the client gets 503 saying the outcome is unknown.
  std::chrono::milliseconds timeout{10'000};
  // Kept-alive connections per node, and how long one may idle before it is
  // closed instead of reused (below the other node's idle timeout).
  size_t max_idle_connections = 64;
  std::chrono::milliseconds max_idle{30'000};
  // Largest answer body taken from the other node.
  size_t max_answer_bytes = size_t{16} << 20;
};

// The header a forwarded request carries, naming the node that forwarded
// it: a node that receives one and cannot take the request itself answers
// instead of forwarding again, so requests never circle.
inline constexpr std::string_view kForwardedByHeader = "x-ledger-forwarded-by";

class Forwarder {
 public:
  static std::unique_ptr<Forwarder> Create(ForwarderOptions options);
  virtual ~Forwarder() = default;

  // Sends `request` (method, target, headers but the hop-by-hop ones, body,
  // request id; plus kForwardedByHeader: `from`) to `base_url`
  // ("http://HOST:PORT") and calls `respond` with the other node's answer,
  // its headers and body as they came, from the forwarder's thread. Errors
  // (unreachable, too slow, a broken answer) are answered as 503
  // `unavailable` with Retry-After, saying that the outcome is unknown.
  // false (and `respond` not called) when max_in_flight requests are under
  // way or the forwarder stopped. kInvalidArgument for a base_url that is
  // not http://HOST:PORT.
  virtual Result<bool> Forward(std::string_view base_url, Request request, std::string_view from,
                               Respond respond) = 0;

  // Requests forwarded and not yet answered.
  virtual size_t in_flight() const = 0;
  // Gives up every request under way (each answered as 503, outcome
  // unknown) and the kept connections: the node they went to no longer
  // sequences (another took over), so waiting out their deadlines would only
  // hold the clients, whose retries now reach the new one.
  virtual void AbandonAll() = 0;
  // Answers every request under way as failed, then joins the thread.
  // Idempotent.
  virtual void Stop() = 0;
};

// `url` as host and port when it is http://HOST:PORT (an optional trailing
// '/'; IPv6 hosts in brackets), else kInvalidArgument.
Result<std::pair<std::string, std::string>> ParseBaseUrl(std::string_view url);

}  // namespace ledger::http
