#pragma once

// The command line of a subcommand, read by the one parser every subcommand
// uses (docs/architecture.md, "The command line"), and the help text that
// lists an audit tool's flags.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace ledger::app {

// One flag of a subcommand. An empty value_name makes it a switch (no value).
struct FlagSpec {
  std::string_view name;
  std::string_view value_name;
  std::string_view help;
};

struct ParsedFlags {
  std::map<std::string, std::string> values;  // flags with a value
  std::set<std::string> switches;             // switches given
  bool help = false;                          // --help or -h

  bool Has(std::string_view name) const;
};

// What ParseFlags does with a flag that its specs do not list.
enum class UnlistedFlags {
  // Refuses it: "unknown flag --x". --help or -h, anywhere, asks for help.
  // The audit tools, whose specs are all they take.
  kRefuse,
  // Keeps it as "--name VALUE" for the caller to judge: serve and token, whose
  // options are the configuration's; LoadConfig names an unknown one, and
  // that message, without the usage text, is theirs. --help is then a name
  // like any other: they take it only alone (IsLoneHelp), before parsing.
  kKeep,
};

// Parses args[first..]: "--name VALUE", "--name=VALUE", or "--name" for a
// switch (a spec without a value name). A stray argument, a flag given
// twice, a missing value, a value given to a switch and (with kRefuse) an
// unlisted flag are kInvalidArgument; the message names the word at fault.
Result<ParsedFlags> ParseFlags(const std::vector<std::string>& args, size_t first,
                               const std::vector<FlagSpec>& specs,
                               UnlistedFlags unlisted = UnlistedFlags::kRefuse);

// Whether args is "<command> --help" or "<command> -h" and nothing more.
bool IsLoneHelp(const std::vector<std::string>& args);

// "usage: funding-ledger NAME ...", the description, then every flag.
std::string ToolHelp(std::string_view name, std::string_view synopsis, std::string_view description,
                     const std::vector<FlagSpec>& specs);

// A decimal integer flag within [min, max], or kInvalidArgument naming it.
// REQUIRES: flags.values holds `name`.
Result<int64_t> IntegerFlag(const ParsedFlags& flags, std::string_view name, int64_t min,
                            int64_t max);

}  // namespace ledger::app
