#pragma once

// The metric and label names a PromQL expression refers to, for the test that
// holds the shipped dashboard and alert rules to the live /metrics output.
// Also the few file formats the expressions come in: the exposition format,
// the `expr:` fields of a rules file, a Grafana `label_values()` query.

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace ledger::e2e {

// A vector selector: `name{label="v", other=~"w"}`.
struct PromqlSelector {
  std::string metric;
  std::vector<std::string> labels;  // names in its matchers, in order
};

struct PromqlRefs {
  std::vector<PromqlSelector> selectors;     // in order of appearance
  std::vector<std::string> grouping_labels;  // of by, without, on, ignoring, group_left/right
};

// Reads the names in `expr` (PromQL, Grafana variables such as
// $__rate_interval allowed). Skips strings, numbers and durations, range and
// subquery brackets, function and aggregation names and keywords. nullopt
// with `error` set on what it cannot read: an unterminated string, unbalanced
// brackets, a selector without a metric name, a by(...) without its list.
std::optional<PromqlRefs> ExtractPromqlRefs(std::string_view expr, std::string* error);

// Sample names of a text exposition (format 0.0.4) mapped to the label names
// seen on them. Histograms appear as their _bucket, _sum and _count samples.
struct ExposedSample {
  std::string name;
  std::set<std::string> labels;
};
std::vector<ExposedSample> ParseExposition(std::string_view text);
// The families declared by `# TYPE name type` lines.
std::vector<std::string> ExposedFamilies(std::string_view text);

// The `expr:` values of a Prometheus rules file as written in
// ops/prometheus/alerts.yml: a plain or quoted scalar on the line, or a block
// scalar (| or >, with chomping indicators) on the indented lines below.
// nullopt with `error` set on a form it does not read.
std::optional<std::vector<std::string>> RuleExpressions(std::string_view yaml, std::string* error);

// `label_values(SELECTOR, LABEL)` of a Grafana query variable: the selector
// and the label. nullopt for any other query.
struct LabelValuesQuery {
  std::string selector;
  std::string label;
};
std::optional<LabelValuesQuery> ParseLabelValues(std::string_view query);

}  // namespace ledger::e2e
