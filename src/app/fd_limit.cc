#include "app/fd_limit.h"

#include <algorithm>
#include <string>

#include <sys/resource.h>

namespace ledger::app {

uint64_t RaiseFileDescriptorLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur == RLIM_INFINITY ? UINT64_MAX : static_cast<uint64_t>(limit.rlim_cur);
}

Result<uint64_t> ConnectionCap(int64_t configured, uint64_t fd_limit) {
  const uint64_t room = fd_limit > kReservedDescriptors ? fd_limit - kReservedDescriptors : 0;
  const std::string raise =
      " (the open-file limit is " + std::to_string(fd_limit) + " and " +
      std::to_string(kReservedDescriptors) +
      " are kept for the log and the database; raise LimitNOFILE or `ulimit -n`)";
  if (configured == 0) {
    if (room < kMinConnections) {
      return Status::InvalidArgument("max-connections: fewer than " +
                                     std::to_string(kMinConnections) + " connections would fit" +
                                     raise);
    }
    return std::min(room, kMaxAutoConnections);
  }
  const auto wanted = static_cast<uint64_t>(configured);
  if (wanted > room) {
    return Status::InvalidArgument("max-connections: " + std::to_string(wanted) +
                                   " connections do not fit" + raise);
  }
  return wanted;
}

}  // namespace ledger::app
