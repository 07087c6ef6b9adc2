#include "http/metrics.h"

#include <string>

#include <gtest/gtest.h>

namespace ledger::http {
namespace {

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(HttpMetricsTest, CountsRequestsByMethodRouteAndStatus) {
  HttpMetrics metrics;
  metrics.Observe("GET", "/api/posts/{id}", 200, 0.002);
  metrics.Observe("GET", "/api/posts/{id}", 200, 0.003);
  metrics.Observe("GET", "/api/posts/{id}", 404, 0.001);
  metrics.Observe("POST", "unmatched", 404, 0.001);

  const std::string text = metrics.Expose();
  EXPECT_TRUE(Contains(text, "# TYPE http_requests_total counter")) << text;
  EXPECT_TRUE(Contains(
      text, "http_requests_total{method=\"GET\",route=\"/api/posts/{id}\",status=\"200\"} 2"))
      << text;
  EXPECT_TRUE(Contains(
      text, "http_requests_total{method=\"GET\",route=\"/api/posts/{id}\",status=\"404\"} 1"))
      << text;
  EXPECT_TRUE(
      Contains(text, "http_requests_total{method=\"POST\",route=\"unmatched\",status=\"404\"} 1"))
      << text;
}

TEST(HttpMetricsTest, RecordsDurationsInBucketsFromTenthOfMillisecondToTenSeconds) {
  HttpMetrics metrics;
  metrics.Observe("GET", "/healthz", 200, 0.00005);
  metrics.Observe("GET", "/healthz", 200, 0.3);
  metrics.Observe("GET", "/healthz", 200, 20.0);

  const std::string text = metrics.Expose();
  const std::string labels = "method=\"GET\",route=\"/healthz\",status=\"200\"";
  EXPECT_TRUE(Contains(text, "# TYPE http_request_duration_seconds histogram")) << text;
  EXPECT_TRUE(Contains(text, "http_request_duration_seconds_count{" + labels + "} 3")) << text;
  EXPECT_TRUE(
      Contains(text, "http_request_duration_seconds_bucket{" + labels + ",le=\"0.0001\"} 1"))
      << text;
  EXPECT_TRUE(Contains(text, "http_request_duration_seconds_bucket{" + labels + ",le=\"0.5\"} 2"))
      << text;
  EXPECT_TRUE(Contains(text, "http_request_duration_seconds_bucket{" + labels + ",le=\"10\"} 2"))
      << text;
  EXPECT_TRUE(Contains(text, "http_request_duration_seconds_bucket{" + labels + ",le=\"+Inf\"} 3"))
      << text;
}

TEST(HttpMetricsTest, CountsNonStandardMethodsAsOther) {
  HttpMetrics metrics;
  metrics.Observe("BREW", "unmatched", 404, 0.001);
  metrics.Observe("", "unmatched", 400, 0.001);

  const std::string text = metrics.Expose();
  EXPECT_FALSE(Contains(text, "BREW")) << text;
  EXPECT_TRUE(
      Contains(text, "http_requests_total{method=\"other\",route=\"unmatched\",status=\"404\"} 1"))
      << text;
  EXPECT_TRUE(
      Contains(text, "http_requests_total{method=\"other\",route=\"unmatched\",status=\"400\"} 1"))
      << text;
}

TEST(MetricFamilyTest, HistogramBucketsAreCumulativeAndEndInPlusInf) {
  HistogramSnapshot s;
  s.bounds = {0.001, 0.01};
  s.counts = {2, 3, 1};
  s.count = 6;
  s.sum = 0.5;
  const std::string text = ExposeFamilies({HistogramFamily("x_seconds", "help", s)});
  EXPECT_TRUE(Contains(text, "# TYPE x_seconds histogram")) << text;
  EXPECT_TRUE(Contains(text, "x_seconds_bucket{le=\"0.001\"} 2\n")) << text;
  EXPECT_TRUE(Contains(text, "x_seconds_bucket{le=\"0.01\"} 5\n")) << text;
  EXPECT_TRUE(Contains(text, "x_seconds_bucket{le=\"+Inf\"} 6\n")) << text;
  EXPECT_TRUE(Contains(text, "x_seconds_count 6\n")) << text;
  EXPECT_TRUE(Contains(text, "x_seconds_sum 0.5\n")) << text;
}

// /metrics serves the request families, then those other modules collect at
// scrape time.
TEST(HttpMetricsTest, ExposesCollectedFamiliesAfterItsOwn) {
  HttpMetrics metrics;
  metrics.Observe("GET", "/metrics", 200, 0.001);
  MetricFamily ready = OneValueFamily("ledger_ready", "1 when ready", MetricType::kGauge, 1);
  MetricFamily commands = EmptyFamily("ledger_commands_total", "commands", MetricType::kCounter);
  AddSample(commands, 3, {{"command", "fund_post"}, {"outcome", "accepted"}});
  const std::string text = metrics.Expose({ready, commands});
  EXPECT_TRUE(
      Contains(text, "http_requests_total{method=\"GET\",route=\"/metrics\",status=\"200\"} 1"))
      << text;
  EXPECT_TRUE(Contains(text, "# TYPE ledger_ready gauge\nledger_ready 1\n")) << text;
  EXPECT_TRUE(Contains(text, "# TYPE ledger_commands_total counter\n")) << text;
  EXPECT_TRUE(
      Contains(text, "ledger_commands_total{command=\"fund_post\",outcome=\"accepted\"} 3\n"))
      << text;
  EXPECT_LT(text.find("http_requests_total"), text.find("ledger_ready")) << text;
  EXPECT_EQ(ExposeFamilies({ready}),
            "# HELP ledger_ready 1 when ready\n"
            "# TYPE ledger_ready gauge\nledger_ready 1\n");
}

}  // namespace
}  // namespace ledger::http
