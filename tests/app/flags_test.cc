#include "app/flags.h"

#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "support/status_matchers.h"

namespace ledger::app {
namespace {

const std::vector<FlagSpec>& Specs() {
  static const std::vector<FlagSpec> kSpecs = {
      {"data-dir", "DIR", "where"}, {"to", "N", "last"}, {"json", "", "a switch"}};
  return kSpecs;
}

// Parses `args` as if they followed a command's name.
Result<ParsedFlags> ParseArgs(const std::vector<std::string>& args) {
  return ParseFlags(args, 0, Specs());
}

TEST(ToolFlagsTest, TakesValuesBothWaysAndSwitches) {
  const auto flags = ParseArgs({"--data-dir", "/d", "--to=7", "--json"});
  ASSERT_OK(flags);
  EXPECT_EQ(flags->values.at("data-dir"), "/d");
  EXPECT_EQ(flags->values.at("to"), "7");
  EXPECT_TRUE(flags->Has("json"));
  EXPECT_FALSE(flags->help);
  const auto empty_value = ParseArgs({"--to="});
  ASSERT_OK(empty_value);
  EXPECT_EQ(empty_value->values.at("to"), "");
}

TEST(ToolFlagsTest, HelpAnywhere) {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"--help"}, {"-h"}, {"--to", "3", "--help"}}) {
    const auto flags = ParseArgs(args);
    ASSERT_OK(flags);
    EXPECT_TRUE(flags->help);
  }
}

TEST(ToolFlagsTest, RefusesWhatItDoesNotKnow) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--nope", "1"}, "unknown flag --nope"}, {{"--to", "1", "--to", "2"}, "given twice"},
      {{"--json", "--json"}, "given twice"},    {{"--to"}, "needs a value (N)"},
      {{"--json=yes"}, "takes no value"},       {{"stray"}, "unexpected argument 'stray'"},
      {{"--"}, "unexpected argument '--'"},
  };
  for (const auto& [args, message] : cases) {
    const auto flags = ParseArgs(args);
    ASSERT_FALSE(flags.ok()) << args.front();
    EXPECT_EQ(flags.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(flags.status().message().find(message), std::string::npos)
        << flags.status().message();
  }
}

TEST(ToolFlagsTest, IntegerFlagsHaveBounds) {
  const auto flags = ParseArgs({"--to", "12"});
  ASSERT_OK(flags);
  EXPECT_EQ(*IntegerFlag(*flags, "to", 1, 100), 12);
  EXPECT_FALSE(IntegerFlag(*flags, "to", 13, 100).ok());
  EXPECT_FALSE(IntegerFlag(*flags, "to", 1, 11).ok());
  for (const std::string bad : {"", "x", "1.5", "+3", " 3", "3 ", "99999999999999999999"}) {
    const auto parsed = ParseArgs({"--to", bad});
    ASSERT_OK(parsed);
    const auto value = IntegerFlag(*parsed, "to", 0, INT64_MAX);
    EXPECT_FALSE(value.ok()) << "'" << bad << "'";
    EXPECT_NE(value.status().message().find("--to"), std::string::npos);
  }
}

TEST(ToolFlagsTest, HelpListsEveryFlagWrapped) {
  const std::string help =
      ToolHelp("cmd", "[options]", std::string(200, 'x') + " " + std::string(10, 'y'), Specs());
  EXPECT_EQ(help.rfind("usage: funding-ledger cmd [options]\n", 0), 0u);
  for (const char* flag : {"--data-dir DIR", "--to N", "--json\n", "--help"}) {
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
  }
  std::istringstream lines(help);
  for (std::string line; std::getline(lines, line);) {
    // A word longer than the width stays whole; everything else fits.
    if (line.find("xxxx") == std::string::npos) {
      EXPECT_LE(line.size(), 80u) << line;
    }
  }
}

// serve's and token's words: every flag is "--name VALUE" whatever its name,
// for LoadConfig to judge.
Result<ParsedFlags> ParseOptions(const std::vector<std::string>& args) {
  return ParseFlags(args, 0, {}, UnlistedFlags::kKeep);
}

TEST(OptionFlagsTest, KeepsAnyNameWithItsValueBothWays) {
  const auto flags = ParseOptions(
      {"--listen", "127.0.0.1:0", "--data-dir=/d", "--no-such", "--x", "--metrics=", "--=v"});
  ASSERT_OK(flags);
  EXPECT_EQ(flags->values, (std::map<std::string, std::string>{{"listen", "127.0.0.1:0"},
                                                               {"data-dir", "/d"},
                                                               {"no-such", "--x"},
                                                               {"metrics", ""},
                                                               {"", "v"}}));
  EXPECT_TRUE(flags->switches.empty());
  EXPECT_FALSE(flags->help);
  ASSERT_OK(ParseOptions({}));
}

// There is no help word: --help is a name like any other, -h a stray word.
TEST(OptionFlagsTest, HelpIsAnOptionName) {
  const auto flags = ParseOptions({"--help", "x"});
  ASSERT_OK(flags);
  EXPECT_EQ(flags->values.at("help"), "x");
  EXPECT_FALSE(flags->help);
  EXPECT_EQ(ParseOptions({"--help"}).status().message(), "flag --help needs a value");
  EXPECT_EQ(ParseOptions({"-h"}).status().message(), "unexpected argument '-h'");
}

TEST(OptionFlagsTest, RefusesAMalformedLine) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--listen"}, "flag --listen needs a value"},
      {{"--sub", "a", "--sub", "b"}, "flag --sub given twice"},
      {{"--sub=a", "--sub="}, "flag --sub given twice"},
      // A missing value is named before the repeat, as it always was.
      {{"--sub", "a", "--sub"}, "flag --sub needs a value"},
      {{"stray"}, "unexpected argument 'stray'"},
      {{"--listen", "x", "stray"}, "unexpected argument 'stray'"},
      {{"--"}, "unexpected argument '--'"},
      {{"-x"}, "unexpected argument '-x'"},
  };
  for (const auto& [args, message] : cases) {
    const auto flags = ParseOptions(args);
    ASSERT_FALSE(flags.ok()) << args.front();
    EXPECT_EQ(flags.status().code(), Status::Code::kInvalidArgument);
    EXPECT_EQ(flags.status().message(), message);
  }
}

// A listed flag keeps its spec when unlisted ones are kept too.
TEST(OptionFlagsTest, ListedFlagsKeepTheirSpec) {
  const auto flags = ParseFlags({"--json", "--other", "1"}, 0, Specs(), UnlistedFlags::kKeep);
  ASSERT_OK(flags);
  EXPECT_TRUE(flags->switches.count("json"));
  EXPECT_EQ(flags->values.at("other"), "1");
  EXPECT_EQ(ParseFlags({"--to"}, 0, Specs(), UnlistedFlags::kKeep).status().message(),
            "flag --to needs a value (N)");
}

TEST(OptionFlagsTest, ALoneHelpIsTheOnlyHelp) {
  EXPECT_TRUE(IsLoneHelp({"serve", "--help"}));
  EXPECT_TRUE(IsLoneHelp({"token", "-h"}));
  EXPECT_FALSE(IsLoneHelp({"serve"}));
  EXPECT_FALSE(IsLoneHelp({"serve", "--help", "x"}));
  EXPECT_FALSE(IsLoneHelp({"serve", "--data-dir", "--help"}));
  EXPECT_FALSE(IsLoneHelp({"serve", "--help=1"}));
}

}  // namespace
}  // namespace ledger::app
