#pragma once

// The explorer page's files (web/), compiled in by embed_web.cmake.

#include <span>
#include <string_view>

namespace ledger::api {

struct WebAsset {
  std::string_view name;          // the file name in web/: "app.js"
  std::string_view content_type;  // from the extension: "text/javascript; charset=utf-8"
  std::string_view etag;          // a strong entity tag, quotes included
  std::string_view bytes;
};

// Every file of web/, sorted by name; names are unique.
std::span<const WebAsset> WebAssets();

}  // namespace ledger::api
