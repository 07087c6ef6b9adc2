#pragma once

// The process's file-descriptor limit and the HTTP connection cap sized
// from it: every connection is a descriptor, and the log, the read side's
// database sessions and the streams' timers need theirs too.

#include <cstdint>

#include "common/result.h"

namespace ledger::app {

// Descriptors kept for everything but client connections: RocksDB's files
// (max_open_files is unbounded), PostgreSQL sessions, the embedded server's
// pipes, the data directory's files.
inline constexpr uint64_t kReservedDescriptors = 1'024;
// The cap chosen from the limit never exceeds this (each connection also
// costs memory: docs/performance.md measures it).
inline constexpr uint64_t kMaxAutoConnections = 65'536;
// Below this many connections the service is not worth starting.
inline constexpr uint64_t kMinConnections = 64;

// Raises the soft RLIMIT_NOFILE to the hard one (as systemd's LimitNOFILE or
// `ulimit -Hn` allow) and returns the soft limit now in force.
uint64_t RaiseFileDescriptorLimit();

// The connection cap for `configured` (--max-connections; 0: from the
// limit) under a descriptor limit of `fd_limit`: 0 becomes
// min(fd_limit - kReservedDescriptors, kMaxAutoConnections); a configured
// cap that leaves fewer than kReservedDescriptors, or a limit that leaves
// fewer than kMinConnections, is InvalidArgument saying what to raise.
Result<uint64_t> ConnectionCap(int64_t configured, uint64_t fd_limit);

}  // namespace ledger::app
