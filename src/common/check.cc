#include "common/check.h"

#include <cstdio>
#include <cstdlib>

namespace ledger::internal {

void CheckFailed(const char* file, int line, const char* expr, std::string_view message) {
  std::fprintf(stderr, "%s:%d: LEDGER_CHECK failed: %s: %.*s\n", file, line, expr,
               static_cast<int>(message.size()), message.data());
  std::fflush(stderr);
  std::abort();
}

}  // namespace ledger::internal
