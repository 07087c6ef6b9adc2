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

constexpr std::string_view kRebuildState = "rebuild-state";

// Every option of ConfigOptions() with its environment variable.
std::string ServeHelp() {
  std::string help =
      "usage: funding-ledger serve [--option VALUE]... [--rebuild-state]\n\noptions:\n";
  for (const OptionSpec& spec : ConfigOptions()) {
    help += "  --" + std::string(spec.name) + "  (" + EnvName(spec.name) + ")\n      " +
            std::string(spec.help) + "\n";
  }
  help += "  --config FILE  (FUNDING_LEDGER_CONFIG)\n      TOML file with the keys above\n";
  help +=
      "  --rebuild-state  (this flag only)\n      fold the whole log into a new durable "
      "sequencer state before serving, e.g. after events were\n      written without it; "
      "without it, a state that is not at the log's head stops the start\n";
  return help;
}

}  // namespace

int ServeCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (IsLoneHelp(args)) {
    out << ServeHelp();
    return kExitOk;
  }
  const auto flags = ParseFlags(args, 1, {{kRebuildState, "", "rebuild the sequencer state"}},
                                UnlistedFlags::kKeep);
  if (!flags.ok()) return FailCommandLine(err, "serve", flags.status());
  Result<Config> config = LoadConfig(flags->values);
  if (!config.ok()) return FailUsage(err, "serve", config.status());
  config->rebuild_state = flags->switches.contains(std::string(kRebuildState));
  return Serve(*config, out, err);
}

}  // namespace ledger::app
