#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace ledger::app {

// Runs `funding-ledger <args...>`; returns the process exit code.
int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace ledger::app
