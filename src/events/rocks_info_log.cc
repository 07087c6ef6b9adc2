#include "events/rocks_info_log.h"

#include <algorithm>
#include <cstdio>
#include <string_view>

#include "common/log.h"

namespace ledger::events {
namespace {

LogLevel ToLogLevel(rocksdb::InfoLogLevel level) {
  switch (level) {
    case rocksdb::InfoLogLevel::DEBUG_LEVEL:
      return LogLevel::kDebug;
    case rocksdb::InfoLogLevel::WARN_LEVEL:
      return LogLevel::kWarn;
    case rocksdb::InfoLogLevel::ERROR_LEVEL:
    case rocksdb::InfoLogLevel::FATAL_LEVEL:
      return LogLevel::kError;
    default:
      return LogLevel::kInfo;
  }
}

}  // namespace

RocksInfoLog::RocksInfoLog(rocksdb::InfoLogLevel level) : rocksdb::Logger(level) {}

void RocksInfoLog::Logv(const char* format, va_list ap) {
  Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
}

void RocksInfoLog::LogHeader(const char* format, va_list ap) {
  Logv(rocksdb::InfoLogLevel::HEADER_LEVEL, format, ap);
}

void RocksInfoLog::Logv(rocksdb::InfoLogLevel level, const char* format, va_list ap) {
  const rocksdb::InfoLogLevel effective =
      level == rocksdb::InfoLogLevel::HEADER_LEVEL ? rocksdb::InfoLogLevel::INFO_LEVEL : level;
  if (effective < GetInfoLogLevel()) return;
  const LogLevel ours = ToLogLevel(effective);
  if (!LogEnabled(ours)) return;
  // A line of the service's log is at most kLogLineBytesMax; RocksDB's
  // messages are one line each, far shorter.
  char text[kLogLineBytesMax];
  // The format is RocksDB's, checked where RocksDB calls its log.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
  const int written = std::vsnprintf(text, sizeof(text), format, ap);
#pragma GCC diagnostic pop
  if (written < 0) return;
  std::string_view message(text, std::min(static_cast<size_t>(written), sizeof(text) - 1));
  while (!message.empty() && message.back() == '\n') message.remove_suffix(1);
  LEDGER_LOG(ours, "rocksdb", "rocksdb").Str("message", message);
}

}  // namespace ledger::events
