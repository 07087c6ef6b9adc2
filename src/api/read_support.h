#pragma once

// What the read handlers (read_handlers.cc, stream_handlers.cc) share: work
// moved off the I/O threads, and the answer of a failed read.

#include <functional>
#include <string_view>

#include "api/context.h"
#include "common/status.h"
#include "http/message.h"

namespace ledger::api {

// Runs `job` on a worker thread; the job answers through `respond` itself,
// now or later. A full worker queue answers 503 overloaded at once.
void SubmitRead(const ApiContext& c, std::string_view request_path, std::string_view request_id,
                const http::Respond& respond, std::function<void()> job);

// Runs `work` on a worker thread and answers with what it returns (or, with
// the queue full, 503 overloaded).
void RunOnWorker(const ApiContext& c, std::string_view request_path, std::string_view request_id,
                 const http::Respond& respond, std::function<http::Response()> work);

// A read's failure: bad client input is 400; the database being away, or
// the log's storage failing a read (RocksDB's I/O errors), 503; anything else
// (a log that is corrupt) 500.
http::Response ReadFailure(const http::Request& request, const Status& status);

}  // namespace ledger::api
