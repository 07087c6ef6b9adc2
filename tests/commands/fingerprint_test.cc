#include "commands/fingerprint.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "commands/command.h"
#include "common/time_format.h"
#include "events/hash.h"
#include "support/time_literals.h"

namespace ledger::commands {
namespace {

using ::ledger::testing::D;

PostDraft Draft() {
  return PostDraft{"내 취미 만들기",
                   "홍길동",
                   "설명",
                   1'000'000,
                   10'000,
                   D("2026-11-21"),
                   events::FundingModel::kKeepItAll,
                   std::nullopt};
}

CreatePosts Create() { return CreatePosts{{Draft(), Draft()}, true}; }

EditPost Edit() {
  EditPost e;
  e.post_id = 7;
  e.expected_version = 3;
  e.title = "제목";
  e.uploader = "홍길동";
  e.description = "설명";
  e.funding_unit = 10'000;
  e.end_date = D("2026-11-21");
  return e;
}

std::string Hex(const Command& c) { return events::ToHex(Fingerprint(c)); }

// Every variant must fingerprint differently from `base` and from each other.
void ExpectAllDistinct(const Command& base,
                       const std::vector<std::pair<std::string, Command>>& variants) {
  std::set<std::string> seen = {Hex(base)};
  for (const auto& [name, command] : variants) {
    EXPECT_NE(Fingerprint(command), Fingerprint(base)) << name;
    EXPECT_TRUE(seen.insert(Hex(command)).second) << name << " collides with another variant";
  }
}

TEST(FingerprintTest, SameCommandSameFingerprint) {
  EXPECT_EQ(Fingerprint(Create()), Fingerprint(Create()));
  EXPECT_EQ(Fingerprint(Edit()), Fingerprint(Edit()));
  EXPECT_EQ(Fingerprint(DeletePost{7, 3}), Fingerprint(DeletePost{7, 3}));
  EXPECT_EQ(Fingerprint(FundPost{7, 2}), Fingerprint(FundPost{7, 2}));
}

// Idempotency records outlive a release: a changed serialization would turn a
// client's honest retry into a key mismatch. The expected digests are
// SHA-256 of the layout in fingerprint.h, computed independently.
TEST(FingerprintTest, FingerprintsAreStableAcrossReleases) {
  // 'F' | post_id (8, big-endian) | units (8)
  EXPECT_EQ(Hex(FundPost{7, 3}),
            "678889f722162a90120d3962d98b3015ae5277a76930699de9c1085570a93eb1");
  // 'C' 'O' | count (8) | per post: title, uploader, description as length (8)
  // + bytes, target (8), unit (8), end_date as text
  EXPECT_EQ(Hex(CreatePosts{{PostDraft{"t", "u", "", 100, 10, D("2026-11-21"),
                                       events::FundingModel::kKeepItAll, std::nullopt}},
                            false}),
            "b75beb37145b9e61ad767f031c3a27c8783d09613a8fd8c914e5d38cbc75b7b9");
}

TEST(FingerprintTest, EveryCreateFieldMatters) {
  std::vector<std::pair<std::string, Command>> v;
  const auto with = [&v](std::string name, const std::function<void(CreatePosts&)>& change) {
    CreatePosts c = Create();
    change(c);
    v.emplace_back(std::move(name), c);
  };
  with("as_array", [](CreatePosts& c) { c.as_array = false; });
  with("one post fewer", [](CreatePosts& c) { c.posts.pop_back(); });
  with("one post more", [](CreatePosts& c) { c.posts.push_back(Draft()); });
  with("title", [](CreatePosts& c) { c.posts[1].title = "내 취미 만들기!"; });
  with("untrimmed title", [](CreatePosts& c) { c.posts[1].title = " 내 취미 만들기"; });
  with("uploader", [](CreatePosts& c) { c.posts[1].uploader = "홍길순"; });
  with("description", [](CreatePosts& c) { c.posts[1].description = ""; });
  with("target", [](CreatePosts& c) { c.posts[1].target_amount = 1'000'001; });
  with("unit", [](CreatePosts& c) { c.posts[1].funding_unit = 10'001; });
  with("end date", [](CreatePosts& c) { c.posts[1].end_date = D("2026-11-22"); });
  with("first post", [](CreatePosts& c) { c.posts[0].funding_unit = 1; });
  ExpectAllDistinct(Create(), v);
}

TEST(FingerprintTest, OrderOfPostsMatters) {
  CreatePosts a = Create();
  a.posts[1].title = "둘째";
  CreatePosts b = a;
  std::swap(b.posts[0], b.posts[1]);
  EXPECT_NE(Fingerprint(a), Fingerprint(b));
}

TEST(FingerprintTest, TextBoundariesAreUnambiguous) {
  PostDraft a = Draft();
  a.title = "ab";
  a.uploader = "c";
  PostDraft b = Draft();
  b.title = "a";
  b.uploader = "bc";
  EXPECT_NE(Fingerprint(CreatePosts{{a}, false}), Fingerprint(CreatePosts{{b}, false}));

  PostDraft c = Draft();
  c.description = std::string("x\0", 2);
  PostDraft d = Draft();
  d.description = "x";
  EXPECT_NE(Fingerprint(CreatePosts{{c}, false}), Fingerprint(CreatePosts{{d}, false}));
}

TEST(FingerprintTest, EveryEditFieldMatters) {
  std::vector<std::pair<std::string, Command>> v;
  const auto with = [&v](std::string name, const std::function<void(EditPost&)>& change) {
    EditPost e = Edit();
    change(e);
    v.emplace_back(std::move(name), e);
  };
  with("post id", [](EditPost& e) { e.post_id = 8; });
  with("expected version value", [](EditPost& e) { e.expected_version = 4; });
  with("expected version absent", [](EditPost& e) { e.expected_version.reset(); });
  with("title value", [](EditPost& e) { e.title = "제목2"; });
  with("title absent", [](EditPost& e) { e.title.reset(); });
  with("uploader value", [](EditPost& e) { e.uploader = "홍"; });
  with("uploader absent", [](EditPost& e) { e.uploader.reset(); });
  with("description value", [](EditPost& e) { e.description = "설명2"; });
  with("description absent", [](EditPost& e) { e.description.reset(); });
  with("unit value", [](EditPost& e) { e.funding_unit = 1; });
  with("unit absent", [](EditPost& e) { e.funding_unit.reset(); });
  with("end date value", [](EditPost& e) { e.end_date = D("2026-12-01"); });
  with("end date absent", [](EditPost& e) { e.end_date.reset(); });
  with("target present", [](EditPost& e) { e.target_amount = 1'000'000; });
  ExpectAllDistinct(Edit(), v);
}

TEST(FingerprintTest, EmptyOptionalDiffersFromAbsentOptional) {
  EditPost absent;
  absent.post_id = 7;
  EditPost empty_title = absent;
  empty_title.title = "";
  EditPost empty_description = absent;
  empty_description.description = "";
  EditPost zero_version = absent;
  zero_version.expected_version = 0;
  EditPost zero_target = absent;
  zero_target.target_amount = 0;
  ExpectAllDistinct(absent, {{"empty title", empty_title},
                             {"empty description", empty_description},
                             {"version 0", zero_version},
                             {"target 0", zero_target}});
}

TEST(FingerprintTest, OptionalsInDifferentSlotsDiffer) {
  // The same value present in a different optional field.
  EditPost title;
  title.post_id = 7;
  title.title = "같은 글";
  EditPost uploader;
  uploader.post_id = 7;
  uploader.uploader = "같은 글";
  EditPost description;
  description.post_id = 7;
  description.description = "같은 글";
  ExpectAllDistinct(title, {{"uploader", uploader}, {"description", description}});

  EditPost version;
  version.post_id = 7;
  version.expected_version = 5;
  EditPost unit;
  unit.post_id = 7;
  unit.funding_unit = 5;
  EditPost target;
  target.post_id = 7;
  target.target_amount = 5;
  ExpectAllDistinct(version, {{"unit", unit}, {"target", target}});
}

TEST(FingerprintTest, DeleteAndFundFieldsMatter) {
  ExpectAllDistinct(DeletePost{7, 3}, {{"post", DeletePost{8, 3}},
                                       {"version", DeletePost{7, 4}},
                                       {"no version", DeletePost{7, std::nullopt}}});
  ExpectAllDistinct(FundPost{7, 2}, {{"post", FundPost{8, 2}}, {"units", FundPost{7, 3}}});
}

TEST(FingerprintTest, CommandTypesWithTheSameNumbersDiffer) {
  EditPost bare_edit;
  bare_edit.post_id = 7;
  EditPost versioned_edit = bare_edit;
  versioned_edit.expected_version = 1;
  ExpectAllDistinct(FundPost{7, 1}, {{"delete", DeletePost{7, std::nullopt}},
                                     {"delete v1", DeletePost{7, 1}},
                                     {"edit", bare_edit},
                                     {"edit v1", versioned_edit},
                                     {"empty create", CreatePosts{{}, false}},
                                     {"empty array create", CreatePosts{{}, true}}});
}

}  // namespace
}  // namespace ledger::commands
