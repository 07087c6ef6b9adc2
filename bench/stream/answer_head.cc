#include "answer_head.h"

#include <charconv>
#include <string>

#include "common/ascii.h"

namespace ledger::bench {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

template <typename Int>
std::optional<Int> ParseDecimal(std::string_view text) {
  Int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// "HTTP/1.1 201 Created" → 201.
std::optional<int> StatusOf(std::string_view line) {
  if (!StartsWithIgnoreAsciiCase(line, "HTTP/1.") || line.size() < 12 || line[8] != ' ') {
    return std::nullopt;
  }
  const std::optional<int> status = ParseDecimal<int>(line.substr(9, 3));
  if (!status || *status < 100 || *status > 599) return std::nullopt;
  return status;
}

bool ApplyHeader(std::string_view line, AnswerHead* head) {
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  const std::string_view name = line.substr(0, colon);
  const std::string_view value = Trim(line.substr(colon + 1));
  if (EqualsIgnoreAsciiCase(name, "content-length")) {
    head->content_length = ParseDecimal<uint64_t>(value);
    return head->content_length.has_value();
  }
  if (EqualsIgnoreAsciiCase(name, "transfer-encoding")) {
    head->chunked = AsciiLowercase(value).find("chunked") != std::string::npos;
  } else if (EqualsIgnoreAsciiCase(name, "connection")) {
    head->close = AsciiLowercase(value).find("close") != std::string::npos;
  }
  return true;
}

}  // namespace

HeadParse ParseAnswerHead(std::string_view data, AnswerHead* head) {
  const size_t end = data.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    return data.size() > kAnswerHeadBytesMax ? HeadParse::kMalformed : HeadParse::kIncomplete;
  }
  if (end + 4 > kAnswerHeadBytesMax) return HeadParse::kMalformed;
  *head = AnswerHead{};
  head->bytes = end + 4;
  std::string_view rest = data.substr(0, end + 2);
  bool first = true;
  while (!rest.empty()) {
    const size_t eol = rest.find("\r\n");
    const std::string_view line = rest.substr(0, eol);
    rest.remove_prefix(eol + 2);
    if (first) {
      const std::optional<int> status = StatusOf(line);
      if (!status) return HeadParse::kMalformed;
      head->status = *status;
      first = false;
    } else if (!ApplyHeader(line, head)) {
      return HeadParse::kMalformed;
    }
  }
  return HeadParse::kDone;
}

std::optional<int64_t> JsonIntMember(std::string_view json, std::string_view name) {
  std::string key;
  key.reserve(name.size() + 3);
  key.append("\"").append(name).append("\":");
  const size_t at = json.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view digits = json.substr(at + key.size());
  size_t n = 0;
  while (n < digits.size() &&
         ((digits[n] >= '0' && digits[n] <= '9') || (n == 0 && digits[n] == '-'))) {
    ++n;
  }
  return ParseDecimal<int64_t>(digits.substr(0, n));
}

std::optional<std::string_view> JsonStringMember(std::string_view json, std::string_view name) {
  std::string key;
  key.reserve(name.size() + 4);
  key.append("\"").append(name).append("\":\"");
  const size_t at = json.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  const std::string_view rest = json.substr(at + key.size());
  size_t end = 0;
  while (end < rest.size() && rest[end] != '"') end += rest[end] == '\\' ? size_t{2} : size_t{1};
  if (end >= rest.size()) return std::nullopt;
  return rest.substr(0, end);
}

}  // namespace ledger::bench
