#pragma once

// The audit subcommands, each in its own <name>_command.cc: head, events,
// verify, replay and backup. Each starts through Begin (command_support.h),
// prints its --help, works beside a running `serve` and returns its exit
// code.

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
