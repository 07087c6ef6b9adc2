#include "projections/checkpoint.h"

#include <gtest/gtest.h>

#include "events/event_log.h"
#include "events/hash.h"
#include "support/status_matchers.h"

namespace ledger::projections {
namespace {

// CheckAgainstHead is pure; the row itself is written and locked by the
// projector's tests against PostgreSQL.

const events::Hash kHashA = events::Sha256("a");
const events::Hash kHashB = events::Sha256("b");

TEST(CheckAgainstHeadTest, AcceptsACheckpointBehindTheHead) {
  const Result<events::LogHead> checked =
      CheckAgainstHead(StoredCheckpoint{.position = 3, .hash = kHashA},
                       events::LogHead{.position = 9, .hash = kHashB}, "read_model");
  ASSERT_OK(checked);
  EXPECT_EQ(*checked, (events::LogHead{.position = 3, .hash = kHashA}));
}

TEST(CheckAgainstHeadTest, AcceptsACheckpointAtTheHeadWithItsHash) {
  const Result<events::LogHead> checked =
      CheckAgainstHead(StoredCheckpoint{.position = 9, .hash = kHashB},
                       events::LogHead{.position = 9, .hash = kHashB}, "read_model");
  ASSERT_OK(checked);
  EXPECT_EQ(*checked, (events::LogHead{.position = 9, .hash = kHashB}));
}

TEST(CheckAgainstHeadTest, AcceptsTheGenesisCheckpointOfAnEmptyLog) {
  const Result<events::LogHead> checked =
      CheckAgainstHead(StoredCheckpoint{.position = 0, .hash = events::kGenesisHash},
                       events::LogHead{}, "read_model");
  ASSERT_OK(checked);
  EXPECT_EQ(*checked, events::LogHead{});
}

TEST(CheckAgainstHeadTest, RejectsAStoredHashThatIsNotAHash) {
  const Result<events::LogHead> checked =
      CheckAgainstHead(StoredCheckpoint{.position = 3, .hash = std::nullopt},
                       events::LogHead{.position = 9, .hash = kHashB}, "read_model");
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.status().code(), Status::Code::kCorruption);
  EXPECT_EQ(checked.status().message(), "checkpoint hash of projector read_model is not a hash");
}

TEST(CheckAgainstHeadTest, RejectsACheckpointPastTheHead) {
  const Result<events::LogHead> checked =
      CheckAgainstHead(StoredCheckpoint{.position = 10, .hash = kHashA},
                       events::LogHead{.position = 9, .hash = kHashB}, "read_model");
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.status().code(), Status::Code::kCorruption);
  EXPECT_EQ(checked.status().message(),
            "checkpoint 10 is past the log head 9: the read tables belong to another log");
}

TEST(CheckAgainstHeadTest, RejectsACheckpointAtTheHeadWithAnotherHash) {
  const Result<events::LogHead> checked =
      CheckAgainstHead(StoredCheckpoint{.position = 9, .hash = kHashA},
                       events::LogHead{.position = 9, .hash = kHashB}, "read_model");
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.status().code(), Status::Code::kCorruption);
  EXPECT_EQ(checked.status().message(),
            "checkpoint hash differs from the log's hash at position 9");
}

}  // namespace
}  // namespace ledger::projections
