#include "common/check.h"

#include <cstdlib>
#include <string>

#include "common/log.h"

namespace ledger::internal {

void CheckFailed(const char* file, int line, const char* expr, std::string_view message) {
  // The msg keeps the text the check has always printed, "file:line:
  // LEDGER_CHECK failed: expr: message", which searches (and the death tests
  // of tests/common/status_test.cc) look for.
  std::string text = file;
  text += ':';
  text += std::to_string(line);
  text += ": LEDGER_CHECK failed: ";
  text += expr;
  text += ": ";
  text += message;
  LEDGER_LOG(LogLevel::kError, "check", text);
  std::abort();
}

}  // namespace ledger::internal
