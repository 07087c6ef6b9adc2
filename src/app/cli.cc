#include "app/cli.h"

#include <charconv>
#include <cstdlib>
#include <iostream>
#include <map>
#include <utility>

#include "api/jwt.h"
#include "app/command_support.h"
#include "app/config.h"
#include "app/flags.h"
#include "app/serve.h"
#include "app/subcommands.h"
#include "common/clock.h"

namespace ledger::app {
namespace {

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

constexpr const char* kTokenHelp =
    "usage: funding-ledger token --sub ID [--name NAME] [--ttl SECONDS] [options]\n"
    "\n"
    "Prints a development JWT (HS256) for user ID on stdout, signed with the service's\n"
    "secret: --jwt-secret, else DATA_DIR/jwt-secret (generated there when absent).\n"
    "\n"
    "options:\n"
    "  --sub ID          the user id (required)\n"
    "  --name NAME       a display name claim\n"
    "  --ttl SECONDS     lifetime, 1..31622400 (default 86400)\n"
    "  --data-dir, --jwt-secret, --config and every option of `serve --help`\n";

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

int ServeCommand(const ParsedFlags& flags, std::ostream& out, std::ostream& err) {
  const Result<Config> config = LoadConfig(flags.values);
  if (!config.ok()) {
    err << "funding-ledger serve: " << config.status().message() << "\n";
    return kExitUsage;
  }
  return Serve(*config, out, err);
}

int TokenCommand(ParsedFlags flags, std::ostream& out, std::ostream& err) {
  std::map<std::string, std::string> own;
  for (const char* name : {"sub", "name", "ttl"}) {
    if (const auto it = flags.values.find(name); it != flags.values.end()) {
      own[name] = it->second;
      flags.values.erase(it);
    }
  }
  const Result<Config> config = LoadConfig(flags.values);
  if (!config.ok()) {
    err << "funding-ledger token: " << config.status().message() << "\n";
    return kExitUsage;
  }
  if (const Status sub = api::CheckSubject(own["sub"]); !sub.ok()) {
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

  bool generated = false;
  const Result<std::string> secret = JwtSecret(*config, &generated);
  if (!secret.ok()) {
    err << "funding-ledger token: " << secret.status().ToString() << "\n";
    return kExitUsage;
  }
  api::TokenClaims claims;
  claims.sub = own["sub"];
  claims.name = own["name"];
  const Timestamp now = SystemClock().Now();
  claims.issued_at = now;
  claims.expires_at = now + std::chrono::seconds(ttl);
  out << api::MintToken(*secret, claims) << "\n";
  return kExitOk;
}

}  // namespace

int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    (args.empty() ? err : out) << kUsage;
    return args.empty() ? kExitUsage : kExitOk;
  }
  const std::string& command = args[0];
  if (command == "head") return HeadCommand(args, out, err);
  if (command == "events") return EventsCommand(args, out, err);
  if (command == "verify") return VerifyCommand(args, out, err);
  if (command == "replay") return ReplayCommand(args, out, err);
  if (command == "backup") return BackupCommand(args, out, err);
  if (command == "serve" && IsLoneHelp(args)) {
    out << ServeHelp();
    return kExitOk;
  }
  if (command == "token" && IsLoneHelp(args)) {
    out << kTokenHelp;
    return kExitOk;
  }
  // serve's and token's words are configuration options, judged by
  // LoadConfig; an unknown command's are read the same way, first.
  auto flags = ParseFlags(args, 1, {}, UnlistedFlags::kKeep);
  if (!flags.ok()) {
    err << "funding-ledger " << command << ": " << flags.status().message() << "\n" << kUsage;
    return kExitUsage;
  }
  if (command == "serve") return ServeCommand(*flags, out, err);
  if (command == "token") return TokenCommand(std::move(flags).value(), out, err);
  err << "funding-ledger: unknown command '" << command << "'\n" << kUsage;
  return kExitUsage;
}

}  // namespace ledger::app
