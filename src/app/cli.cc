#include "app/cli.h"

#include <charconv>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>

#include "app/config.h"
#include "app/serve.h"
#include "common/clock.h"
#include "events/chain.h"
#include "events/event_log.h"
#include "events/rocks_log.h"
#include "http/jwt.h"

namespace ledger::app {
namespace {

constexpr const char* kUsage =
    "usage: funding-ledger <command> [options]\n"
    "\n"
    "commands:\n"
    "  serve    run the REST API (docs/api.md) until SIGINT or SIGTERM\n"
    "  token    print a development JWT: --sub ID [--name NAME] [--ttl SECONDS]\n"
    "  head     print the log head: position and hash (the digest to record elsewhere)\n"
    "  verify   walk the whole hash chain of the log; exit 0 clean, 1 broken, 2 error\n"
    "  help     print this text\n"
    "\n"
    "options (each also FUNDING_LEDGER_<NAME> and a key of the --config TOML file):\n"
    "  --data-dir DIR   data directory (default ./var); the event log lives in DIR/log\n"
    "  --config FILE    TOML file with any of the options of serve\n"
    "  serve and token also take every option listed by `funding-ledger serve --help`\n";

// Flags of the form --name VALUE; a flag given twice or without a value is a
// usage error.
struct Flags {
  std::map<std::string, std::string> values;
  std::string error;
};

Flags ParseFlags(const std::vector<std::string>& args, size_t first) {
  Flags flags;
  for (size_t i = first; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) != 0 || a.size() == 2) {
      flags.error = "unexpected argument '" + a + "'";
      return flags;
    }
    std::string name = a.substr(2);
    std::string value;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      flags.error = "flag --" + name + " needs a value";
      return flags;
    }
    if (!flags.values.emplace(name, value).second) {
      flags.error = "flag --" + name + " given twice";
      return flags;
    }
  }
  return flags;
}

std::string DataDir(const Flags& flags) {
  if (const auto it = flags.values.find("data-dir"); it != flags.values.end()) return it->second;
  if (const char* env = std::getenv("FUNDING_LEDGER_DATA_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  return "./var";
}

bool OnlyKnownFlags(const Flags& flags, std::initializer_list<std::string_view> known,
                    std::ostream& err) {
  for (const auto& [name, value] : flags.values) {
    bool ok = false;
    for (const auto k : known) ok = ok || name == k;
    if (!ok) {
      err << "funding-ledger: unknown flag --" << name << "\n";
      return false;
    }
  }
  return true;
}

Result<std::unique_ptr<events::RocksEventLog>> OpenReadOnly(const Flags& flags) {
  events::RocksLogOptions options;
  options.read_only = true;
  return events::RocksEventLog::Open(DataDir(flags) + "/log", options);
}

int Head(const Flags& flags, std::ostream& out, std::ostream& err) {
  auto log = OpenReadOnly(flags);
  if (!log.ok()) {
    err << "funding-ledger head: " << log.status().ToString() << "\n";
    return kExitUsage;
  }
  const events::LogHead head = (*log)->Head();
  out << "{\"position\":" << head.position << ",\"hash\":\"" << events::ToHex(head.hash) << "\"}\n";
  return kExitOk;
}

int Verify(const Flags& flags, std::ostream& out, std::ostream& err) {
  auto log = OpenReadOnly(flags);
  if (!log.ok()) {
    err << "funding-ledger verify: " << log.status().ToString() << "\n";
    return kExitUsage;
  }
  const events::LogHead head = (*log)->Head();
  const auto check = events::VerifyLogChain(**log, 1, head.position);
  if (!check.ok()) {
    err << "funding-ledger verify: " << check.status().ToString() << "\n";
    return kExitUsage;
  }
  if (!check->ok) {
    out << "chain broken at position " << check->first_bad_position << ": " << check->problem
        << "\n";
    return kExitMismatch;
  }
  out << "chain ok: " << check->events_checked << " events, head " << head.position << " "
      << events::ToHex(head.hash) << "\n";
  return kExitOk;
}

constexpr int64_t kDefaultTokenTtlSeconds = int64_t{24} * 3600;
constexpr int64_t kMaxTokenTtlSeconds = 366LL * 24 * 3600;

std::string ServeHelp() {
  std::string help = "usage: funding-ledger serve [--option VALUE]...\n\noptions:\n";
  for (const OptionSpec& spec : ConfigOptions()) {
    help += "  --" + std::string(spec.name) + "  (" + EnvName(spec.name) + ")\n      " +
            std::string(spec.help) + "\n";
  }
  help += "  --config FILE  (FUNDING_LEDGER_CONFIG)\n      TOML file with the keys above\n";
  return help;
}

int ServeCommand(const Flags& flags, std::ostream& out, std::ostream& err) {
  const Result<Config> config = LoadConfig(flags.values);
  if (!config.ok()) {
    err << "funding-ledger serve: " << config.status().message() << "\n";
    return kExitUsage;
  }
  return Serve(*config, out, err);
}

int TokenCommand(Flags flags, std::ostream& out, std::ostream& err) {
  std::map<std::string, std::string> own;
  for (const char* name : {"sub", "name", "ttl"}) {
    if (const auto it = flags.values.find(name); it != flags.values.end()) {
      own[name] = it->second;
      flags.values.erase(it);
    }
  }
  if (const Status sub = http::CheckSubject(own["sub"]); !sub.ok()) {
    err << "funding-ledger token: --sub: " << sub.message() << "\n";
    return kExitUsage;
  }
  int64_t ttl = kDefaultTokenTtlSeconds;
  if (own.count("ttl") != 0) {
    const std::string& text = own["ttl"];
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ttl);
    if (ec != std::errc() || end != text.data() + text.size() || ttl < 1 ||
        ttl > kMaxTokenTtlSeconds) {
      err << "funding-ledger token: --ttl must be 1.." << kMaxTokenTtlSeconds << " seconds\n";
      return kExitUsage;
    }
  }
  const Result<Config> config = LoadConfig(flags.values);
  if (!config.ok()) {
    err << "funding-ledger token: " << config.status().message() << "\n";
    return kExitUsage;
  }
  bool generated = false;
  const Result<std::string> secret = JwtSecret(*config, &generated);
  if (!secret.ok()) {
    err << "funding-ledger token: " << secret.status().ToString() << "\n";
    return kExitUsage;
  }
  http::TokenClaims claims;
  claims.sub = own["sub"];
  claims.name = own["name"];
  const Timestamp now = SystemClock().Now();
  claims.issued_at = now;
  claims.expires_at = now + std::chrono::seconds(ttl);
  out << http::MintToken(*secret, claims) << "\n";
  return kExitOk;
}

}  // namespace

int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    (args.empty() ? err : out) << kUsage;
    return args.empty() ? kExitUsage : kExitOk;
  }
  const std::string& command = args[0];
  if (command == "serve" && args.size() == 2 && (args[1] == "--help" || args[1] == "-h")) {
    out << ServeHelp();
    return kExitOk;
  }
  const Flags flags = ParseFlags(args, 1);
  if (!flags.error.empty()) {
    err << "funding-ledger " << command << ": " << flags.error << "\n" << kUsage;
    return kExitUsage;
  }
  if (command == "serve") return ServeCommand(flags, out, err);
  if (command == "token") return TokenCommand(flags, out, err);
  if (command == "head" || command == "verify") {
    if (!OnlyKnownFlags(flags, {"data-dir"}, err)) return kExitUsage;
    return command == "head" ? Head(flags, out, err) : Verify(flags, out, err);
  }
  err << "funding-ledger: unknown command '" << command << "'\n" << kUsage;
  return kExitUsage;
}

}  // namespace ledger::app
