#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace ledger::app {

// Exit codes shared by every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitMismatch = 1;  // verify found a problem
inline constexpr int kExitUsage = 2;     // bad arguments or an I/O error

// Runs `funding-ledger <args...>`; returns the process exit code.
int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace ledger::app
