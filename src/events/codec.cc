#include "events/codec.h"

#include <charconv>
#include <type_traits>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>

#include "common/json_writer.h"
#include "common/utf8.h"
#include "events/canonical_fast.h"

namespace ledger::events {
namespace {

// `schema_version` is the event's: a version-1 event is written in its own
// shape, so that re-encoding an upcast event gives back its stored bytes.
void WriteData(JsonWriter& w, int32_t schema_version, const PostCreated& d) {
  w.Member("title", d.title);
  w.Member("uploader", d.uploader);
  w.Member("owner", d.owner);
  w.Member("description", d.description);
  w.Member("target_amount", d.target_amount);
  w.Member("funding_unit", d.funding_unit);
  w.Member("end_date", FormatDate(d.end_date));
  w.Member("closes_at", FormatTimestamp(d.closes_at));
  if (schema_version < 2) return;
  w.Member("funding_model", FundingModelName(d.funding_model));
  w.Key("max_fundings_per_backer");
  if (d.max_fundings_per_backer) {
    w.Int64(*d.max_fundings_per_backer);
  } else {
    w.Null();
  }
}

void WriteData(JsonWriter& w, int32_t /*schema_version*/, const PostEdited& d) {
  if (d.title) w.Member("title", *d.title);
  if (d.uploader) w.Member("uploader", *d.uploader);
  if (d.description) w.Member("description", *d.description);
  if (d.funding_unit) w.Member("funding_unit", *d.funding_unit);
  if (d.end_date) w.Member("end_date", FormatDate(*d.end_date));
  if (d.closes_at) w.Member("closes_at", FormatTimestamp(*d.closes_at));
  if (d.funding_model) w.Member("funding_model", FundingModelName(*d.funding_model));
  if (d.max_fundings_per_backer) {
    w.Key("max_fundings_per_backer");
    if (*d.max_fundings_per_backer) {
      w.Int64(**d.max_fundings_per_backer);
    } else {
      w.Null();
    }
  }
}

void WriteData(JsonWriter& w, int32_t /*schema_version*/, const PostDeleted& d) {
  w.Member("refunded_amount", d.refunded_amount);
  w.Member("refunded_backers", d.refunded_backers);
}

template <typename T>
  requires std::is_same_v<T, PostFunded> || std::is_same_v<T, FundingRefunded>
void WriteData(JsonWriter& w, int32_t /*schema_version*/, const T& d) {
  w.Member("backer", d.backer);
  w.Member("units", d.units);
  w.Member("amount", d.amount);
}

void WriteData(JsonWriter& w, int32_t /*schema_version*/, const FundingCancelled& d) {
  w.Member("backer", d.backer);
  w.Member("funding_position", d.funding_position);
  w.Member("units", d.units);
  w.Member("amount", d.amount);
}

void WriteData(JsonWriter& w, int32_t /*schema_version*/, const PostSettled& d) {
  w.Member("outcome", OutcomeName(d.outcome));
  w.Member("total_funded", d.total_funded);
  w.Member("participant_count", d.participant_count);
  w.Member("refunded_amount", d.refunded_amount);
  w.Member("refunded_backers", d.refunded_backers);
}

void WriteCanonicalFields(JsonWriter& w, const Event& e) {
  w.Member("position", e.position);
  w.Member("stream", StreamName(e.stream));
  w.Member("stream_version", e.stream_version);
  w.Member("type", TypeName(e.type()));
  w.Member("schema_version", e.schema_version);
  w.Member("recorded_at", FormatTimestamp(e.recorded_at));
  w.Member("actor", e.actor);
  w.Member("correlation_id", e.correlation_id);
  w.Key("idempotency_key");
  if (e.idempotency_key.empty()) {
    w.Null();
  } else {
    w.String(e.idempotency_key);
  }
  w.Key("data");
  w.StartObject();
  std::visit([&w, &e](const auto& d) { WriteData(w, e.schema_version, d); }, e.data);
  w.EndObject();
}

// Strict field access over one JSON object: each Take* marks the member as
// seen; Finish() fails when a required member was missing or an unknown
// member was present. The first problem wins.
class ObjectReader {
 public:
  ObjectReader(const rapidjson::Value& obj, std::string_view where) : obj_(obj), where_(where) {}

  const rapidjson::Value* Find(std::string_view name, bool required) {
    const auto it =
        obj_.FindMember(rapidjson::Value(rapidjson::StringRef(name.data(), name.size())));
    if (it == obj_.MemberEnd()) {
      if (required) Fail("missing field '" + std::string(name) + "'");
      return nullptr;
    }
    ++seen_;
    return &it->value;
  }

  std::optional<std::string> String(std::string_view name, bool required = true) {
    const rapidjson::Value* v = Find(name, required);
    if (v == nullptr) return std::nullopt;
    if (!v->IsString()) {
      Fail("field '" + std::string(name) + "' must be a string");
      return std::nullopt;
    }
    std::string text(v->GetString(), v->GetStringLength());
    // RapidJSON 1.1 decodes a \u escape of a lone low surrogate ("\udc00")
    // into bytes that are not UTF-8.
    if (!CountCodePoints(text)) {
      Fail("field '" + std::string(name) + "' is not valid UTF-8");
      return std::nullopt;
    }
    return text;
  }

  std::optional<int64_t> Int(std::string_view name, bool required = true) {
    const rapidjson::Value* v = Find(name, required);
    if (v == nullptr) return std::nullopt;
    if (!v->IsInt64()) {
      Fail("field '" + std::string(name) + "' must be a 64-bit integer");
      return std::nullopt;
    }
    return v->GetInt64();
  }

  bool Has(std::string_view name) const {
    return obj_.HasMember(rapidjson::Value(rapidjson::StringRef(name.data(), name.size())));
  }

  // A required member that is null or a 64-bit integer; null reads as nullopt.
  std::optional<int64_t> NullableInt(std::string_view name) {
    const rapidjson::Value* v = Find(name, true);
    if (v == nullptr || v->IsNull()) return std::nullopt;
    if (!v->IsInt64()) {
      Fail("field '" + std::string(name) + "' must be null or a 64-bit integer");
      return std::nullopt;
    }
    return v->GetInt64();
  }

  // A required string member naming one value of an enum.
  template <typename Enum>
  Enum Named(std::string_view name, std::optional<Enum> (*from_name)(std::string_view)) {
    const auto text = String(name);
    if (!text) return Enum{};
    const std::optional<Enum> value = from_name(*text);
    if (!value) Fail("field '" + std::string(name) + "' has an unknown value '" + *text + "'");
    return value.value_or(Enum{});
  }

  std::optional<CivilDate> Date(std::string_view name, bool required = true) {
    const auto text = String(name, required);
    if (!text) return std::nullopt;
    auto date = ParseDate(*text);
    if (!date) Fail("field '" + std::string(name) + "' is not a YYYY-MM-DD date");
    return date;
  }

  std::optional<Timestamp> Time(std::string_view name, bool required = true) {
    const auto text = String(name, required);
    if (!text) return std::nullopt;
    auto t = ParseTimestamp(*text);
    if (!t) Fail("field '" + std::string(name) + "' is not a canonical UTC timestamp");
    return t;
  }

  void Fail(const std::string& problem) {
    if (status_.ok()) status_ = Status::Corruption(std::string(where_) + ": " + problem);
  }

  Status Finish() {
    if (status_.ok() && seen_ != obj_.MemberCount()) {
      Fail("unknown field present");
    }
    return status_;
  }

 private:
  const rapidjson::Value& obj_;
  std::string_view where_;
  rapidjson::SizeType seen_ = 0;
  Status status_;
};

template <typename T>
T Need(std::optional<T> v) {
  return v ? std::move(*v) : T{};
}

// PostFunded and FundingRefunded carry the same fields.
template <typename T>
T ReadFunding(ObjectReader& r) {
  T d;
  d.backer = Need(r.String("backer"));
  d.units = Need(r.Int("units"));
  d.amount = Need(r.Int("amount"));
  return d;
}

PostCreated ReadPostCreated(int32_t schema_version, ObjectReader& r) {
  PostCreated d;
  d.title = Need(r.String("title"));
  d.uploader = Need(r.String("uploader"));
  d.owner = Need(r.String("owner"));
  d.description = Need(r.String("description"));
  d.target_amount = Need(r.Int("target_amount"));
  d.funding_unit = Need(r.Int("funding_unit"));
  d.end_date = Need(r.Date("end_date"));
  d.closes_at = Need(r.Time("closes_at"));
  if (schema_version >= 2) {
    d.funding_model = r.Named<FundingModel>("funding_model", FundingModelFromName);
    d.max_fundings_per_backer = r.NullableInt("max_fundings_per_backer");
  }
  // Version 1: the defaults, keep_it_all and no limit, are the upcast.
  return d;
}

EventData ReadData(EventType type, int32_t schema_version, ObjectReader& r) {
  switch (type) {
    case EventType::kPostCreated:
      return ReadPostCreated(schema_version, r);
    case EventType::kPostEdited: {
      PostEdited d;
      d.title = r.String("title", false);
      d.uploader = r.String("uploader", false);
      d.description = r.String("description", false);
      d.funding_unit = r.Int("funding_unit", false);
      d.end_date = r.Date("end_date", false);
      d.closes_at = r.Time("closes_at", false);
      if (d.end_date.has_value() != d.closes_at.has_value()) {
        r.Fail("end_date and closes_at must appear together");
      }
      if (schema_version >= 2) {
        if (r.Has("funding_model")) {
          d.funding_model = r.Named<FundingModel>("funding_model", FundingModelFromName);
        }
        if (r.Has("max_fundings_per_backer")) {
          d.max_fundings_per_backer = r.NullableInt("max_fundings_per_backer");
        }
      }
      return d;
    }
    case EventType::kPostDeleted: {
      PostDeleted d;
      d.refunded_amount = Need(r.Int("refunded_amount"));
      d.refunded_backers = Need(r.Int("refunded_backers"));
      return d;
    }
    case EventType::kPostFunded:
      return ReadFunding<PostFunded>(r);
    case EventType::kFundingRefunded:
      return ReadFunding<FundingRefunded>(r);
    case EventType::kFundingCancelled: {
      FundingCancelled d;
      d.backer = Need(r.String("backer"));
      d.funding_position = Need(r.Int("funding_position"));
      d.units = Need(r.Int("units"));
      d.amount = Need(r.Int("amount"));
      return d;
    }
    case EventType::kPostSettled: {
      PostSettled d;
      d.outcome = r.Named<SettlementOutcome>("outcome", OutcomeFromName);
      d.total_funded = Need(r.Int("total_funded"));
      d.participant_count = Need(r.Int("participant_count"));
      d.refunded_amount = Need(r.Int("refunded_amount"));
      d.refunded_backers = Need(r.Int("refunded_backers"));
      return d;
    }
  }
  r.Fail("unhandled event type");
  return PostDeleted{};
}

std::optional<int64_t> ParseStreamName(std::string_view name) {
  constexpr std::string_view kPrefix = "post-";
  if (name.substr(0, kPrefix.size()) != kPrefix || name.size() == kPrefix.size()) {
    return std::nullopt;
  }
  int64_t id = 0;
  const char* first = name.data() + kPrefix.size();
  const char* last = name.data() + name.size();
  const auto [ptr, ec] = std::from_chars(first, last, id);
  if (ec != std::errc() || ptr != last || id <= 0 || *first == '0') {
    return std::nullopt;
  }
  return id;
}

}  // namespace

std::string StreamName(int64_t stream) { return "post-" + std::to_string(stream); }

std::string EncodeCanonical(const Event& event) {
  JsonWriter w;
  w.StartObject();
  WriteCanonicalFields(w, event);
  w.EndObject();
  return std::move(w).Take();
}

std::string EncodeEnvelopeJson(const Event& event) {
  JsonWriter w;
  w.StartObject();
  WriteCanonicalFields(w, event);
  w.Member("prev_hash", ToHex(event.prev_hash));
  w.Member("hash", ToHex(event.hash));
  w.EndObject();
  return std::move(w).Take();
}

std::optional<RecordEnvelope> EnvelopeFromRecord(const Hash& prev_hash, const Hash& hash,
                                                 std::string_view canonical) {
  // Reads the digits after `prefix` at the start of `text` and moves past
  // them and `suffix`.
  const auto number = [](std::string_view& text, std::string_view prefix,
                         std::string_view suffix) -> std::optional<int64_t> {
    if (!text.starts_with(prefix)) return std::nullopt;
    text.remove_prefix(prefix.size());
    int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end == text.data() || *text.data() == '0' || value <= 0) {
      return std::nullopt;
    }
    text.remove_prefix(static_cast<size_t>(end - text.data()));
    if (!text.starts_with(suffix)) return std::nullopt;
    text.remove_prefix(suffix.size());
    return value;
  };
  std::string_view rest = canonical;
  const std::optional<int64_t> position = number(rest, "{\"position\":", ",");
  if (!position) return std::nullopt;
  const std::optional<int64_t> stream = number(rest, "\"stream\":\"post-", "\",");
  if (!stream || !canonical.ends_with("}}")) return std::nullopt;
  RecordEnvelope envelope{*position, *stream, {}};
  constexpr std::string_view kPrev = ",\"prev_hash\":\"";
  constexpr std::string_view kHash = "\",\"hash\":\"";
  constexpr size_t kHexChars = 64;
  std::string& json = envelope.json;
  json.reserve(canonical.size() + kPrev.size() + kHash.size() + 2 * kHexChars + 2);
  json.append(canonical.substr(0, canonical.size() - 1));
  json.append(kPrev);
  json.append(ToHex(prev_hash));
  json.append(kHash);
  json.append(ToHex(hash));
  json.append("\"}");
  return envelope;
}

std::string EncodeHeadJson(const LogHead& head) {
  JsonWriter w;
  w.StartObject().Member("position", head.position).Member("hash", ToHex(head.hash)).EndObject();
  return std::move(w).Take();
}

Result<Event> DecodeCanonical(std::string_view bytes) {
  // Bytes in exactly the canonical layout (all that the service writes) skip
  // the DOM; everything else, and every error, is the general parser's.
  if (std::optional<Event> fast = DecodeCanonicalFast(bytes)) return std::move(*fast);
  // RapidJSON's MemoryStream takes a NUL byte for the end of the input, and
  // Parse(text, length) skips any of a byte order mark's three bytes in
  // front; both would let bytes through that are not the event's JSON.
  if (bytes.find('\0') != std::string_view::npos) {
    return Status::Corruption("event holds a NUL byte");
  }
  rapidjson::Document doc;
  rapidjson::MemoryStream input(bytes.data(), bytes.size());
  doc.ParseStream<rapidjson::kParseValidateEncodingFlag, rapidjson::UTF8<>>(input);
  if (doc.HasParseError()) {
    return Status::Corruption(std::string("event is not valid JSON: ") +
                              rapidjson::GetParseError_En(doc.GetParseError()) + " at offset " +
                              std::to_string(doc.GetErrorOffset()));
  }
  if (!doc.IsObject()) {
    return Status::Corruption("event is not a JSON object");
  }
  Event e;
  ObjectReader r(doc, "event");
  e.position = Need(r.Int("position"));
  const auto stream = r.String("stream");
  e.stream_version = Need(r.Int("stream_version"));
  const auto type_name = r.String("type");
  e.schema_version = static_cast<int32_t>(Need(r.Int("schema_version")));
  e.recorded_at = Need(r.Time("recorded_at"));
  e.actor = Need(r.String("actor"));
  e.correlation_id = Need(r.String("correlation_id"));
  const rapidjson::Value* key = r.Find("idempotency_key", true);
  if (key != nullptr) {
    if (key->IsString() && key->GetStringLength() > 0) {
      e.idempotency_key.assign(key->GetString(), key->GetStringLength());
      if (!CountCodePoints(e.idempotency_key)) {
        r.Fail("field 'idempotency_key' is not valid UTF-8");
      }
    } else if (!key->IsNull()) {
      r.Fail("field 'idempotency_key' must be null or a non-empty string");
    }
  }
  const rapidjson::Value* data = r.Find("data", true);
  LEDGER_RETURN_IF_ERROR(r.Finish());

  if (e.position <= 0 || e.stream_version <= 0) {
    return Status::Corruption("event position and stream_version must be positive");
  }
  const auto stream_id = ParseStreamName(*stream);
  if (!stream_id) {
    return Status::Corruption("event stream '" + *stream + "' is not of the form post-<id>");
  }
  e.stream = *stream_id;
  const auto type = TypeFromName(*type_name);
  if (!type) {
    return Status::Corruption("unknown event type '" + *type_name + "'");
  }
  if (e.schema_version < FirstSchemaVersion(*type) || e.schema_version > kCurrentSchemaVersion) {
    return Status::Corruption("unsupported schema_version " + std::to_string(e.schema_version) +
                              " for " + *type_name);
  }
  if (!data->IsObject()) {
    return Status::Corruption("event data must be an object");
  }
  ObjectReader dr(*data, "event data");
  e.data = ReadData(*type, e.schema_version, dr);
  LEDGER_RETURN_IF_ERROR(dr.Finish());
  return e;
}

}  // namespace ledger::events
