#include "app/flags.h"

#include <algorithm>
#include <charconv>
#include <optional>

namespace ledger::app {
namespace {

const FlagSpec* FindSpec(const std::vector<FlagSpec>& specs, std::string_view name) {
  for (const FlagSpec& spec : specs) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

// Help text is wrapped at this width.
constexpr size_t kHelpWidth = 80;

// `text` word-wrapped to kHelpWidth with every line indented by `indent`;
// "\n" in `text` starts a new paragraph.
std::string Wrap(std::string_view text, size_t indent) {
  std::string out;
  const std::string pad(indent, ' ');
  size_t column = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '\n') {
      out += '\n';
      column = 0;
      ++i;
      continue;
    }
    if (text[i] == ' ') {
      ++i;
      continue;
    }
    const size_t end = std::min(text.find_first_of(" \n", i), text.size());
    const std::string_view word = text.substr(i, end - i);
    if (column == 0) {
      out += pad;
      column = indent;
    } else if (column + 1 + word.size() > kHelpWidth) {
      out += '\n' + pad;
      column = indent;
    } else {
      out += ' ';
      ++column;
    }
    out += word;
    column += word.size();
    i = end;
  }
  return out;
}

}  // namespace

bool ParsedFlags::Has(std::string_view name) const {
  return values.count(std::string(name)) != 0 || switches.count(std::string(name)) != 0;
}

Result<ParsedFlags> ParseToolFlags(const std::vector<std::string>& args, size_t first,
                                   const std::vector<FlagSpec>& specs) {
  ParsedFlags flags;
  for (size_t i = first; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      flags.help = true;
      continue;
    }
    if (a.rfind("--", 0) != 0 || a.size() == 2) {
      return Status::InvalidArgument("unexpected argument '" + a + "'");
    }
    std::string name = a.substr(2);
    std::optional<std::string> value;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    const FlagSpec* spec = FindSpec(specs, name);
    if (spec == nullptr) return Status::InvalidArgument("unknown flag --" + name);
    if (flags.Has(name)) return Status::InvalidArgument("flag --" + name + " given twice");
    if (spec->value_name.empty()) {
      if (value) return Status::InvalidArgument("flag --" + name + " takes no value");
      flags.switches.insert(name);
      continue;
    }
    if (!value) {
      if (i + 1 >= args.size()) {
        return Status::InvalidArgument("flag --" + name + " needs a value (" +
                                       std::string(spec->value_name) + ")");
      }
      value = args[++i];
    }
    flags.values.emplace(name, *value);
  }
  return flags;
}

std::string ToolHelp(std::string_view name, std::string_view synopsis, std::string_view description,
                     const std::vector<FlagSpec>& specs) {
  std::string help = "usage: funding-ledger " + std::string(name) + " " + std::string(synopsis) +
                     "\n\n" + Wrap(description, 0) + "\n\noptions:\n";
  for (const FlagSpec& spec : specs) {
    std::string flag = "  --" + std::string(spec.name);
    if (!spec.value_name.empty()) flag += " " + std::string(spec.value_name);
    help += flag + "\n" + Wrap(spec.help, 6) + "\n";
  }
  help += "  --help\n      print this text\n";
  return help;
}

Result<int64_t> IntegerFlag(const ParsedFlags& flags, std::string_view name, int64_t min,
                            int64_t max) {
  const std::string& text = flags.values.at(std::string(name));
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < min ||
      value > max) {
    return Status::InvalidArgument("--" + std::string(name) + " must be an integer in " +
                                   std::to_string(min) + ".." + std::to_string(max) + ", got '" +
                                   text + "'");
  }
  return value;
}

}  // namespace ledger::app
