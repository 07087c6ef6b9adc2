#include "api/query_params.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <optional>
#include <system_error>

#include "common/ascii.h"
#include "common/utf8.h"
#include "projections/cursor.h"

namespace ledger::api {

using http::FieldError;
using http::MakeProblem;
using http::Problem;
namespace {

// Percent-decodes `text` with '+' as a space; nullopt on a broken escape.
std::optional<std::string> Decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out += ' ';
    } else if (c != '%') {
      out += c;
    } else {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = HexDigitValue(text[i + 1]);
      const int lo = HexDigitValue(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    }
  }
  return out;
}

// The parameter errors of one request, each naming its parameter.
class ParamErrors {
 public:
  void Add(std::string parameter, std::string detail) {
    errors_.push_back(FieldError{"", std::move(parameter), std::move(detail)});
  }
  bool empty() const { return errors_.empty(); }
  Problem ToProblem() && {
    Problem p = MakeProblem("invalid_parameter",
                            errors_.size() == 1
                                ? "1 query parameter is invalid"
                                : std::to_string(errors_.size()) + " query parameters are invalid");
    p.errors = std::move(errors_);
    return p;
  }

 private:
  std::vector<FieldError> errors_;
};

// A parameter the endpoint takes, at most once.
struct Slot {
  std::string_view name;
  std::optional<std::string> value;
};

// Fills `slots` from the query; unknown and repeated names go to `errors`.
// Fails when the query string itself is malformed.
Result<void, Problem> Collect(std::string_view raw, std::vector<Slot>& slots, ParamErrors& errors) {
  Result<QueryParams> params = ParseQuery(raw);
  if (!params.ok()) return MakeProblem("invalid_parameter", params.status().message());
  for (auto& [name, value] : *params) {
    auto slot = std::find_if(slots.begin(), slots.end(),
                             [&name = name](const Slot& s) { return s.name == name; });
    if (slot == slots.end()) {
      errors.Add(name, "is not a parameter of this endpoint");
    } else if (slot->value) {
      // Which of two values was meant is a guess; refusing is not.
      errors.Add(name, "is given more than once");
    } else {
      slot->value = std::move(value);
    }
  }
  return {};
}

std::string Range(int64_t lo, int64_t hi) {
  return "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
}

// Takes the next '&'-separated piece off the front of `raw`.
std::string_view TakePiece(std::string_view& raw) {
  const size_t amp = raw.find('&');
  const std::string_view piece = raw.substr(0, amp);
  raw = amp == std::string_view::npos ? std::string_view() : raw.substr(amp + 1);
  return piece;
}

// A piece's name and value, split at its first '='; no '=': the value is "".
std::pair<std::string_view, std::string_view> SplitPiece(std::string_view piece) {
  const size_t eq = piece.find('=');
  return {piece.substr(0, eq),
          eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1)};
}

}  // namespace

Result<QueryParams> ParseQuery(std::string_view raw) {
  QueryParams params;
  size_t index = 0;  // 1-based position of the piece, for messages
  while (!raw.empty()) {
    const std::string_view piece = TakePiece(raw);
    ++index;
    if (piece.empty()) continue;
    if (params.size() == kMaxQueryParameters) {
      return Status::InvalidArgument("the query has more than " +
                                     std::to_string(kMaxQueryParameters) + " parameters");
    }
    const auto [raw_name, raw_value] = SplitPiece(piece);
    const std::string where = "query parameter " + std::to_string(index);
    std::optional<std::string> name = Decode(raw_name);
    std::optional<std::string> value = Decode(raw_value);
    if (!name || !value) {
      return Status::InvalidArgument(where + " has a '%' that is not followed by two hex digits");
    }
    if (name->empty()) return Status::InvalidArgument(where + " has no name");
    if (!CountCodePoints(*name) || !CountCodePoints(*value)) {
      return Status::InvalidArgument(where + " is not UTF-8 once percent-decoded");
    }
    if (name->find('\0') != std::string::npos || value->find('\0') != std::string::npos) {
      return Status::InvalidArgument(where + " holds a NUL character");
    }
    params.emplace_back(std::move(*name), std::move(*value));
  }
  return params;
}

Result<std::optional<int64_t>, Problem> ParseDetailQuery(std::string_view raw) {
  constexpr std::string_view kAsOf = "as_of";
  // Pieces are looked at one by one rather than through ParseQuery, which
  // refuses a whole query for one bad piece: a query the route served before
  // as_of existed is served the same way now. The query's length, bounded by
  // the server's header limit, bounds the loop.
  int given = 0;
  std::string_view raw_value;
  while (!raw.empty()) {
    const auto [raw_name, value] = SplitPiece(TakePiece(raw));
    if (Decode(raw_name) != kAsOf) continue;
    if (++given == 1) raw_value = value;
  }
  if (given == 0) return std::optional<int64_t>();
  ParamErrors errors;
  if (given > 1) {
    // Which of two positions was meant is a guess; refusing is not.
    errors.Add(std::string(kAsOf), "is given more than once");
    return std::move(errors).ToProblem();
  }
  // A broken '%' escape leaves no number to read: as malformed as a letter.
  const std::optional<std::string> value = Decode(raw_value);
  const std::optional<int64_t> as_of = value ? ParseNonNegativeDecimal(*value) : std::nullopt;
  if (!as_of) {
    errors.Add(std::string(kAsOf), "must be a log position: an integer from 0 to " +
                                       std::to_string(std::numeric_limits<int64_t>::max()));
    return std::move(errors).ToProblem();
  }
  return std::optional<int64_t>(*as_of);
}

Problem InvalidParameter(std::string parameter, std::string detail) {
  Problem p = MakeProblem("invalid_parameter", detail);
  p.errors.push_back(FieldError{"", std::move(parameter), std::move(detail)});
  return p;
}

std::optional<int64_t> ParseNonNegativeDecimal(std::string_view text) {
  if (text.empty()) return std::nullopt;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

Result<projections::ListRequest, Problem> ParseListQuery(std::string_view raw) {
  std::vector<Slot> slots = {
      {"search", {}}, {"order_by", {}}, {"limit", {}}, {"cursor", {}}, {"status", {}}};
  ParamErrors errors;
  if (const Result<void, Problem> collected = Collect(raw, slots, errors); !collected.ok()) {
    return collected.error();
  }
  const std::optional<std::string>& search = slots[0].value;
  const std::optional<std::string>& order_by = slots[1].value;
  const std::optional<std::string>& limit = slots[2].value;
  const std::optional<std::string>& cursor = slots[3].value;
  const std::optional<std::string>& status = slots[4].value;

  projections::ListRequest request;
  bool search_ok = true;
  if (search) {
    // ParseQuery made it UTF-8, as TrimUnicodeSpace requires.
    const std::string_view term = TrimUnicodeSpace(*search);
    if (HasControlCharacter(term)) {
      errors.Add("search", "must not contain control characters");
      search_ok = false;
    } else if (CountCodePoints(term).value_or(0) > projections::kMaxSearchCodePoints) {
      errors.Add("search", "must be at most " + std::to_string(projections::kMaxSearchCodePoints) +
                               " characters after trimming");
      search_ok = false;
    } else {
      request.search = std::string(term);
    }
  }
  bool order_ok = true;
  if (order_by) {
    if (const std::optional<projections::OrderBy> o = projections::ParseOrderBy(*order_by)) {
      request.order = *o;
    } else {
      errors.Add("order_by",
                 "must be created, -created, total_funded, -total_funded, end_date or "
                 "-end_date (or 생성일, 총펀딩금액, 마감일 with an optional -)");
      order_ok = false;
    }
  }
  bool status_ok = true;
  if (status) {
    if (const std::optional<projections::PostStatus> s = projections::ParsePostStatus(*status)) {
      request.status = *s;
    } else {
      errors.Add("status", "must be funding, successful or failed");
      status_ok = false;
    }
  }
  if (limit) {
    const std::optional<int64_t> n = ParseNonNegativeDecimal(*limit);
    if (!n || *n < 1 || *n > projections::kMaxListLimit) {
      errors.Add("limit", Range(1, projections::kMaxListLimit));
    } else {
      request.limit = static_cast<int>(*n);
    }
  }
  // A cursor can only be judged against the order and filters it must have
  // been made for; when those are wrong their errors say enough.
  if (cursor && !cursor->empty() && search_ok && order_ok && status_ok) {
    const Result<projections::CursorKey> key = projections::DecodeCursor(
        *cursor, request.order, projections::ListFilterKey(request.search, request.status));
    if (!key.ok()) {
      errors.Add("cursor", key.status().message());
    } else {
      request.cursor = *cursor;
    }
  }
  if (!errors.empty()) return std::move(errors).ToProblem();
  return request;
}

Result<projections::PageRequest, Problem> ParsePageQuery(std::string_view raw) {
  std::vector<Slot> slots = {{"limit", {}}, {"cursor", {}}};
  ParamErrors errors;
  if (const Result<void, Problem> collected = Collect(raw, slots, errors); !collected.ok()) {
    return collected.error();
  }
  projections::PageRequest request;
  if (const std::optional<std::string>& limit = slots[0].value) {
    const std::optional<int64_t> n = ParseNonNegativeDecimal(*limit);
    if (!n || *n < 1 || *n > projections::kMaxListLimit) {
      errors.Add("limit", Range(1, projections::kMaxListLimit));
    } else {
      request.limit = static_cast<int>(*n);
    }
  }
  if (const std::optional<std::string>& cursor = slots[1].value) {
    if (cursor->size() > projections::kMaxPageTokenBytes) {
      errors.Add("cursor",
                 "must be at most " + std::to_string(projections::kMaxPageTokenBytes) + " bytes");
    } else {
      request.cursor = *cursor;
    }
  }
  if (!errors.empty()) return std::move(errors).ToProblem();
  return request;
}

Result<EventsQuery, Problem> ParseEventsQuery(std::string_view raw) {
  std::vector<Slot> slots = {{"after", {}}, {"limit", {}}};
  ParamErrors errors;
  if (const Result<void, Problem> collected = Collect(raw, slots, errors); !collected.ok()) {
    return collected.error();
  }
  EventsQuery q;
  if (const std::optional<std::string>& after = slots[0].value) {
    if (const std::optional<int64_t> n = ParseNonNegativeDecimal(*after)) {
      q.after = *n;
    } else {
      errors.Add("after", Range(0, std::numeric_limits<int64_t>::max()));
    }
  }
  if (const std::optional<std::string>& limit = slots[1].value) {
    const std::optional<int64_t> n = ParseNonNegativeDecimal(*limit);
    if (!n || *n < 1 || *n > kMaxEventsLimit) {
      errors.Add("limit", Range(1, kMaxEventsLimit));
    } else {
      q.limit = static_cast<int>(*n);
    }
  }
  if (!errors.empty()) return std::move(errors).ToProblem();
  return q;
}

Result<std::optional<int64_t>, Problem> ParseStreamQuery(std::string_view raw) {
  std::vector<Slot> slots = {{"after", {}}};
  ParamErrors errors;
  if (const Result<void, Problem> collected = Collect(raw, slots, errors); !collected.ok()) {
    return collected.error();
  }
  std::optional<int64_t> after;
  if (const std::optional<std::string>& text = slots[0].value) {
    after = ParseNonNegativeDecimal(*text);
    if (!after) errors.Add("after", Range(0, std::numeric_limits<int64_t>::max()));
  }
  if (!errors.empty()) return std::move(errors).ToProblem();
  return after;
}

}  // namespace ledger::api
