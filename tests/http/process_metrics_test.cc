#include "http/process_metrics.h"

#include <string>

#include <gtest/gtest.h>

#include "http/metrics.h"

namespace ledger::http {
namespace {

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A /proc/<pid>/stat line whose comm holds spaces and a parenthesis.
constexpr char kStat[] =
    "4242 (funding (ledger) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 "
    "250 150 0 0 20 0 12 0 5000 123456789 2048 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 "
    "17 1 0 0 0 0 0\n";

TEST(ProcessMetricsTest, ReadsCpuMemoryAndStartTimeFromProcStat) {
  const auto s = ParseProcStat(kStat, 100, 4096, 1'700'000'000);
  ASSERT_TRUE(s.has_value());
  EXPECT_DOUBLE_EQ(s->cpu_seconds, 4.0);  // (250 + 150) ticks / 100
  EXPECT_DOUBLE_EQ(s->start_time_seconds, 1'700'000'050.0);
  EXPECT_DOUBLE_EQ(s->virtual_bytes, 123456789.0);
  EXPECT_DOUBLE_EQ(s->resident_bytes, 2048.0 * 4096);
}

TEST(ProcessMetricsTest, RefusesMalformedText) {
  EXPECT_FALSE(ParseProcStat("", 100, 4096, 0).has_value());
  EXPECT_FALSE(ParseProcStat("1 (x) S 1 2 3", 100, 4096, 0).has_value());
  EXPECT_FALSE(ParseProcStat("1 x S", 100, 4096, 0).has_value());
  std::string bad = kStat;
  bad.replace(bad.find(" 250 "), 5, " 2x0 ");
  EXPECT_FALSE(ParseProcStat(bad, 100, 4096, 0).has_value());
}

TEST(ProcessMetricsTest, FindsTheBootTime) {
  EXPECT_EQ(ParseBootTime("cpu  1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n"), 1'700'000'000);
  EXPECT_FALSE(ParseBootTime("cpu 1\n").has_value());
  EXPECT_FALSE(ParseBootTime("btime soon\n").has_value());
}

TEST(ProcessMetricsTest, SamplesThisProcess) {
  const auto s = SampleThisProcess();
  ASSERT_TRUE(s.has_value());
  EXPECT_GT(s->resident_bytes, 0);
  EXPECT_GE(s->open_fds, 3);  // stdin, stdout, stderr
  EXPECT_GE(s->max_fds, s->open_fds);
  EXPECT_GT(s->start_time_seconds, 1'600'000'000);
  const std::string text = ExposeFamilies(ProcessFamilies(*s));
  EXPECT_TRUE(Contains(text, "# TYPE process_cpu_seconds_total counter")) << text;
  EXPECT_TRUE(Contains(text, "process_resident_memory_bytes ")) << text;
  EXPECT_TRUE(Contains(text, "process_max_fds ")) << text;
}

}  // namespace
}  // namespace ledger::http
