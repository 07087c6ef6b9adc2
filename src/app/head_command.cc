#include <ostream>

#include "app/command_support.h"
#include "app/subcommands.h"
#include "app/tool_stores.h"
#include "events/codec.h"

namespace ledger::app {

int HeadCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  const std::vector<FlagSpec>& specs = CommonToolFlags();
  const auto invocation = Begin(
      args, "[options]",
      "Prints the log head as {\"position\": N, \"hash\": \"<64 hex>\"}: the digest of the "
      "whole history, to record elsewhere (a later `verify` proves the log still leads to it).",
      specs, out, err);
  if (!invocation.ok()) return invocation.error().exit_code;
  auto tool = ToolLog::Open(invocation->config, /*check_tail=*/true);
  if (!tool.ok()) return Fail(err, "head", tool.status());
  out << events::EncodeHeadJson((*tool)->log().Head()) << "\n";
  return kExitOk;
}

}  // namespace ledger::app
