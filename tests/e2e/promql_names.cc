#include "promql_names.h"

#include <array>
#include <cctype>
#include <cstddef>

namespace ledger::e2e {
namespace {

// PromQL's aggregation operators and keywords are case-insensitive; its
// function names are not, but a function is recognised by its `(` anyway.
constexpr std::array<std::string_view, 14> kAggregations = {
    "sum",   "min",          "max",     "avg",  "group",    "stddev", "stdvar",
    "count", "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio"};
constexpr std::array<std::string_view, 8> kKeywords = {"and",    "or",    "unless", "bool",
                                                       "offset", "atan2", "inf",    "nan"};
// Followed by a list of label names: by (a, b).
constexpr std::array<std::string_view, 4> kGroupingWithList = {"by", "without", "on", "ignoring"};
// Followed by an optional list: group_left, group_left(a).
constexpr std::array<std::string_view, 2> kGroupingOptionalList = {"group_left", "group_right"};

template <size_t N>
bool OneOf(const std::array<std::string_view, N>& set, std::string_view word) {
  for (const std::string_view w : set) {
    if (w == word) return true;
  }
  return false;
}

bool IsIdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_' || c == ':';
}
bool IsIdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == ':';
}
bool IsDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }
bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

class Reader {
 public:
  Reader(std::string_view text, std::string* error) : s_(text), error_(error) {}

  std::optional<PromqlRefs> Read() {
    PromqlRefs refs;
    int parens = 0;
    while (true) {
      SkipSpace();
      if (AtEnd()) break;
      const char c = s_[i_];
      if (c == '"' || c == '\'' || c == '`') {
        if (!SkipString(nullptr)) return std::nullopt;
      } else if (c == '{') {
        PromqlSelector selector;
        if (!Matchers(&selector)) return std::nullopt;
        if (selector.metric.empty()) {
          Fail("a selector without a metric name");
          return std::nullopt;
        }
        refs.selectors.push_back(std::move(selector));
      } else if (c == '[') {
        if (!SkipRange()) return std::nullopt;
      } else if (c == '(') {
        ++parens;
        ++i_;
      } else if (c == ')') {
        if (--parens < 0) {
          Fail("unbalanced ')'");
          return std::nullopt;
        }
        ++i_;
      } else if (IsDigit(c) || (c == '.' && i_ + 1 < s_.size() && IsDigit(s_[i_ + 1]))) {
        SkipNumber();
      } else if (c == '$') {
        if (!SkipVariable()) return std::nullopt;
      } else if (IsIdentStart(c)) {
        if (!Word(&refs)) return std::nullopt;
      } else {
        ++i_;  // an operator, a comma, the @ modifier
      }
    }
    if (parens != 0) {
      Fail("unbalanced '('");
      return std::nullopt;
    }
    return refs;
  }

 private:
  bool AtEnd() const { return i_ >= s_.size(); }

  // Records what could not be read, and where; always false.
  bool Fail(const std::string& what) {
    if (error_ != nullptr)
      *error_ = what + " at offset " + std::to_string(i_) + " of: " + std::string(s_);
    return false;
  }

  void SkipSpace() {
    while (!AtEnd()) {
      if (IsSpace(s_[i_])) {
        ++i_;
      } else if (s_[i_] == '#') {  // a comment, to the end of the line
        while (!AtEnd() && s_[i_] != '\n') ++i_;
      } else {
        return;
      }
    }
  }

  // At a quote: skips the string literal; its value into `value` if given.
  bool SkipString(std::string* value) {
    const char quote = s_[i_++];
    while (!AtEnd()) {
      const char c = s_[i_++];
      if (c == '\\' && quote != '`') {
        if (AtEnd()) break;
        if (value != nullptr) value->push_back(s_[i_]);
        ++i_;
        continue;
      }
      if (c == quote) return true;
      if (value != nullptr) value->push_back(c);
    }
    return Fail("an unterminated string");
  }

  std::string_view Identifier() {
    const size_t start = i_;
    while (!AtEnd() && IsIdentChar(s_[i_])) ++i_;
    return s_.substr(start, i_ - start);
  }

  // Numbers (1, 0.5, 1e-3, 0x1f) and durations (5m, 1h30m).
  void SkipNumber() {
    while (!AtEnd()) {
      const char c = s_[i_];
      if (IsIdentChar(c) || c == '.') {
        ++i_;
      } else if ((c == '+' || c == '-') && (s_[i_ - 1] == 'e' || s_[i_ - 1] == 'E') &&
                 i_ + 1 < s_.size() && IsDigit(s_[i_ + 1])) {
        ++i_;  // an exponent's sign
      } else {
        return;
      }
    }
  }

  // Grafana's $name, ${name} and ${name:format}.
  bool SkipVariable() {
    ++i_;
    if (!AtEnd() && s_[i_] == '{') {
      const size_t close = s_.find('}', i_);
      if (close == std::string_view::npos) return Fail("an unterminated ${...}");
      i_ = close + 1;
      return true;
    }
    if (Identifier().empty()) return Fail("a '$' without a variable name");
    return true;
  }

  // At '[': a range [5m], a subquery [1h:5m], or [$__rate_interval].
  bool SkipRange() {
    const size_t close = s_.find(']', i_);
    if (close == std::string_view::npos) return Fail("an unterminated '['");
    i_ = close + 1;
    return true;
  }

  // At '{': the label matchers of `selector`. `__name__="x"` names it.
  bool Matchers(PromqlSelector* selector) {
    ++i_;
    while (true) {
      SkipSpace();
      if (AtEnd()) return Fail("an unterminated '{'");
      if (s_[i_] == '}') {
        ++i_;
        return true;
      }
      if (!IsIdentStart(s_[i_])) return Fail("a label matcher without a label name");
      const std::string label(Identifier());
      SkipSpace();
      std::string op;
      while (!AtEnd() && (s_[i_] == '=' || s_[i_] == '!' || s_[i_] == '~')) op.push_back(s_[i_++]);
      if (op != "=" && op != "!=" && op != "=~" && op != "!~") {
        return Fail("a label matcher without =, !=, =~ or !~");
      }
      SkipSpace();
      if (AtEnd() || (s_[i_] != '"' && s_[i_] != '\'' && s_[i_] != '`')) {
        return Fail("a label matcher without a string value");
      }
      std::string value;
      if (!SkipString(&value)) return false;
      if (label == "__name__" && op == "=") {
        selector->metric = value;
      } else {
        selector->labels.push_back(label);
      }
      SkipSpace();
      if (!AtEnd() && s_[i_] == ',') ++i_;
    }
  }

  // At '(': a list of label names up to ')'.
  bool LabelList(std::vector<std::string>* out) {
    ++i_;
    while (true) {
      SkipSpace();
      if (AtEnd()) return Fail("an unterminated label list");
      if (s_[i_] == ')') {
        ++i_;
        return true;
      }
      if (s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (!IsIdentStart(s_[i_])) return Fail("a label list with something else than names");
      out->emplace_back(Identifier());
    }
  }

  // At an identifier: a keyword, an aggregation, a function or a metric.
  bool Word(PromqlRefs* refs) {
    const std::string_view word = Identifier();
    const std::string lower = Lower(word);
    if (OneOf(kGroupingWithList, lower) || OneOf(kGroupingOptionalList, lower)) {
      SkipSpace();
      if (!AtEnd() && s_[i_] == '(') return LabelList(&refs->grouping_labels);
      if (OneOf(kGroupingWithList, lower)) return Fail("'" + lower + "' without a label list");
      return true;
    }
    if (OneOf(kKeywords, lower) || OneOf(kAggregations, lower)) return true;
    const size_t after = i_;
    SkipSpace();
    if (!AtEnd() && s_[i_] == '(') {
      i_ = after;  // a function call; its '(' is counted by Read
      return true;
    }
    i_ = after;
    PromqlSelector selector;
    selector.metric = std::string(word);
    SkipSpace();
    if (!AtEnd() && s_[i_] == '{' && !Matchers(&selector)) return false;
    refs->selectors.push_back(std::move(selector));
    return true;
  }

  std::string_view s_;
  size_t i_ = 0;
  std::string* error_;
};

// Reads a quoted label value of the exposition format at `text[*i]` (the
// opening quote); leaves *i after the closing quote.
bool SkipExpositionValue(std::string_view text, size_t* i) {
  if (*i >= text.size() || text[*i] != '"') return false;
  for (++*i; *i < text.size(); ++*i) {
    if (text[*i] == '\\') {
      ++*i;
    } else if (text[*i] == '"') {
      ++*i;
      return true;
    }
  }
  return false;
}

size_t IndentOf(std::string_view line) {
  size_t n = 0;
  while (n < line.size() && line[n] == ' ') ++n;
  return n;
}

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    lines.push_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return lines;
}

}  // namespace

std::optional<PromqlRefs> ExtractPromqlRefs(std::string_view expr, std::string* error) {
  return Reader(expr, error).Read();
}

std::vector<ExposedSample> ParseExposition(std::string_view text) {
  std::vector<ExposedSample> samples;
  for (std::string_view line : Lines(text)) {
    line = Trim(line);
    if (line.empty() || line.front() == '#') continue;
    ExposedSample sample;
    size_t i = 0;
    while (i < line.size() && IsIdentChar(line[i])) ++i;
    sample.name = std::string(line.substr(0, i));
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        const size_t start = i;
        while (i < line.size() && line[i] != '=') ++i;
        sample.labels.insert(std::string(Trim(line.substr(start, i - start))));
        ++i;  // '='
        if (!SkipExpositionValue(line, &i)) break;
        if (i < line.size() && line[i] == ',') ++i;
      }
    }
    samples.push_back(std::move(sample));
  }
  return samples;
}

std::vector<std::string> ExposedFamilies(std::string_view text) {
  std::vector<std::string> families;
  constexpr std::string_view kType = "# TYPE ";
  for (const std::string_view line : Lines(text)) {
    if (line.substr(0, kType.size()) != kType) continue;
    const std::string_view rest = line.substr(kType.size());
    families.emplace_back(rest.substr(0, rest.find(' ')));
  }
  return families;
}

std::optional<std::vector<std::string>> RuleExpressions(std::string_view yaml, std::string* error) {
  const std::vector<std::string_view> lines = Lines(yaml);
  std::vector<std::string> exprs;
  const auto fail = [&](size_t line, const std::string& what) {
    if (error != nullptr) *error = "line " + std::to_string(line + 1) + ": " + what;
    return std::nullopt;
  };
  for (size_t n = 0; n < lines.size(); ++n) {
    std::string_view line = lines[n];
    size_t key = IndentOf(line);
    if (line.substr(key, 2) == "- ") key += 2;
    constexpr std::string_view kExpr = "expr:";
    if (line.substr(key, kExpr.size()) != kExpr) continue;
    std::string_view value = Trim(line.substr(key + kExpr.size()));
    // The lines below, more indented than the key, up to the next key.
    std::vector<std::string_view> block;
    size_t next = n + 1;
    for (; next < lines.size(); ++next) {
      if (!Trim(lines[next]).empty() && IndentOf(lines[next]) <= key) break;
      block.push_back(lines[next]);
    }
    while (!block.empty() && Trim(block.back()).empty()) block.pop_back();
    if (!value.empty() && (value.front() == '|' || value.front() == '>')) {
      // Block scalar; PromQL reads newlines as spaces, so literal and folded
      // blocks give the same expression.
      if (block.empty()) return fail(n, "an empty block scalar");
      const size_t indent = IndentOf(block.front());
      std::string expr;
      for (const std::string_view b : block) {
        expr.append(b.size() > indent ? b.substr(indent) : std::string_view()).push_back('\n');
      }
      exprs.push_back(std::move(expr));
    } else if (!block.empty()) {
      return fail(n, "a multi-line flow scalar (write it as a | block)");
    } else if (!value.empty() && (value.front() == '"' || value.front() == '\'')) {
      const char quote = value.front();
      std::string expr;
      size_t i = 1;
      bool closed = false;
      for (; i < value.size(); ++i) {
        if (quote == '"' && value[i] == '\\' && i + 1 < value.size()) {
          expr.push_back(value[++i]);  // escapes in these files are \" and \\ only
        } else if (quote == '\'' && value[i] == '\'' && i + 1 < value.size() &&
                   value[i + 1] == '\'') {
          expr.push_back(value[++i]);
        } else if (value[i] == quote) {
          closed = true;
          break;
        } else {
          expr.push_back(value[i]);
        }
      }
      if (!closed) return fail(n, "an unterminated quoted scalar");
      exprs.push_back(std::move(expr));
    } else {
      // A plain scalar; " #" starts a comment.
      const size_t comment = value.find(" #");
      value = Trim(value.substr(0, comment));
      if (value.empty()) return fail(n, "an expr without a value");
      exprs.emplace_back(value);
    }
    n = next - 1;
  }
  return exprs;
}

std::optional<LabelValuesQuery> ParseLabelValues(std::string_view query) {
  query = Trim(query);
  constexpr std::string_view kPrefix = "label_values(";
  if (query.substr(0, kPrefix.size()) != kPrefix || query.back() != ')') return std::nullopt;
  const std::string_view inner = query.substr(kPrefix.size(), query.size() - kPrefix.size() - 1);
  // The last comma outside braces, parentheses and strings.
  size_t comma = std::string_view::npos;
  int depth = 0;
  char quote = 0;
  for (size_t i = 0; i < inner.size(); ++i) {
    const char c = inner[i];
    if (quote != 0) {
      if (c == '\\') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '{' || c == '(') {
      ++depth;
    } else if (c == '}' || c == ')') {
      --depth;
    } else if (c == ',' && depth == 0) {
      comma = i;
    }
  }
  LabelValuesQuery out;
  if (comma == std::string_view::npos) {
    out.label = std::string(Trim(inner));
  } else {
    out.selector = std::string(Trim(inner.substr(0, comma)));
    out.label = std::string(Trim(inner.substr(comma + 1)));
  }
  return out;
}

}  // namespace ledger::e2e
