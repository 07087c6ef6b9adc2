#include "app/interrupt.h"

#include <csignal>

#include <gtest/gtest.h>

namespace ledger::app {
namespace {

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
