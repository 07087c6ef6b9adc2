#include "app/tool_support.h"

#include <csignal>
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

TEST(ProgressTest, FormatsCountsRateAndEta) {
  EXPECT_EQ(FormatProgress("verify chain", 1'234'567, 10'000'000, 1.0),
            "verify chain: 1 234 567 / 10 000 000 events (12.3 %), 1.23 M events/s, ETA 8 s");
  EXPECT_EQ(FormatProgress("fold", 500, 1'000, 0.5),
            "fold: 500 / 1 000 events (50.0 %), 1.0 k "
            "events/s, ETA 1 s");
  EXPECT_EQ(FormatProgress("x", 10, 0, 0), "x: 10 events");
  EXPECT_EQ(FormatProgress("x", 100, 100, 2.0), "x: 100 / 100 events (100.0 %), 50 events/s");
  EXPECT_EQ(FormatProgress("x", 1, 100'000, 1.0),
            "x: 1 / 100 000 events (0.0 %), 1 events/s, ETA 27 h 46 min");
}

TEST(ProgressTest, DrawsOneLineInPlaceOnlyWhenEnabled) {
  std::ostringstream off;
  {
    Progress progress(off, "work", false);
    progress.Update(1, 2);
    progress.Update(2, 2);
  }
  EXPECT_EQ(off.str(), "");
  std::ostringstream on;
  {
    Progress progress(on, "work", true);
    progress.Update(1, 4);
    progress.Update(2, 4);  // within the interval: skipped
    progress.Update(4, 4);  // the end is always drawn
  }
  const std::string text = on.str();
  EXPECT_EQ(text.rfind("\rwork: 1 / 4 events", 0), 0u) << text;
  EXPECT_EQ(text.find("work: 2 / 4"), std::string::npos) << text;
  EXPECT_NE(text.find("\rwork: 4 / 4 events (100.0 %)"), std::string::npos) << text;
  EXPECT_EQ(text.back(), '\n');
}

TEST(InterruptTest, TheFirstSignalAsksToStopAndTheScopeRestoresTheHandler) {
  struct sigaction before {};
  sigaction(SIGTERM, nullptr, &before);
  {
    const InterruptScope scope;
    EXPECT_FALSE(StopRequested());
    std::raise(SIGTERM);
    EXPECT_TRUE(StopRequested());
  }
  struct sigaction after {};
  sigaction(SIGTERM, nullptr, &after);
  EXPECT_EQ(after.sa_handler, before.sa_handler);
  const InterruptScope again;
  EXPECT_FALSE(StopRequested());
}

}  // namespace
}  // namespace ledger::app
