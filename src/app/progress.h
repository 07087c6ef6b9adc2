#pragma once

// Progress of a tool's long work (the chain walk, the fold, a backup's
// check), drawn on stderr only when it is a terminal.

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>

namespace ledger::app {

// Progress of long work on stderr, only when stderr is a terminal: one line
// rewritten in place, at most every kProgressInterval.
inline constexpr std::chrono::milliseconds kProgressInterval{200};
class Progress {
 public:
  // `enabled` false: every call does nothing.
  Progress(std::ostream& err, std::string label, bool enabled);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void Update(int64_t done, int64_t total);
  // Ends the line (if one was drawn).
  void Finish();

 private:
  std::ostream& err_;
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_;
};
// Whether progress should be drawn: stderr is a terminal.
bool StderrIsTerminal();
// "verify chain: 1 234 567 / 10 000 000 events (12.3 %), 1.52 M events/s, ETA 6 s".
std::string FormatProgress(std::string_view label, int64_t done, int64_t total, double seconds);

}  // namespace ledger::app
