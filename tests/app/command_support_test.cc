#include "app/command_support.h"

#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "app/environment_fixture.h"
namespace ledger::app {
namespace {

TEST(ExitCodeTest, DataProblemsAreOneInterruptsOneThirtyTheRestTwo) {
  EXPECT_EQ(ExitCodeOf(Status::Corruption("hash mismatch")), kExitMismatch);
  EXPECT_EQ(ExitCodeOf(Status::Cancelled("interrupted")), kExitInterrupted);
  for (const Status& status :
       {Status::InvalidArgument("x"), Status::NotFound("x"), Status::IOError("x"),
        Status::Unavailable("x"), Status::FailedPrecondition("x"), Status::Internal("x")}) {
    EXPECT_EQ(ExitCodeOf(status), kExitUsage) << status.ToString();
  }
}

TEST(ExitCodeTest, FailNamesTheCodeAndFailUsageOnlyTheMessage) {
  std::ostringstream err;
  EXPECT_EQ(Fail(err, "verify", Status::Corruption("position 3: hash mismatch")), 1);
  EXPECT_EQ(err.str(), "funding-ledger verify: Corruption: position 3: hash mismatch\n");
  std::ostringstream usage;
  EXPECT_EQ(FailUsage(usage, "backup", Status::InvalidArgument("--to DIR is required")), 2);
  EXPECT_EQ(usage.str(), "funding-ledger backup: --to DIR is required\n");
}

TEST(CommonFlagsTest, EveryToolTakesServesStoreFlagsFirst) {
  const std::vector<FlagSpec> specs = WithCommonFlags({{"json", "", "a switch"}});
  ASSERT_EQ(specs.size(), CommonToolFlags().size() + 1);
  std::vector<std::string> names;
  for (const FlagSpec& spec : specs) names.emplace_back(spec.name);
  EXPECT_EQ(names, (std::vector<std::string>{"data-dir", "database-url", "log-url", "jwt-secret",
                                             "config", "json"}));
}

class BeginTest : public testing::CleanEnvironmentTest {
 protected:
  Result<Invocation, Ended> Start(const std::vector<std::string>& args) {
    return Begin(args, "[options]", "Does a thing.", WithCommonFlags({{"json", "", "a switch"}}),
                 out_, err_);
  }

  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(BeginTest, GivesTheFlagsAndTheConfigurationTheyMake) {
  const auto invocation = Start({"tool", "--data-dir", "/d", "--json"});
  ASSERT_TRUE(invocation.ok()) << err_.str();
  EXPECT_TRUE(invocation->flags.Has("json"));
  EXPECT_EQ(invocation->config.data_dir, "/d");
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(err_.str(), "");
}

TEST_F(BeginTest, EndsWithHelpOnStdout) {
  const auto invocation = Start({"tool", "--json", "--help"});
  ASSERT_FALSE(invocation.ok());
  EXPECT_EQ(invocation.error().exit_code, kExitOk);
  EXPECT_EQ(out_.str().rfind("usage: funding-ledger tool [options]\n\nDoes a thing.\n", 0), 0u)
      << out_.str();
  EXPECT_EQ(err_.str(), "");
}

TEST_F(BeginTest, EndsABadLineWithAPointerToHelp) {
  const auto invocation = Start({"tool", "--nope"});
  ASSERT_FALSE(invocation.ok());
  EXPECT_EQ(invocation.error().exit_code, kExitUsage);
  EXPECT_EQ(err_.str(),
            "funding-ledger tool: unknown flag --nope\n"
            "run `funding-ledger tool --help` for its options\n");
}

TEST_F(BeginTest, EndsABadConfigurationWithItsStatus) {
  setenv("FUNDING_LEDGER_DATA_DIR", "", 1);
  const auto invocation = Start({"tool"});
  ASSERT_FALSE(invocation.ok());
  EXPECT_EQ(invocation.error().exit_code, kExitUsage);
  EXPECT_EQ(err_.str(), "funding-ledger tool: InvalidArgument: data-dir must not be empty\n");
}

}  // namespace
}  // namespace ledger::app
