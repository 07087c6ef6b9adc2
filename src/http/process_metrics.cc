#include "http/process_metrics.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <string>

#include <sys/resource.h>
#include <unistd.h>

namespace ledger::http {
namespace {

// Fields of /proc/<pid>/stat counted from the one after "(comm)", which is
// field 3 (state) of proc(5); comm may hold spaces and parentheses.
constexpr size_t kUtime = 14 - 3;
constexpr size_t kStime = 15 - 3;
constexpr size_t kStartTime = 22 - 3;
constexpr size_t kVsize = 23 - 3;
constexpr size_t kRss = 24 - 3;

std::optional<double> Number(std::string_view text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// The text of a small /proc file ("" when it cannot be read).
std::string ReadWhole(const char* path) {
  std::string text;
  std::FILE* file = std::fopen(path, "re");
  if (file == nullptr) return text;
  char chunk[4096];
  size_t n = 0;
  while ((n = std::fread(chunk, 1, sizeof chunk, file)) > 0) text.append(chunk, n);
  std::fclose(file);
  return text;
}

}  // namespace

std::optional<ProcessSample> ParseProcStat(std::string_view stat, double ticks_per_second,
                                           double page_bytes, double boot_time_seconds) {
  const size_t close = stat.rfind(')');
  if (close == std::string_view::npos || ticks_per_second <= 0) return std::nullopt;
  std::vector<std::string_view> fields;
  std::string_view rest = stat.substr(close + 1);
  while (!rest.empty()) {
    const size_t start = rest.find_first_not_of(" \n");
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    const size_t end = std::min(rest.find_first_of(" \n"), rest.size());
    fields.push_back(rest.substr(0, end));
    rest.remove_prefix(end);
  }
  if (fields.size() <= kRss) return std::nullopt;
  const auto utime = Number(fields[kUtime]);
  const auto stime = Number(fields[kStime]);
  const auto start = Number(fields[kStartTime]);
  const auto vsize = Number(fields[kVsize]);
  const auto rss = Number(fields[kRss]);
  if (!utime || !stime || !start || !vsize || !rss) return std::nullopt;
  ProcessSample s;
  s.cpu_seconds = (*utime + *stime) / ticks_per_second;
  s.start_time_seconds = boot_time_seconds + *start / ticks_per_second;
  s.virtual_bytes = *vsize;
  s.resident_bytes = *rss * page_bytes;
  return s;
}

std::optional<double> ParseBootTime(std::string_view proc_stat) {
  constexpr std::string_view kKey = "btime ";
  size_t at = 0;
  while (at < proc_stat.size()) {
    const size_t end = std::min(proc_stat.find('\n', at), proc_stat.size());
    const std::string_view line = proc_stat.substr(at, end - at);
    if (line.starts_with(kKey)) return Number(line.substr(kKey.size()));
    at = end + 1;
  }
  return std::nullopt;
}

std::optional<ProcessSample> SampleThisProcess() {
  const auto boot = ParseBootTime(ReadWhole("/proc/stat"));
  if (!boot) return std::nullopt;
  auto sample =
      ParseProcStat(ReadWhole("/proc/self/stat"), static_cast<double>(sysconf(_SC_CLK_TCK)),
                    static_cast<double>(sysconf(_SC_PAGESIZE)), *boot);
  if (!sample) return std::nullopt;
  std::error_code ec;
  size_t fds = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++fds;
  }
  // The directory iterator's own descriptor was counted too.
  sample->open_fds = fds > 0 ? static_cast<double>(fds - 1) : 0;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) sample->max_fds = static_cast<double>(limit.rlim_cur);
  return sample;
}

std::vector<MetricFamily> ProcessFamilies(const ProcessSample& s) {
  std::vector<MetricFamily> out;
  out.push_back(OneValueFamily("process_cpu_seconds_total",
                               "User and system CPU time spent, in seconds", MetricType::kCounter,
                               s.cpu_seconds));
  out.push_back(OneValueFamily("process_resident_memory_bytes", "Resident memory size in bytes",
                               MetricType::kGauge, s.resident_bytes));
  out.push_back(OneValueFamily("process_virtual_memory_bytes", "Virtual memory size in bytes",
                               MetricType::kGauge, s.virtual_bytes));
  out.push_back(OneValueFamily("process_start_time_seconds",
                               "Start time of the process since the Unix epoch, in seconds",
                               MetricType::kGauge, s.start_time_seconds));
  out.push_back(
      OneValueFamily("process_open_fds", "Open file descriptors", MetricType::kGauge, s.open_fds));
  out.push_back(OneValueFamily("process_max_fds",
                               "Maximum number of open file descriptors (soft limit)",
                               MetricType::kGauge, s.max_fds));
  return out;
}

}  // namespace ledger::http
