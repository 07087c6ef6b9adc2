#pragma once

// The ledger explorer (docs/explorer.md): a static page served from the
// files compiled into the binary. GET / is web/index.html, GET /ui/{file}
// any file of web/; HEAD of both too. Each answer carries its ETag (a
// matching If-None-Match is 304), Cache-Control: no-cache, and a
// Content-Security-Policy that lets the page load and connect to this origin
// only. An unknown file is 404 not_found.

#include <optional>
#include <string_view>

#include "api/web_assets.h"
#include "http/message.h"
#include "http/router.h"

namespace ledger::api {

// The Content-Security-Policy of every answer of the explorer.
inline constexpr std::string_view kWebContentSecurityPolicy =
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; base-uri 'none'; frame-ancestors 'none'";

// The compiled-in file named `name`, if any.
std::optional<WebAsset> FindWebAsset(std::string_view name);

// Whether an If-None-Match header value names `etag` (RFC 9110 13.1.2: "*",
// or a comma-separated list of entity tags compared weakly).
bool IfNoneMatchHits(std::string_view if_none_match, std::string_view etag);

// The answer to GET or HEAD of `asset` (the server drops the body for HEAD).
http::Response WebAssetResponse(const WebAsset& asset, const http::Request& request);

// Adds GET and HEAD of "/" and "/ui/{file}". In-memory answers only: they run
// on the I/O thread.
void AddWebRoutes(http::Router& router);

}  // namespace ledger::api
