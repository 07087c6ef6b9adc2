#include "events/canonical_fast.h"

#include <charconv>
#include <cstring>
#include <string>

#include "common/time_format.h"

namespace ledger::events {
namespace {

// Reads canonical bytes front to back. Every step returns false when the
// bytes are not what EncodeCanonical would have written there.
class Scanner {
 public:
  explicit Scanner(std::string_view bytes) : p_(bytes.data()), end_(bytes.data() + bytes.size()) {}

  bool done() const { return p_ == end_; }

  // Exactly `text`.
  bool Lit(std::string_view text) {
    if (static_cast<size_t>(end_ - p_) < text.size() ||
        std::memcmp(p_, text.data(), text.size()) != 0) {
      return false;
    }
    p_ += text.size();
    return true;
  }

  // A string of printable ASCII (0x20..0x7e) without backslashes: what the
  // writer puts out unescaped and unchanged. Other strings go to the general
  // parser, which unescapes them and validates their UTF-8.
  bool Str(std::string_view* out) {
    if (p_ == end_ || *p_ != '"') return false;
    const char* start = ++p_;
    while (p_ != end_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        *out = std::string_view(start, static_cast<size_t>(p_ - start));
        ++p_;
        return true;
      }
      if (c < 0x20 || c >= 0x7f || c == '\\') return false;
      ++p_;
    }
    return false;
  }

  bool Str(std::string* out) {
    std::string_view view;
    if (!Str(&view)) return false;
    out->assign(view);
    return true;
  }

  // An integer as std::to_chars writes an int64: "0", or an optional minus
  // and digits without a leading zero, within int64.
  bool Int(int64_t* out) {
    const char* first = p_;
    const bool negative = p_ != end_ && *p_ == '-';
    const char* digits = negative ? p_ + 1 : p_;
    if (digits == end_ || *digits < '0' || *digits > '9') return false;
    if (*digits == '0' &&
        (negative || (digits + 1 != end_ && digits[1] >= '0' && digits[1] <= '9'))) {
      return false;  // "-0" or a leading zero
    }
    const auto [ptr, ec] = std::from_chars(first, end_, *out);
    if (ec != std::errc()) return false;  // out of range
    p_ = ptr;
    return true;
  }

  bool NullableInt(std::optional<int64_t>* out) {
    if (Lit("null")) {
      out->reset();
      return true;
    }
    int64_t v = 0;
    if (!Int(&v)) return false;
    *out = v;
    return true;
  }

  bool Time(Timestamp* out) {
    std::string_view text;
    if (!Str(&text)) return false;
    const auto t = ParseTimestamp(text);
    if (!t) return false;
    *out = *t;
    return true;
  }

  bool Date(CivilDate* out) {
    std::string_view text;
    if (!Str(&text)) return false;
    const auto d = ParseDate(text);
    if (!d) return false;
    *out = *d;
    return true;
  }

  template <typename Enum>
  bool Named(std::optional<Enum> (*from_name)(std::string_view), Enum* out) {
    std::string_view text;
    if (!Str(&text)) return false;
    const auto value = from_name(text);
    if (!value) return false;
    *out = *value;
    return true;
  }

  // True when the next member is `key` (its ,"key": consumed); false, with
  // nothing consumed, when it is not.
  bool Optional(std::string_view comma_key) { return Lit(comma_key); }

 private:
  const char* p_;
  const char* end_;
};

bool ReadStream(Scanner& s, int64_t* stream) {
  std::string_view name;
  if (!s.Str(&name)) return false;
  constexpr std::string_view kPrefix = "post-";
  if (name.size() <= kPrefix.size() || name.substr(0, kPrefix.size()) != kPrefix) return false;
  const char* first = name.data() + kPrefix.size();
  const char* last = name.data() + name.size();
  if (*first < '1' || *first > '9') return false;
  const auto [ptr, ec] = std::from_chars(first, last, *stream);
  return ec == std::errc() && ptr == last && *stream > 0;
}

// The data members in WriteData's order (codec.cc), the first one without a
// comma.
bool ReadData(Scanner& s, int32_t schema_version, PostCreated& d) {
  if (!(s.Lit("\"title\":") && s.Str(&d.title) && s.Lit(",\"uploader\":") && s.Str(&d.uploader) &&
        s.Lit(",\"owner\":") && s.Str(&d.owner) && s.Lit(",\"description\":") &&
        s.Str(&d.description) && s.Lit(",\"target_amount\":") && s.Int(&d.target_amount) &&
        s.Lit(",\"funding_unit\":") && s.Int(&d.funding_unit) && s.Lit(",\"end_date\":") &&
        s.Date(&d.end_date) && s.Lit(",\"closes_at\":") && s.Time(&d.closes_at))) {
    return false;
  }
  if (schema_version < 2) return true;
  return s.Lit(",\"funding_model\":") && s.Named(FundingModelFromName, &d.funding_model) &&
         s.Lit(",\"max_fundings_per_backer\":") && s.NullableInt(&d.max_fundings_per_backer);
}

bool ReadData(Scanner& s, int32_t schema_version, PostEdited& d) {
  // Every member is optional; the first one present has no comma.
  bool first = true;
  const auto next = [&s, &first](std::string_view key) {
    const std::string member = (first ? "\"" : ",\"") + std::string(key) + "\":";
    if (!s.Lit(member)) return false;
    first = false;
    return true;
  };
  if (next("title") && !s.Str(&d.title.emplace())) return false;
  if (next("uploader") && !s.Str(&d.uploader.emplace())) return false;
  if (next("description") && !s.Str(&d.description.emplace())) return false;
  if (next("funding_unit") && !s.Int(&d.funding_unit.emplace())) return false;
  if (next("end_date") && !s.Date(&d.end_date.emplace())) return false;
  if (next("closes_at") && !s.Time(&d.closes_at.emplace())) return false;
  if (d.end_date.has_value() != d.closes_at.has_value()) return false;
  if (schema_version >= 2) {
    if (next("funding_model") &&
        !s.Named(FundingModelFromName, &d.funding_model.emplace(FundingModel::kKeepItAll))) {
      return false;
    }
    if (next("max_fundings_per_backer") && !s.NullableInt(&d.max_fundings_per_backer.emplace())) {
      return false;
    }
  }
  return true;
}

bool ReadData(Scanner& s, int32_t /*schema_version*/, PostDeleted& d) {
  return s.Lit("\"refunded_amount\":") && s.Int(&d.refunded_amount) &&
         s.Lit(",\"refunded_backers\":") && s.Int(&d.refunded_backers);
}

template <typename T>
  requires std::is_same_v<T, PostFunded> || std::is_same_v<T, FundingRefunded>
bool ReadData(Scanner& s, int32_t /*schema_version*/, T& d) {
  return s.Lit("\"backer\":") && s.Str(&d.backer) && s.Lit(",\"units\":") && s.Int(&d.units) &&
         s.Lit(",\"amount\":") && s.Int(&d.amount);
}

bool ReadData(Scanner& s, int32_t /*schema_version*/, FundingCancelled& d) {
  return s.Lit("\"backer\":") && s.Str(&d.backer) && s.Lit(",\"funding_position\":") &&
         s.Int(&d.funding_position) && s.Lit(",\"units\":") && s.Int(&d.units) &&
         s.Lit(",\"amount\":") && s.Int(&d.amount);
}

bool ReadData(Scanner& s, int32_t /*schema_version*/, PostSettled& d) {
  return s.Lit("\"outcome\":") && s.Named(OutcomeFromName, &d.outcome) &&
         s.Lit(",\"total_funded\":") && s.Int(&d.total_funded) &&
         s.Lit(",\"participant_count\":") && s.Int(&d.participant_count) &&
         s.Lit(",\"refunded_amount\":") && s.Int(&d.refunded_amount) &&
         s.Lit(",\"refunded_backers\":") && s.Int(&d.refunded_backers);
}

template <typename T>
bool ReadDataAs(Scanner& s, int32_t schema_version, EventData& data) {
  return ReadData(s, schema_version, data.emplace<T>());
}

bool ReadDataOf(Scanner& s, EventType type, int32_t schema_version, EventData& data) {
  switch (type) {
    case EventType::kPostCreated:
      return ReadDataAs<PostCreated>(s, schema_version, data);
    case EventType::kPostEdited:
      return ReadDataAs<PostEdited>(s, schema_version, data);
    case EventType::kPostDeleted:
      return ReadDataAs<PostDeleted>(s, schema_version, data);
    case EventType::kPostFunded:
      return ReadDataAs<PostFunded>(s, schema_version, data);
    case EventType::kFundingRefunded:
      return ReadDataAs<FundingRefunded>(s, schema_version, data);
    case EventType::kFundingCancelled:
      return ReadDataAs<FundingCancelled>(s, schema_version, data);
    case EventType::kPostSettled:
      return ReadDataAs<PostSettled>(s, schema_version, data);
  }
  return false;
}

}  // namespace

std::optional<Event> DecodeCanonicalFast(std::string_view bytes) {
  Scanner s(bytes);
  Event e;
  std::string_view type_name;
  int64_t schema_version = 0;
  if (!(s.Lit("{\"position\":") && s.Int(&e.position) && s.Lit(",\"stream\":") &&
        ReadStream(s, &e.stream) && s.Lit(",\"stream_version\":") && s.Int(&e.stream_version) &&
        s.Lit(",\"type\":") && s.Str(&type_name) && s.Lit(",\"schema_version\":") &&
        s.Int(&schema_version) && s.Lit(",\"recorded_at\":") && s.Time(&e.recorded_at) &&
        s.Lit(",\"actor\":") && s.Str(&e.actor) && s.Lit(",\"correlation_id\":") &&
        s.Str(&e.correlation_id) && s.Lit(",\"idempotency_key\":"))) {
    return std::nullopt;
  }
  if (!s.Lit("null")) {
    // A key is a non-empty string; an empty one is an error of the general
    // parser.
    if (!s.Str(&e.idempotency_key) || e.idempotency_key.empty()) return std::nullopt;
  }
  if (e.position <= 0 || e.stream_version <= 0) return std::nullopt;
  const std::optional<EventType> type = TypeFromName(type_name);
  if (!type || schema_version < FirstSchemaVersion(*type) ||
      schema_version > kCurrentSchemaVersion) {
    return std::nullopt;
  }
  e.schema_version = static_cast<int32_t>(schema_version);
  if (!(s.Lit(",\"data\":{") && ReadDataOf(s, *type, e.schema_version, e.data) && s.Lit("}}") &&
        s.done())) {
    return std::nullopt;
  }
  return e;
}

}  // namespace ledger::events
