#pragma once

// The one JSON writer of the service: event envelopes and canonical bytes,
// API answers, problem details, tool output. Compact (no white space), UTF-8
// written as it is, and escaped exactly as the canonical event bytes have
// always been (docs/architecture.md, "Canonical bytes"): `"` and `\` with a
// backslash; \b \t \n \f \r; every other byte below 0x20 as \u00XX with
// upper-case hex digits; nothing else. The caller supplies valid UTF-8.
//
// Structure is the caller's to get right (a key only inside an object, then
// exactly one value); a misuse is a bug and stops the process.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ledger {

class JsonWriter {
 public:
  JsonWriter() = default;
  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;

  JsonWriter& StartObject();
  JsonWriter& EndObject();
  JsonWriter& StartArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view name);

  JsonWriter& String(std::string_view text);
  JsonWriter& Int64(int64_t value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();
  // A complete JSON value written elsewhere (e.g. an encoded envelope),
  // spliced in unchanged. REQUIRES: `json` is one valid JSON value.
  JsonWriter& Raw(std::string_view json);

  // Key(name) followed by the value. (A string literal must not become a
  // bool, nor a bool an integer: each has its own overload.)
  JsonWriter& Member(std::string_view name, std::string_view text) {
    return Key(name).String(text);
  }
  JsonWriter& Member(std::string_view name, const char* text) { return Key(name).String(text); }
  JsonWriter& Member(std::string_view name, bool value) { return Key(name).Bool(value); }
  template <std::signed_integral T>
  JsonWriter& Member(std::string_view name, T value) {
    return Key(name).Int64(value);
  }

  // Whether the top-level value is finished.
  bool complete() const { return levels_.empty() && top_written_; }
  // The text so far. REQUIRES for Take(): complete().
  std::string_view view() const { return out_; }
  std::string Take() &&;

 private:
  struct Level {
    bool in_object = false;
    size_t values = 0;  // in an object, keys and values both count
  };
  // Separators before a key or value, and the bookkeeping of where it goes.
  void BeforeKey();
  void BeforeValue();
  void AppendEscaped(std::string_view text);

  std::string out_;
  std::vector<Level> levels_;
  bool top_written_ = false;
};

}  // namespace ledger
