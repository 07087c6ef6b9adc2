#include "http/beast_convert.h"

#include <cstdint>
#include <random>
#include <utility>

// The Boost headers must stay between these two.
// clang-format off
#include "http/boost_warnings_begin.h"
#include <boost/beast/core/string.hpp>
#include "http/boost_warnings_end.h"
// clang-format on

#include "common/ascii.h"
#include "common/log.h"
#include "http/problem.h"

namespace ledger::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;

bool IsVisibleAscii(char c) { return c >= 0x21 && c <= 0x7e; }

// Headers the server writes itself; a handler's copies are dropped.
bool IsServerHeader(std::string_view name) {
  for (const std::string_view own :
       {"content-length", "content-type", "x-request-id", "connection", "transfer-encoding"}) {
    if (beast::iequals(name, own)) return true;
  }
  return false;
}

// Whether a handler's header can go on the wire as it is: a CR or LF would
// let it write headers (or a body) of its own.
bool IsWritableHeader(std::string_view name, std::string_view value) {
  if (name.empty()) return false;
  for (const char c : name) {
    if (!IsVisibleAscii(c) || c == ':') return false;
  }
  for (const char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

}  // namespace

std::string GenerateRequestId() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  uint64_t bits = engine();
  std::string id(16, '0');
  for (char& c : id) {
    c = HexDigit(static_cast<unsigned>(bits & 0xfU));
    bits >>= 4U;
  }
  return id;
}

std::string RequestIdFor(const bhttp::fields& fields) {
  const std::string_view sent = fields["X-Request-Id"];
  bool sane = !sent.empty() && sent.size() <= kRequestIdBytesMax;
  for (const char c : sent) sane = sane && IsVisibleAscii(c);
  return sane ? std::string(sent) : GenerateRequestId();
}

void SplitTarget(std::string_view target, std::string& path, std::string& query) {
  const size_t mark = target.find('?');
  path = std::string(target.substr(0, mark));
  query = mark == std::string_view::npos ? std::string() : std::string(target.substr(mark + 1));
}

Request ToRequest(BeastRequest& message) {
  Request request;
  request.method = std::string(message.method_string());
  SplitTarget(message.target(), request.path, request.query);
  for (const auto& field : message) {
    request.headers.emplace_back(AsciiLowercase(field.name_string()), std::string(field.value()));
  }
  request.body = std::move(message.body());
  request.request_id = RequestIdFor(message);
  return request;
}

BeastResponse ToMessage(Response response, unsigned version, bool head,
                        const std::string& request_id, bool close) {
  BeastResponse message;
  message.version(version);
  message.result(static_cast<unsigned>(response.status));
  if (!response.content_type.empty()) {
    if (IsWritableHeader("Content-Type", response.content_type)) {
      message.set(bhttp::field::content_type, response.content_type);
    } else {
      LEDGER_LOG(LogLevel::kError, "http", "dropped a Content-Type with control characters")
          .Str("request_id", request_id);
    }
  }
  for (const auto& [name, value] : response.headers) {
    if (IsServerHeader(name)) continue;
    if (!IsWritableHeader(name, value)) {
      LEDGER_LOG(LogLevel::kError, "http", "dropped a header that is not a valid name or value")
          .Str("request_id", request_id)
          .Str("header", name);
      continue;
    }
    message.insert(name, value);
  }
  message.set("X-Request-Id", request_id);
  // RFC 9110: 204 and 304 have no content; HEAD gets the length of the body
  // GET would have had, without the body.
  if (response.status != 204 && response.status != 304) {
    message.content_length(response.body.size());
    if (!head) message.body() = std::move(response.body);
  }
  message.keep_alive(!close);
  return message;
}

Response InternalError(std::string_view path, std::string_view request_id) {
  return ToResponse(MakeProblem("internal", "the request could not be handled"), path, request_id);
}

}  // namespace ledger::http
