#pragma once

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace ledger::app {

// Runs `funding-ledger <args...>`; returns the process exit code.
int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// Reports a command line that cannot be read (a stray word, a flag without
// its value): "funding-ledger COMMAND: <message>", then the usage text.
// Returns kExitUsage. For serve, token and an unknown command; the audit
// tools point to their own --help instead (Begin).
int FailCommandLine(std::ostream& err, std::string_view command, const Status& status);

}  // namespace ledger::app
