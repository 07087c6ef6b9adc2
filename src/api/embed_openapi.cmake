# Writes OUT, a C++ source defining ledger::api::OpenApiDocument() from
# schemas/openapi.json (IN), so the binary serves the document it was built with.
file(READ "${IN}" doc)
string(FIND "${doc}" ")ledger_openapi\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${IN} contains the raw-string delimiter )ledger_openapi\"")
endif()
file(WRITE "${OUT}" "// Generated from schemas/openapi.json by embed_openapi.cmake. Do not edit.
#include \"api/openapi.h\"

namespace ledger::api {

std::string_view OpenApiDocument() {
  static constexpr std::string_view kDocument = R\"ledger_openapi(${doc})ledger_openapi\";
  return kDocument;
}

}  // namespace ledger::api
")
