#pragma once

// RocksDB's own diagnostics (its "info log") as lines of the service's log.

#include <cstdarg>

#include <rocksdb/env.h>

namespace ledger::events {

// A rocksdb::Logger that writes each message of `level` or above as a line
// of the service's structured log (component "rocksdb", to stderr), instead
// of a LOG file in the log's directory.
//
// Why not RocksDB's file: that file lives on the log's disk, and Debian's
// RocksDB 7.8 aborts the process (an assertion in WritableFileWriter) when it
// writes a message after a write of that file failed, which is exactly what
// happens on a full disk, where RocksDB logs that it is waiting for space.
// The service's log is not on the log's disk, and losing a line there never
// stops the process.
class RocksInfoLog final : public rocksdb::Logger {
 public:
  explicit RocksInfoLog(rocksdb::InfoLogLevel level);

  using rocksdb::Logger::Logv;
  // Messages without a level (RocksDB's header) count as info.
  void Logv(const char* format, va_list ap) override;
  void Logv(rocksdb::InfoLogLevel level, const char* format, va_list ap) override;
  void LogHeader(const char* format, va_list ap) override;
};

}  // namespace ledger::events
