#include <charconv>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <utility>

#include "api/jwt.h"
#include "app/cli.h"
#include "app/command_support.h"
#include "app/config.h"
#include "app/flags.h"
#include "app/serve.h"
#include "app/subcommands.h"
#include "common/clock.h"

namespace ledger::app {
namespace {

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

// token's own flags; every other flag is the configuration's.
struct TokenFlags {
  std::string sub;   // "" when absent, which CheckSubject refuses
  std::string name;  // "" when absent: no name claim
  std::optional<std::string> ttl;
};

// Takes token's own flags out of `values`, leaving the configuration's.
TokenFlags TakeTokenFlags(std::map<std::string, std::string>* values) {
  const auto take = [values](const char* name) -> std::optional<std::string> {
    const auto it = values->find(name);
    if (it == values->end()) return std::nullopt;
    std::string value = std::move(it->second);
    values->erase(it);
    return value;
  };
  TokenFlags own;
  own.sub = take("sub").value_or("");
  own.name = take("name").value_or("");
  own.ttl = take("ttl");
  return own;
}

// --ttl: whole seconds in 1..kMaxTokenTtlSeconds; absent, a day.
Result<int64_t> TokenTtlSeconds(const std::optional<std::string>& text) {
  if (!text) return kDefaultTokenTtlSeconds;
  int64_t ttl = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), ttl);
  if (ec != std::errc() || end != text->data() + text->size() || ttl < 1 ||
      ttl > kMaxTokenTtlSeconds) {
    return Status::InvalidArgument("--ttl must be 1.." + std::to_string(kMaxTokenTtlSeconds) +
                                   " seconds");
  }
  return ttl;
}

}  // namespace

int TokenCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (IsLoneHelp(args)) {
    out << kTokenHelp;
    return kExitOk;
  }
  auto flags = ParseFlags(args, 1, {}, UnlistedFlags::kKeep);
  if (!flags.ok()) return FailCommandLine(err, "token", flags.status());
  const TokenFlags own = TakeTokenFlags(&flags->values);
  const Result<Config> config = LoadConfig(flags->values);
  if (!config.ok()) return FailUsage(err, "token", config.status());
  if (const Status sub = api::CheckSubject(own.sub); !sub.ok()) {
    return FailUsage(err, "token", sub.WithContext("--sub"));
  }
  const Result<int64_t> ttl = TokenTtlSeconds(own.ttl);
  if (!ttl.ok()) return FailUsage(err, "token", ttl.status());

  bool generated = false;
  const Result<std::string> secret = JwtSecret(*config, &generated);
  if (!secret.ok()) return Fail(err, "token", secret.status());
  api::TokenClaims claims;
  claims.sub = own.sub;
  claims.name = own.name;
  const Timestamp now = SystemClock().Now();
  claims.issued_at = now;
  claims.expires_at = now + std::chrono::seconds(*ttl);
  const std::string token = api::MintToken(*secret, claims);
  // The service refuses a longer token; printing it would only move the
  // failure to the first request.
  if (token.size() > api::kMaxTokenBytes) {
    return FailUsage(err, "token",
                     Status::InvalidArgument("--name is too long: the token would be " +
                                             std::to_string(token.size()) +
                                             " bytes, and the service accepts at most " +
                                             std::to_string(api::kMaxTokenBytes)));
  }
  out << token << "\n";
  return kExitOk;
}

}  // namespace ledger::app
