#include "projections/batch_changes.h"

#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "commands/post_state.h"
#include "events/event.h"
#include "support/status_matchers.h"
#include "support/time_literals.h"

namespace ledger::projections {
namespace {

using commands::BackerTotal;
using ledger::testing::At;
using ledger::testing::D;

constexpr int64_t kMaxInt64 = std::numeric_limits<int64_t>::max();

// Events need only what CoalesceBatch reads: position, stream, version, the
// time (for created_at) and the data.
events::Event MakeEvent(int64_t position, int64_t post, int64_t version, events::EventData data) {
  events::Event e;
  e.position = position;
  e.stream = post;
  e.stream_version = version;
  e.recorded_at = At("2026-03-01T09:00:00.000000Z") + std::chrono::seconds(position);
  e.data = std::move(data);
  return e;
}

events::PostCreated Created(std::string title) {
  return events::PostCreated{
      .title = std::move(title),
      .uploader = "uploader",
      .owner = "owner",
      .description = "description",
      .target_amount = 100'000,
      .funding_unit = 1'000,
      .end_date = D("2026-04-30"),
      .closes_at = At("2026-04-30T15:00:00.000000Z"),
      .funding_model = events::FundingModel::kKeepItAll,
      .max_fundings_per_backer = std::nullopt,
  };
}

events::PostFunded Funded(std::string backer, int64_t units, int64_t amount) {
  return events::PostFunded{.backer = std::move(backer), .units = units, .amount = amount};
}

events::FundingRefunded Refunded(std::string backer, int64_t units, int64_t amount) {
  return events::FundingRefunded{.backer = std::move(backer), .units = units, .amount = amount};
}

std::map<int64_t, PostChange> Coalesce(const std::vector<events::Event>& batch) {
  Result<std::map<int64_t, PostChange>> changes = CoalesceBatch(batch);
  EXPECT_OK(changes);
  return changes.ok() ? *std::move(changes) : std::map<int64_t, PostChange>{};
}

TEST(CoalesceBatchTest, AnEmptyBatchChangesNothing) {
  const std::vector<events::Event> batch;
  EXPECT_TRUE(Coalesce(batch).empty());
}

TEST(CoalesceBatchTest, FoldsLaterEditsIntoAPostCreatedInTheBatch) {
  events::PostEdited first_edit;
  first_edit.title = "second title";
  first_edit.description = "new";
  events::PostEdited second_edit;
  second_edit.title = "third title";
  second_edit.end_date = D("2026-05-31");
  second_edit.closes_at = At("2026-05-31T15:00:00.000000Z");
  const std::vector<events::Event> batch = {
      MakeEvent(10, 4, 1, Created("first title")),
      MakeEvent(11, 4, 2, first_edit),
      MakeEvent(12, 4, 3, second_edit),
  };
  const auto changes = Coalesce(batch);

  ASSERT_EQ(changes.size(), 1u);
  const PostChange& c = changes.at(4);
  EXPECT_EQ(c.id, 4);
  EXPECT_TRUE(c.created);
  EXPECT_FALSE(c.deleted);
  events::PostCreated expected = Created("third title");
  expected.description = "new";
  expected.end_date = D("2026-05-31");
  expected.closes_at = At("2026-05-31T15:00:00.000000Z");
  EXPECT_EQ(c.created_data, expected);
  EXPECT_EQ(c.created_at, At("2026-03-01T09:00:10.000000Z"));
  // Folded into the new row, so nothing is left to update.
  EXPECT_EQ(c.edits, events::PostEdited{});
  EXPECT_FALSE(c.has_edits());
  EXPECT_EQ(c.version, 3);
  EXPECT_EQ(c.last_position, 12);
}

TEST(CoalesceBatchTest, MergesEditsOfAnOlderPostWithTheLaterValueWinning) {
  events::PostEdited first_edit;
  first_edit.title = "A";
  first_edit.description = "d";
  events::PostEdited second_edit;
  second_edit.title = "B";
  second_edit.funding_unit = 500;
  const std::vector<events::Event> batch = {
      MakeEvent(20, 2, 5, first_edit),
      MakeEvent(21, 2, 6, second_edit),
  };
  const auto changes = Coalesce(batch);

  ASSERT_EQ(changes.size(), 1u);
  const PostChange& c = changes.at(2);
  EXPECT_FALSE(c.created);
  EXPECT_EQ(c.created_data, events::PostCreated{});
  events::PostEdited merged;
  merged.title = "B";
  merged.description = "d";
  merged.funding_unit = 500;
  EXPECT_EQ(c.edits, merged);
  EXPECT_TRUE(c.has_edits());
  EXPECT_EQ(c.version, 6);
  EXPECT_EQ(c.last_position, 21);
}

TEST(CoalesceBatchTest, SumsFundingsPerBacker) {
  const std::vector<events::Event> batch = {
      MakeEvent(30, 3, 2, Funded("alice", 2, 2'000)),
      MakeEvent(31, 3, 3, Funded("bob", 1, 1'000)),
      MakeEvent(32, 3, 4, Funded("alice", 3, 3'000)),
  };
  const auto changes = Coalesce(batch);

  ASSERT_EQ(changes.size(), 1u);
  const PostChange& c = changes.at(3);
  ASSERT_EQ(c.backers.size(), 2u);
  const BackerChange& alice = c.backers.at("alice");
  EXPECT_FALSE(alice.reset);
  EXPECT_EQ(alice.before_reset_fundings, 0);
  EXPECT_EQ(alice.after, (BackerTotal{.units = 5, .amount = 5'000, .fundings = 2}));
  const BackerChange& bob = c.backers.at("bob");
  EXPECT_FALSE(bob.reset);
  EXPECT_EQ(bob.after, (BackerTotal{.units = 1, .amount = 1'000, .fundings = 1}));
  EXPECT_EQ(c.total_delta, 6'000);
  EXPECT_EQ(c.fundings_delta, 3);
  EXPECT_FALSE(c.created);
  EXPECT_FALSE(c.has_edits());
  EXPECT_EQ(c.version, 4);
  EXPECT_EQ(c.last_position, 32);
}

TEST(CoalesceBatchTest, ARefundResetsTheBackerAndCancelsItsEarlierFundings) {
  // alice held 5 units (5 000) from earlier batches; the refund returns those
  // and the 3 units funded here, then she funds again.
  const std::vector<events::Event> batch = {
      MakeEvent(40, 8, 10, Funded("alice", 2, 2'000)),
      MakeEvent(41, 8, 11, Funded("alice", 1, 1'000)),
      MakeEvent(42, 8, 12, Refunded("alice", 8, 8'000)),
      MakeEvent(43, 8, 13, Funded("alice", 4, 4'000)),
  };
  const auto changes = Coalesce(batch);

  const PostChange& c = changes.at(8);
  const BackerChange& alice = c.backers.at("alice");
  EXPECT_TRUE(alice.reset);
  EXPECT_EQ(alice.before_reset_fundings, 2);
  EXPECT_EQ(alice.after, (BackerTotal{.units = 4, .amount = 4'000, .fundings = 1}));
  EXPECT_EQ(c.total_delta, -1'000);  // 2 000 + 1 000 - 8 000 + 4 000
  // The two fundings before the refund are cancelled; the stored row's
  // fundings are not known here (they come off when the row is deleted).
  EXPECT_EQ(c.fundings_delta, 1);
}

TEST(CoalesceBatchTest, EveryRefundAddsTheFundingsItCancels) {
  const std::vector<events::Event> batch = {
      MakeEvent(50, 8, 2, Funded("alice", 1, 1'000)),
      MakeEvent(51, 8, 3, Refunded("alice", 1, 1'000)),
      MakeEvent(52, 8, 4, Funded("alice", 2, 2'000)),
      MakeEvent(53, 8, 5, Funded("alice", 1, 1'000)),
      MakeEvent(54, 8, 6, Refunded("alice", 3, 3'000)),
  };
  const auto changes = Coalesce(batch);

  const PostChange& c = changes.at(8);
  const BackerChange& alice = c.backers.at("alice");
  EXPECT_TRUE(alice.reset);
  EXPECT_EQ(alice.before_reset_fundings, 3);
  EXPECT_EQ(alice.after, BackerTotal{});
  EXPECT_EQ(c.total_delta, 0);
  EXPECT_EQ(c.fundings_delta, 0);
}

TEST(CoalesceBatchTest, ARefundOfOnlyStoredFundingsResetsTheBacker) {
  const std::vector<events::Event> batch = {
      MakeEvent(60, 5, 7, Refunded("carol", 2, 2'000)),
  };
  const auto changes = Coalesce(batch);

  const PostChange& c = changes.at(5);
  const BackerChange& carol = c.backers.at("carol");
  EXPECT_TRUE(carol.reset);
  EXPECT_EQ(carol.before_reset_fundings, 0);
  EXPECT_EQ(carol.after, BackerTotal{});
  EXPECT_EQ(c.total_delta, -2'000);
  EXPECT_EQ(c.fundings_delta, 0);
}

TEST(CoalesceBatchTest, MarksAPostCreatedAndDeletedInTheBatchAsBoth) {
  const std::vector<events::Event> batch = {
      MakeEvent(70, 9, 1, Created("short-lived")),
      MakeEvent(71, 9, 2, Funded("dave", 1, 1'000)),
      MakeEvent(72, 9, 3, Refunded("dave", 1, 1'000)),
      MakeEvent(73, 9, 4, events::PostDeleted{.refunded_amount = 1'000, .refunded_backers = 1}),
  };
  const auto changes = Coalesce(batch);

  const PostChange& c = changes.at(9);
  EXPECT_TRUE(c.created);
  EXPECT_TRUE(c.deleted);
  EXPECT_EQ(c.total_delta, 0);
  EXPECT_EQ(c.fundings_delta, 0);
  EXPECT_EQ(c.version, 4);
  EXPECT_EQ(c.last_position, 73);
}

TEST(CoalesceBatchTest, MarksADeleteOfAnOlderPostAsDeletedOnly) {
  const std::vector<events::Event> batch = {
      MakeEvent(80, 6, 9, Refunded("erin", 3, 3'000)),
      MakeEvent(81, 6, 10, events::PostDeleted{.refunded_amount = 3'000, .refunded_backers = 1}),
  };
  const auto changes = Coalesce(batch);

  const PostChange& c = changes.at(6);
  EXPECT_FALSE(c.created);
  EXPECT_TRUE(c.deleted);
  EXPECT_TRUE(c.backers.at("erin").reset);
  EXPECT_EQ(c.total_delta, -3'000);
  EXPECT_EQ(c.version, 10);
  EXPECT_EQ(c.last_position, 81);
}

TEST(CoalesceBatchTest, KeepsEachPostsOwnLastVersionAndPosition) {
  const std::vector<events::Event> batch = {
      MakeEvent(90, 1, 5, Funded("alice", 1, 1'000)),
      MakeEvent(91, 2, 1, Created("two")),
      MakeEvent(92, 1, 6, Funded("bob", 2, 2'000)),
  };
  const auto changes = Coalesce(batch);

  ASSERT_EQ(changes.size(), 2u);
  const PostChange& one = changes.at(1);
  EXPECT_EQ(one.id, 1);
  EXPECT_EQ(one.version, 6);
  EXPECT_EQ(one.last_position, 92);
  EXPECT_EQ(one.total_delta, 3'000);
  EXPECT_EQ(one.fundings_delta, 2);
  const PostChange& two = changes.at(2);
  EXPECT_EQ(two.id, 2);
  EXPECT_EQ(two.version, 1);
  EXPECT_EQ(two.last_position, 91);
  EXPECT_EQ(two.total_delta, 0);
  EXPECT_EQ(two.fundings_delta, 0);
}

TEST(CoalesceBatchTest, FailsWhenFundingsOverflowThePostTotal) {
  const std::vector<events::Event> batch = {
      MakeEvent(100, 1, 2, Funded("alice", 1, kMaxInt64)),
      MakeEvent(101, 1, 3, Funded("bob", 1, 1)),
  };
  const Result<std::map<int64_t, PostChange>> changes = CoalesceBatch(batch);

  ASSERT_FALSE(changes.ok());
  EXPECT_EQ(changes.status().code(), Status::Code::kCorruption);
  EXPECT_EQ(changes.status().message(), "event at position 101 overflows a read-table total");
}

TEST(CoalesceBatchTest, FailsWhenABackersUnitsOverflow) {
  const std::vector<events::Event> batch = {
      MakeEvent(110, 1, 2, Funded("alice", kMaxInt64, 1)),
      MakeEvent(111, 1, 3, Funded("alice", 1, 1)),
  };
  const Result<std::map<int64_t, PostChange>> changes = CoalesceBatch(batch);

  ASSERT_FALSE(changes.ok());
  EXPECT_EQ(changes.status().code(), Status::Code::kCorruption);
  EXPECT_EQ(changes.status().message(), "event at position 111 overflows a read-table total");
}

TEST(CoalesceBatchTest, FailsWhenRefundsOverflowThePostTotal) {
  const std::vector<events::Event> batch = {
      MakeEvent(120, 1, 2, Refunded("alice", 1, kMaxInt64)),
      MakeEvent(121, 1, 3, Refunded("bob", 1, 2)),
  };
  const Result<std::map<int64_t, PostChange>> changes = CoalesceBatch(batch);

  ASSERT_FALSE(changes.ok());
  EXPECT_EQ(changes.status().code(), Status::Code::kCorruption);
  EXPECT_EQ(changes.status().message(), "event at position 121 overflows a read-table total");
}

}  // namespace
}  // namespace ledger::projections
