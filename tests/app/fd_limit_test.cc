#include "app/fd_limit.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include "support/status_matchers.h"

namespace ledger::app {
namespace {

TEST(ConnectionCapTest, FromTheLimitLessWhatTheRestNeedsAndNoMoreThanTheCeiling) {
  EXPECT_EQ(*ConnectionCap(0, 20'000), 20'000 - kReservedDescriptors);
  EXPECT_EQ(*ConnectionCap(0, 1'048'576), kMaxAutoConnections);
  EXPECT_EQ(*ConnectionCap(0, kReservedDescriptors + kMinConnections), kMinConnections);
  EXPECT_EQ(*ConnectionCap(0, UINT64_MAX), kMaxAutoConnections);
}

TEST(ConnectionCapTest, RefusesALimitTooLowToServe) {
  const auto cap = ConnectionCap(0, 1'024);
  ASSERT_FALSE(cap.ok());
  EXPECT_EQ(cap.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(cap.status().message().find("open-file limit is 1024"), std::string::npos)
      << cap.status().message();
  EXPECT_NE(cap.status().message().find("LimitNOFILE"), std::string::npos);
}

TEST(ConnectionCapTest, TakesAConfiguredCapThatFitsAndRefusesOneThatDoesNot) {
  EXPECT_EQ(*ConnectionCap(4'096, 20'000), 4'096u);
  EXPECT_EQ(*ConnectionCap(1, 2'000), 1u);
  const auto cap = ConnectionCap(50'000, 20'000);
  ASSERT_FALSE(cap.ok());
  EXPECT_NE(cap.status().message().find("max-connections: 50000 connections do not fit"),
            std::string::npos)
      << cap.status().message();
}

TEST(ConnectionCapTest, RaisingTheLimitReachesTheHardLimit) {
  const uint64_t raised = RaiseFileDescriptorLimit();
  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  EXPECT_EQ(limit.rlim_cur, limit.rlim_max);
  EXPECT_EQ(raised, limit.rlim_cur == RLIM_INFINITY ? UINT64_MAX : limit.rlim_cur);
}

}  // namespace
}  // namespace ledger::app
