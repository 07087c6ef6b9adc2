#include "projections/checkpoint.h"

#include <optional>
#include <string>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "events/event_log.h"
#include "events/hash.h"
#include "pg_fixture.h"
#include "projections/migrations.h"
#include "projections/read_schema.h"
#include "support/status_matchers.h"

namespace ledger::projections {
namespace {

// CheckAgainstHead is pure; the row functions run against PostgreSQL
// (CheckpointRowTest below, and the projector's, replay's and verify's tests).

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

// The row of one projector in the read tables of a fresh database.
class CheckpointRowTest : public testing::PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    ASSERT_OK(ApplyMigrations(db(), kReadSchema));
  }
};

TEST_F(CheckpointRowTest, ReadsNothingWhenTheProjectorHasNoRow) {
  pqxx::work tx(db());
  EXPECT_FALSE(ReadCheckpoint(tx, kReadSchema, "read_model").has_value());
}

TEST_F(CheckpointRowTest, ReadsTheRowInsertCreated) {
  pqxx::work tx(db());
  InsertCheckpoint(tx, kReadSchema, "read_model", events::LogHead{.position = 7, .hash = kHashA});
  const std::optional<StoredCheckpoint> read = ReadCheckpoint(tx, kReadSchema, "read_model");
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->position, 7);
  EXPECT_EQ(read->hash, kHashA);
  EXPECT_EQ(read->hash_text, events::ToHex(kHashA));
  EXPECT_FALSE(ReadCheckpoint(tx, kReadSchema, "other").has_value());
}

TEST_F(CheckpointRowTest, ReadKeepsAStoredTextThatIsNotAHash) {
  pqxx::work tx(db());
  tx.exec0(
      "INSERT INTO ledger_read.checkpoints (name, position, hash, updated_at) "
      "VALUES ('read_model', 3, 'not a hash', now())");
  const std::optional<StoredCheckpoint> read = ReadCheckpoint(tx, kReadSchema, "read_model");
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->hash, std::nullopt);
  EXPECT_EQ(read->hash_text, "not a hash");
}

TEST_F(CheckpointRowTest, LockCreatesTheGenesisRowOnce) {
  pqxx::work tx(db());
  const StoredCheckpoint first = LockCheckpoint(tx, kReadSchema, "read_model");
  EXPECT_EQ(first.position, 0);
  EXPECT_EQ(first.hash, events::kGenesisHash);
  WriteCheckpoint(tx, kReadSchema, "read_model", events::LogHead{.position = 4, .hash = kHashB});
  const StoredCheckpoint again = LockCheckpoint(tx, kReadSchema, "read_model");
  EXPECT_EQ(again.position, 4);
  EXPECT_EQ(again.hash, kHashB);
  EXPECT_EQ(again.hash_text, events::ToHex(kHashB));
}

}  // namespace
}  // namespace ledger::projections
