#include "http/metrics.h"

#include <string>

#include <gtest/gtest.h>
#include <prometheus/registry.h>

namespace ledger::http {
namespace {

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(HttpMetricsTest, CountsRequestsByMethodRouteAndStatus) {
  prometheus::Registry registry;
  HttpMetrics metrics(registry);
  metrics.Observe("GET", "/api/posts/{id}", 200, 0.002);
  metrics.Observe("GET", "/api/posts/{id}", 200, 0.003);
  metrics.Observe("GET", "/api/posts/{id}", 404, 0.001);
  metrics.Observe("POST", "unmatched", 404, 0.001);

  const std::string text = SerializeRegistry(registry);
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
  prometheus::Registry registry;
  HttpMetrics metrics(registry);
  metrics.Observe("GET", "/healthz", 200, 0.00005);
  metrics.Observe("GET", "/healthz", 200, 0.3);
  metrics.Observe("GET", "/healthz", 200, 20.0);

  const std::string text = SerializeRegistry(registry);
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
  prometheus::Registry registry;
  HttpMetrics metrics(registry);
  metrics.Observe("BREW", "unmatched", 404, 0.001);
  metrics.Observe("", "unmatched", 400, 0.001);

  const std::string text = SerializeRegistry(registry);
  EXPECT_FALSE(Contains(text, "BREW")) << text;
  EXPECT_TRUE(
      Contains(text, "http_requests_total{method=\"other\",route=\"unmatched\",status=\"404\"} 1"))
      << text;
  EXPECT_TRUE(
      Contains(text, "http_requests_total{method=\"other\",route=\"unmatched\",status=\"400\"} 1"))
      << text;
}

TEST(HttpMetricsTest, SerializesEveryFamilyInTheRegistry) {
  prometheus::Registry registry;
  HttpMetrics metrics(registry);
  // Families of other modules share the registry and the exposition.
  HttpMetrics second(registry);  // registering the same families again reuses them
  second.Observe("GET", "/metrics", 200, 0.001);
  metrics.Observe("GET", "/metrics", 200, 0.001);
  const std::string text = SerializeRegistry(registry);
  EXPECT_TRUE(
      Contains(text, "http_requests_total{method=\"GET\",route=\"/metrics\",status=\"200\"} 2"))
      << text;
}

}  // namespace
}  // namespace ledger::http
