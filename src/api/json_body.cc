#include "api/json_body.h"

#include <charconv>
#include <optional>
#include <string>
#include <system_error>
#include <unordered_set>
#include <utility>

#include "commands/limits.h"
#include "common/time_format.h"
#include "common/utf8.h"

namespace ledger::api {

using http::FieldError;
using http::MakeProblem;
using http::Problem;
namespace {

using Kind = JsonValue::Kind;

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
    errors.Add(pointer, "must be a string, not " + std::string(JsonKindName(v.kind)));
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
    errors.Add(pointer,
               "must be a date string YYYY-MM-DD, not " + std::string(JsonKindName(v.kind)));
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

// "keep_it_all" or "all_or_nothing".
bool ReadFundingModel(const JsonValue& v, const std::string& pointer, ErrorList& errors,
                      events::FundingModel* out) {
  std::string name;
  if (!ReadString(v, pointer, errors, &name)) return false;
  const std::optional<events::FundingModel> model = events::FundingModelFromName(name);
  if (!model) {
    errors.Add(pointer, "must be \"keep_it_all\" or \"all_or_nothing\"");
    return false;
  }
  *out = *model;
  return true;
}

// An integer, or null for "no limit" (the range is Decide's).
bool ReadOptionalLimit(const JsonValue& v, const std::string& pointer, ErrorList& errors,
                       std::optional<int64_t>* out) {
  if (v.kind == Kind::kNull) {
    out->reset();
    return true;
  }
  int64_t n = 0;
  if (!ReadInteger(v, pointer, errors, &n)) return false;
  *out = n;
  return true;
}

commands::PostDraft ReadDraft(const JsonValue& post, const std::string& prefix, ErrorList& errors) {
  commands::PostDraft d;
  if (post.kind != Kind::kObject) {
    errors.Add(prefix, "must be an object, not " + std::string(JsonKindName(post.kind)));
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
    } else if (m.name == "funding_model") {
      ReadFundingModel(m.value, pointer, errors, &d.funding_model);
    } else if (m.name == "max_fundings_per_backer") {
      ReadOptionalLimit(m.value, pointer, errors, &d.max_fundings_per_backer);
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
        "must be a post object or an array of them, not " + std::string(JsonKindName(root.kind)));
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
                           "must be an object, not " + std::string(JsonKindName(root.kind)));
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
    } else if (m.name == "funding_model") {
      events::FundingModel model{};
      if (ReadFundingModel(m.value, pointer, errors, &model)) e.funding_model = model;
    } else if (m.name == "max_fundings_per_backer") {
      std::optional<int64_t> limit;
      if (ReadOptionalLimit(m.value, pointer, errors, &limit)) e.max_fundings_per_backer = limit;
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
                           "must be an object, not " + std::string(JsonKindName(root.kind)));
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
