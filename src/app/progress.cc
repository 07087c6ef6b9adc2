#include "app/progress.h"

#include <cmath>
#include <cstdio>
#include <ostream>

#include <unistd.h>

namespace ledger::app {
namespace {

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

}  // namespace ledger::app
