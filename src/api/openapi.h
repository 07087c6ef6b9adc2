#pragma once

#include <string_view>

namespace ledger::api {

// schemas/openapi.json, compiled in (embed_openapi.cmake).
std::string_view OpenApiDocument();

}  // namespace ledger::api
