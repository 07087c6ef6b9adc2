#include "api/json_body.h"

#include <charconv>
#include <optional>
#include <string>
#include <system_error>
#include <unordered_set>
#include <utility>

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include "commands/limits.h"
#include "common/time_format.h"
#include "common/utf8.h"

namespace ledger::api {

using http::FieldError;
using http::MakeProblem;
using http::Problem;
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

// Collects field errors; keeps the first kMaxReportedFieldErrors, counts all.
class ErrorList {
 public:
  void Add(std::string pointer, std::string detail) {
    ++total_;
    if (errors_.size() < kMaxReportedFieldErrors) {
      errors_.push_back(FieldError{std::move(pointer), "", std::move(detail)});
    }
  }
  bool empty() const { return total_ == 0; }

  Problem ToProblem() && {
    std::string detail =
        total_ == 1 ? "1 field is invalid" : std::to_string(total_) + " fields are invalid";
    if (total_ > errors_.size()) {
      detail += "; the first " + std::to_string(errors_.size()) + " are listed";
    }
    Problem p = MakeProblem("validation_failed", std::move(detail));
    p.errors = std::move(errors_);
    return p;
  }

 private:
  std::vector<FieldError> errors_;
  size_t total_ = 0;
};

Problem OneFieldProblem(std::string_view name, std::string pointer, std::string detail) {
  Problem p = MakeProblem(name, detail);
  p.errors.push_back(FieldError{std::move(pointer), "", std::move(detail)});
  return p;
}

std::string_view KindName(Kind kind) {
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

std::string ChildPointer(std::string_view prefix, std::string_view name) {
  std::string p(prefix);
  p += '/';
  p += EscapePointerToken(name);
  return p;
}

// The body as a JsonValue, or the malformed_json problem.
Result<JsonValue, Problem> ReadBody(std::string_view body) {
  if (body.empty()) return MakeProblem("malformed_json", "the body is empty; expected JSON");
  Result<JsonValue> read = ReadStrictJson(body);
  if (!read.ok()) return MakeProblem("malformed_json", "the body " + read.status().message());
  return std::move(read).value();
}

// Each Read* sets *out and returns true, or records why not.
bool ReadString(const JsonValue& v, const std::string& pointer, ErrorList& errors,
                std::string* out) {
  if (v.kind != Kind::kString) {
    errors.Add(pointer, "must be a string, not " + std::string(KindName(v.kind)));
    return false;
  }
  *out = v.text;
  return true;
}

bool ReadInteger(const JsonValue& v, const std::string& pointer, ErrorList& errors, int64_t* out) {
  const Result<int64_t> n = ReadInt64(v);
  if (!n.ok()) {
    errors.Add(pointer, n.status().message());
    return false;
  }
  *out = *n;
  return true;
}

bool ReadDate(const JsonValue& v, const std::string& pointer, ErrorList& errors, CivilDate* out) {
  if (v.kind != Kind::kString) {
    errors.Add(pointer, "must be a date string YYYY-MM-DD, not " + std::string(KindName(v.kind)));
    return false;
  }
  const std::optional<CivilDate> date = ParseDate(v.text);
  if (!date) {
    errors.Add(pointer, "must be a calendar date written YYYY-MM-DD");
    return false;
  }
  *out = *date;
  return true;
}

commands::PostDraft ReadDraft(const JsonValue& post, const std::string& prefix, ErrorList& errors) {
  commands::PostDraft d;
  if (post.kind != Kind::kObject) {
    errors.Add(prefix, "must be an object, not " + std::string(KindName(post.kind)));
    return d;
  }
  bool title = false;
  bool uploader = false;
  bool target = false;
  bool unit = false;
  bool end_date = false;
  for (const JsonMember& m : post.members) {
    const std::string pointer = ChildPointer(prefix, m.name);
    // A member of the wrong type still counts as present: "is required" on
    // top of "must be a string" would say the same thing twice.
    if (m.name == "title") {
      title = true;
      ReadString(m.value, pointer, errors, &d.title);
    } else if (m.name == "uploader") {
      uploader = true;
      ReadString(m.value, pointer, errors, &d.uploader);
    } else if (m.name == "description") {
      ReadString(m.value, pointer, errors, &d.description);
    } else if (m.name == "target_amount") {
      target = true;
      ReadInteger(m.value, pointer, errors, &d.target_amount);
    } else if (m.name == "funding_unit") {
      unit = true;
      ReadInteger(m.value, pointer, errors, &d.funding_unit);
    } else if (m.name == "end_date") {
      end_date = true;
      ReadDate(m.value, pointer, errors, &d.end_date);
    } else {
      errors.Add(pointer, "is not a member of a post");
    }
  }
  const auto require = [&](bool present, std::string_view name) {
    if (!present) errors.Add(ChildPointer(prefix, name), "is required");
  };
  require(title, "title");
  require(uploader, "uploader");
  require(target, "target_amount");
  require(unit, "funding_unit");
  require(end_date, "end_date");
  return d;
}

}  // namespace

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
    return Status::InvalidArgument("must be an integer, not " + std::string(KindName(value.kind)));
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

Result<commands::CreatePosts, Problem> ParseCreateBody(std::string_view body) {
  const Result<JsonValue, Problem> read = ReadBody(body);
  if (!read.ok()) return read.error();
  const JsonValue& root = *read;

  commands::CreatePosts c;
  ErrorList errors;
  if (root.kind == Kind::kObject) {
    c.posts.push_back(ReadDraft(root, "", errors));
  } else if (root.kind == Kind::kArray) {
    c.as_array = true;
    const size_t n = root.elements.size();
    if (n == 0 || n > commands::kMaxPostsPerCreate) {
      return OneFieldProblem("validation_failed", "",
                             "a create request holds 1 to " +
                                 std::to_string(commands::kMaxPostsPerCreate) + " posts, got " +
                                 std::to_string(n));
    }
    c.posts.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      c.posts.push_back(ReadDraft(root.elements[i], "/" + std::to_string(i), errors));
    }
  } else {
    return OneFieldProblem(
        "validation_failed", "",
        "must be a post object or an array of them, not " + std::string(KindName(root.kind)));
  }
  if (!errors.empty()) return std::move(errors).ToProblem();
  return c;
}

Result<commands::EditPost, Problem> ParseEditBody(std::string_view body) {
  const Result<JsonValue, Problem> read = ReadBody(body);
  if (!read.ok()) return read.error();
  const JsonValue& root = *read;
  if (root.kind != Kind::kObject) {
    return OneFieldProblem("validation_failed", "",
                           "must be an object, not " + std::string(KindName(root.kind)));
  }
  for (const JsonMember& m : root.members) {
    if (m.name == "target_amount") {
      return OneFieldProblem("target_immutable", "/target_amount",
                             "target_amount cannot be changed after the post is created");
    }
  }
  if (root.members.empty()) {
    return OneFieldProblem("validation_failed", "", "an edit must change at least one field");
  }

  commands::EditPost e;
  ErrorList errors;
  for (const JsonMember& m : root.members) {
    const std::string pointer = ChildPointer("", m.name);
    if (m.name == "title") {
      if (std::string s; ReadString(m.value, pointer, errors, &s)) e.title = std::move(s);
    } else if (m.name == "uploader") {
      if (std::string s; ReadString(m.value, pointer, errors, &s)) e.uploader = std::move(s);
    } else if (m.name == "description") {
      if (std::string s; ReadString(m.value, pointer, errors, &s)) e.description = std::move(s);
    } else if (m.name == "funding_unit") {
      if (int64_t v = 0; ReadInteger(m.value, pointer, errors, &v)) e.funding_unit = v;
    } else if (m.name == "end_date") {
      if (CivilDate d; ReadDate(m.value, pointer, errors, &d)) e.end_date = d;
    } else {
      errors.Add(pointer, "is not an editable member of a post");
    }
  }
  if (!errors.empty()) return std::move(errors).ToProblem();
  return e;
}

Result<commands::FundPost, Problem> ParseFundBody(std::string_view body) {
  commands::FundPost f;
  if (body.empty()) return f;
  const Result<JsonValue, Problem> read = ReadBody(body);
  if (!read.ok()) return read.error();
  const JsonValue& root = *read;
  if (root.kind != Kind::kObject) {
    return OneFieldProblem("validation_failed", "",
                           "must be an object, not " + std::string(KindName(root.kind)));
  }
  ErrorList errors;
  for (const JsonMember& m : root.members) {
    const std::string pointer = ChildPointer("", m.name);
    if (m.name == "units") {
      ReadInteger(m.value, pointer, errors, &f.units);
    } else {
      errors.Add(pointer, "is not a member of a funding");
    }
  }
  if (!errors.empty()) return std::move(errors).ToProblem();
  return f;
}

}  // namespace ledger::api
