// toml++ is a large header; it is included here only.
#include <toml++/toml.h>

#include "app/config.h"

namespace ledger::app {

Result<std::map<std::string, std::string>> ReadConfigFile(const std::string& path) {
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    return Status::InvalidArgument("config file " + path + ": " + std::string(e.description()) +
                                   " (line " + std::to_string(where.line) + ", column " +
                                   std::to_string(where.column) + ")");
  } catch (const std::exception& e) {
    return Status::InvalidArgument("config file " + path + ": " + e.what());
  }
  std::map<std::string, std::string> out;
  for (const auto& [key, node] : table) {
    const std::string name(key.str());
    if (const auto* s = node.as_string()) {
      out[name] = s->get();
    } else if (const auto* i = node.as_integer()) {
      out[name] = std::to_string(i->get());
    } else {
      std::string message = "config file " + path;
      message += ": key '" + name + "' must be a string or an integer";
      return Status::InvalidArgument(std::move(message));
    }
  }
  return out;
}

}  // namespace ledger::app
