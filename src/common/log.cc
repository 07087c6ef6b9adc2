#include "common/log.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>

#include <unistd.h>

#include "common/ascii.h"
#include "common/utf8.h"

namespace ledger {
namespace {

// What ends every line, with room for the mark of a line that lost fields.
constexpr std::string_view kTruncatedMark = ",\"truncated\":true";
constexpr std::string_view kLineEnd = "}\n";
constexpr size_t kTailBytes = kTruncatedMark.size() + kLineEnd.size();
// The smallest string value: `"…"`.
constexpr std::string_view kEllipsis = "\xE2\x80\xA6";
constexpr size_t kStringValueBytesMin = 2 + kEllipsis.size();
// U+FFFD REPLACEMENT CHARACTER, for each byte of invalid UTF-8.
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
// The longest escape of one piece of input: \u00XX.
constexpr size_t kPieceBytesMax = 6;

static_assert(kLogValueBytesMax >= kStringValueBytesMin);
static_assert(kLogLineBytesMax > kLogValueBytesMax + kTailBytes + 256,
              "a line holds its header and one value of the largest size");

std::atomic<int> g_sink_fd{STDERR_FILENO};

// The line buffer of a thread; `busy` while a line is being built in it.
struct ThreadBuffer {
  std::string text;
  bool busy = false;
};
thread_local ThreadBuffer t_buffer;

// Writes `width` decimal digits of `value` at `p`.
void PutDigits(char* p, int64_t value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

// "YYYY-MM-DDTHH:MM:SS.ffffffZ" of now, UTC.
void AppendTime(std::string& out) {
  using namespace std::chrono;
  const auto now = time_point_cast<microseconds>(system_clock::now());
  const auto second = floor<seconds>(now);
  // The date and clock part changes once a second: kept per thread.
  thread_local int64_t cached_second = std::numeric_limits<int64_t>::min();
  thread_local char cached[19];  // "YYYY-MM-DDTHH:MM:SS"
  if (second.time_since_epoch().count() != cached_second) {
    cached_second = second.time_since_epoch().count();
    const auto day = floor<days>(second);
    const year_month_day date(day);
    const hh_mm_ss<seconds> tod(second - day);
    PutDigits(cached, static_cast<int>(date.year()), 4);
    cached[4] = '-';
    PutDigits(cached + 5, static_cast<unsigned>(date.month()), 2);
    cached[7] = '-';
    PutDigits(cached + 8, static_cast<unsigned>(date.day()), 2);
    cached[10] = 'T';
    PutDigits(cached + 11, tod.hours().count(), 2);
    cached[13] = ':';
    PutDigits(cached + 14, tod.minutes().count(), 2);
    cached[16] = ':';
    PutDigits(cached + 17, tod.seconds().count(), 2);
  }
  char fraction[8];
  fraction[0] = '.';
  PutDigits(fraction + 1, (now - second).count(), 6);
  fraction[7] = 'Z';
  out.append(cached, sizeof cached);
  out.append(fraction, sizeof fraction);
}

// Bytes that JSON and a terminal take as they are.
bool IsPlain(char c) { return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\'; }

// \u00XX of a control character.
size_t ControlEscape(uint32_t c, char* piece) {
  piece[0] = '\\';
  piece[1] = 'u';
  piece[2] = '0';
  piece[3] = '0';
  piece[4] = HexDigit(c >> 4U);
  piece[5] = HexDigit(c);
  return kPieceBytesMax;
}

// The JSON text of the piece of `text` at `i` that is not a plain byte: an
// escape, a whole UTF-8 sequence, or U+FFFD for one byte of an invalid one.
// Sets *consumed to the bytes of `text` it stands for; returns its length.
size_t EncodePiece(std::string_view text, size_t i, char* piece, size_t* consumed) {
  const auto b = static_cast<uint8_t>(text[i]);
  *consumed = 1;
  if (b == '"' || b == '\\') {
    piece[0] = '\\';
    piece[1] = static_cast<char>(b);
    return 2;
  }
  if (b < 0x80) {
    if (b < 0x20 || b == 0x7f) return ControlEscape(b, piece);
    piece[0] = static_cast<char>(b);
    return 1;
  }
  size_t end = i;
  const std::optional<char32_t> cp = DecodeCodePoint(text, &end);
  if (!cp) {
    kReplacement.copy(piece, kReplacement.size());
    return kReplacement.size();
  }
  const size_t len = end - i;
  *consumed = len;
  // C1 controls are valid JSON but would steer a terminal (U+009B is CSI).
  if (*cp <= 0x9f) return ControlEscape(*cp, piece);
  text.copy(piece, len, i);
  return len;
}

// Appends `value` as a JSON string of at most `limit` bytes with its quotes;
// a longer one is cut at a piece boundary and ends in "…".
// REQUIRES: limit >= kStringValueBytesMin.
void AppendString(std::string& out, std::string_view value, size_t limit) {
  const size_t content_max = limit - 2;
  const size_t keep_max = content_max - kEllipsis.size();  // content kept when cut
  out += '"';
  const size_t base = out.size();
  size_t safe = 0;  // content length at a piece boundary, <= keep_max
  bool cut = false;
  size_t i = 0;
  while (i < value.size()) {
    const size_t content = out.size() - base;
    size_t end = i;
    while (end < value.size() && IsPlain(value[end])) ++end;
    if (end > i) {
      const size_t run = end - i;
      if (content + run > content_max) {
        if (content <= keep_max) {
          out.append(value.data() + i, keep_max - content);
        } else {
          out.resize(base + safe);
        }
        cut = true;
        break;
      }
      out.append(value.data() + i, run);
      if (content + run <= keep_max) {
        safe = content + run;
      } else if (content <= keep_max) {
        safe = keep_max;
      }
      i = end;
      continue;
    }
    char piece[kPieceBytesMax];
    size_t consumed = 0;
    const size_t piece_bytes = EncodePiece(value, i, piece, &consumed);
    if (content + piece_bytes > content_max) {
      out.resize(base + safe);
      cut = true;
      break;
    }
    out.append(piece, piece_bytes);
    if (content + piece_bytes <= keep_max) safe = content + piece_bytes;
    i += consumed;
  }
  if (cut) out += kEllipsis;
  out += '"';
}

// One write(2) unless the kernel takes less (then the rest follows). A
// failing sink has nowhere to be reported: the line is lost.
void WriteLine(int fd, const std::string& line) {
  const int saved_errno = errno;
  const char* data = line.data();
  size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, data, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    data += n;
    left -= static_cast<size_t>(n);
  }
  errno = saved_errno;
}

}  // namespace

std::optional<LogLevel> ParseLogLevel(std::string_view text) {
  for (const LogLevel level :
       {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    if (text == LogLevelName(level)) return level;
  }
  return std::nullopt;
}

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "error";
}

void SetLogLevel(LogLevel level) {
  internal::g_min_log_level.store(static_cast<int>(level), std::memory_order_relaxed);
}

int SetLogSinkForTest(int fd) { return g_sink_fd.exchange(fd); }

LogLine::LogLine(LogLevel level, std::string_view component, std::string_view msg) {
  if (!LogEnabled(level)) return;
  ThreadBuffer& thread = t_buffer;
  if (thread.busy) {
    nested_ = true;
    out_ = &own_;
  } else {
    thread.busy = true;
    out_ = &thread.text;
  }
  // Every later append fits: no allocation while the line is built.
  out_->reserve(kLogLineBytesMax);
  out_->clear();
  out_->append("{\"time\":\"");
  AppendTime(*out_);
  out_->append("\",\"level\":\"");
  out_->append(LogLevelName(level));
  out_->append("\"");
  Str("component", component);
  Str("msg", msg);
}

LogLine::~LogLine() {
  if (out_ == nullptr) return;
  if (truncated_) out_->append(kTruncatedMark);
  out_->append(kLineEnd);
  WriteLine(g_sink_fd.load(std::memory_order_relaxed), *out_);
  if (!nested_) t_buffer.busy = false;
}

bool LogLine::Key(std::string_view key, size_t value_bytes) {
  if (out_ == nullptr) return false;
  // ,"key":value
  if (out_->size() + 4 + key.size() + value_bytes + kTailBytes > kLogLineBytesMax) {
    truncated_ = true;
    return false;
  }
  out_->append(",\"");
  out_->append(key);
  out_->append("\":");
  return true;
}

void LogLine::Raw(std::string_view key, std::string_view text) {
  if (Key(key, text.size())) out_->append(text);
}

LogLine& LogLine::Str(std::string_view key, std::string_view value) {
  if (!Key(key, kStringValueBytesMin)) return *this;
  const size_t room = kLogLineBytesMax - kTailBytes - out_->size();
  AppendString(*out_, value, std::min(room, kLogValueBytesMax));
  return *this;
}

LogLine& LogLine::Int(std::string_view key, int64_t value) {
  if (out_ == nullptr) return *this;
  char text[24];
  const auto result = std::to_chars(text, text + sizeof text, value);
  Raw(key, std::string_view(text, static_cast<size_t>(result.ptr - text)));
  return *this;
}

LogLine& LogLine::Double(std::string_view key, double value) {
  if (out_ == nullptr) return *this;
  if (!std::isfinite(value)) {
    Raw(key, "null");
    return *this;
  }
  char text[32];
  const auto result = std::to_chars(text, text + sizeof text, value);
  Raw(key, std::string_view(text, static_cast<size_t>(result.ptr - text)));
  return *this;
}

}  // namespace ledger
