# Writes OUT, a C++ source defining ledger::api::WebAssets() from the files
# of DIR (the web/ folder, not its subfolders), so the binary serves the
# explorer page it was built with and never looks for it on disk.
#
# Each file becomes {name, content type, ETag, bytes}. The content type comes
# from the file's extension; an extension without one stops the build rather
# than letting a browser guess (the page is served with nosniff). The ETag is
# the first 128 bits of the bytes' SHA-256, so it changes exactly when they do.
set(types_html "text/html; charset=utf-8")
set(types_css "text/css; charset=utf-8")
set(types_js "text/javascript; charset=utf-8")
set(types_mjs "text/javascript; charset=utf-8")
set(types_json "application/json")
set(types_svg "image/svg+xml")
set(types_png "image/png")
set(types_ico "image/x-icon")
set(types_txt "text/plain; charset=utf-8")

set(entries "")
set(data "")
set(index 0)
file(GLOB FILES LIST_DIRECTORIES false "${DIR}/*")
list(SORT FILES)
foreach(path IN LISTS FILES)
  get_filename_component(name "${path}" NAME)
  # Editors' hidden and backup files (.index.html.swp, style.css~) are not the page.
  if(name MATCHES "^\\." OR name MATCHES "~$")
    continue()
  endif()
  if(NOT name MATCHES "^[a-z0-9][a-z0-9._-]*$")
    message(FATAL_ERROR "${path}: web file names are lower-case letters, digits, '.', '_', '-'")
  endif()
  get_filename_component(ext "${path}" LAST_EXT)
  string(SUBSTRING "${ext}" 1 -1 ext)
  if(NOT DEFINED types_${ext})
    message(FATAL_ERROR "${path}: no content type known for '.${ext}' (embed_web.cmake)")
  endif()
  file(SHA256 "${path}" digest)
  string(SUBSTRING "${digest}" 0 32 etag)
  file(READ "${path}" hex HEX)
  string(LENGTH "${hex}" hex_length)
  math(EXPR size "${hex_length} / 2")
  # Every byte as \xNN, 32 bytes to a line of adjacent literals.
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "\\\\x\\1" escaped "${hex}")
  string(REGEX REPLACE "((\\\\x[0-9a-f][0-9a-f]){32})" "\\1\"\n    \"" escaped "${escaped}")
  string(APPEND data "// ${name}\nconstexpr char kBytes${index}[] =\n    \"${escaped}\";\n")
  string(APPEND entries
    "    WebAsset{\"${name}\", \"${types_${ext}}\", \"\\\"${etag}\\\"\", "
    "std::string_view(kBytes${index}, ${size})},\n")
  math(EXPR index "${index} + 1")
endforeach()

file(WRITE "${OUT}.tmp" "// Generated from web/ by embed_web.cmake. Do not edit.
#include <array>
#include <string_view>

#include \"api/web_assets.h\"

namespace ledger::api {
namespace {

${data}
constexpr std::array<WebAsset, ${index}> kAssets = {
${entries}};

}  // namespace

std::span<const WebAsset> WebAssets() { return kAssets; }

}  // namespace ledger::api
")
# Rewritten only when it changed, so that an unchanged page compiles nothing.
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
