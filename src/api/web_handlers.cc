#include "api/web_handlers.h"

#include <string>
#include <utility>

#include "http/problem.h"

namespace ledger::api {
namespace {

constexpr std::string_view kIndexName = "index.html";
// The page changes with every build; no-cache makes the browser revalidate
// (a 304 costs one round trip and no bytes) instead of guessing freshness.
constexpr std::string_view kCacheControl = "no-cache";

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

void AddCommonHeaders(const WebAsset& asset, http::Response& r) {
  r.headers.emplace_back("ETag", std::string(asset.etag));
  r.headers.emplace_back("Cache-Control", std::string(kCacheControl));
  r.headers.emplace_back("Content-Security-Policy", std::string(kWebContentSecurityPolicy));
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
}

void Serve(std::string_view name, const http::Request& request, const http::Respond& respond) {
  const std::optional<WebAsset> asset = FindWebAsset(name);
  if (!asset) {
    respond(http::ToResponse(http::MakeProblem("not_found", "no such file of the explorer"),
                             request.path, request.request_id));
    return;
  }
  respond(WebAssetResponse(*asset, request));
}

}  // namespace

std::optional<WebAsset> FindWebAsset(std::string_view name) {
  for (const WebAsset& asset : WebAssets()) {
    if (asset.name == name) return asset;
  }
  return std::nullopt;
}

bool IfNoneMatchHits(std::string_view if_none_match, std::string_view etag) {
  if (TrimSpace(if_none_match) == "*") return true;
  while (!if_none_match.empty()) {
    const size_t comma = if_none_match.find(',');
    std::string_view tag = TrimSpace(if_none_match.substr(0, comma));
    if_none_match =
        comma == std::string_view::npos ? std::string_view() : if_none_match.substr(comma + 1);
    // Weak comparison: W/"x" matches "x".
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == etag) return true;
  }
  return false;
}

http::Response WebAssetResponse(const WebAsset& asset, const http::Request& request) {
  http::Response r;
  AddCommonHeaders(asset, r);
  const std::optional<std::string_view> if_none_match = request.Header("if-none-match");
  if (if_none_match && IfNoneMatchHits(*if_none_match, asset.etag)) {
    r.status = 304;  // no content type: no body
    return r;
  }
  r.status = 200;
  r.content_type = std::string(asset.content_type);
  r.body = std::string(asset.bytes);
  return r;
}

void AddWebRoutes(http::Router& router) {
  const auto index = [](const http::Request& request, const http::Respond& respond) {
    Serve(kIndexName, request, respond);
  };
  const auto file = [](const http::Request& request, const http::Respond& respond) {
    Serve(request.PathParam("file").value_or(""), request, respond);
  };
  for (const char* method : {"GET", "HEAD"}) {
    router.Add(method, "/", index);
    router.Add(method, "/ui/{file}", file);
  }
}

}  // namespace ledger::api
