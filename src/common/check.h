#pragma once

#include <string_view>

namespace ledger::internal {

// Logs an error line (common/log.h, component "check") whose msg is
// "file:line: LEDGER_CHECK failed: expr: message", then aborts.
[[noreturn]] void CheckFailed(const char* file, int line, const char* expr,
                              std::string_view message);

}  // namespace ledger::internal

// An invariant of the ledger. Always compiled in, in every build type: a
// ledger that has broken one of its invariants must stop before it
// acknowledges anything else. Not for conditions that outside input can cause.
#define LEDGER_CHECK(cond, message)                                        \
  do {                                                                     \
    if (!(cond)) [[unlikely]] {                                            \
      ::ledger::internal::CheckFailed(__FILE__, __LINE__, #cond, message); \
    }                                                                      \
  } while (false)
