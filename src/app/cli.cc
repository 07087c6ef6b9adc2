#include "app/cli.h"

#include <ostream>
#include <string_view>

#include "app/command_support.h"
#include "app/flags.h"
#include "app/subcommands.h"

namespace ledger::app {
namespace {

// What `help` prints; a line that cannot be read or names no known command
// gets it too.
constexpr const char* kUsage =
    "usage: funding-ledger <command> [options]\n"
    "\n"
    "commands:\n"
    "  serve    run the REST API (docs/api.md) until SIGINT or SIGTERM\n"
    "  token    print a development JWT: --sub ID [--name NAME] [--ttl SECONDS]\n"
    "  head     print the log head: position and hash (the digest to record elsewhere)\n"
    "  events   print events (by post, position range, type, time; --follow) as NDJSON or a "
    "table\n"
    "  verify   walk the hash chain and reconcile every post with the read tables\n"
    "  replay   rebuild the read tables from the log (--to-position N: history as of N)\n"
    "  backup   write a checked copy of the log: --to DIR\n"
    "  help     print this text\n"
    "\n"
    "Every command prints its options with --help. Every one takes --data-dir DIR (default\n"
    "./var), --database-url URL, --jwt-secret SECRET and --config FILE, also as\n"
    "FUNDING_LEDGER_<NAME> environment variables, and works while serve runs on the same\n"
    "data directory.\n"
    "\n"
    "exit codes: 0 done, 1 a mismatch or a broken log, 2 usage or I/O error, 130 interrupted\n";

}  // namespace

int FailCommandLine(std::ostream& err, std::string_view command, const Status& status) {
  err << "funding-ledger " << command << ": " << status.message() << "\n" << kUsage;
  return kExitUsage;
}

int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    (args.empty() ? err : out) << kUsage;
    return args.empty() ? kExitUsage : kExitOk;
  }
  const std::string& command = args[0];
  if (command == "serve") return ServeCommand(args, out, err);
  if (command == "token") return TokenCommand(args, out, err);
  if (command == "head") return HeadCommand(args, out, err);
  if (command == "events") return EventsCommand(args, out, err);
  if (command == "verify") return VerifyCommand(args, out, err);
  if (command == "replay") return ReplayCommand(args, out, err);
  if (command == "backup") return BackupCommand(args, out, err);
  // An unknown command's words are read as serve's are, first: a malformed
  // line is named as such, as it always has been.
  if (const auto flags = ParseFlags(args, 1, {}, UnlistedFlags::kKeep); !flags.ok()) {
    return FailCommandLine(err, command, flags.status());
  }
  err << "funding-ledger: unknown command '" << command << "'\n" << kUsage;
  return kExitUsage;
}

}  // namespace ledger::app
