#include "app/flags.h"

#include <sstream>

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
  return ParseToolFlags(args, 0, Specs());
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

}  // namespace
}  // namespace ledger::app
