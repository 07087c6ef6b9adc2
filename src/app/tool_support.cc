#include "app/tool_support.h"

#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <ostream>

#include <sys/stat.h>
#include <unistd.h>

namespace ledger::app {
namespace {

namespace fs = std::filesystem;

std::atomic<bool> g_stop_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free, "used from a signal handler");

extern "C" void OnInterrupt(int signal) {
  if (g_stop_requested.exchange(true)) {
    // The second signal: the default action, now.
    std::signal(signal, SIG_DFL);
    std::raise(signal);
  }
}

struct sigaction g_previous_int {};
struct sigaction g_previous_term {};

// 1234567 -> "1 234 567" (the thin grouping finance staff read at a glance).
std::string Grouped(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ' ';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string Rate(double per_second) {
  char text[32];
  if (per_second >= 1e6) {
    std::snprintf(text, sizeof text, "%.2f M events/s", per_second / 1e6);
  } else if (per_second >= 1e3) {
    std::snprintf(text, sizeof text, "%.1f k events/s", per_second / 1e3);
  } else {
    std::snprintf(text, sizeof text, "%.0f events/s", per_second);
  }
  return text;
}

std::string Duration(double seconds) {
  const auto s = static_cast<int64_t>(std::ceil(seconds));
  if (s < 60) return std::to_string(s) + " s";
  if (s < 3600) return std::to_string(s / 60) + " min " + std::to_string(s % 60) + " s";
  return std::to_string(s / 3600) + " h " + std::to_string(s % 3600 / 60) + " min";
}

}  // namespace

InterruptScope::InterruptScope() {
  g_stop_requested = false;
  struct sigaction action {};
  action.sa_handler = OnInterrupt;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &g_previous_int);
  sigaction(SIGTERM, &action, &g_previous_term);
}

InterruptScope::~InterruptScope() {
  sigaction(SIGINT, &g_previous_int, nullptr);
  sigaction(SIGTERM, &g_previous_term, nullptr);
}

bool StopRequested() { return g_stop_requested.load(); }

bool StderrIsTerminal() { return isatty(STDERR_FILENO) == 1; }

std::string FormatProgress(std::string_view label, int64_t done, int64_t total, double seconds) {
  std::string line = std::string(label) + ": " + Grouped(done);
  if (total > 0) {
    char percent[16];
    std::snprintf(percent, sizeof percent, "%.1f",
                  100.0 * static_cast<double>(done) / static_cast<double>(total));
    line += " / " + Grouped(total) + " events (" + percent + " %)";
  } else {
    line += " events";
  }
  if (seconds > 0 && done > 0) {
    const double rate = static_cast<double>(done) / seconds;
    line += ", " + Rate(rate);
    if (total > done) line += ", ETA " + Duration(static_cast<double>(total - done) / rate);
  }
  return line;
}

Progress::Progress(std::ostream& err, std::string label, bool enabled)
    : err_(err),
      label_(std::move(label)),
      enabled_(enabled),
      started_(std::chrono::steady_clock::now()),
      last_(started_) {}

Progress::~Progress() { Finish(); }

void Progress::Update(int64_t done, int64_t total) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_ < kProgressInterval && done < total) return;
  last_ = now;
  drawn_ = true;
  const double seconds = std::chrono::duration<double>(now - started_).count();
  // \r: back to the line's start; ESC[K: clear what a longer line left.
  err_ << '\r' << FormatProgress(label_, done, total, seconds) << "\x1b[K" << std::flush;
}

void Progress::Finish() {
  if (!drawn_) return;
  drawn_ = false;
  err_ << '\n' << std::flush;
}

Result<std::unique_ptr<ToolLog>> ToolLog::Open(const std::string& data_dir, bool check_tail) {
  const std::string path = data_dir + "/log";
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    return Status::NotFound("no event log in " + path + " (is --data-dir right?)");
  }
  std::string pattern = (fs::temp_directory_path(ec) / "funding-ledger-secondary-XXXXXX").string();
  if (ec) pattern = "/tmp/funding-ledger-secondary-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    return Status::IOError("creating a temporary directory " + pattern);
  }
  std::unique_ptr<ToolLog> tool(new ToolLog());
  tool->secondary_dir_ = pattern;
  events::RocksLogOptions options;
  options.secondary_dir = pattern;
  if (!check_tail) options.verify_tail_events = 0;
  LEDGER_ASSIGN_OR_RETURN(tool->log_, events::RocksEventLog::Open(path, options));
  return tool;
}

ToolLog::~ToolLog() {
  log_.reset();
  if (!secondary_dir_.empty()) {
    std::error_code ec;
    fs::remove_all(secondary_dir_, ec);
  }
}

Result<ReadSide> OpenReadSide(const Config& config, std::string_view command, bool create,
                              std::ostream& err) {
  ReadSide side;
  if (!config.database_url.empty()) {
    side.conninfo = config.database_url;
    return side;
  }
  projections::EmbeddedPostgresOptions pg;
  pg.data_dir = config.data_dir + "/pg";
  pg.durable = true;
  if (auto running = projections::EmbeddedPostgres::RunningAt(pg)) {
    side.conninfo = std::move(*running);
    return side;
  }
  std::error_code ec;
  if (!create && !fs::is_directory(pg.data_dir + "/cluster", ec)) {
    return Status::NotFound("no read-side database: " + pg.data_dir +
                            " holds no embedded PostgreSQL and no --database-url was given");
  }
  // As serve does: the embedded PostgreSQL runs as its own user and must
  // reach its folder.
  chmod(config.data_dir.c_str(), 0711);
  LEDGER_ASSIGN_OR_RETURN(side.started, projections::EmbeddedPostgres::Start(pg));
  side.conninfo = side.started->ConnectionString("postgres");
  err << "funding-ledger " << command << ": started the embedded PostgreSQL in " << pg.data_dir
      << " (the service is not running); it stops when " << command << " ends\n";
  return side;
}

}  // namespace ledger::app
