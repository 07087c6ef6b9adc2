#include "commands/decide.h"

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include "commands/limits.h"
#include "commands/post_state.h"
#include "common/time_format.h"
#include "common/time_zone.h"
#include "decide_fixture.h"
#include "events/event.h"
#include "support/status_matchers.h"
#include "support/time_literals.h"

namespace ledger::commands {
namespace {

using events::EventData;
using events::FundingRefunded;
using events::PostCreated;
using events::PostDeleted;
using events::PostEdited;
using events::PostFunded;
using std::chrono::hours;
using std::chrono::microseconds;
using testing::At;
using testing::D;
using testing::DataAt;
using testing::DecideTest;
using testing::IsAccepted;
using testing::IsRejected;
using testing::kBacker;
using testing::kInt64Max;
using testing::kInt64Min;
using testing::kNextPostId;
using testing::kOwner;
using testing::kPostId;
using testing::kUnit;
using testing::PostHistory;
using testing::Repeat;

// ---------------------------------------------------------------- create

TEST_F(DecideTest, CreatesPostWithNextIdAndActorAsOwner) {
  const Decision d = Create(ValidDraft());
  ASSERT_TRUE(IsAccepted(d));
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].stream, kNextPostId);
  const auto* created = DataAt<PostCreated>(d, 0);
  ASSERT_NE(created, nullptr);
  EXPECT_EQ(*created,
            (PostCreated{"내 취미 만들기", "홍길동", "owner-7", "취미를 위한 첫 펀딩", 1'000'000,
                         kUnit, D("2026-11-21"), At("2026-11-21T15:00:00.000000Z"),
                         events::FundingModel::kKeepItAll, std::nullopt}));
}

TEST_F(DecideTest, CreatedPostClosesAtEndOfEndDateInServiceZone) {
  PostDraft p = ValidDraft();
  p.end_date = D("2026-12-31");
  const Decision d = Create(p);
  ASSERT_TRUE(IsAccepted(d));
  const auto* created = DataAt<PostCreated>(d, 0);
  ASSERT_NE(created, nullptr);
  EXPECT_EQ(created->closes_at, At("2026-12-31T15:00:00.000000Z"));

  // Another service zone, across a DST change: the deadline follows the zone.
  const TimeZone new_york = TimeZone::Load("America/New_York").value();
  DecideContext ctx = Ctx(kOwner);
  ctx.time_zone = &new_york;
  ctx.now = At("2026-03-01T12:00:00.000000Z");
  p.end_date = D("2026-03-08");
  const Decision ny = Decide(nullptr, CreatePosts{{p}, false}, ctx);
  ASSERT_TRUE(IsAccepted(ny));
  const auto* ny_created = DataAt<PostCreated>(ny, 0);
  ASSERT_NE(ny_created, nullptr);
  EXPECT_EQ(ny_created->closes_at, At("2026-03-09T04:00:00.000000Z"));
}

TEST_F(DecideTest, TrimsTitleAndUploaderIncludingIdeographicSpace) {
  PostDraft p = ValidDraft();
  p.title = "\u3000 내 취미 만들기\t\u3000";
  p.uploader = "\u00a0홍길동 \u3000\n";
  const Decision d = Create(p);
  ASSERT_TRUE(IsAccepted(d));
  const auto* created = DataAt<PostCreated>(d, 0);
  ASSERT_NE(created, nullptr);
  EXPECT_EQ(created->title, "내 취미 만들기");
  EXPECT_EQ(created->uploader, "홍길동");
}

TEST_F(DecideTest, KeepsMultiLineDescriptionAsSent) {
  PostDraft p = ValidDraft();
  p.description = "  첫 줄\n둘째 줄\t끝  ";
  const Decision d = Create(p);
  ASSERT_TRUE(IsAccepted(d));
  const auto* created = DataAt<PostCreated>(d, 0);
  ASSERT_NE(created, nullptr);
  EXPECT_EQ(created->description, "  첫 줄\n둘째 줄\t끝  ");
}

TEST_F(DecideTest, RejectsNulInDescription) {
  PostDraft p = ValidDraft();
  p.description = std::string("before\0after", 12);
  EXPECT_TRUE(IsRejected(Create(p), RejectReason::kInvalidField, "/description"));
  PostHistory h = OpenPost();
  EditPost e = Edit();
  e.description = p.description;
  EXPECT_TRUE(IsRejected(Run(h, e, kOwner), RejectReason::kInvalidField, "/description"));
}

TEST_F(DecideTest, CreatesArrayWithConsecutiveIds) {
  CreatePosts c;
  c.as_array = true;
  for (const char* title : {"첫째", "둘째", "셋째"}) {
    PostDraft p = ValidDraft();
    p.title = title;
    c.posts.push_back(p);
  }
  const Decision d = Run(nullptr, c, kOwner);
  ASSERT_TRUE(IsAccepted(d));
  ASSERT_EQ(d.events.size(), 3u);
  const std::vector<std::string> titles = {"첫째", "둘째", "셋째"};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(d.events[i].stream, kNextPostId + static_cast<int64_t>(i));
    const auto* created = DataAt<PostCreated>(d, i);
    ASSERT_NE(created, nullptr);
    EXPECT_EQ(created->title, titles[i]);
    EXPECT_EQ(created->owner, kOwner);
  }
}

TEST_F(DecideTest, RejectsWholeArrayWhenOneElementIsInvalid) {
  CreatePosts c{{ValidDraft(), ValidDraft(), ValidDraft()}, true};
  c.posts[1].title = " \u3000 ";
  EXPECT_TRUE(IsRejected(Run(nullptr, c, kOwner), RejectReason::kInvalidField, "/1/title"));
}

TEST_F(DecideTest, ArrayRejectionPointsIntoTheFirstBadElement) {
  CreatePosts c{{ValidDraft(), ValidDraft(), ValidDraft()}, true};
  c.posts[2].funding_unit = 0;
  EXPECT_TRUE(IsRejected(Run(nullptr, c, kOwner), RejectReason::kInvalidField, "/2/funding_unit"));
  c.posts[1].end_date = D("2026-10-31");
  EXPECT_TRUE(IsRejected(Run(nullptr, c, kOwner), RejectReason::kEndDateInPast, "/1/end_date"));
}

TEST_F(DecideTest, SingleElementArrayUsesIndexedPointer) {
  CreatePosts c{{ValidDraft()}, true};
  c.posts[0].uploader = "";
  EXPECT_TRUE(IsRejected(Run(nullptr, c, kOwner), RejectReason::kInvalidField, "/0/uploader"));
}

TEST_F(DecideTest, RejectsEmptyCreate) {
  EXPECT_TRUE(
      IsRejected(Run(nullptr, CreatePosts{{}, true}, kOwner), RejectReason::kInvalidField, ""));
}

TEST_F(DecideTest, RejectsMoreThanMaxPostsPerCreate) {
  const CreatePosts c{std::vector<PostDraft>(kMaxPostsPerCreate + 1, ValidDraft()), true};
  EXPECT_TRUE(IsRejected(Run(nullptr, c, kOwner), RejectReason::kInvalidField, ""));
}

TEST_F(DecideTest, AcceptsMaxPostsPerCreate) {
  const CreatePosts c{std::vector<PostDraft>(kMaxPostsPerCreate, ValidDraft()), true};
  const Decision d = Run(nullptr, c, kOwner);
  ASSERT_TRUE(IsAccepted(d));
  ASSERT_EQ(d.events.size(), kMaxPostsPerCreate);
  EXPECT_EQ(d.events.front().stream, kNextPostId);
  EXPECT_EQ(d.events.back().stream, kNextPostId + static_cast<int64_t>(kMaxPostsPerCreate) - 1);
}

TEST_F(DecideTest, ReportsFirstInvalidFieldInBodyOrder) {
  PostDraft p = ValidDraft();
  p.title = "";
  p.uploader = "";
  p.target_amount = 0;
  EXPECT_TRUE(IsRejected(Create(p), RejectReason::kInvalidField, "/title"));
  p.title = "ok";
  EXPECT_TRUE(IsRejected(Create(p), RejectReason::kInvalidField, "/uploader"));
  p.uploader = "ok";
  EXPECT_TRUE(IsRejected(Create(p), RejectReason::kInvalidField, "/target_amount"));
}

TEST_F(DecideTest, RejectsBlankTitle) {
  for (const std::string_view title : {"", " ", "\t\n", "\u3000", " \u00a0\u3000 "}) {
    PostDraft p = ValidDraft();
    p.title = title;
    EXPECT_TRUE(IsRejected(Create(p), RejectReason::kInvalidField, "/title")) << title;
  }
}

TEST_F(DecideTest, AcceptsTitleOfMaxCodePointsInKorean) {
  PostDraft p = ValidDraft();
  p.title = Repeat("가", kTitleMaxCodePoints);
  ASSERT_EQ(p.title.size(), 600u);
  const Decision d = Create(p);
  ASSERT_TRUE(IsAccepted(d));
  const auto* created = DataAt<PostCreated>(d, 0);
  ASSERT_NE(created, nullptr);
  EXPECT_EQ(created->title, p.title);
}

TEST_F(DecideTest, RejectsTitleOverMaxCodePoints) {
  PostDraft p = ValidDraft();
  p.title = Repeat("가", kTitleMaxCodePoints + 1);
  EXPECT_TRUE(IsRejected(Create(p), RejectReason::kInvalidField, "/title"));
  p.title = Repeat("\xf0\x9f\x98\x80", kTitleMaxCodePoints + 1);  // 4-byte code points
  EXPECT_TRUE(IsRejected(Create(p), RejectReason::kInvalidField, "/title"));
  p.title = Repeat("\xf0\x9f\x98\x80", kTitleMaxCodePoints);
  EXPECT_TRUE(IsAccepted(Create(p)));
}

TEST_F(DecideTest, CountsTitleLengthAfterTrimming) {
  PostDraft p = ValidDraft();
  p.title = "  \u3000" + Repeat("가", kTitleMaxCodePoints) + "\u3000 ";
  const Decision d = Create(p);
  ASSERT_TRUE(IsAccepted(d));
  const auto* created = DataAt<PostCreated>(d, 0);
  ASSERT_NE(created, nullptr);
  EXPECT_EQ(created->title, Repeat("가", kTitleMaxCodePoints));
}

TEST_F(DecideTest, RejectsControlCharacterInTitle) {
  for (const std::string_view title :
       {"y\x01z", "line\nbreak", "tab\there", "del\x7f", "nel\u0085inside", "esc\x1b[0m"}) {
    PostDraft p = ValidDraft();
    p.title = title;
    EXPECT_TRUE(IsRejected(Create(p), RejectReason::kInvalidField, "/title")) << title;
  }
  PostDraft p = ValidDraft();
  p.title = std::string("nul\0inside", 10);
  EXPECT_TRUE(IsRejected(Create(p), RejectReason::kInvalidField, "/title"));
}

TEST_F(DecideTest, RejectsInvalidUtf8Title) {
  for (const std::string_view title :
       {"\xc0\x80", "abc\xe3", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x80", "  \xff  "}) {
    PostDraft p = ValidDraft();
    p.title = title;
    EXPECT_TRUE(IsRejected(Create(p), RejectReason::kInvalidField, "/title"));
  }
}

TEST_F(DecideTest, ChecksUploaderLengthInCodePoints) {
  PostDraft p = ValidDraft();
  p.uploader = Repeat("홍", kUploaderMaxCodePoints);
  EXPECT_TRUE(IsAccepted(Create(p)));
  p.uploader = Repeat("홍", kUploaderMaxCodePoints + 1);
  EXPECT_TRUE(IsRejected(Create(p), RejectReason::kInvalidField, "/uploader"));
}

TEST_F(DecideTest, RejectsBlankOrMalformedUploader) {
  for (const std::string_view uploader : {"", "\u3000", "a\x02", "\xc3"}) {
    PostDraft p = ValidDraft();
    p.uploader = uploader;
    EXPECT_TRUE(IsRejected(Create(p), RejectReason::kInvalidField, "/uploader"));
  }
}

TEST_F(DecideTest, ChecksDescriptionLengthInCodePoints) {
  PostDraft p = ValidDraft();
  p.description = Repeat("설", kDescriptionMaxCodePoints);
  ASSERT_EQ(p.description.size(), 60'000u);
  const Decision d = Create(p);
  ASSERT_TRUE(IsAccepted(d));
  const auto* created = DataAt<PostCreated>(d, 0);
  ASSERT_NE(created, nullptr);
  EXPECT_EQ(created->description, p.description);

  p.description = Repeat("설", kDescriptionMaxCodePoints + 1);
  EXPECT_TRUE(IsRejected(Create(p), RejectReason::kInvalidField, "/description"));
  p.description = Repeat("\xf0\x9f\x98\x80", kDescriptionMaxCodePoints + 1);
  EXPECT_TRUE(IsRejected(Create(p), RejectReason::kInvalidField, "/description"));
}

TEST_F(DecideTest, AcceptsEmptyDescription) {
  PostDraft p = ValidDraft();
  p.description = "";
  const Decision d = Create(p);
  ASSERT_TRUE(IsAccepted(d));
  const auto* created = DataAt<PostCreated>(d, 0);
  ASSERT_NE(created, nullptr);
  EXPECT_EQ(created->description, "");
}

TEST_F(DecideTest, RejectsInvalidUtf8Description) {
  PostDraft p = ValidDraft();
  p.description = "설명\xed\xa0\x80";
  EXPECT_TRUE(IsRejected(Create(p), RejectReason::kInvalidField, "/description"));
}

TEST_F(DecideTest, RejectsNonPositiveTarget) {
  for (const int64_t target : {int64_t{0}, int64_t{-1}, kInt64Min}) {
    PostDraft p = ValidDraft();
    p.target_amount = target;
    EXPECT_TRUE(IsRejected(Create(p), RejectReason::kInvalidField, "/target_amount")) << target;
  }
}

TEST_F(DecideTest, AcceptsAnyPositiveTarget) {
  for (const int64_t target : {int64_t{1}, kInt64Max}) {
    PostDraft p = ValidDraft();
    p.target_amount = target;
    const Decision d = Create(p);
    ASSERT_TRUE(IsAccepted(d)) << target;
    const auto* created = DataAt<PostCreated>(d, 0);
    ASSERT_NE(created, nullptr);
    EXPECT_EQ(created->target_amount, target);
  }
}

TEST_F(DecideTest, RejectsNonPositiveFundingUnit) {
  for (const int64_t unit : {int64_t{0}, int64_t{-5}, kInt64Min}) {
    PostDraft p = ValidDraft();
    p.funding_unit = unit;
    EXPECT_TRUE(IsRejected(Create(p), RejectReason::kInvalidField, "/funding_unit")) << unit;
  }
  PostDraft p = ValidDraft();
  p.funding_unit = 1;
  EXPECT_TRUE(IsAccepted(Create(p)));
}

TEST_F(DecideTest, RejectsEndDateInThePast) {
  PostDraft p = ValidDraft();
  p.end_date = D("2026-10-31");  // yesterday in Seoul
  EXPECT_TRUE(IsRejected(Create(p), RejectReason::kEndDateInPast, "/end_date"));
  p.end_date = D("2001-01-01");
  EXPECT_TRUE(IsRejected(Create(p), RejectReason::kEndDateInPast, "/end_date"));
}

TEST_F(DecideTest, AcceptsEndDateOfToday) {
  PostDraft p = ValidDraft();
  p.end_date = D("2026-11-01");
  const Decision d = Create(p);
  ASSERT_TRUE(IsAccepted(d));
  const auto* created = DataAt<PostCreated>(d, 0);
  ASSERT_NE(created, nullptr);
  EXPECT_EQ(created->closes_at, At("2026-11-01T15:00:00.000000Z"));
}

TEST_F(DecideTest, TodayIsTheServiceZoneDateNotTheUtcDate) {
  // 2026-11-21T15:30Z is still the 21st in UTC but already the 22nd in Seoul.
  now_ = At("2026-11-21T15:30:00.000000Z");
  PostDraft p = ValidDraft();
  p.end_date = D("2026-11-22");
  const Decision d = Create(p);
  ASSERT_TRUE(IsAccepted(d));
  const auto* created = DataAt<PostCreated>(d, 0);
  ASSERT_NE(created, nullptr);
  EXPECT_EQ(created->closes_at, At("2026-11-22T15:00:00.000000Z"));

  p.end_date = D("2026-11-21");
  EXPECT_TRUE(IsRejected(Create(p), RejectReason::kEndDateInPast, "/end_date"));
}

// closes_at is written into the log as RFC 3339 text with a four-digit year;
// an accepted deadline must survive that, or the log holds an event that
// cannot be read back. The last ParseDate-able end_date, in a zone at or west
// of UTC, closes in year 10000.
TEST_F(DecideTest, AcceptedDeadlineIsRecordableAsTimestampText) {
  const TimeZone utc = TimeZone::Load("UTC").value();
  const TimeZone new_york = TimeZone::Load("America/New_York").value();
  for (const TimeZone* zone : {&std::as_const(zone_), &utc, &new_york}) {
    DecideContext ctx = Ctx(kOwner);
    ctx.time_zone = zone;
    PostDraft p = ValidDraft();
    p.end_date = D("9999-12-31");
    const Decision created = Decide(nullptr, CreatePosts{{p}, false}, ctx);
    if (created.accepted()) {
      const auto* data = DataAt<PostCreated>(created, 0);
      ASSERT_NE(data, nullptr);
      const std::string text = FormatTimestamp(data->closes_at);
      EXPECT_EQ(ParseTimestamp(text), data->closes_at)
          << zone->name() << ": accepted end_date 9999-12-31 closes at unparseable " << text;
    } else {
      EXPECT_EQ(created.rejection->field, "/end_date") << zone->name();
    }

    PostHistory h = OpenPost();
    EditPost e = Edit();
    e.end_date = D("9999-12-31");
    const Decision edited = Decide(&h.state(), e, ctx);
    if (edited.accepted()) {
      const auto* data = DataAt<PostEdited>(edited, 0);
      ASSERT_NE(data, nullptr);
      ASSERT_TRUE(data->closes_at.has_value());
      const std::string text = FormatTimestamp(*data->closes_at);
      EXPECT_EQ(ParseTimestamp(text), *data->closes_at)
          << zone->name() << ": accepted edit to 9999-12-31 closes at unparseable " << text;
    } else {
      EXPECT_EQ(edited.rejection->field, "/end_date") << zone->name();
    }
  }
}

TEST_F(DecideTest, BoundsEndDateToTheMaximumDaysAhead) {
  // Today in Seoul is 2026-11-01; the last allowed end date is 3 653 days on.
  const CivilDate last =
      CivilDate(std::chrono::sys_days(D("2026-11-01")) + std::chrono::days(kMaxEndDateDaysAhead));
  PostDraft p = ValidDraft();
  p.end_date = last;
  EXPECT_TRUE(IsAccepted(Create(p)));
  p.end_date = CivilDate(std::chrono::sys_days(last) + std::chrono::days(1));
  EXPECT_TRUE(IsRejected(Create(p), RejectReason::kInvalidField, "/end_date"));

  PostHistory h = OpenPost();
  EditPost e = Edit();
  e.end_date = p.end_date;
  EXPECT_TRUE(IsRejected(Run(h, e, kOwner), RejectReason::kInvalidField, "/end_date"));
}

// ---------------------------------------------------------------- edit

TEST_F(DecideTest, EditsTitleOfOwnPost) {
  const PostHistory h = OpenPost();
  EditPost e = Edit();
  e.title = "\u3000새 제목 ";
  const Decision d = Run(h, e, kOwner);
  ASSERT_TRUE(IsAccepted(d));
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].stream, kPostId);
  const auto* edited = DataAt<PostEdited>(d, 0);
  ASSERT_NE(edited, nullptr);
  PostEdited expected;
  expected.title = "새 제목";
  EXPECT_EQ(*edited, expected);
}

TEST_F(DecideTest, EditsEveryEditableField) {
  const PostHistory h = OpenPost();
  EditPost e = Edit();
  e.title = " 제목 ";
  e.uploader = "\u3000김철수";
  e.description = "";
  e.funding_unit = 5'000;
  e.end_date = D("2026-12-25");
  const Decision d = Run(h, e, kOwner);
  ASSERT_TRUE(IsAccepted(d));
  ASSERT_EQ(d.events.size(), 1u);
  const auto* edited = DataAt<PostEdited>(d, 0);
  ASSERT_NE(edited, nullptr);
  PostEdited expected;
  expected.title = "제목";
  expected.uploader = "김철수";
  expected.description = "";
  expected.funding_unit = 5'000;
  expected.end_date = D("2026-12-25");
  expected.closes_at = At("2026-12-25T15:00:00.000000Z");
  EXPECT_EQ(*edited, expected);
}

TEST_F(DecideTest, RejectsEditOfTarget) {
  const PostHistory h = OpenPost();
  EditPost e = Edit();
  e.title = "valid title";
  e.target_amount = 2'000'000;
  EXPECT_TRUE(IsRejected(Run(h, e, kOwner), RejectReason::kTargetImmutable, "/target_amount"));
}

TEST_F(DecideTest, RejectsEditOfTargetEvenWithItsCurrentValue) {
  const PostHistory h = OpenPost();
  EditPost e = Edit();
  e.target_amount = h.state().target_amount;
  EXPECT_TRUE(IsRejected(Run(h, e, kOwner), RejectReason::kTargetImmutable, "/target_amount"));
}

TEST_F(DecideTest, RejectsEditByNonOwner) {
  const PostHistory h = OpenPost();
  EditPost e = Edit();
  e.title = "hijacked";
  EXPECT_TRUE(IsRejected(Run(h, e, "mallory"), RejectReason::kNotOwner, ""));
  EXPECT_TRUE(IsRejected(Run(h, e, ""), RejectReason::kNotOwner, ""));
}

TEST_F(DecideTest, RejectsEditOfMissingPost) {
  EditPost e = Edit();
  e.title = "anything";
  EXPECT_TRUE(IsRejected(Run(nullptr, e, kOwner), RejectReason::kPostNotFound, ""));
  const PostState never_created{};
  EXPECT_TRUE(IsRejected(Run(&never_created, e, kOwner), RejectReason::kPostNotFound, ""));
}

TEST_F(DecideTest, RejectsEditOfDeletedPost) {
  PostHistory h = OpenPost();
  h.Append(PostDeleted{0, 0});
  EditPost e = Edit();
  e.title = "anything";
  EXPECT_TRUE(IsRejected(Run(h, e, kOwner), RejectReason::kPostDeleted, ""));
}

TEST_F(DecideTest, RejectsEditWithStaleVersion) {
  PostHistory h = OpenPost();
  h.Fund(kBacker, 1);
  ASSERT_EQ(h.state().version, 2);
  EditPost e = Edit();
  e.title = "new";
  for (const int64_t expected : {int64_t{0}, int64_t{1}, int64_t{3}}) {
    e.expected_version = expected;
    EXPECT_TRUE(IsRejected(Run(h, e, kOwner), RejectReason::kVersionMismatch, "")) << expected;
  }
}

TEST_F(DecideTest, AcceptsEditWithCurrentVersion) {
  PostHistory h = OpenPost();
  h.Fund(kBacker, 1);
  EditPost e = Edit();
  e.title = "new";
  e.expected_version = 2;
  EXPECT_TRUE(IsAccepted(Run(h, e, kOwner)));
}

TEST_F(DecideTest, RejectsEditThatChangesNothing) {
  const PostHistory h = OpenPost();
  EXPECT_TRUE(IsRejected(Run(h, Edit(), kOwner), RejectReason::kInvalidField, ""));
  EditPost e = Edit();
  e.expected_version = 1;
  EXPECT_TRUE(IsRejected(Run(h, e, kOwner), RejectReason::kInvalidField, ""));
}

TEST_F(DecideTest, ValidatesEditedFieldsLikeCreate) {
  const PostHistory h = OpenPost();
  struct Case {
    const char* name;
    void (*mutate)(EditPost&);
    RejectReason reason;
    const char* field;
  };
  const std::vector<Case> cases = {
      {"empty title", [](EditPost& e) { e.title = ""; }, RejectReason::kInvalidField, "/title"},
      {"blank title", [](EditPost& e) { e.title = " \u3000\t"; }, RejectReason::kInvalidField,
       "/title"},
      {"long title", [](EditPost& e) { e.title = Repeat("가", kTitleMaxCodePoints + 1); },
       RejectReason::kInvalidField, "/title"},
      {"control title", [](EditPost& e) { e.title = "a\x01"; }, RejectReason::kInvalidField,
       "/title"},
      {"bad utf-8 title", [](EditPost& e) { e.title = "\xff"; }, RejectReason::kInvalidField,
       "/title"},
      {"empty uploader", [](EditPost& e) { e.uploader = ""; }, RejectReason::kInvalidField,
       "/uploader"},
      {"long uploader", [](EditPost& e) { e.uploader = Repeat("홍", kUploaderMaxCodePoints + 1); },
       RejectReason::kInvalidField, "/uploader"},
      {"long description",
       [](EditPost& e) { e.description = Repeat("설", kDescriptionMaxCodePoints + 1); },
       RejectReason::kInvalidField, "/description"},
      {"bad utf-8 description", [](EditPost& e) { e.description = "\xc3"; },
       RejectReason::kInvalidField, "/description"},
      {"zero unit", [](EditPost& e) { e.funding_unit = 0; }, RejectReason::kInvalidField,
       "/funding_unit"},
      {"negative unit", [](EditPost& e) { e.funding_unit = -1; }, RejectReason::kInvalidField,
       "/funding_unit"},
      {"past end date", [](EditPost& e) { e.end_date = D("2026-10-31"); },
       RejectReason::kEndDateInPast, "/end_date"},
  };
  for (const Case& c : cases) {
    EditPost e = Edit();
    c.mutate(e);
    EXPECT_TRUE(IsRejected(Run(h, e, kOwner), c.reason, c.field)) << c.name;
  }
}

TEST_F(DecideTest, AcceptsEditedFieldsAtTheirLimits) {
  const PostHistory h = OpenPost();
  EditPost e = Edit();
  e.title = Repeat("가", kTitleMaxCodePoints);
  e.uploader = Repeat("홍", kUploaderMaxCodePoints);
  e.description = Repeat("설", kDescriptionMaxCodePoints);
  e.funding_unit = 1;
  const Decision d = Run(h, e, kOwner);
  ASSERT_TRUE(IsAccepted(d));
  const auto* edited = DataAt<PostEdited>(d, 0);
  ASSERT_NE(edited, nullptr);
  EXPECT_EQ(edited->title, e.title);
  EXPECT_EQ(edited->uploader, e.uploader);
  EXPECT_EQ(edited->description, e.description);
  EXPECT_EQ(edited->funding_unit, 1);
  EXPECT_EQ(edited->end_date, std::nullopt);
  EXPECT_EQ(edited->closes_at, std::nullopt);
}

TEST_F(DecideTest, EditOfEndDateMovesTheDeadline) {
  const PostHistory h = OpenPost();
  EditPost e = Edit();
  e.end_date = D("2026-11-01");  // today: shorten to the end of today
  const Decision d = Run(h, e, kOwner);
  ASSERT_TRUE(IsAccepted(d));
  const auto* edited = DataAt<PostEdited>(d, 0);
  ASSERT_NE(edited, nullptr);
  PostEdited expected;
  expected.end_date = D("2026-11-01");
  expected.closes_at = At("2026-11-01T15:00:00.000000Z");
  EXPECT_EQ(*edited, expected);
}

TEST_F(DecideTest, RejectsEndDateChangeOnceFundingClosed) {
  const PostHistory h = OpenPost();  // closes at 2026-11-21T15:00:00Z
  EditPost e = Edit();
  e.end_date = D("2026-11-30");
  for (const std::string_view now :
       {"2026-11-21T15:00:00.000000Z", "2026-11-22T00:00:00.000000Z"}) {
    now_ = At(now);
    EXPECT_TRUE(IsRejected(Run(h, e, kOwner), RejectReason::kFundingClosed, "/end_date")) << now;
  }
  // Even to today, which would otherwise be a valid end date.
  e.end_date = D("2026-11-22");
  EXPECT_TRUE(IsRejected(Run(h, e, kOwner), RejectReason::kFundingClosed, "/end_date"));
}

TEST_F(DecideTest, AcceptsEndDateChangeJustBeforeClose) {
  const PostHistory h = OpenPost();
  now_ = At("2026-11-21T14:59:59.999999Z");
  EditPost e = Edit();
  e.end_date = D("2026-11-30");
  const Decision d = Run(h, e, kOwner);
  ASSERT_TRUE(IsAccepted(d));
  const auto* edited = DataAt<PostEdited>(d, 0);
  ASSERT_NE(edited, nullptr);
  EXPECT_EQ(edited->closes_at, At("2026-11-30T15:00:00.000000Z"));
}

TEST_F(DecideTest, AllowsOtherEditsAfterClose) {
  const PostHistory h = OpenPost();
  now_ = At("2026-12-01T00:00:00.000000Z");
  EditPost e = Edit();
  e.title = "마감 후 수정";
  e.uploader = "홍길동2";
  e.description = "후기";
  e.funding_unit = 20'000;
  const Decision d = Run(h, e, kOwner);
  ASSERT_TRUE(IsAccepted(d));
  const auto* edited = DataAt<PostEdited>(d, 0);
  ASSERT_NE(edited, nullptr);
  EXPECT_EQ(edited->title, "마감 후 수정");
  EXPECT_EQ(edited->funding_unit, 20'000);
}

TEST_F(DecideTest, ExtendedEndDateReopensFundingUntilTheNewDeadline) {
  PostHistory h = OpenPost();
  EditPost e = Edit();
  e.end_date = D("2026-11-30");
  const Decision edit = Run(h, e, kOwner);
  ASSERT_TRUE(IsAccepted(edit));
  h.AppendAll(edit.events);
  EXPECT_EQ(h.state().closes_at, At("2026-11-30T15:00:00.000000Z"));

  now_ = At("2026-11-25T00:00:00.000000Z");  // after the old deadline
  EXPECT_TRUE(IsAccepted(Run(h, FundPost{kPostId, 1}, kBacker)));
  now_ = At("2026-11-30T15:00:00.000000Z");
  EXPECT_TRUE(IsRejected(Run(h, FundPost{kPostId, 1}, kBacker), RejectReason::kFundingClosed, ""));
}

// ---------------------------------------------------------------- delete

TEST_F(DecideTest, DeletesPostWithoutFundings) {
  const PostHistory h = OpenPost();
  const Decision d = Run(h, DeletePost{kPostId, std::nullopt}, kOwner);
  ASSERT_TRUE(IsAccepted(d));
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].stream, kPostId);
  const auto* deleted = DataAt<PostDeleted>(d, 0);
  ASSERT_NE(deleted, nullptr);
  EXPECT_EQ(*deleted, (PostDeleted{0, 0}));
}

TEST_F(DecideTest, RejectsDeleteByNonOwner) {
  const PostHistory h = OpenPost();
  EXPECT_TRUE(IsRejected(Run(h, DeletePost{kPostId, std::nullopt}, "mallory"),
                         RejectReason::kNotOwner, ""));
}

TEST_F(DecideTest, RejectsDeleteOfMissingPost) {
  const PostState never_created{};
  EXPECT_TRUE(IsRejected(Run(nullptr, DeletePost{kPostId, std::nullopt}, kOwner),
                         RejectReason::kPostNotFound, ""));
  EXPECT_TRUE(IsRejected(Run(&never_created, DeletePost{kPostId, std::nullopt}, kOwner),
                         RejectReason::kPostNotFound, ""));
}

TEST_F(DecideTest, RejectsDeleteOfDeletedPost) {
  PostHistory h = OpenPost();
  h.Append(PostDeleted{0, 0});
  EXPECT_TRUE(IsRejected(Run(h, DeletePost{kPostId, std::nullopt}, kOwner),
                         RejectReason::kPostDeleted, ""));
}

TEST_F(DecideTest, DeleteHonoursExpectedVersion) {
  PostHistory h = OpenPost();
  h.Fund(kBacker, 1);
  EXPECT_TRUE(
      IsRejected(Run(h, DeletePost{kPostId, 1}, kOwner), RejectReason::kVersionMismatch, ""));
  EXPECT_TRUE(IsAccepted(Run(h, DeletePost{kPostId, 2}, kOwner)));
}

TEST_F(DecideTest, DeleteRefundsEveryBackerSortedByName) {
  PostHistory h = OpenPost();
  h.Fund("carol", 2);
  h.Fund("alice", 1);
  h.Fund("bob", 3);
  h.Fund("alice", 4);
  ASSERT_EQ(h.state().total_funded, 10 * kUnit);
  ASSERT_EQ(h.state().version, 5);

  const Decision d = Run(h, DeletePost{kPostId, 5}, kOwner);
  ASSERT_TRUE(IsAccepted(d));
  ASSERT_EQ(d.events.size(), 4u);
  for (const NewEvent& e : d.events) EXPECT_EQ(e.stream, kPostId);
  const auto* alice = DataAt<FundingRefunded>(d, 0);
  const auto* bob = DataAt<FundingRefunded>(d, 1);
  const auto* carol = DataAt<FundingRefunded>(d, 2);
  const auto* deleted = DataAt<PostDeleted>(d, 3);
  ASSERT_NE(alice, nullptr);
  ASSERT_NE(bob, nullptr);
  ASSERT_NE(carol, nullptr);
  ASSERT_NE(deleted, nullptr);
  EXPECT_EQ(*alice, (FundingRefunded{"alice", 5, 5 * kUnit}));
  EXPECT_EQ(*bob, (FundingRefunded{"bob", 3, 3 * kUnit}));
  EXPECT_EQ(*carol, (FundingRefunded{"carol", 2, 2 * kUnit}));
  EXPECT_EQ(*deleted, (PostDeleted{10 * kUnit, 3}));
}

TEST_F(DecideTest, DeleteConservesMoney) {
  PostHistory h = OpenPost();
  h.Fund("carol", 2);
  h.Fund("alice", 1);
  h.Fund("bob", 3);
  h.Fund("alice", 4);
  const int64_t total_before = h.state().total_funded;

  const Decision d = Run(h, DeletePost{kPostId, std::nullopt}, kOwner);
  ASSERT_TRUE(IsAccepted(d));
  int64_t refunded = 0;
  for (size_t i = 0; i + 1 < d.events.size(); ++i) {
    const auto* refund = DataAt<FundingRefunded>(d, i);
    ASSERT_NE(refund, nullptr) << i;
    refunded += refund->amount;
  }
  EXPECT_EQ(refunded, total_before);

  h.AppendAll(d.events);
  const PostState& s = h.state();
  EXPECT_TRUE(s.deleted);
  EXPECT_EQ(s.total_funded, 0);
  EXPECT_EQ(s.funding_count, 0);
  EXPECT_EQ(s.participant_count(), 0);
  EXPECT_TRUE(s.backers.empty());
  EXPECT_EQ(s.version, 9);
}

TEST_F(DecideTest, RefundOrderIsByteOrderOfBackerIds) {
  PostHistory h = OpenPost();
  h.Fund("가나", 1);
  h.Fund("alice", 1);
  h.Fund("Zed", 1);
  const Decision d = Run(h, DeletePost{kPostId, std::nullopt}, kOwner);
  ASSERT_TRUE(IsAccepted(d));
  ASSERT_EQ(d.events.size(), 4u);
  std::vector<std::string> order;
  for (size_t i = 0; i < 3; ++i) {
    const auto* refund = DataAt<FundingRefunded>(d, i);
    ASSERT_NE(refund, nullptr);
    order.push_back(refund->backer);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"Zed", "alice", "가나"}));
}

class DecideTooManyBackersTest : public DecideTest {
 protected:
  // The open post with `n` backers of one unit each. Built directly: n
  // PostFunded events would only slow the test down.
  PostHistory PostWithBackers(size_t n) const {
    PostHistory h = OpenPost();
    PostState& s = h.mutable_state();
    for (size_t i = 0; i < n; ++i) {
      s.backers.emplace("backer-" + std::to_string(i), BackerTotal{1, kUnit, 1});
    }
    s.total_funded = static_cast<int64_t>(n) * kUnit;
    s.funding_count = static_cast<int64_t>(n);
    s.participants = static_cast<int64_t>(n);
    s.version += static_cast<int64_t>(n);
    return h;
  }
};

TEST_F(DecideTooManyBackersTest, RejectsDeleteOverRefundLimit) {
  const PostHistory h = PostWithBackers(kMaxRefundedBackersPerDelete + 1);
  EXPECT_TRUE(IsRejected(Run(h, DeletePost{kPostId, std::nullopt}, kOwner),
                         RejectReason::kTooManyBackers, ""));
}

TEST_F(DecideTooManyBackersTest, RefundsUpToTheLimit) {
  const PostHistory h = PostWithBackers(kMaxRefundedBackersPerDelete);
  const Decision d = Run(h, DeletePost{kPostId, std::nullopt}, kOwner);
  ASSERT_TRUE(IsAccepted(d));
  ASSERT_EQ(d.events.size(), kMaxRefundedBackersPerDelete + 1);
  const auto* deleted = DataAt<PostDeleted>(d, kMaxRefundedBackersPerDelete);
  ASSERT_NE(deleted, nullptr);
  constexpr auto kBackers = static_cast<int64_t>(kMaxRefundedBackersPerDelete);
  EXPECT_EQ(*deleted, (PostDeleted{kBackers * kUnit, kBackers}));
}

// ---------------------------------------------------------------- fund

TEST_F(DecideTest, FundsOneUnitByDefault) {
  const PostHistory h = OpenPost();
  FundPost f;
  f.post_id = kPostId;
  const Decision d = Run(h, f, kBacker);
  ASSERT_TRUE(IsAccepted(d));
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].stream, kPostId);
  const auto* funded = DataAt<PostFunded>(d, 0);
  ASSERT_NE(funded, nullptr);
  EXPECT_EQ(*funded, (PostFunded{"backer-1", 1, kUnit}));
}

TEST_F(DecideTest, AmountIsUnitsTimesFundingUnit) {
  const PostHistory h = OpenPost();
  const Decision d = Run(h, FundPost{kPostId, 3}, kBacker);
  ASSERT_TRUE(IsAccepted(d));
  const auto* funded = DataAt<PostFunded>(d, 0);
  ASSERT_NE(funded, nullptr);
  EXPECT_EQ(*funded, (PostFunded{"backer-1", 3, 3 * kUnit}));
}

TEST_F(DecideTest, FundingUsesTheCurrentFundingUnit) {
  PostHistory h = OpenPost();
  PostEdited edit;
  edit.funding_unit = 5'000;
  h.Append(edit);
  const Decision d = Run(h, FundPost{kPostId, 3}, kBacker);
  ASSERT_TRUE(IsAccepted(d));
  const auto* funded = DataAt<PostFunded>(d, 0);
  ASSERT_NE(funded, nullptr);
  EXPECT_EQ(*funded, (PostFunded{"backer-1", 3, 15'000}));
}

TEST_F(DecideTest, RejectsUnitsOutOfRange) {
  const PostHistory h = OpenPost();
  for (const int64_t units :
       {int64_t{0}, int64_t{-1}, kMaxUnitsPerFunding + 1, kInt64Min, kInt64Max}) {
    EXPECT_TRUE(IsRejected(Run(h, FundPost{kPostId, units}, kBacker), RejectReason::kInvalidField,
                           "/units"))
        << units;
  }
}

TEST_F(DecideTest, AcceptsMaxUnitsPerFunding) {
  const PostHistory h = OpenPost();
  const Decision d = Run(h, FundPost{kPostId, kMaxUnitsPerFunding}, kBacker);
  ASSERT_TRUE(IsAccepted(d));
  const auto* funded = DataAt<PostFunded>(d, 0);
  ASSERT_NE(funded, nullptr);
  EXPECT_EQ(*funded, (PostFunded{"backer-1", kMaxUnitsPerFunding, kMaxUnitsPerFunding * kUnit}));
}

TEST_F(DecideTest, RejectsFundingByOwner) {
  const PostHistory h = OpenPost();
  EXPECT_TRUE(IsRejected(Run(h, FundPost{kPostId, 1}, kOwner), RejectReason::kOwnerCannotFund, ""));
}

TEST_F(DecideTest, RejectsFundingOfMissingPost) {
  const PostState never_created{};
  EXPECT_TRUE(
      IsRejected(Run(nullptr, FundPost{kPostId, 1}, kBacker), RejectReason::kPostNotFound, ""));
  EXPECT_TRUE(IsRejected(Run(&never_created, FundPost{kPostId, 1}, kBacker),
                         RejectReason::kPostNotFound, ""));
}

TEST_F(DecideTest, RejectsFundingOfDeletedPost) {
  PostHistory h = OpenPost();
  h.Append(PostDeleted{0, 0});
  EXPECT_TRUE(IsRejected(Run(h, FundPost{kPostId, 1}, kBacker), RejectReason::kPostDeleted, ""));
}

TEST_F(DecideTest, AcceptsFundingOneMicrosecondBeforeClose) {
  const PostHistory h = OpenPost();
  now_ = h.state().closes_at - microseconds(1);
  ASSERT_EQ(now_, At("2026-11-21T14:59:59.999999Z"));
  EXPECT_TRUE(IsAccepted(Run(h, FundPost{kPostId, 1}, kBacker)));
}

TEST_F(DecideTest, RejectsFundingAtAndAfterClose) {
  const PostHistory h = OpenPost();
  for (const Timestamp now : {h.state().closes_at, h.state().closes_at + microseconds(1),
                              At("2027-11-21T00:00:00.000000Z")}) {
    now_ = now;
    EXPECT_TRUE(IsRejected(Run(h, FundPost{kPostId, 1}, kBacker), RejectReason::kFundingClosed, ""))
        << FormatTimestamp(now);
  }
}

TEST_F(DecideTest, RejectsFundingWhoseAmountOverflows) {
  PostHistory h(kPostId);
  PostCreated created{"t",
                      "u",
                      std::string(kOwner),
                      "",
                      1,
                      kInt64Max / 2 + 1,
                      D("2026-11-21"),
                      At("2026-11-21T15:00:00.000000Z"),
                      events::FundingModel::kKeepItAll,
                      std::nullopt};
  h.Append(created);
  EXPECT_TRUE(
      IsRejected(Run(h, FundPost{kPostId, 2}, kBacker), RejectReason::kAmountOverflow, "/units"));
  const Decision one = Run(h, FundPost{kPostId, 1}, kBacker);
  ASSERT_TRUE(IsAccepted(one));
  const auto* funded = DataAt<PostFunded>(one, 0);
  ASSERT_NE(funded, nullptr);
  EXPECT_EQ(funded->amount, kInt64Max / 2 + 1);
}

TEST_F(DecideTest, AcceptsFundingOfExactlyInt64Max) {
  PostHistory h(kPostId);
  h.Append(PostCreated{"t", "u", std::string(kOwner), "", 1, kInt64Max, D("2026-11-21"),
                       At("2026-11-21T15:00:00.000000Z"), events::FundingModel::kKeepItAll,
                       std::nullopt});
  const Decision d = Run(h, FundPost{kPostId, 1}, kBacker);
  ASSERT_TRUE(IsAccepted(d));
  const auto* funded = DataAt<PostFunded>(d, 0);
  ASSERT_NE(funded, nullptr);
  EXPECT_EQ(funded->amount, kInt64Max);
}

TEST_F(DecideTest, RejectsFundingWhoseTotalOverflows) {
  PostHistory h(kPostId);
  h.Append(PostCreated{"t", "u", std::string(kOwner), "", 1, kInt64Max - 10, D("2026-11-21"),
                       At("2026-11-21T15:00:00.000000Z"), events::FundingModel::kKeepItAll,
                       std::nullopt});
  h.Fund("bob", 1);
  ASSERT_EQ(h.state().total_funded, kInt64Max - 10);
  // A new backer and the same backer both push the post's total past int64.
  EXPECT_TRUE(
      IsRejected(Run(h, FundPost{kPostId, 1}, "carol"), RejectReason::kAmountOverflow, "/units"));
  EXPECT_TRUE(
      IsRejected(Run(h, FundPost{kPostId, 1}, "bob"), RejectReason::kAmountOverflow, "/units"));
}

TEST_F(DecideTest, RepeatedFundingsOfOneBackerAccumulate) {
  PostHistory h = OpenPost();
  for (int i = 0; i < 3; ++i) {
    const Decision d = Run(h, FundPost{kPostId, 2}, kBacker);
    ASSERT_TRUE(IsAccepted(d));
    h.AppendAll(d.events);
  }
  EXPECT_EQ(h.state().total_funded, 6 * kUnit);
  EXPECT_EQ(h.state().participant_count(), 1);
  EXPECT_EQ(h.state().funding_count, 3);
}

TEST(DecideDeathTest, MissingTimeZoneIsABug) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  DecideContext ctx;
  ctx.actor = kOwner;
  EXPECT_DEATH(static_cast<void>(Decide(nullptr, FundPost{1, 1}, ctx)),
               "Decide needs the service time zone");
}

}  // namespace
}  // namespace ledger::commands
