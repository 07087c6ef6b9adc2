#include "projections/cursor.h"

#include <cctype>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <gtest/gtest.h>

#include "common/base64url.h"
#include "events/hash.h"
#include "support/status_matchers.h"

namespace ledger::projections {
namespace {

constexpr OrderBy kAllOrders[] = {OrderBy::kCreatedAsc,     OrderBy::kCreatedDesc,
                                  OrderBy::kTotalFundedAsc, OrderBy::kTotalFundedDesc,
                                  OrderBy::kEndDateAsc,     OrderBy::kEndDateDesc};

// A cursor with a correct check around an arbitrary payload, to reach the
// validation behind the check.
std::string Seal(std::string_view payload) {
  const std::string check = events::ToHex(events::Sha256(payload)).substr(0, 16);
  return Base64UrlEncode(std::string(payload) + check);
}

std::string SearchDigest(std::string_view search) {
  return events::ToHex(events::Sha256(search)).substr(0, 16);
}

void ExpectInvalid(const Result<CursorKey>& decoded, std::string_view message) {
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(decoded.status().message(), message);
}

TEST(CursorTest, RoundTripsInEveryOrder) {
  for (const OrderBy order : kAllOrders) {
    const CursorKey key{.total_funded = 9'223'372'036'854'775'807, .id = 42, .end_day = 20'818};
    const std::string cursor = EncodeCursor(order, "취미", key);
    EXPECT_LE(cursor.size(), kMaxCursorBytes);
    const Result<CursorKey> decoded = DecodeCursor(cursor, order, "취미");
    ASSERT_OK(decoded);
    const bool by_total = order == OrderBy::kTotalFundedAsc || order == OrderBy::kTotalFundedDesc;
    // The created orders do not carry the total: it is not part of their key.
    EXPECT_EQ(decoded->total_funded, by_total ? key.total_funded : 0);
    const bool by_end = order == OrderBy::kEndDateAsc || order == OrderBy::kEndDateDesc;
    EXPECT_EQ(decoded->end_day, by_end ? key.end_day : 0);
    EXPECT_EQ(decoded->id, 42);
  }
}

TEST(CursorTest, IsUrlSafeText) {
  const std::string cursor = EncodeCursor(OrderBy::kTotalFundedDesc, "a search?&=/", {7, 9});
  for (const char c : cursor) {
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << cursor;
  }
}

TEST(CursorTest, RefusesACursorOfAnotherOrder) {
  const std::string cursor = EncodeCursor(OrderBy::kTotalFundedDesc, "", {100, 3});
  for (const OrderBy other :
       {OrderBy::kCreatedAsc, OrderBy::kCreatedDesc, OrderBy::kTotalFundedAsc}) {
    ExpectInvalid(DecodeCursor(cursor, other, ""), "cursor does not belong to this query");
  }
}

TEST(CursorTest, RefusesACursorOfAnotherSearch) {
  const std::string cursor = EncodeCursor(OrderBy::kCreatedDesc, "취미", {0, 3});
  ExpectInvalid(DecodeCursor(cursor, OrderBy::kCreatedDesc, ""),
                "cursor does not belong to this query");
  ExpectInvalid(DecodeCursor(cursor, OrderBy::kCreatedDesc, "취미를"),
                "cursor does not belong to this query");
}

TEST(CursorTest, RefusesAnEditedCursor) {
  const std::string cursor = EncodeCursor(OrderBy::kTotalFundedAsc, "", {100, 3});
  std::string text = *Base64UrlDecode(cursor);
  const size_t at = text.find("|100|");
  ASSERT_NE(at, std::string::npos) << text;
  text.replace(at, 5, "|900|");
  ExpectInvalid(DecodeCursor(Base64UrlEncode(text), OrderBy::kTotalFundedAsc, ""),
                "cursor is malformed");
  // Any single changed character of the opaque form.
  for (size_t i = 0; i < cursor.size(); ++i) {
    std::string edited = cursor;
    edited[i] = edited[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(DecodeCursor(edited, OrderBy::kTotalFundedAsc, "").ok()) << i;
  }
  // Truncated.
  EXPECT_FALSE(
      DecodeCursor(cursor.substr(0, cursor.size() - 4), OrderBy::kTotalFundedAsc, "").ok());
}

TEST(CursorTest, RefusesGarbage) {
  for (const std::string_view garbage : {"!!!", "abc", "eyJpZCI6M30", "djF8", "Zg==", " "}) {
    ExpectInvalid(DecodeCursor(garbage, OrderBy::kTotalFundedDesc, ""), "cursor is malformed");
  }
  ExpectInvalid(DecodeCursor(std::string(kMaxCursorBytes + 1, 'A'), OrderBy::kCreatedAsc, ""),
                "cursor is longer than 256 bytes");
}

TEST(CursorTest, RefusesNonCanonicalFieldsEvenWithAValidCheck) {
  const std::string fp = SearchDigest("");
  const auto decode = [](const std::string& payload, OrderBy order) {
    return DecodeCursor(Seal(payload), order, "");
  };
  // The sealed form itself is accepted...
  ASSERT_OK(decode("v1|-total_funded|" + fp + "|5|7|", OrderBy::kTotalFundedDesc));
  ASSERT_OK(decode("v1|created|" + fp + "||7|", OrderBy::kCreatedAsc));
  // ...and each deviation is not.
  const std::pair<std::string, OrderBy> bad[] = {
      {"v2|-total_funded|" + fp + "|5|7|", OrderBy::kTotalFundedDesc},
      {"v1|-total_funded|" + fp + "|05|7|", OrderBy::kTotalFundedDesc},
      {"v1|-total_funded|" + fp + "|5|07|", OrderBy::kTotalFundedDesc},
      {"v1|-total_funded|" + fp + "|-5|7|", OrderBy::kTotalFundedDesc},
      {"v1|-total_funded|" + fp + "|+5|7|", OrderBy::kTotalFundedDesc},
      {"v1|-total_funded|" + fp + "|5|0|", OrderBy::kTotalFundedDesc},
      {"v1|-total_funded|" + fp + "||7|", OrderBy::kTotalFundedDesc},
      {"v1|-total_funded|" + fp + "|9223372036854775808|7|", OrderBy::kTotalFundedDesc},
      {"v1|-total_funded|" + fp + "|5|7|8|", OrderBy::kTotalFundedDesc},
      {"v1|-total_funded|" + fp + "|5|7", OrderBy::kTotalFundedDesc},
      {"v1|created|" + fp + "|5|7|", OrderBy::kCreatedAsc},
      {"v1|created|" + fp + "||x|", OrderBy::kCreatedAsc},
  };
  for (const auto& [payload, order] : bad) {
    EXPECT_FALSE(decode(payload, order).ok()) << payload;
  }
}

TEST(PageTokenTest, RoundTripsAnyKeyWithinItsScope) {
  // A backer's name may hold the separator, and be as long as a JWT sub.
  for (const std::string& key :
       {std::string("bob|carol"), std::string("12345"), std::string(255, '\xed')}) {
    const std::string token = EncodePageToken("backers:7", key);
    EXPECT_LE(token.size(), kMaxPageTokenBytes);
    const Result<std::string> decoded = DecodePageToken(token, "backers:7");
    ASSERT_OK(decoded);
    EXPECT_EQ(*decoded, key);
  }
}

TEST(PageTokenTest, RefusesAnotherScopeAnEditAndGarbage) {
  const std::string token = EncodePageToken("fundings:bob", "42");
  const Result<std::string> other = DecodePageToken(token, "fundings:carol");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().message(), "cursor does not belong to this query");
  std::string edited = token;
  edited[edited.size() / 2] = edited[edited.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_EQ(DecodePageToken(edited, "fundings:bob").status().message(), "cursor is malformed");
  EXPECT_EQ(DecodePageToken("%%%", "fundings:bob").status().message(), "cursor is malformed");
  // A list cursor is not a page token.
  const std::string cursor = EncodeCursor(OrderBy::kCreatedAsc, "", {0, 1, 0});
  EXPECT_EQ(DecodePageToken(cursor, "fundings:bob").status().message(), "cursor is malformed");
  EXPECT_EQ(
      DecodePageToken(std::string(kMaxPageTokenBytes + 1, 'A'), "fundings:bob").status().code(),
      Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace ledger::projections
