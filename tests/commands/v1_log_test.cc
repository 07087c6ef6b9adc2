// Events of schema version 1, as the service wrote them before version 2, read
// by today's code. data/v1_events.ndjson is the output of `funding-ledger
// events` of a log written over HTTP by the binary of commit 90cda5c (posts
// created singly and as an array, fundings with and without Idempotency-Key,
// edits of title, end_date, funding_unit and description, deletes with and
// without refunds, Korean text, emoji and control characters). Each line is
// the canonical bytes followed by prev_hash and hash, so the stored bytes are
// the line without those two members; the first test proves that they are.

#include <cstdint>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "commands/fold.h"
#include "commands/sequencer_fixture.h"
#include "events/codec.h"
#include "events/event_log.h"
#include "events/hash.h"
#include "events/record.h"
#include "support/status_matchers.h"

namespace ledger::commands {
namespace {

struct StoredEvent {
  std::string canonical;
  events::Hash prev_hash{};
  events::Hash hash{};
};

// Splits each envelope line at its prev_hash member.
std::vector<StoredEvent> ReadV1Events() {
  std::vector<StoredEvent> out;
  std::ifstream in(LEDGER_V1_EVENTS);
  EXPECT_TRUE(in) << LEDGER_V1_EVENTS;
  std::string line;
  while (std::getline(in, line)) {
    const std::string prev_key = ",\"prev_hash\":\"";
    const size_t at = line.find(prev_key);
    if (at == std::string::npos) {
      ADD_FAILURE() << "no prev_hash in " << line;
      continue;
    }
    StoredEvent e;
    e.canonical = line.substr(0, at) + "}";
    const std::string hash_key = "\",\"hash\":\"";
    const size_t hash_at = line.find(hash_key, at);
    const auto prev = events::HashFromHex(line.substr(at + prev_key.size(), 64));
    const auto hash = events::HashFromHex(line.substr(hash_at + hash_key.size(), 64));
    if (!prev || !hash) {
      ADD_FAILURE() << "bad hashes in " << line;
      continue;
    }
    e.prev_hash = *prev;
    e.hash = *hash;
    out.push_back(std::move(e));
  }
  return out;
}

TEST(V1EventsTest, AreGenuineRecordsOfOneChain) {
  const std::vector<StoredEvent> stored = ReadV1Events();
  ASSERT_EQ(stored.size(), 17u);
  events::Hash head = events::kGenesisHash;
  for (const StoredEvent& e : stored) {
    EXPECT_EQ(e.prev_hash, head);
    EXPECT_EQ(events::ChainHash(e.prev_hash, e.canonical), e.hash) << e.canonical;
    head = e.hash;
  }
}

TEST(V1EventsTest, DecodeAsVersion1AndEncodeToTheirStoredBytes) {
  int created = 0;
  for (const StoredEvent& stored : ReadV1Events()) {
    auto event = events::DecodeCanonical(stored.canonical);
    ASSERT_OK(event);
    EXPECT_EQ(event->schema_version, 1);
    EXPECT_EQ(events::EncodeCanonical(*event), stored.canonical);
    if (const auto* post = std::get_if<events::PostCreated>(&event->data)) {
      ++created;
      EXPECT_EQ(post->funding_model, events::FundingModel::kKeepItAll);
      EXPECT_EQ(post->max_fundings_per_backer, std::nullopt);
    }
  }
  EXPECT_EQ(created, 4);
}

// The v1 records in a real log: folded, then continued by today's sequencer,
// which chains version-2 events onto them.
class V1LogTest : public testing::SequencerFixture {
 protected:
  void SetUp() override {
    OpenLog();
    std::vector<events::EncodedEvent> records;
    for (const StoredEvent& stored : ReadV1Events()) {
      auto event = events::DecodeCanonical(stored.canonical);
      ASSERT_OK(event);
      event->prev_hash = stored.prev_hash;
      std::string record = events::SealRecord(*event, stored.canonical);
      ASSERT_EQ(event->hash, stored.hash);
      records.push_back(events::EncodedEvent{event->position, event->stream, event->stream_version,
                                             event->prev_hash, event->hash, std::move(record)});
    }
    ASSERT_OK(log_->Append(records, {}));
  }
};

TEST_F(V1LogTest, FoldsToTheFiguresTheOldServiceServed) {
  auto folded = FoldLog(*log_, log_->Head().position);
  ASSERT_OK(folded);
  ASSERT_EQ(folded->posts.size(), 4u);
  const PostState& first = folded->posts[0];
  EXPECT_EQ(first.title, "새 제목");
  EXPECT_EQ(first.total_funded, 8'000);  // bob 2 + 5 units, carol 1, of 1 000
  EXPECT_EQ(first.participant_count(), 2);
  EXPECT_EQ(first.funding_model, events::FundingModel::kKeepItAll);
  EXPECT_FALSE(first.max_fundings_per_backer.has_value());
  EXPECT_FALSE(first.settled());
  EXPECT_TRUE(folded->posts[1].deleted);
  EXPECT_EQ(folded->posts[2].total_funded, 2'000);
  EXPECT_TRUE(folded->posts[3].deleted);
}

TEST_F(V1LogTest, TodaysSequencerContinuesTheChainWithVersion2Events) {
  StartSequencer(log_.get());
  const int64_t before = log_->Head().position;
  Accept(testing::Fund(1, "erin", 3));
  auto event = events::ReadEvent(*log_, before + 1);
  ASSERT_OK(event);
  EXPECT_EQ(event->schema_version, events::kCurrentSchemaVersion);
  auto folded = FoldLog(*log_, log_->Head().position);
  ASSERT_OK(folded);
  EXPECT_EQ(folded->posts[0].total_funded, 11'000);
}

}  // namespace
}  // namespace ledger::commands
