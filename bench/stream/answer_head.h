#pragma once

// What the stream load tool reads from the service's answers: the head of an
// HTTP/1.1 answer (status, how the body is framed, whether the server closes
// after it) and single members of a compact JSON body. Nothing more is
// parsed; the service's own answers are all this tool reads.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace ledger::bench {

// A head longer than this is refused as malformed (the server's own limit
// for request heads is 8 KiB; its answers' heads are far smaller).
inline constexpr size_t kAnswerHeadBytesMax = size_t{16} * 1024;

struct AnswerHead {
  int status = 0;
  std::optional<uint64_t> content_length;
  bool chunked = false;  // Transfer-Encoding: chunked
  bool close = false;    // Connection: close
  size_t bytes = 0;      // of the head, its blank line included
};

enum class HeadParse { kIncomplete, kDone, kMalformed };

// Parses the head at the start of `data` into `*head` once its blank line has
// arrived. kIncomplete: read more (kMalformed instead once `data` is past
// kAnswerHeadBytesMax without a blank line).
HeadParse ParseAnswerHead(std::string_view data, AnswerHead* head);

// The decimal value of the JSON member `"name":N` in `json`, or nullopt.
// Enough for the service's compact answers (no spaces, no nesting of a
// member of the same name).
std::optional<int64_t> JsonIntMember(std::string_view json, std::string_view name);

// The value of the JSON member `"name":"text"` as it is written (escapes
// not undone), or nullopt. The same limits as JsonIntMember.
std::optional<std::string_view> JsonStringMember(std::string_view json, std::string_view name);

}  // namespace ledger::bench
