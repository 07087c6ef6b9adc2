#include "app/command_support.h"

#include <map>
#include <ostream>
#include <utility>

namespace ledger::app {

int ExitCodeOf(const Status& status) {
  switch (status.code()) {
    case Status::Code::kCorruption:
      return kExitMismatch;
    case Status::Code::kCancelled:
      return kExitInterrupted;
    default:
      return kExitUsage;
  }
}

int Fail(std::ostream& err, std::string_view command, const Status& status) {
  err << "funding-ledger " << command << ": " << status.ToString() << "\n";
  return ExitCodeOf(status);
}

int FailUsage(std::ostream& err, std::string_view command, const Status& status) {
  err << "funding-ledger " << command << ": " << status.message() << "\n";
  return kExitUsage;
}

const std::vector<FlagSpec>& CommonToolFlags() {
  static const std::vector<FlagSpec> kFlags = {
      {"data-dir", "DIR",
       "data directory (default ./var): the log in DIR/log, the embedded PostgreSQL in DIR/pg"},
      {"database-url", "URL",
       "the read-side PostgreSQL (default: the embedded one in DIR/pg, started here when the "
       "service is not running)"},
      {"log-url", "URL",
       "a log kept in PostgreSQL, as serve's --log-url (default: the RocksDB log in DIR/log)"},
      {"jwt-secret", "SECRET", "accepted for symmetry with serve (default: DIR/jwt-secret)"},
      {"config", "FILE", "TOML file with any of serve's options (see `serve --help`)"},
  };
  return kFlags;
}

std::vector<FlagSpec> WithCommonFlags(std::vector<FlagSpec> own) {
  std::vector<FlagSpec> specs = CommonToolFlags();
  specs.insert(specs.end(), own.begin(), own.end());
  return specs;
}

Result<Config> ToolConfig(const ParsedFlags& flags) {
  std::map<std::string, std::string> common;
  for (const FlagSpec& spec : CommonToolFlags()) {
    if (const auto it = flags.values.find(std::string(spec.name)); it != flags.values.end()) {
      common.emplace(it->first, it->second);
    }
  }
  return LoadConfig(common);
}

Result<Invocation, Ended> Begin(const std::vector<std::string>& args, std::string_view synopsis,
                                std::string_view description, const std::vector<FlagSpec>& specs,
                                std::ostream& out, std::ostream& err) {
  const std::string& command = args[0];
  auto flags = ParseFlags(args, 1, specs);
  if (!flags.ok()) {
    err << "funding-ledger " << command << ": " << flags.status().message() << "\n"
        << "run `funding-ledger " << command << " --help` for its options\n";
    return Ended{kExitUsage};
  }
  if (flags->help) {
    out << ToolHelp(command, synopsis, description, specs);
    return Ended{kExitOk};
  }
  auto config = ToolConfig(*flags);
  if (!config.ok()) return Ended{Fail(err, command, config.status())};
  return Invocation{std::move(flags).value(), std::move(config).value()};
}

}  // namespace ledger::app
