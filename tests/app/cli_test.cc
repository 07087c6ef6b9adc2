#include "app/cli.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "app/config.h"
#include "app/environment_fixture.h"
#include "support/temp_dir.h"

// What the binary prints and returns for command lines that end before any
// work: help, usage errors, and bad values. Scripts read these, and the
// end-to-end tests only sample them, so they are pinned here byte for byte.
namespace ledger::app {
namespace {

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class RunCliTest : public testing::CleanEnvironmentTest {
 protected:
  static CliRun Cli(const std::vector<std::string>& args) {
    std::ostringstream out;
    std::ostringstream err;
    CliRun run;
    run.exit_code = RunCli(args, out, err);
    run.out = out.str();
    run.err = err.str();
    return run;
  }

  // The text `funding-ledger help` prints.
  static std::string Usage() { return Cli({"help"}).out; }

  // A data directory that holds nothing.
  std::string empty_data() const { return dir_.Sub("data"); }

  ledger::testing::TempDir dir_;
};

TEST_F(RunCliTest, HelpGoesToStdoutAndNoCommandToStderr) {
  const std::string usage = Usage();
  EXPECT_EQ(usage.rfind("usage: funding-ledger <command> [options]\n", 0), 0u) << usage;
  for (const std::string word : {"help", "--help", "-h"}) {
    const CliRun run = Cli({word});
    EXPECT_EQ(run.exit_code, 0) << word;
    EXPECT_EQ(run.out, usage) << word;
    EXPECT_EQ(run.err, "") << word;
  }
  const CliRun none = Cli({});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_EQ(none.out, "");
  EXPECT_EQ(none.err, usage);
}

TEST_F(RunCliTest, AnUnknownCommandIsNamedUnlessItsLineIsMalformed) {
  const CliRun unknown = Cli({"nope", "--x", "1"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_EQ(unknown.err, "funding-ledger: unknown command 'nope'\n" + Usage());
  // The words after an unknown command are read as serve's are, first.
  const CliRun stray = Cli({"nope", "x"});
  EXPECT_EQ(stray.exit_code, 2);
  EXPECT_EQ(stray.err, "funding-ledger nope: unexpected argument 'x'\n" + Usage());
  EXPECT_EQ(Cli({"nope", "--help"}).err,
            "funding-ledger nope: flag --help needs a value\n" + Usage());
}

TEST_F(RunCliTest, ServeAndTokenTakeALoneHelp) {
  for (const std::string word : {"--help", "-h"}) {
    const CliRun serve = Cli({"serve", word});
    EXPECT_EQ(serve.exit_code, 0);
    EXPECT_EQ(serve.out.rfind("usage: funding-ledger serve [--option VALUE]... [--rebuild-state]"
                              "\n\noptions:\n",
                              0),
              0u)
        << serve.out;
    EXPECT_NE(serve.out.find("  --rebuild-state  (this flag only)\n"), std::string::npos);
    EXPECT_NE(serve.out.find("  --listen  (FUNDING_LEDGER_LISTEN)\n"), std::string::npos);
    EXPECT_NE(serve.out.find("  --config FILE  (FUNDING_LEDGER_CONFIG)\n"), std::string::npos);
    const CliRun token = Cli({"token", word});
    EXPECT_EQ(token.exit_code, 0);
    EXPECT_EQ(token.out.rfind("usage: funding-ledger token --sub ID [--name NAME] "
                              "[--ttl SECONDS] [options]\n",
                              0),
              0u)
        << token.out;
  }
}

// serve and token read every word as "--name VALUE": a line that is not of
// that form is refused with the usage text.
TEST_F(RunCliTest, ServeAndTokenRefuseAMalformedLineWithTheUsage) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"serve", "stray"}, "funding-ledger serve: unexpected argument 'stray'\n"},
      {{"serve", "--"}, "funding-ledger serve: unexpected argument '--'\n"},
      {{"serve", "--listen"}, "funding-ledger serve: flag --listen needs a value\n"},
      {{"serve", "--listen", "a", "--listen=b"},
       "funding-ledger serve: flag --listen given twice\n"},
      {{"serve", "--listen", "a", "--listen"},
       "funding-ledger serve: flag --listen needs a value\n"},
      {{"serve", "-h", "x"}, "funding-ledger serve: unexpected argument '-h'\n"},
      {{"serve", "--rebuild-state=yes"},
       "funding-ledger serve: flag --rebuild-state takes no value\n"},
      {{"serve", "--rebuild-state", "--rebuild-state"},
       "funding-ledger serve: flag --rebuild-state given twice\n"},
      {{"token", "--sub"}, "funding-ledger token: flag --sub needs a value\n"},
      {{"token", "--sub", "a", "--sub", "b"}, "funding-ledger token: flag --sub given twice\n"},
  };
  for (const auto& [args, message] : cases) {
    const CliRun run = Cli(args);
    EXPECT_EQ(run.exit_code, 2) << args[1];
    EXPECT_EQ(run.out, "") << args[1];
    EXPECT_EQ(run.err, message + Usage()) << args[1];
  }
}

// A well-formed line with an unknown option or a bad value: the
// configuration's message alone.
TEST_F(RunCliTest, ServeAndTokenNameAnUnknownOptionOrABadValue) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"serve", "--no-such-flag", "1"}, "funding-ledger serve: unknown flag --no-such-flag\n"},
      {{"serve", "--help", "x"}, "funding-ledger serve: unknown flag --help\n"},
      {{"serve", "--log-level=loud"},
       "funding-ledger serve: log-level (flag --log-level): 'loud' is not one of "
       "debug|info|warn|error\n"},
      {{"token", "--sub", "a", "--no-such-flag", "1"},
       "funding-ledger token: unknown flag --no-such-flag\n"},
      {{"token", "--jwt-secret", "s"}, "funding-ledger token: --sub: sub is empty\n"},
  };
  for (const auto& [args, message] : cases) {
    const CliRun run = Cli(args);
    EXPECT_EQ(run.exit_code, 2) << args[1];
    EXPECT_EQ(run.err, message) << args[1];
  }
  for (const std::string ttl : {"0", "x", "1.5", "-1", "", "31622401"}) {
    const CliRun run = Cli({"token", "--jwt-secret", "s", "--sub", "alice", "--ttl", ttl});
    EXPECT_EQ(run.exit_code, 2) << ttl;
    EXPECT_EQ(run.err, "funding-ledger token: --ttl must be 1..31622400 seconds\n") << ttl;
  }
}

TEST_F(RunCliTest, TokenPrintsTheBareTokenOnOneLine) {
  const CliRun run = Cli({"token", "--jwt-secret", "s", "--data-dir", empty_data(), "--sub",
                          "alice", "--name=Alice", "--ttl", "31622400"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.err, "");
  ASSERT_FALSE(run.out.empty());
  EXPECT_EQ(run.out.find('\n'), run.out.size() - 1) << run.out;
  EXPECT_EQ(std::count(run.out.begin(), run.out.end(), '.'), 2) << run.out;
}

// A token the service would refuse (longer than kMaxTokenBytes) is not
// printed; one just within the limit is.
TEST_F(RunCliTest, TokenRefusesANameThatMakesTheTokenTooLong) {
  const CliRun refused = Cli({"token", "--jwt-secret", "s", "--data-dir", empty_data(), "--sub",
                              "alice", "--name", std::string(4096, 'n')});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_EQ(refused.out, "");
  EXPECT_NE(refused.err.find("--name is too long: the token would be "), std::string::npos)
      << refused.err;
  EXPECT_NE(refused.err.find("the service accepts at most 4096"), std::string::npos) << refused.err;
  const CliRun fits = Cli({"token", "--jwt-secret", "s", "--data-dir", empty_data(), "--sub",
                           "alice", "--name", std::string(2048, 'n')});
  EXPECT_EQ(fits.exit_code, 0) << fits.err;
  EXPECT_LE(fits.out.size(), 4097u);
}

// The audit tools know their flags: a mistake is named with a pointer to
// --help, which works anywhere on the line.
TEST_F(RunCliTest, AuditToolsRefuseABadLineWithAPointerToTheirHelp) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"head", "--nope"}, "unknown flag --nope"},
      {{"head", "stray"}, "unexpected argument 'stray'"},
      {{"events", "--to", "1", "--to"}, "flag --to given twice"},
      {{"events", "--post"}, "flag --post needs a value (ID)"},
      {{"verify", "--json=1"}, "flag --json takes no value"},
      {{"verify", "--json", "--json=1"}, "flag --json given twice"},
      {{"replay", "--dry-run", "--dry-run"}, "flag --dry-run given twice"},
      {{"backup", "--to"}, "flag --to needs a value (DIR)"},
  };
  for (const auto& [args, message] : cases) {
    const CliRun run = Cli(args);
    EXPECT_EQ(run.exit_code, 2) << args[1];
    EXPECT_EQ(run.out, "") << args[1];
    EXPECT_EQ(run.err, "funding-ledger " + args[0] + ": " + message + "\nrun `funding-ledger " +
                           args[0] + " --help` for its options\n")
        << args[1];
  }
  for (const std::string command : {"head", "events", "verify", "replay", "backup"}) {
    const CliRun help = Cli({command, "--data-dir", "x", "-h"});
    EXPECT_EQ(help.exit_code, 0) << command;
    EXPECT_EQ(help.out.rfind("usage: funding-ledger " + command + " ", 0), 0u) << help.out;
    EXPECT_NE(help.out.find("\n  --help\n      print this text\n"), std::string::npos);
    EXPECT_EQ(help.err, "");
  }
}

TEST_F(RunCliTest, AuditToolsNameABadValueWithItsStatus) {
  const std::string d = empty_data();
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"events", "--data-dir", d, "--from", "0"},
       "funding-ledger events: InvalidArgument: --from must be an integer in "
       "1..9223372036854775807, got '0'\n"},
      {{"events", "--data-dir", d, "--from", "5", "--to", "4"},
       "funding-ledger events: InvalidArgument: --to must be an integer in "
       "5..9223372036854775807, got '4'\n"},
      {{"replay", "--data-dir", d, "--to-position", "x"},
       "funding-ledger replay: InvalidArgument: --to-position must be an integer in "
       "1..9223372036854775807, got 'x'\n"},
      {{"backup", "--data-dir", d}, "funding-ledger backup: --to DIR is required\n"},
      {{"head", "--data-dir", d},
       "funding-ledger head: NotFound: no event log in " + d + "/log (is --data-dir right?)\n"},
  };
  for (const auto& [args, message] : cases) {
    const CliRun run = Cli(args);
    EXPECT_EQ(run.exit_code, 2) << args[0];
    EXPECT_EQ(run.err, message) << args[0];
  }
  // A bad configuration from the environment: named with its source, yet
  // --help still answers.
  setenv("FUNDING_LEDGER_IO_THREADS", "0", 1);
  const CliRun bad = Cli({"head", "--data-dir", d});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.err,
            "funding-ledger head: InvalidArgument: io-threads (environment "
            "FUNDING_LEDGER_IO_THREADS): 0 is outside 1..64\n");
  EXPECT_EQ(Cli({"head", "--help"}).exit_code, 0);
}

}  // namespace
}  // namespace ledger::app
