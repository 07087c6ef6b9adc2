#include "common/json_writer.h"

#include <array>
#include <charconv>

#include "common/check.h"

namespace ledger {
namespace {

// What each byte becomes inside a string: 0 as it is, 'u' as \u00XX, any
// other letter as a backslash and that letter.
constexpr std::array<char, 256> MakeEscapes() {
  std::array<char, 256> table{};
  for (size_t c = 0; c < 0x20; ++c) table[c] = 'u';
  table['\b'] = 'b';
  table['\t'] = 't';
  table['\n'] = 'n';
  table['\f'] = 'f';
  table['\r'] = 'r';
  table['"'] = '"';
  table['\\'] = '\\';
  return table;
}
constexpr std::array<char, 256> kEscapes = MakeEscapes();

constexpr char kUpperHex[] = "0123456789ABCDEF";

}  // namespace

void JsonWriter::BeforeKey() {
  LEDGER_CHECK(!levels_.empty() && levels_.back().in_object && levels_.back().values % 2 == 0,
               "JsonWriter: a key outside an object or where a value belongs");
  Level& level = levels_.back();
  if (level.values > 0) out_.push_back(',');
  ++level.values;
}

void JsonWriter::BeforeValue() {
  if (levels_.empty()) {
    LEDGER_CHECK(!top_written_, "JsonWriter: a second top-level value");
    top_written_ = true;
    return;
  }
  Level& level = levels_.back();
  if (level.in_object) {
    LEDGER_CHECK(level.values % 2 == 1, "JsonWriter: a value in an object without its key");
    out_.push_back(':');
  } else if (level.values > 0) {
    out_.push_back(',');
  }
  ++level.values;
}

JsonWriter& JsonWriter::StartObject() {
  BeforeValue();
  out_.push_back('{');
  levels_.push_back(Level{true, 0});
  return *this;
}

JsonWriter& JsonWriter::EndObject() {
  LEDGER_CHECK(!levels_.empty() && levels_.back().in_object && levels_.back().values % 2 == 0,
               "JsonWriter: EndObject without its object or after a dangling key");
  levels_.pop_back();
  out_.push_back('}');
  return *this;
}

JsonWriter& JsonWriter::StartArray() {
  BeforeValue();
  out_.push_back('[');
  levels_.push_back(Level{false, 0});
  return *this;
}

JsonWriter& JsonWriter::EndArray() {
  LEDGER_CHECK(!levels_.empty() && !levels_.back().in_object,
               "JsonWriter: EndArray without its array");
  levels_.pop_back();
  out_.push_back(']');
  return *this;
}

JsonWriter& JsonWriter::Key(std::string_view name) {
  BeforeKey();
  AppendEscaped(name);
  return *this;
}

JsonWriter& JsonWriter::String(std::string_view text) {
  BeforeValue();
  AppendEscaped(text);
  return *this;
}

JsonWriter& JsonWriter::Int64(int64_t value) {
  BeforeValue();
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  LEDGER_CHECK(ec == std::errc(), "an int64 fits in 24 characters");
  out_.append(digits, end);
  return *this;
}

JsonWriter& JsonWriter::Bool(bool value) {
  BeforeValue();
  out_.append(value ? "true" : "false");
  return *this;
}

JsonWriter& JsonWriter::Null() {
  BeforeValue();
  out_.append("null");
  return *this;
}

JsonWriter& JsonWriter::Raw(std::string_view json) {
  BeforeValue();
  out_.append(json);
  return *this;
}

std::string JsonWriter::Take() && {
  LEDGER_CHECK(complete(), "JsonWriter: Take before the value is complete");
  return std::move(out_);
}

void JsonWriter::AppendEscaped(std::string_view text) {
  out_.reserve(out_.size() + text.size() + 2);
  out_.push_back('"');
  size_t run = 0;  // start of the bytes not yet copied
  for (size_t i = 0; i < text.size(); ++i) {
    const char escape = kEscapes[static_cast<unsigned char>(text[i])];
    if (escape == 0) continue;
    out_.append(text.data() + run, i - run);
    run = i + 1;
    out_.push_back('\\');
    if (escape != 'u') {
      out_.push_back(escape);
      continue;
    }
    const auto byte = static_cast<unsigned char>(text[i]);
    const char piece[] = {'u', '0', '0', kUpperHex[byte >> 4U], kUpperHex[byte & 0xfU]};
    out_.append(piece, sizeof piece);
  }
  out_.append(text.data() + run, text.size() - run);
  out_.push_back('"');
}

}  // namespace ledger
