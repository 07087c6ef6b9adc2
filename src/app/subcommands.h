#pragma once

// The subcommands that RunCli (cli.h) dispatches to, each in its own
// <name>_command.cc; each returns its exit code (command_support.h).
//
// serve and token read their words as configuration options (ParseFlags
// with UnlistedFlags::kKeep) and take --help only alone. The audit tools
// (head, events, verify, replay, backup) declare their flags and start
// through Begin; they work beside a running `serve`.

#include <iosfwd>
#include <string>
#include <vector>

namespace ledger::app {

// args[0] is the subcommand's name.
int ServeCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int TokenCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int HeadCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int EventsCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int VerifyCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int ReplayCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int BackupCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace ledger::app
