#pragma once

// A response body written while it is produced (Server-Sent Events): the
// handler answers with a Response whose `stream` is set, the connection
// writes the head, then takes chunks from the source until it ends, the
// client goes away or the server stops. No Beast types: sources live outside
// src/http.

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ledger::http {

class StreamSource {
 public:
  // Shared, immutable bytes: one frame may be queued for many clients.
  using Chunk = std::shared_ptr<const std::string>;
  // Asks the connection to call Take soon. Safe from any thread, any number
  // of times, also after Close (then it does nothing).
  using Wake = std::function<void()>;

  StreamSource() = default;
  StreamSource(const StreamSource&) = delete;
  StreamSource& operator=(const StreamSource&) = delete;
  virtual ~StreamSource() = default;

  // Called once, on the connection's strand, after the head was written.
  // The source calls `wake` whenever Take would return more than it did.
  virtual void Start(Wake wake) = 0;

  // Appends the chunks ready now to `out`. Returns false once the stream has
  // ended: `out` then holds its last chunks, and Take is not called again.
  virtual bool Take(std::vector<Chunk>& out) = 0;

  // Written when nothing else was for the response's heartbeat interval, so
  // that proxies keep the connection open and a vanished client is noticed.
  virtual Chunk Heartbeat() = 0;

  // The last chunk written when the server stops while the stream is open.
  virtual Chunk Farewell() = 0;

  // The connection is done with the source (ended, client gone, write failed
  // or timed out, server stopped). Called exactly once, from the strand.
  virtual void Close() = 0;
};

}  // namespace ledger::http
