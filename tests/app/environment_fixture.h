#pragma once

#include <cstdlib>

#include <gtest/gtest.h>

#include "app/config.h"

namespace ledger::app::testing {

// A test that starts and ends with none of the service's environment
// variables set (FUNDING_LEDGER_CONFIG and one per configuration option), so
// that what the machine running it has set cannot change what it sees.
class CleanEnvironmentTest : public ::testing::Test {
 protected:
  void SetUp() override { ClearEnvironment(); }
  void TearDown() override { ClearEnvironment(); }

  static void ClearEnvironment() {
    unsetenv("FUNDING_LEDGER_CONFIG");
    for (const OptionSpec& spec : ConfigOptions()) unsetenv(EnvName(spec.name).c_str());
  }
};

}  // namespace ledger::app::testing
