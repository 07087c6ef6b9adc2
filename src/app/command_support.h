#pragma once

// What every subcommand shares: its exit codes, how it reports a failure,
// and how an audit tool starts: its flags, its --help and its configuration.

#include <cstdint>
#include <iosfwd>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "app/config.h"
#include "app/flags.h"
#include "common/result.h"
#include "common/status.h"

namespace ledger::app {

// Exit codes (docs/operations.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitMismatch = 1;  // verify found a problem, or the log is broken
inline constexpr int kExitUsage = 2;     // bad arguments or an I/O error
// Stopped by a signal (128 + SIGINT, as shells use).
inline constexpr int kExitInterrupted = 130;

// The largest position (or post id) a flag may name.
inline constexpr int64_t kMaxPosition = std::numeric_limits<int64_t>::max();

// The exit code of a failed command: a problem with the data (a broken
// chain, a log that does not fold) is 1 like a verify mismatch, a stop by a
// signal 130, anything else (usage, I/O, database down) 2.
int ExitCodeOf(const Status& status);

// Prints "funding-ledger COMMAND: <status>" on `err`; returns
// ExitCodeOf(status).
int Fail(std::ostream& err, std::string_view command, const Status& status);

// Prints "funding-ledger COMMAND: <message>" on `err`, without the status
// code, as serve, token and backup name a bad flag value, a missing flag or
// a configuration that cannot be loaded. Returns kExitUsage.
int FailUsage(std::ostream& err, std::string_view command, const Status& status);

// --data-dir, --database-url, --jwt-secret and --config: every subcommand
// takes them, with serve's defaults (product.md), whether or not it uses
// them, so that one set of flags fits every call.
const std::vector<FlagSpec>& CommonToolFlags();

// CommonToolFlags() followed by a tool's own flags.
std::vector<FlagSpec> WithCommonFlags(std::vector<FlagSpec> own);

// The configuration the common flags, the environment and the config file
// give (config.h); the subcommand's own flags are left out.
Result<Config> ToolConfig(const ParsedFlags& flags);

// What every audit tool starts with: its flags parsed against its specs and
// the configuration they give.
struct Invocation {
  ParsedFlags flags;
  Config config;
};

// A command that ended before its work, having said why on stdout or
// stderr: what it returns.
struct Ended {
  int exit_code;
};

// Parses args[1..] against `specs` and loads the configuration they give.
// Ended when there is nothing more to do: --help printed (kExitOk), a bad
// line reported with a pointer to --help (kExitUsage), or a bad
// configuration reported (Fail).
// REQUIRES: args[0] is the subcommand's name.
Result<Invocation, Ended> Begin(const std::vector<std::string>& args, std::string_view synopsis,
                                std::string_view description, const std::vector<FlagSpec>& specs,
                                std::ostream& out, std::ostream& err);

}  // namespace ledger::app
