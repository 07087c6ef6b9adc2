#pragma once

// The command line of a subcommand: its flags, as declared by FlagSpecs, and
// the help text that lists them.

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

// Parses args[first..] against `specs` (plus --help/-h): "--name VALUE",
// "--name=VALUE" or "--name" for a switch. Unknown flags, a flag given twice,
// a missing value and stray arguments are kInvalidArgument.
Result<ParsedFlags> ParseToolFlags(const std::vector<std::string>& args, size_t first,
                                   const std::vector<FlagSpec>& specs);

// "usage: funding-ledger NAME ...", the description, then every flag.
std::string ToolHelp(std::string_view name, std::string_view synopsis, std::string_view description,
                     const std::vector<FlagSpec>& specs);

// A decimal integer flag within [min, max], or kInvalidArgument naming it.
// REQUIRES: flags.values holds `name`.
Result<int64_t> IntegerFlag(const ParsedFlags& flags, std::string_view name, int64_t min,
                            int64_t max);

}  // namespace ledger::app
