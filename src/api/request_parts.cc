#include "api/request_parts.h"

#include <charconv>
#include <limits>
#include <utility>

#include "api/query_params.h"
#include "commands/limits.h"
#include "common/ascii.h"

namespace ledger::api {

using http::FieldError;
using http::MakeProblem;
using http::Problem;
using http::Request;

namespace {

constexpr std::string_view kJson = "application/json";

Problem InvalidHeader(std::string_view header, std::string detail) {
  Problem p = MakeProblem("invalid_parameter", std::string(header) + " " + detail);
  p.errors.push_back(FieldError{"", std::string(header), std::move(detail)});
  return p;
}

bool IsJsonContentType(std::optional<std::string_view> value) {
  if (!value) return false;
  if (!StartsWithIgnoreAsciiCase(*value, kJson)) return false;
  const std::string_view rest = value->substr(kJson.size());
  return rest.empty() || rest.front() == ';' || rest.front() == ' ';
}

}  // namespace

Problem NoSuchPost() { return MakeProblem("not_found", "no such post"); }

Result<int64_t, Problem> PostId(const Request& request) {
  const std::optional<std::string_view> text = request.PathParam("id");
  if (!text || text->empty() || text->size() > 19) return NoSuchPost();
  int64_t id = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), id);
  if (ec != std::errc() || end != text->data() + text->size() || id < 1) return NoSuchPost();
  return id;
}

Result<int64_t, Problem> FundingPosition(const Request& request) {
  const std::optional<std::string_view> text = request.PathParam("position");
  const Problem none = MakeProblem("funding_not_found", "the post has no funding at that position");
  if (!text || text->empty() || text->size() > 19) return none;
  int64_t position = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), position);
  if (ec != std::errc() || end != text->data() + text->size() || position < 1) return none;
  return position;
}

Result<void, Problem> CheckContentType(const Request& request, bool optional_body) {
  if (optional_body && request.body.empty()) return {};
  if (IsJsonContentType(request.Header("content-type"))) return {};
  return MakeProblem("unsupported_media_type", "send the body as Content-Type: application/json");
}

Result<std::optional<int64_t>, Problem> ParseIfMatch(std::optional<std::string_view> header) {
  if (!header || *header == "*") return std::optional<int64_t>();
  const std::string_view v = *header;
  if (v.size() < 3 || v.front() != '"' || v.back() != '"') {
    return InvalidHeader("If-Match", "must be * or one quoted version such as \"3\"");
  }
  const std::string_view digits = v.substr(1, v.size() - 2);
  const std::optional<int64_t> version = ParseNonNegativeDecimal(digits);
  // Entity tags compare as text, so "07" could never equal the ETag "7".
  if (!version || (digits.size() > 1 && digits.front() == '0')) {
    return InvalidHeader("If-Match", "must be * or one quoted version such as \"3\"");
  }
  return std::optional<int64_t>(*version);
}

Result<std::optional<int64_t>, Problem> ParseMinPosition(std::optional<std::string_view> header) {
  if (!header) return std::optional<int64_t>();
  const std::optional<int64_t> position = ParseNonNegativeDecimal(*header);
  if (!position) {
    return InvalidHeader("X-Min-Position", "must be a log position: an integer from 0 to " +
                                               std::to_string(std::numeric_limits<int64_t>::max()));
  }
  return std::optional<int64_t>(*position);
}

Result<std::optional<std::string>, Problem> ParseIdempotencyKey(
    std::optional<std::string_view> header) {
  if (!header) return std::optional<std::string>();
  const std::string_view key = *header;
  bool visible = true;
  for (const char c : key) visible = visible && c >= 0x21 && c <= 0x7E;
  if (key.empty() || key.size() > commands::kIdempotencyKeyMaxBytes || !visible) {
    return InvalidHeader("Idempotency-Key", "must be 1 to " +
                                                std::to_string(commands::kIdempotencyKeyMaxBytes) +
                                                " visible ASCII characters");
  }
  return std::optional<std::string>(std::string(key));
}

}  // namespace ledger::api
