#include "api/strict_json.h"

#include <charconv>
#include <string>
#include <system_error>
#include <unordered_set>
#include <utility>

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include "common/utf8.h"

namespace ledger::api {
namespace {

using Kind = JsonValue::Kind;

// Numbers arrive as their literal text (kParseNumbersAsStringsFlag), so no
// integer is ever rounded through double. The iterative parser keeps the C++
// stack flat whatever the input; the depth bound is enforced by TreeBuilder.
constexpr unsigned kReadFlags = rapidjson::kParseValidateEncodingFlag |
                                rapidjson::kParseNumbersAsStringsFlag |
                                rapidjson::kParseIterativeFlag;

// Builds a JsonValue from the reader's SAX events, refusing (by returning
// false, which stops the reader) what RapidJSON itself accepts but we do not:
// duplicate names, excess depth, strings that are not UTF-8 after \u escapes
// were decoded (RapidJSON 1.1 lets a lone low surrogate "\udc00" through).
class TreeBuilder : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, TreeBuilder> {
 public:
  bool Null() { return Add(JsonValue{}); }
  bool Bool(bool b) {
    JsonValue v;
    v.kind = b ? Kind::kTrue : Kind::kFalse;
    return Add(std::move(v));
  }
  bool RawNumber(const char* str, rapidjson::SizeType length, bool /*copy*/) {
    JsonValue v;
    v.kind = Kind::kNumber;
    v.text.assign(str, length);
    return Add(std::move(v));
  }
  bool String(const char* str, rapidjson::SizeType length, bool /*copy*/) {
    JsonValue v;
    v.kind = Kind::kString;
    v.text.assign(str, length);
    if (!CountCodePoints(v.text)) {
      error_ = "has a \\u escape of a lone surrogate in " + OrRoot(CurrentPath());
      return false;
    }
    return Add(std::move(v));
  }
  bool StartObject() { return Open(Kind::kObject); }
  bool Key(const char* str, rapidjson::SizeType length, bool /*copy*/) {
    std::string name(str, length);
    if (!CountCodePoints(name)) {
      error_ = "has a \\u escape of a lone surrogate in a member name";
      return false;
    }
    if (!names_.back().insert(name).second) {
      keys_.back() = std::move(name);
      error_ = "has a duplicate member " + CurrentPath();
      return false;
    }
    keys_.back() = std::move(name);
    return true;
  }
  bool EndObject(rapidjson::SizeType /*count*/) { return Close(); }
  bool StartArray() { return Open(Kind::kArray); }
  bool EndArray(rapidjson::SizeType /*count*/) { return Close(); }
  // Int, Double, ...: never called under kParseNumbersAsStringsFlag.
  bool Default() {
    error_ = "holds a value the reader did not expect";
    return false;
  }

  const std::string& error() const { return error_; }
  JsonValue TakeRoot() { return std::move(root_); }

 private:
  static std::string OrRoot(std::string path) {
    if (path.empty()) path = "the top level";
    return path;
  }

  bool Open(Kind kind) {
    if (open_.size() >= kMaxJsonDepth) {
      error_ = "nests deeper than " + std::to_string(kMaxJsonDepth) + " levels";
      return false;
    }
    JsonValue v;
    v.kind = kind;
    open_.push_back(std::move(v));
    keys_.emplace_back();
    names_.emplace_back();
    return true;
  }

  bool Close() {
    JsonValue v = std::move(open_.back());
    open_.pop_back();
    keys_.pop_back();
    names_.pop_back();
    return Add(std::move(v));
  }

  bool Add(JsonValue v) {
    if (open_.empty()) {
      root_ = std::move(v);
    } else if (open_.back().kind == Kind::kArray) {
      open_.back().elements.push_back(std::move(v));
    } else {
      open_.back().members.push_back(JsonMember{std::move(keys_.back()), std::move(v)});
      keys_.back().clear();
    }
    return true;
  }

  // The JSON pointer of the value being read now.
  std::string CurrentPath() const {
    std::string path;
    for (size_t i = 0; i < open_.size(); ++i) {
      path += '/';
      if (open_[i].kind == Kind::kArray) {
        path += std::to_string(open_[i].elements.size());
      } else {
        path += EscapePointerToken(keys_[i]);
      }
    }
    return path;
  }

  std::vector<JsonValue> open_;                         // containers being read, outermost first
  std::vector<std::string> keys_;                       // per open container: the member being read
  std::vector<std::unordered_set<std::string>> names_;  // per open container
  JsonValue root_;
  std::string error_;
};

}  // namespace

std::string_view JsonKindName(Kind kind) {
  switch (kind) {
    case Kind::kNull:
      return "null";
    case Kind::kFalse:
    case Kind::kTrue:
      return "a boolean";
    case Kind::kNumber:
      return "a number";
    case Kind::kString:
      return "a string";
    case Kind::kArray:
      return "an array";
    case Kind::kObject:
      return "an object";
  }
  return "a value";
}

Result<JsonValue> ReadStrictJson(std::string_view text) {
  // Checked over the raw bytes first: RapidJSON validates only inside
  // strings, and a NUL byte looks to its MemoryStream like the end of input,
  // which would silently drop whatever follows it.
  if (!CountCodePoints(text)) return Status::InvalidArgument("is not valid UTF-8");
  if (const size_t nul = text.find('\0'); nul != std::string_view::npos) {
    return Status::InvalidArgument("contains a NUL byte at offset " + std::to_string(nul));
  }
  // A MemoryStream, not an EncodedInputStream: the latter skips a byte order
  // mark, which RFC 8259 §8.1 forbids senders to add; we refuse it.
  rapidjson::MemoryStream is(text.data(), text.size());
  rapidjson::Reader reader;
  TreeBuilder builder;
  const rapidjson::ParseResult result = reader.Parse<kReadFlags>(is, builder);
  if (result.IsError()) {
    if (result.Code() == rapidjson::kParseErrorTermination) {
      return Status::InvalidArgument(builder.error());
    }
    return Status::InvalidArgument("is not JSON at offset " + std::to_string(result.Offset()) +
                                   ": " + rapidjson::GetParseError_En(result.Code()));
  }
  return builder.TakeRoot();
}

Result<int64_t> ReadInt64(const JsonValue& value) {
  if (value.kind != Kind::kNumber) {
    return Status::InvalidArgument("must be an integer, not " +
                                   std::string(JsonKindName(value.kind)));
  }
  const std::string& t = value.text;
  if (t.find_first_of(".eE") != std::string::npos) {
    return Status::InvalidArgument("must be an integer, written without a fraction or exponent");
  }
  // The reader checked the JSON number grammar: an optional '-' and digits.
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || end != t.data() + t.size()) {
    return Status::InvalidArgument(
        "must be an integer from -9223372036854775808 to 9223372036854775807");
  }
  return v;
}

std::string EscapePointerToken(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (const char c : name) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace ledger::api
