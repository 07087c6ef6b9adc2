#pragma once

// The parts of a request other than its body and query string, checked into
// values: the post id of the path and the headers that feed commands and
// reads (Content-Type, If-Match, X-Min-Position, Idempotency-Key).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "http/message.h"
#include "http/problem.h"

namespace ledger::api {

// 404 not_found "no such post".
http::Problem NoSuchPost();

// The post id of the path's {id}: decimal, 1..int64 max. Anything else names
// no post: NoSuchPost(), like an unknown path.
Result<int64_t, http::Problem> PostId(const http::Request& request);

// The funding position of the path's {position}: decimal, 1..int64 max.
// Anything else names no funding: 404 funding_not_found.
Result<int64_t, http::Problem> FundingPosition(const http::Request& request);

// A body must be declared application/json (parameters such as charset
// allowed); with `optional_body`, an empty body needs no type. Else 415
// unsupported_media_type.
Result<void, http::Problem> CheckContentType(const http::Request& request, bool optional_body);

// If-Match on PATCH and DELETE: absent or `*` → nullopt (unconditional);
// `"<version>"`, one strong entity tag holding a canonical decimal int64
// (what ETag sends), → that version. Anything else (weak tags, lists,
// unquoted or non-numeric tags) is 400 invalid_parameter naming If-Match:
// such a tag can never match, and saying so beats a puzzling 412.
Result<std::optional<int64_t>, http::Problem> ParseIfMatch(std::optional<std::string_view> header);

// X-Min-Position on reads: absent → nullopt; else decimal digits naming an
// int64 >= 0, or 400 invalid_parameter naming X-Min-Position.
Result<std::optional<int64_t>, http::Problem> ParseMinPosition(
    std::optional<std::string_view> header);

// Idempotency-Key on POSTs: absent → nullopt; else 1..
// commands::kIdempotencyKeyMaxBytes visible ASCII characters (0x21..0x7E), or
// 400 invalid_parameter naming Idempotency-Key.
Result<std::optional<std::string>, http::Problem> ParseIdempotencyKey(
    std::optional<std::string_view> header);

}  // namespace ledger::api
