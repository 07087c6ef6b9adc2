#include <ostream>
#include <string>

#include "app/cli.h"
#include "app/command_support.h"
#include "app/config.h"
#include "app/flags.h"
#include "app/serve.h"
#include "app/subcommands.h"

namespace ledger::app {
namespace {

// Every option of ConfigOptions() with its environment variable.
std::string ServeHelp() {
  std::string help = "usage: funding-ledger serve [--option VALUE]...\n\noptions:\n";
  for (const OptionSpec& spec : ConfigOptions()) {
    help += "  --" + std::string(spec.name) + "  (" + EnvName(spec.name) + ")\n      " +
            std::string(spec.help) + "\n";
  }
  help += "  --config FILE  (FUNDING_LEDGER_CONFIG)\n      TOML file with the keys above\n";
  return help;
}

}  // namespace

int ServeCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (IsLoneHelp(args)) {
    out << ServeHelp();
    return kExitOk;
  }
  const auto flags = ParseFlags(args, 1, {}, UnlistedFlags::kKeep);
  if (!flags.ok()) return FailCommandLine(err, "serve", flags.status());
  const Result<Config> config = LoadConfig(flags->values);
  if (!config.ok()) return FailUsage(err, "serve", config.status());
  return Serve(*config, out, err);
}

}  // namespace ledger::app
