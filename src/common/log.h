#pragma once

// Structured logs: one JSON object per line (docs/operations.md, "Logs").
//
//   {"time":"2026-11-21T01:02:03.456789Z","level":"info","component":"http",
//    "msg":"request","request_id":"fund-req-1","status":201,"duration_ms":1.25}
//
// time is UTC with microseconds; string values are escaped so that every line
// is valid JSON whatever the bytes given (control characters as \u00XX,
// invalid UTF-8 as U+FFFD). Thread-safe: each line reaches the sink with one
// write(2) of at most kLogLineBytesMax bytes, so lines of different threads
// never interleave, even on a pipe.
//
//   LEDGER_LOG(LogLevel::kInfo, "http", "request").Str("request_id", id).Int("status", 201);

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ledger {

enum class LogLevel : int { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// "debug", "info", "warn" or "error" (exactly); nullopt for anything else.
std::optional<LogLevel> ParseLogLevel(std::string_view text);
std::string_view LogLevelName(LogLevel level);

// PIPE_BUF: the largest write(2) to a pipe that POSIX keeps in one piece.
inline constexpr size_t kLogLineBytesMax = 4096;
// A string value longer than this (escaped) is cut at a code point and ends
// in "…".
inline constexpr size_t kLogValueBytesMax = 1024;

namespace internal {
inline std::atomic<int> g_min_log_level{static_cast<int>(LogLevel::kInfo)};
}  // namespace internal

// Lines below `level` are dropped from now on (default kInfo). Any thread.
void SetLogLevel(LogLevel level);

// Whether a line at `level` is written: one relaxed atomic load, so that a
// disabled line costs nothing when its caller checks first.
inline bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >= internal::g_min_log_level.load(std::memory_order_relaxed);
}

// Sends every later line to `fd` instead of stderr (2); returns the previous
// sink. For tests. REQUIRES: `fd` stays open while it is the sink.
int SetLogSinkForTest(int fd);

// One line, written when the object is destroyed: at the end of the full
// expression that builds it. Fields follow "msg" in the order they are added;
// keys are the caller's constants and are written unescaped. A field that
// would take the line past kLogLineBytesMax is left out and the line ends in
// "truncated":true. A line below the minimum level formats nothing.
// Formats into a buffer of the calling thread: no allocation once the
// thread's first lines have sized it.
class LogLine {
 public:
  LogLine(LogLevel level, std::string_view component, std::string_view msg);
  ~LogLine();
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;

  LogLine& Str(std::string_view key, std::string_view value);
  LogLine& Int(std::string_view key, int64_t value);
  // NaN and infinities, which JSON cannot hold, are written as null.
  LogLine& Double(std::string_view key, double value);

 private:
  // Appends `"key":` when it and `value_bytes` more still fit.
  bool Key(std::string_view key, size_t value_bytes);
  void Raw(std::string_view key, std::string_view text);

  std::string* out_ = nullptr;  // null: the line is disabled
  std::string own_;             // the buffer when this thread's one is taken
  bool nested_ = false;         // by a line still being built (in an argument)
  bool truncated_ = false;
};

namespace internal {
// Turns the LogLine chain of LEDGER_LOG into a void expression.
struct LogVoidify {
  void operator&(const LogLine& /*line*/) const {}
};
}  // namespace internal

}  // namespace ledger

// A LogLine whose arguments (after `level`) are evaluated only when a line at
// `level` is written; an expression, so it is safe in an unbraced if. `level`
// is evaluated twice. Not parenthesized: the caller's .Str(...) chain must
// bind to the LogLine.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define LEDGER_LOG(level, component, msg) \
  !::ledger::LogEnabled(level)            \
      ? static_cast<void>(0)              \
      : ::ledger::internal::LogVoidify() & ::ledger::LogLine(level, component, msg)
// NOLINTEND(bugprone-macro-parentheses)
