#pragma once

// The process_* metrics every Prometheus client library exposes (CPU,
// memory, file descriptors, start time), read from /proc on Linux.

#include <optional>
#include <string_view>
#include <vector>

#include "http/metric_family.h"

namespace ledger::http {

struct ProcessSample {
  double cpu_seconds = 0;  // user + system
  double resident_bytes = 0;
  double virtual_bytes = 0;
  double start_time_seconds = 0;  // since the Unix epoch
  double open_fds = 0;
  double max_fds = 0;  // the soft RLIMIT_NOFILE
};

// Fills cpu_seconds, virtual_bytes, resident_bytes and start_time_seconds
// from the text of /proc/<pid>/stat. `boot_time_seconds` is /proc/stat's
// btime. nullopt when `stat` does not have the expected shape.
std::optional<ProcessSample> ParseProcStat(std::string_view stat, double ticks_per_second,
                                           double page_bytes, double boot_time_seconds);

// The `btime` line of /proc/stat's text, or nullopt.
std::optional<double> ParseBootTime(std::string_view proc_stat);

// This process, now; nullopt when /proc cannot be read.
std::optional<ProcessSample> SampleThisProcess();

// process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_start_time_seconds,
// process_open_fds, process_max_fds.
std::vector<MetricFamily> ProcessFamilies(const ProcessSample& sample);

}  // namespace ledger::http
