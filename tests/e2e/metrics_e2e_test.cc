// End-to-end: the metrics of the real binary against the tools and files that
// consume them (docs/operations.md#monitoring):
// - promtool accepts the live /metrics output;
// - every metric and label named by ops/grafana/dashboard.json and
//   ops/prometheus/alerts.yml is served, and every family served is on the
//   dashboard;
// - a real Prometheus started with the shipped ops/prometheus/prometheus.yml
//   (only the target's port changed) scrapes the service, loads the shipped
//   alert rules, and reads the counters the test moved.
// promtool and prometheus come from Debian's prometheus package (ops/dev
// deps); a missing tool fails these tests.

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <sys/stat.h>
#include <unistd.h>

#include "e2e_support.h"
#include "http_client.h"
#include "prometheus_process.h"
#include "promql_names.h"
#include "server_process.h"
#include "support/temp_dir.h"
#include "tool_process.h"

namespace ledger::e2e {
namespace {

// Fundings each server receives before its metrics are read.
constexpr int kFundings = 7;
// The shipped scrape interval is 15 s: two of them, and start-up.
constexpr std::chrono::seconds kScrapeWait{40};
// Series that Prometheus makes for every target, not served by /metrics.
const std::set<std::string> kPrometheusSeries = {"up"};
// Labels that Prometheus attaches to every scraped series.
const std::set<std::string> kTargetLabels = {"job", "instance"};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string SourcePath(const std::string& relative) {
  return std::string(FUNDING_LEDGER_SOURCE_DIR) + "/" + relative;
}

std::optional<std::string> FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

size_t CountOf(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// `promtool check metrics` over `exposition` (it reads stdin only).
ToolResult PromtoolCheckMetrics(const std::string& promtool, const std::string& exposition,
                                const std::string& dir) {
  const std::string input = dir + "/metrics.txt";
  std::ofstream(input) << exposition;
  return RunTool("/bin/sh", {"-c", "exec \"$0\" check metrics < \"$1\"", promtool, input},
                 std::chrono::seconds(60));
}

// The value of the one sample of `name` whose labels include `labels`
// (nullopt when none or several match).
std::optional<std::string> SampleValue(const std::string& exposition, const std::string& name,
                                       const std::map<std::string, std::string>& labels) {
  std::optional<std::string> found;
  std::istringstream lines(exposition);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(name, 0) != 0) continue;
    const char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != '{' && next != ' ') continue;
    bool match = true;
    for (const auto& [label, value] : labels) {
      match = match && line.find(label + "=\"" + value + "\"") != std::string::npos;
    }
    if (!match) continue;
    if (found) return std::nullopt;
    found = line.substr(line.rfind(' ') + 1);
  }
  return found;
}

// Every PromQL expression of the dashboard: panel targets (rows' nested
// panels too), and the selectors of its label_values() query variables.
struct DashboardQueries {
  std::vector<std::pair<std::string, std::string>> exprs;           // (panel title, expr)
  std::vector<std::pair<std::string, LabelValuesQuery>> variables;  // (name, query)
};

void AddPanelExprs(const rapidjson::Value& panels, DashboardQueries* out) {
  for (const auto& panel : panels.GetArray()) {
    const std::string title = panel.HasMember("title") ? panel["title"].GetString() : "";
    if (panel.HasMember("panels") && panel["panels"].IsArray()) {
      AddPanelExprs(panel["panels"], out);
    }
    if (!panel.HasMember("targets")) continue;
    for (const auto& target : panel["targets"].GetArray()) {
      EXPECT_TRUE(target.HasMember("expr") && target["expr"].IsString()) << title;
      if (target.HasMember("expr") && target["expr"].IsString()) {
        out->exprs.emplace_back(title, target["expr"].GetString());
      }
    }
  }
}

DashboardQueries ReadDashboard() {
  DashboardQueries out;
  const rapidjson::Document d = Parse(ReadFile(SourcePath("ops/grafana/dashboard.json")));
  if (!d.IsObject()) return out;
  EXPECT_TRUE(d.HasMember("panels") && d["panels"].IsArray());
  if (d.HasMember("panels") && d["panels"].IsArray()) AddPanelExprs(d["panels"], &out);
  if (d.HasMember("templating") && d["templating"]["list"].IsArray()) {
    for (const auto& v : d["templating"]["list"].GetArray()) {
      if (std::string(v["type"].GetString()) != "query") continue;
      const rapidjson::Value& q = v["query"];
      const std::string text = q.IsString() ? q.GetString() : q["query"].GetString();
      const std::optional<LabelValuesQuery> parsed = ParseLabelValues(text);
      EXPECT_TRUE(parsed.has_value()) << "variable " << v["name"].GetString() << ": " << text;
      if (parsed) out.variables.emplace_back(v["name"].GetString(), *parsed);
    }
  }
  return out;
}

// The alert rules' expressions, and the names of the alerts and groups.
struct AlertRules {
  std::vector<std::string> exprs;
  std::vector<std::string> alerts;
  std::vector<std::string> groups;
};

AlertRules ReadAlertRules() {
  const std::string yaml = ReadFile(SourcePath("ops/prometheus/alerts.yml"));
  AlertRules out;
  std::string error;
  const std::optional<std::vector<std::string>> exprs = RuleExpressions(yaml, &error);
  EXPECT_TRUE(exprs.has_value()) << error;
  if (exprs) out.exprs = *exprs;
  std::istringstream lines(yaml);
  std::string line;
  while (std::getline(lines, line)) {
    const size_t alert = line.find("- alert: ");
    if (alert != std::string::npos) out.alerts.push_back(line.substr(alert + 9));
    const size_t group = line.find("- name: ");
    if (group != std::string::npos) out.groups.push_back(line.substr(group + 8));
  }
  return out;
}

// ---------------------------------------------------------------------------
// The extractor on its own.

std::set<std::string> Metrics(const PromqlRefs& refs) {
  std::set<std::string> names;
  for (const PromqlSelector& s : refs.selectors) names.insert(s.metric);
  return names;
}

PromqlRefs MustExtract(const std::string& expr) {
  std::string error;
  const std::optional<PromqlRefs> refs = ExtractPromqlRefs(expr, &error);
  EXPECT_TRUE(refs.has_value()) << error;
  return refs.value_or(PromqlRefs{});
}

TEST(PromqlNamesTest, ReadsSelectorsAndTheirLabels) {
  const PromqlRefs refs = MustExtract(
      R"(ledger_ready{job="funding-ledger", instance=~"a|b"} == 0 or up{job!~"x"} == 0)");
  ASSERT_EQ(refs.selectors.size(), 2u);
  EXPECT_EQ(refs.selectors[0].metric, "ledger_ready");
  EXPECT_EQ(refs.selectors[0].labels, (std::vector<std::string>{"job", "instance"}));
  EXPECT_EQ(refs.selectors[1].metric, "up");
  EXPECT_EQ(refs.selectors[1].labels, (std::vector<std::string>{"job"}));
}

TEST(PromqlNamesTest, SkipsStringsNumbersRangesFunctionsAndKeywords) {
  // Words inside strings, durations, exponents, Inf/NaN, @ and offset
  // modifiers, subqueries, comments, functions and aggregations are no metric.
  const PromqlRefs refs = MustExtract(R"promql(
      label_replace(rate(a_total{route="/api/posts/{id}", x='not_a_metric{}'}[5m:30s] offset -1h30m), "dst", "$1 fake_metric", "src", "(.*)")
    > bool 1e-3 * 0x1F + Inf - NaN  # fake_comment_metric
    unless sum without (le) (b_bucket @ start()) and ON() vector(2) or max_over_time(c[1h]) ^ .5
    or topk(3, count_values("value", d))
  )promql");
  EXPECT_EQ(Metrics(refs), (std::set<std::string>{"a_total", "b_bucket", "c", "d"}));
  EXPECT_EQ(refs.selectors[0].labels, (std::vector<std::string>{"route", "x"}));
}

TEST(PromqlNamesTest, ReadsGroupingLists) {
  const PromqlRefs refs = MustExtract(
      "histogram_quantile(0.99, sum by (route, le) (rate(h_bucket[5m])))"
      " / ignoring(le) group_left (method) m"
      " * on (instance) group_right n"
      " + SUM BY(job)(o) - sum(p) without (status)");
  EXPECT_EQ(Metrics(refs), (std::set<std::string>{"h_bucket", "m", "n", "o", "p"}));
  EXPECT_EQ(refs.grouping_labels,
            (std::vector<std::string>{"route", "le", "le", "method", "instance", "job", "status"}));
}

TEST(PromqlNamesTest, SkipsGrafanaVariables) {
  const PromqlRefs refs = MustExtract(
      R"(sum by (route) (rate(r_total{job="$job", instance=~"${instance:regex}"}[$__rate_interval]))
         / $scale + ${offset})");
  EXPECT_EQ(Metrics(refs), (std::set<std::string>{"r_total"}));
  EXPECT_EQ(refs.selectors[0].labels, (std::vector<std::string>{"job", "instance"}));
}

TEST(PromqlNamesTest, NamesASelectorByItsNameMatcher) {
  const PromqlRefs refs = MustExtract(R"({__name__="x_total", job="j"})");
  ASSERT_EQ(refs.selectors.size(), 1u);
  EXPECT_EQ(refs.selectors[0].metric, "x_total");
  EXPECT_EQ(refs.selectors[0].labels, (std::vector<std::string>{"job"}));
}

TEST(PromqlNamesTest, RefusesWhatItCannotRead) {
  for (const char* expr : {R"(a{job="x)", "rate(a[5m]", "rate(a[5m]))", R"({job="x"})", "sum by a",
                           "a{job}", "a[5m", "a{job=x}", "${unterminated"}) {
    std::string error;
    EXPECT_FALSE(ExtractPromqlRefs(expr, &error).has_value()) << expr;
    EXPECT_FALSE(error.empty()) << expr;
  }
}

TEST(PromqlNamesTest, ParsesExpositionWithBracesInLabelValues) {
  const std::vector<ExposedSample> samples = ParseExposition(
      "# HELP a_total help {with} braces\n# TYPE a_total counter\n"
      "a_total{route=\"/api/posts/{id}\",q=\"x\\\"y,z=\\\"\"} 3\n"
      "b 1\n"
      "c_bucket{le=\"+Inf\"} 2\n");
  ASSERT_EQ(samples.size(), 3u);
  EXPECT_EQ(samples[0].name, "a_total");
  EXPECT_EQ(samples[0].labels, (std::set<std::string>{"route", "q"}));
  EXPECT_EQ(samples[1].name, "b");
  EXPECT_TRUE(samples[1].labels.empty());
  EXPECT_EQ(samples[2].labels, (std::set<std::string>{"le"}));
  EXPECT_EQ(ExposedFamilies("# TYPE a_total counter\n# HELP x y\n# TYPE c histogram\nc 1\n"),
            (std::vector<std::string>{"a_total", "c"}));
}

TEST(PromqlNamesTest, ReadsRuleExpressionsInEveryScalarForm) {
  std::string error;
  const auto exprs = RuleExpressions(
      "groups:\n"
      "  - name: g\n"
      "    rules:\n"
      "      - alert: A\n"
      "        expr: up == 0  # comment\n"
      "        for: 1m\n"
      "      - alert: B\n"
      "        expr: |\n"
      "          sum(x)\n"
      "\n"
      "            > 1\n"
      "        for: 1m\n"
      "      - expr: \"y{a=\\\"b\\\"} > 0\"\n"
      "        record: r\n"
      "      - alert: C\n"
      "        expr: >-\n"
      "          z\n"
      "      - alert: D\n"
      "        expr: 'w{a=''b''}'\n",
      &error);
  ASSERT_TRUE(exprs.has_value()) << error;
  EXPECT_EQ(*exprs, (std::vector<std::string>{"up == 0", "sum(x)\n\n  > 1\n", "y{a=\"b\"} > 0",
                                              "z\n", "w{a='b'}"}));
  EXPECT_FALSE(RuleExpressions("      - alert: A\n        expr: up\n          == 0\n", &error));
  EXPECT_FALSE(RuleExpressions("      - alert: A\n        expr:\n      - alert: B\n", &error));
  EXPECT_FALSE(RuleExpressions("        expr: \"up == 0\n", &error));
}

TEST(PromqlNamesTest, ParsesLabelValuesQueries) {
  const auto q = ParseLabelValues(R"(label_values(m{job="$job", a=~"x,y"}, instance))");
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->selector, R"(m{job="$job", a=~"x,y"})");
  EXPECT_EQ(q->label, "instance");
  const auto bare = ParseLabelValues("label_values(job)");
  ASSERT_TRUE(bare.has_value());
  EXPECT_EQ(bare->selector, "");
  EXPECT_EQ(bare->label, "job");
  EXPECT_FALSE(ParseLabelValues("query_result(up)").has_value());
}

// ---------------------------------------------------------------------------
// A live server that has done some work of every kind.

class MetricsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ledger::testing::TempDir();
    chmod(dir_->path().c_str(), 0711);  // the embedded PostgreSQL runs as postgres under root
    server_ =
        new ServerProcess(FUNDING_LEDGER_BINARY, dir_->path() + "/data", {"--jwt-secret", kSecret});
    ASSERT_TRUE(server_->ok()) << server_->Log();
    DoWork();
  }
  static void TearDownTestSuite() {
    if (server_ != nullptr) {
      EXPECT_EQ(server_->Stop(), 0) << server_->Log();
    }
    delete server_;
    server_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    ASSERT_TRUE(server_->ok());
    ASSERT_TRUE(work_done_) << "the work before the checks failed (above)";
  }

  static std::pair<std::string, std::string> Bearer(const std::string& sub) {
    return {"Authorization", "Bearer " + Token(sub)};
  }

  // A post by alice funded kFundings times by bob, one rejected funding by
  // alice herself, a 404, a list read (after the projector has caught up).
  static void DoWork() {
    int ready = 0;
    for (int i = 0; i < 200 && ready != 200; ++i) {
      ready = Call(*server_, "GET", "/readyz", "/readyz").status;
      if (ready != 200) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_EQ(ready, 200) << server_->Log();
    const HttpResponse created =
        Call(*server_, "POST", "/api/posts", "/api/posts",
             R"({"title":"metrics","uploader":"Alice","description":"","target_amount":1000000,)"
             R"("funding_unit":1000,"end_date":"2030-12-31"})",
             {Bearer("alice")});
    ASSERT_EQ(created.status, 201) << created.body;
    const std::string fundings =
        "/api/posts/" + std::to_string(Parse(created.body)["id"].GetInt64()) + "/fundings";
    std::string position;
    for (int i = 0; i < kFundings; ++i) {
      const HttpResponse funded = Call(*server_, "POST", fundings, "/api/posts/{id}/fundings",
                                       R"({"units":2})", {Bearer("bob")});
      ASSERT_EQ(funded.status, 201) << funded.body;
      position = funded.Header("x-ledger-position").value_or("");
    }
    const HttpResponse own = Call(*server_, "POST", fundings, "/api/posts/{id}/fundings",
                                  R"({"units":1})", {Bearer("alice")});
    ASSERT_EQ(own.status, 403) << own.body;
    ASSERT_EQ(Call(*server_, "GET", "/api/posts/999999", "/api/posts/{id}").status, 404);
    const HttpResponse list = Call(*server_, "GET", "/api/posts?limit=5", "/api/posts", "",
                                   {{"X-Min-Position", position}});
    ASSERT_EQ(list.status, 200) << list.body;
    work_done_ = true;
  }

  static std::string Metrics() {
    const HttpResponse r = Call(*server_, "GET", "/metrics", "/metrics");
    EXPECT_EQ(r.status, 200);
    return r.body;
  }

  static ledger::testing::TempDir* dir_;
  static ServerProcess* server_;
  static bool work_done_;
};

ledger::testing::TempDir* MetricsTest::dir_ = nullptr;
ServerProcess* MetricsTest::server_ = nullptr;
bool MetricsTest::work_done_ = false;

TEST_F(MetricsTest, PromtoolAcceptsTheLiveExposition) {
  const std::optional<std::string> promtool = FindOnPath("promtool");
  ASSERT_TRUE(promtool.has_value()) << "promtool not on PATH (Debian package prometheus)";
  const HttpResponse r = Call(*server_, "GET", "/metrics", "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("content-type").value_or("").rfind("text/plain; version=0.0.4", 0), 0u)
      << r.Header("content-type").value_or("(none)");
  const ToolResult check = PromtoolCheckMetrics(*promtool, r.body, dir_->path());
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_EQ(check.out + check.err, "") << "promtool check metrics found problems";

  // The same check refuses a bad exposition: it is not blind.
  const ToolResult bad =
      PromtoolCheckMetrics(*promtool, "# TYPE requests counter\nrequests 1\n", dir_->path());
  EXPECT_NE(bad.exit_code, 0) << bad.out << bad.err;
}

TEST_F(MetricsTest, CountsTheWorkDone) {
  const std::string m = Metrics();
  const std::string n = std::to_string(kFundings);
  EXPECT_EQ(
      SampleValue(m, "http_requests_total",
                  {{"method", "POST"}, {"route", "/api/posts/{id}/fundings"}, {"status", "201"}}),
      n);
  EXPECT_EQ(SampleValue(m, "http_requests_total",
                        {{"method", "GET"}, {"route", "/api/posts/{id}"}, {"status", "404"}}),
            "1");
  EXPECT_EQ(SampleValue(m, "ledger_commands_total",
                        {{"command", "fund_post"}, {"outcome", "accepted"}, {"reason", "none"}}),
            n);
  EXPECT_EQ(
      SampleValue(
          m, "ledger_commands_total",
          {{"command", "fund_post"}, {"outcome", "rejected"}, {"reason", "owner_cannot_fund"}}),
      "1");
  EXPECT_EQ(SampleValue(m, "ledger_events_appended_total", {{"type", "PostFunded"}}), n);
  EXPECT_EQ(SampleValue(m, "ledger_events_appended_total", {{"type", "PostCreated"}}), "1");
  EXPECT_EQ(SampleValue(m, "ledger_log_head_position", {}), std::to_string(kFundings + 1));
  EXPECT_EQ(SampleValue(m, "ledger_ready", {}), "1");
}

TEST_F(MetricsTest, DashboardAndAlertsUseOnlyServedNamesAndLabels) {
  // Labels seen on each served sample name.
  std::map<std::string, std::set<std::string>> served;
  for (const ExposedSample& s : ParseExposition(Metrics())) {
    served[s.name].insert(s.labels.begin(), s.labels.end());
  }
  for (const std::string& name : kPrometheusSeries) served[name];

  const DashboardQueries dashboard = ReadDashboard();
  const AlertRules rules = ReadAlertRules();
  ASSERT_EQ(rules.exprs.size(), rules.alerts.size()) << "one expr per alert in alerts.yml";

  std::vector<std::pair<std::string, std::string>> exprs;  // (where, expr)
  for (const auto& [title, expr] : dashboard.exprs)
    exprs.emplace_back("panel \"" + title + "\"", expr);
  for (size_t i = 0; i < rules.exprs.size(); ++i) {
    exprs.emplace_back("alert " + rules.alerts[i], rules.exprs[i]);
  }
  for (const auto& [name, query] : dashboard.variables) {
    exprs.emplace_back("variable " + name, query.selector);
  }

  std::set<std::string> dashboard_names;
  std::set<std::string> alert_names;
  for (const auto& [where, expr] : exprs) {
    std::string error;
    const std::optional<PromqlRefs> refs = ExtractPromqlRefs(expr, &error);
    ASSERT_TRUE(refs.has_value()) << where << ": " << error;
    EXPECT_FALSE(refs->selectors.empty()) << where << " names no metric: " << expr;
    std::set<std::string> labels_in_expr = kTargetLabels;
    for (const PromqlSelector& s : refs->selectors) {
      (where.rfind("alert ", 0) == 0 ? alert_names : dashboard_names).insert(s.metric);
      const auto it = served.find(s.metric);
      if (it == served.end()) {
        ADD_FAILURE() << where << " uses " << s.metric << ", which /metrics does not serve";
        continue;
      }
      labels_in_expr.insert(it->second.begin(), it->second.end());
      for (const std::string& label : s.labels) {
        EXPECT_TRUE(it->second.count(label) > 0 || kTargetLabels.count(label) > 0)
            << where << " matches label " << label << " of " << s.metric
            << ", which no served sample has";
      }
    }
    for (const std::string& label : refs->grouping_labels) {
      EXPECT_TRUE(labels_in_expr.count(label) > 0)
          << where << " groups by " << label << ", which none of its metrics has";
    }
  }
  // label_values(SELECTOR, LABEL): LABEL must be on SELECTOR's metric.
  for (const auto& [name, query] : dashboard.variables) {
    std::string error;
    const std::optional<PromqlRefs> refs = ExtractPromqlRefs(query.selector, &error);
    ASSERT_TRUE(refs.has_value() && refs->selectors.size() == 1) << "variable " << name << error;
    const std::set<std::string>& labels = served[refs->selectors[0].metric];
    EXPECT_TRUE(labels.count(query.label) > 0 || kTargetLabels.count(query.label) > 0)
        << "variable " << name << " lists values of " << query.label << ", which "
        << refs->selectors[0].metric << " does not have";
  }
  // Not vacuous: the files name (nearly) the whole contract.
  EXPECT_GE(dashboard_names.size(), 35u) << "the dashboard names too few metrics";
  EXPECT_GE(alert_names.size(), 14u) << "the alert rules name too few metrics";
}

TEST_F(MetricsTest, DashboardShowsEveryServedFamily) {
  const std::string m = Metrics();
  std::set<std::string> used;
  for (const auto& [title, expr] : ReadDashboard().exprs) {
    std::string error;
    const std::optional<PromqlRefs> refs = ExtractPromqlRefs(expr, &error);
    ASSERT_TRUE(refs.has_value()) << title << ": " << error;
    for (const PromqlSelector& s : refs->selectors) used.insert(s.metric);
  }
  const std::vector<std::string> families = ExposedFamilies(m);
  EXPECT_GE(families.size(), 30u);
  for (const std::string& family : families) {
    const bool shown = used.count(family) > 0 || used.count(family + "_bucket") > 0 ||
                       used.count(family + "_sum") > 0 || used.count(family + "_count") > 0;
    EXPECT_TRUE(shown) << "no dashboard panel shows " << family;
  }
}

// Parses a Prometheus API answer; the `data` member when status is success.
const rapidjson::Value* ApiData(const rapidjson::Document& d) {
  if (!d.IsObject() || !d.HasMember("status") ||
      std::string(d["status"].GetString()) != "success" || !d.HasMember("data")) {
    return nullptr;
  }
  return &d["data"];
}

// The result vector of an instant query (an empty document when it failed).
rapidjson::Document Query(uint16_t port, const std::string& promql) {
  rapidjson::Document d;
  const std::optional<HttpResponse> r = HttpGet(port, "/api/v1/query?query=" + UrlEncode(promql));
  if (r && r->status == 200) d.Parse(r->body.c_str(), r->body.size());
  return d;
}

// The value of the single series an instant query returns ("" otherwise).
std::string SingleValue(uint16_t port, const std::string& promql) {
  const rapidjson::Document d = Query(port, promql);
  const rapidjson::Value* data = ApiData(d);
  if (data == nullptr || !(*data)["result"].IsArray() || (*data)["result"].Size() != 1) return "";
  return (*data)["result"][0]["value"][1].GetString();
}

TEST_F(MetricsTest, PrometheusScrapesTheShippedConfigAndLoadsTheRules) {
  const std::optional<std::string> prometheus = FindOnPath("prometheus");
  ASSERT_TRUE(prometheus.has_value()) << "prometheus not on PATH (Debian package prometheus)";
  // Declared before the process, so removed after it stopped.
  ledger::testing::TempDir dir;

  // The shipped files, with only the target's port changed.
  std::string config = ReadFile(SourcePath("ops/prometheus/prometheus.yml"));
  const std::string shipped_target = "\"127.0.0.1:8080\"";
  ASSERT_EQ(CountOf(config, shipped_target), 1u) << "prometheus.yml must name its target once";
  const std::string target = "127.0.0.1:" + std::to_string(server_->port());
  config.replace(config.find(shipped_target), shipped_target.size(), "\"" + target + "\"");
  std::ofstream(dir.Sub("prometheus.yml")) << config;
  std::ofstream(dir.Sub("alerts.yml")) << ReadFile(SourcePath("ops/prometheus/alerts.yml"));

  PrometheusProcess server(*prometheus, dir.Sub("prometheus.yml"), dir.path());
  ASSERT_TRUE(server.ok()) << server.Log();
  const uint16_t port = server.port();

  // The first scrape comes within one scrape interval.
  std::string up;
  const auto deadline = std::chrono::steady_clock::now() + kScrapeWait;
  while (up.empty() && std::chrono::steady_clock::now() < deadline) {
    up = SingleValue(port, R"(up{job="funding-ledger", instance=")" + target + R"("})");
    if (up.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  ASSERT_EQ(up, "1") << "no successful scrape within " << kScrapeWait.count() << " s\n"
                     << server.Log();

  const std::string n = std::to_string(kFundings);
  EXPECT_EQ(SingleValue(port, R"(http_requests_total{job="funding-ledger", method="POST",)"
                              R"( route="/api/posts/{id}/fundings", status="201"})"),
            n);
  EXPECT_EQ(SingleValue(port, R"(ledger_commands_total{job="funding-ledger",)"
                              R"( command="fund_post", outcome="accepted"})"),
            n);

  // Every shipped group and rule loaded; each rule evaluated without error
  // (health "unknown" until its group's first evaluation).
  const AlertRules shipped = ReadAlertRules();
  std::set<std::string> groups;
  size_t rules = 0;
  size_t healthy = 0;
  std::string problems;
  const auto rules_deadline = std::chrono::steady_clock::now() + kScrapeWait;
  do {
    groups.clear();
    rules = healthy = 0;
    problems.clear();
    rapidjson::Document d;
    const std::optional<HttpResponse> r = HttpGet(port, "/api/v1/rules");
    if (r && r->status == 200) d.Parse(r->body.c_str(), r->body.size());
    const rapidjson::Value* data = ApiData(d);
    ASSERT_NE(data, nullptr) << (r ? r->body : "no answer");
    for (const auto& group : (*data)["groups"].GetArray()) {
      groups.insert(group["name"].GetString());
      for (const auto& rule : group["rules"].GetArray()) {
        ++rules;
        const std::string health = rule["health"].GetString();
        if (health == "ok") ++healthy;
        if (health == "err") {
          problems +=
              std::string(rule["name"].GetString()) + ": " + rule["lastError"].GetString() + "\n";
        }
      }
    }
    if (healthy < rules && problems.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  } while (healthy < rules && problems.empty() &&
           std::chrono::steady_clock::now() < rules_deadline);
  EXPECT_EQ(problems, "");
  EXPECT_EQ(groups, std::set<std::string>(shipped.groups.begin(), shipped.groups.end()));
  EXPECT_EQ(rules, shipped.alerts.size());
  EXPECT_EQ(healthy, rules) << "rules not evaluated within " << kScrapeWait.count() << " s";
}

}  // namespace
}  // namespace ledger::e2e
