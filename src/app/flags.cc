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

bool IsHelpWord(std::string_view word) { return word == "--help" || word == "-h"; }

Status GivenTwice(const std::string& name) {
  return Status::InvalidArgument("flag --" + name + " given twice");
}

// An unlisted flag has no value name to show.
Status NeedsValue(const std::string& name, const FlagSpec* spec) {
  std::string message = "flag --" + name + " needs a value";
  if (spec != nullptr) message += " (" + std::string(spec->value_name) + ")";
  return Status::InvalidArgument(std::move(message));
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

Result<ParsedFlags> ParseFlags(const std::vector<std::string>& args, size_t first,
                               const std::vector<FlagSpec>& specs, UnlistedFlags unlisted) {
  ParsedFlags flags;
  for (size_t i = first; i < args.size(); ++i) {
    const std::string& word = args[i];
    if (unlisted == UnlistedFlags::kRefuse && IsHelpWord(word)) {
      flags.help = true;
      continue;
    }
    if (word.rfind("--", 0) != 0 || word.size() == 2) {
      return Status::InvalidArgument("unexpected argument '" + word + "'");
    }
    std::string name = word.substr(2);
    std::optional<std::string> value;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    const FlagSpec* spec = FindSpec(specs, name);
    if (spec == nullptr && unlisted == UnlistedFlags::kRefuse) {
      return Status::InvalidArgument("unknown flag --" + name);
    }
    if (spec != nullptr && flags.Has(name)) return GivenTwice(name);
    if (spec != nullptr && spec->value_name.empty()) {
      if (value) return Status::InvalidArgument("flag --" + name + " takes no value");
      flags.switches.insert(name);
      continue;
    }
    if (!value) {
      if (i + 1 >= args.size()) return NeedsValue(name, spec);
      value = args[++i];
    }
    // A kept flag's repeat is named only once its value was read: serve and
    // token have always reported a missing value first.
    if (!flags.values.emplace(name, *value).second) return GivenTwice(name);
  }
  return flags;
}

bool IsLoneHelp(const std::vector<std::string>& args) {
  return args.size() == 2 && IsHelpWord(args[1]);
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
