#pragma once

// The audit subcommands: head, events, verify, replay and backup. Each
// parses its own flags (tool_support.h), prints --help, works beside a
// running `serve` and returns its exit code (cli.h).

#include <iosfwd>
#include <string>
#include <vector>

namespace ledger::app {

// args[0] is the subcommand's name.
int HeadCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int EventsCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int VerifyCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int ReplayCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int BackupCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace ledger::app
