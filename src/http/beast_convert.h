#pragma once

// Internal to src/http: the edge between Beast's messages and the plain
// Request and Response of message.h, and the request ids both sides share.
// Only the server's own files include this header.

#include <cstddef>
#include <string>
#include <string_view>

// The Boost headers must stay between these two.
// clang-format off
#include "http/boost_warnings_begin.h"
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include "http/boost_warnings_end.h"
// clang-format on

#include "http/message.h"

namespace ledger::http {

using BeastRequest = boost::beast::http::request<boost::beast::http::string_body>;
using BeastResponse = boost::beast::http::response<boost::beast::http::string_body>;

// X-Request-Id values longer than this are replaced by a fresh id.
inline constexpr size_t kRequestIdBytesMax = 128;

// 16 random lower-case hex digits.
std::string GenerateRequestId();

// The client's X-Request-Id when it is 1..kRequestIdBytesMax visible ASCII
// characters, else a fresh one (docs/api.md).
std::string RequestIdFor(const boost::beast::http::fields& fields);

// The request target split at its first '?' (neither part decoded).
void SplitTarget(std::string_view target, std::string& path, std::string& query);

// The plain request of `message`: header names lower-cased, the body moved
// out, the request id chosen.
Request ToRequest(BeastRequest& message);

// The wire answer of `response`: the server's own headers (Content-Type,
// Content-Length, X-Request-Id, Connection) set here, a handler's copies of
// them dropped, and headers that are not a valid name and value dropped and
// logged. `head`: the length of the body without the body (RFC 9110).
// Throws what Beast throws for values it cannot hold (over 64 KiB).
BeastResponse ToMessage(Response response, unsigned version, bool head,
                        const std::string& request_id, bool close);

// The 500 internal problem answer.
Response InternalError(std::string_view path, std::string_view request_id);

}  // namespace ledger::http
