#include "events/canonical_fast.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "event_fixtures.h"
#include "events/codec.h"
#include "support/status_matchers.h"

namespace ledger::events {
namespace {

using testing::At;

// Events of every type and shape whose strings are printable ASCII: what the
// fast path takes.
std::vector<Event> AsciiEvents() {
  std::vector<Event> all;
  Event created;
  created.position = 1;
  created.stream = 7;
  created.stream_version = 1;
  created.recorded_at = At(1'763'700'000'123'456);
  created.actor = "alice";
  created.correlation_id = "req-1";
  created.idempotency_key = "key-1";
  PostCreated c;
  c.title = "My hobby";
  c.uploader = "Alice";
  c.owner = "alice";
  c.description = "";
  c.target_amount = 1'000'000;
  c.funding_unit = 1'000;
  c.end_date = *ParseDate("2026-12-31");
  c.closes_at = At(1'798'642'800'000'000);
  created.data = c;
  all.push_back(created);
  Event limited = created;
  std::get<PostCreated>(limited.data).funding_model = FundingModel::kAllOrNothing;
  std::get<PostCreated>(limited.data).max_fundings_per_backer = 10'000;
  all.push_back(limited);
  Event old = created;
  old.schema_version = 1;
  all.push_back(old);

  Event edited = created;
  edited.position = 2;
  edited.stream_version = 2;
  edited.idempotency_key.clear();
  PostEdited everything;
  everything.title = "new";
  everything.uploader = "Bob";
  everything.description = "longer";
  everything.funding_unit = 500;
  everything.end_date = *ParseDate("2027-01-02");
  everything.closes_at = At(1'798'815'600'000'000);
  everything.funding_model = FundingModel::kKeepItAll;
  everything.max_fundings_per_backer = std::optional<int64_t>{};  // lifts the limit
  edited.data = everything;
  all.push_back(edited);
  PostEdited some;
  some.description = "only this";
  some.max_fundings_per_backer = std::optional<int64_t>{3};
  edited.data = some;
  all.push_back(edited);
  edited.data = PostEdited{};
  all.push_back(edited);

  Event funded = testing::Funded(3, 7, 3);
  all.push_back(funded);
  Event refunded = testing::Funded(4, 7, 4);
  refunded.data = FundingRefunded{"bob", 2, 2000};
  all.push_back(refunded);
  Event deleted = testing::Funded(5, 7, 5);
  deleted.data = PostDeleted{2000, 1};
  all.push_back(deleted);
  Event cancelled = testing::Funded(6, 8, 3);
  cancelled.data = FundingCancelled{"bob", 4, 2, 2000};
  all.push_back(cancelled);
  Event settled = testing::Funded(7, 8, 4);
  settled.data = PostSettled{SettlementOutcome::kFailed, 9000, 4, 9000, 4};
  all.push_back(settled);
  Event negative = testing::Funded(9'000'000'000'000'000'000, 8, 5);
  negative.recorded_at = At(1'790'000'000'000'000);
  negative.data = PostDeleted{-1, -9'223'372'036'854'775'807 - 1};
  all.push_back(negative);
  return all;
}

TEST(CanonicalFastTest, DecodesTheCanonicalBytesOfEveryEventShape) {
  for (const Event& e : AsciiEvents()) {
    const std::string bytes = EncodeCanonical(e);
    const std::optional<Event> fast = DecodeCanonicalFast(bytes);
    ASSERT_TRUE(fast.has_value()) << bytes;
    EXPECT_EQ(*fast, e) << bytes;
  }
}

// The contract that keeps DecodeCanonical exactly as strict as it was: the
// fast path accepts only bytes that are the canonical encoding of the event
// it returns, and the general parser decodes those to the same event.
void ExpectOnlyCanonicalAccepted(const std::string& bytes) {
  const std::optional<Event> fast = DecodeCanonicalFast(bytes);
  if (!fast) return;
  EXPECT_EQ(EncodeCanonical(*fast), bytes);
  const Result<Event> general = DecodeCanonical(bytes);
  ASSERT_OK(general);
  EXPECT_EQ(*general, *fast) << bytes;
}

TEST(CanonicalFastTest, AcceptsNothingButTheCanonicalBytesOfWhatItReturns) {
  const std::string replacements = std::string("\0 \"\\,:{}-+0189aAeEnul.\x7f\x80\xff", 26);
  for (const Event& e : AsciiEvents()) {
    const std::string bytes = EncodeCanonical(e);
    for (size_t n = 0; n < bytes.size(); ++n) ExpectOnlyCanonicalAccepted(bytes.substr(0, n));
    for (size_t i = 0; i < bytes.size(); ++i) {
      for (const char c : replacements) {
        std::string changed = bytes;
        changed[i] = c;
        ExpectOnlyCanonicalAccepted(changed);
        std::string inserted = bytes;
        inserted.insert(i, 1, c);
        ExpectOnlyCanonicalAccepted(inserted);
      }
      std::string removed = bytes;
      removed.erase(i, 1);
      ExpectOnlyCanonicalAccepted(removed);
    }
    ExpectOnlyCanonicalAccepted(bytes + " ");
    ExpectOnlyCanonicalAccepted(bytes + "}");
  }
}

TEST(CanonicalFastTest, LeavesOtherSpellingsToTheGeneralParser) {
  const std::string funded = EncodeCanonical(testing::Funded(3, 7, 3, "bob"));
  const auto replace = [&funded](const std::string& from, const std::string& to) {
    std::string out = funded;
    out.replace(out.find(from), from.size(), to);
    return out;
  };
  // Each is valid JSON that the general parser accepts as the same event (or
  // refuses): never the fast path's to decide.
  for (const std::string& other : {
           replace("\"units\":2", "\"units\":02"),
           replace("\"units\":2", "\"units\": 2"),
           replace("\"bob\"", "\"b\\u006fb\""),
           replace("\"bob\"", "\"b\xc3\xb6\""),
           replace("{\"position\"", " {\"position\""),
           replace("\"idempotency_key\":null", "\"idempotency_key\":\"\""),
           replace("\"schema_version\":2", "\"schema_version\":4294967298"),
           replace("\"units\":2", "\"units\":99999999999999999999"),
           replace("\"stream\":\"post-7\"", "\"stream\":\"post-07\""),
       }) {
    EXPECT_FALSE(DecodeCanonicalFast(other).has_value()) << other;
  }
  // Reordered members are still an event to the general parser.
  const std::string reordered =
      replace("\"units\":2,\"amount\":2000", "\"amount\":2000,\"units\":2");
  EXPECT_FALSE(DecodeCanonicalFast(reordered).has_value());
  const Result<Event> general = DecodeCanonical(reordered);
  ASSERT_OK(general);
  EXPECT_EQ(*general, testing::Funded(3, 7, 3, "bob"));
}

}  // namespace
}  // namespace ledger::events
