#include "api/verified_tokens.h"

#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "api/jwt.h"
#include "api/key_ring.h"
#include "support/identity_provider.h"
#include "support/status_matchers.h"
#include "support/temp_dir.h"
#include "support/time_literals.h"

namespace ledger::api {
namespace {

using std::chrono::hours;
using std::chrono::seconds;
using testing::At;

constexpr std::string_view kSecret = "test-secret-0123456789abcdef";

Timestamp Now() { return At("2026-11-21T03:00:00.000000Z"); }

std::string Bearer(std::string_view sub, Timestamp expires_at = Now() + hours(1),
                   std::optional<Timestamp> not_before = std::nullopt) {
  TokenClaims claims;
  claims.sub = std::string(sub);
  claims.expires_at = expires_at;
  claims.not_before = not_before;
  return "Bearer " + MintToken(kSecret, claims);
}

// Bearer, for the fixtures below whose own Bearer hides it.
std::string VerifiedTokensTestBearer(std::string_view sub) { return Bearer(sub); }

std::string Detail(const Result<TokenClaims, http::Problem>& r) {
  return r.ok() ? "accepted" : r.error().detail;
}

TEST(VerifiedTokensTest, AnswersWhatVerifyBearerAnswersFirstAndAgain) {
  VerifiedTokens tokens;
  const std::string header = Bearer("alice");
  for (int i = 0; i < 3; ++i) {
    const auto r = tokens.Verify(header, kSecret, Now());
    ASSERT_TRUE(r.ok()) << Detail(r);
    EXPECT_EQ(r->sub, "alice");
    EXPECT_EQ(r->expires_at, VerifyBearer(header, kSecret, Now())->expires_at);
  }
  EXPECT_EQ(tokens.size(), 1u);
  EXPECT_EQ(tokens.hits(), 2u);  // checked once, then found twice
  // The scheme is case-insensitive, and extra spaces before the token are
  // allowed: the same token, the same entry.
  const std::string token = header.substr(7);
  EXPECT_TRUE(tokens.Verify("bEaReR   " + token, kSecret, Now()).ok());
  EXPECT_EQ(tokens.size(), 1u);
  EXPECT_EQ(tokens.hits(), 3u);
}

TEST(VerifiedTokensTest, AKeptTokenPastItsExpiryIsRefusedAsExpired) {
  VerifiedTokens tokens;
  const std::string header = Bearer("alice", Now() + seconds(10));
  ASSERT_TRUE(tokens.Verify(header, kSecret, Now()).ok());
  const Timestamp later = Now() + seconds(10) + kTokenLeeway;
  const auto r = tokens.Verify(header, kSecret, later);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, 401);
  EXPECT_EQ(Detail(r), Detail(VerifyBearer(header, kSecret, later)));
  EXPECT_NE(Detail(r).find("expired"), std::string::npos) << Detail(r);
  EXPECT_EQ(tokens.size(), 0u);
}

TEST(VerifiedTokensTest, ATokenNotYetValidIsNeverKeptAndIsAcceptedOnceValid) {
  VerifiedTokens tokens;
  const Timestamp starts = Now() + hours(1);
  const std::string header = Bearer("alice", Now() + hours(2), starts);
  EXPECT_FALSE(tokens.Verify(header, kSecret, Now()).ok());
  EXPECT_EQ(tokens.size(), 0u);
  EXPECT_TRUE(tokens.Verify(header, kSecret, starts).ok());
}

TEST(VerifiedTokensTest, AnAlteredTokenIsCheckedNotTakenFromTheCache) {
  VerifiedTokens tokens;
  const std::string header = Bearer("alice");
  ASSERT_TRUE(tokens.Verify(header, kSecret, Now()).ok());
  std::string altered = header;
  altered.back() = altered.back() == 'A' ? 'B' : 'A';
  const auto r = tokens.Verify(altered, kSecret, Now());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, 401);
  EXPECT_EQ(Detail(r), Detail(VerifyBearer(altered, kSecret, Now())));
  EXPECT_EQ(tokens.size(), 1u);
  EXPECT_EQ(tokens.hits(), 0u);
}

TEST(VerifiedTokensTest, RefusalsAreTheSameAsVerifyBearers) {
  VerifiedTokens tokens;
  for (const std::optional<std::string>& header :
       {std::optional<std::string>(), std::optional<std::string>("Basic abc"),
        std::optional<std::string>("Bearer"), std::optional<std::string>("Bearer  "),
        std::optional<std::string>("Bearer a.b"),
        std::optional<std::string>("Bearer " + std::string(kMaxTokenBytes + 1, 'a'))}) {
    const auto r = tokens.Verify(header, kSecret, Now());
    const auto expected = VerifyBearer(header, kSecret, Now());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(Detail(r), Detail(expected));
    EXPECT_EQ(r.error().headers, expected.error().headers);
  }
  EXPECT_EQ(tokens.size(), 0u);
}

TEST(VerifiedTokensTest, ATokenOfAnotherSecretIsJudgedUnderThatSecretAndNotKept) {
  VerifiedTokens tokens;
  ASSERT_TRUE(tokens.Verify(Bearer("alice"), kSecret, Now()).ok());
  // Signed with kSecret, so under another secret it is refused, cache or not.
  EXPECT_FALSE(tokens.Verify(Bearer("alice"), "another-secret-0123456789abcd", Now()).ok());
  EXPECT_EQ(tokens.size(), 1u);
}

TEST(VerifiedTokensTest, StaysWithinItsBoundUnderManyTokens) {
  VerifiedTokens tokens;
  constexpr size_t kBound = kTokenCacheShards * kTokenCacheShardTokens;
  for (size_t i = 0; i < kBound + 3'000; ++i) {
    ASSERT_TRUE(tokens.Verify(Bearer("user-" + std::to_string(i)), kSecret, Now()).ok());
    ASSERT_LE(tokens.size(), kBound);
  }
  EXPECT_GT(tokens.size(), 0u);
}

TEST(VerifiedTokensTest, ThreadsShareIt) {
  VerifiedTokens tokens;
  std::vector<std::string> headers;
  headers.reserve(8);
  for (int i = 0; i < 8; ++i) headers.push_back(Bearer("user-" + std::to_string(i)));
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int round = 0; round < 200; ++round) {
        for (const std::string& h : headers) EXPECT_TRUE(tokens.Verify(h, kSecret, Now()).ok());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(tokens.size(), headers.size());
  // Each token checked once per thread at most, found every other time.
  EXPECT_GE(tokens.hits(), 4u * 200 * headers.size() - 4 * headers.size());
}

// --- the provider's keys (KeyRing) ------------------------------------------

class VerifiedProviderTokensTest : public ::testing::Test {
 protected:
  void Write(const std::vector<std::string>& jwks) {
    std::ofstream(path_, std::ios::trunc) << testing::JwkSetJson(jwks);
  }
  std::shared_ptr<KeyRing> Open() {
    KeyRingOptions options;
    options.jwks_file = path_;
    options.audience = "funding-ledger";
    Result<std::unique_ptr<KeyRing>> ring = KeyRing::Open(options, nullptr);
    EXPECT_TRUE(ring.ok()) << ring.status().ToString();
    return ring.ok() ? std::shared_ptr<KeyRing>(std::move(ring).value()) : nullptr;
  }
  std::string Bearer(const testing::ProviderKey& key) const {
    return "Bearer " + key.Token(R"({"sub":"bob","aud":"funding-ledger","exp":)" +
                                 std::to_string(1'795'230'000 + 3600) + "}");
  }

  ledger::testing::TempDir dir_;
  std::string path_ = dir_.Sub("jwks.json");
  testing::ProviderKey old_ = testing::ProviderKey::P256("2026-11");
  testing::ProviderKey new_ = testing::ProviderKey::P256("2026-12");
};

TEST_F(VerifiedProviderTokensTest, KeepsTheProvidersTokensAndStillTakesTheSecrets) {
  Write({old_.Jwk()});
  VerifiedTokens tokens;
  tokens.TrustProvider(Open());
  // Made once: an ES256 signature differs at every signing.
  const std::string provider_token = Bearer(old_);
  for (int i = 0; i < 2; ++i) {
    const auto r = tokens.Verify(provider_token, kSecret, Now());
    ASSERT_TRUE(r.ok()) << Detail(r);
    EXPECT_EQ(r->sub, "bob");
    EXPECT_TRUE(tokens.Verify(VerifiedTokensTestBearer("alice"), kSecret, Now()).ok());
  }
  EXPECT_EQ(tokens.size(), 2u);
  EXPECT_EQ(tokens.hits(), 2u);
}

// Rotation: the new kid works after the reload; the removed one stops
// working at once, kept or not.
TEST_F(VerifiedProviderTokensTest, AKeptTokenDiesWithItsKey) {
  Write({old_.Jwk()});
  const std::shared_ptr<KeyRing> ring = Open();
  VerifiedTokens tokens;
  tokens.TrustProvider(ring);
  const std::string old_token = Bearer(old_);
  ASSERT_TRUE(tokens.Verify(old_token, kSecret, Now()).ok());
  ASSERT_TRUE(tokens.Verify(old_token, kSecret, Now()).ok());
  EXPECT_EQ(tokens.hits(), 1u);
  const auto not_yet = tokens.Verify(Bearer(new_), kSecret, Now());
  ASSERT_FALSE(not_yet.ok());
  EXPECT_NE(Detail(not_yet).find("kid names no key"), std::string::npos) << Detail(not_yet);

  Write({new_.Jwk()});
  ASSERT_OK(ring->Reload(nullptr));
  const auto removed = tokens.Verify(old_token, kSecret, Now());
  ASSERT_FALSE(removed.ok());
  EXPECT_EQ(removed.error().status, 401);
  EXPECT_NE(Detail(removed).find("kid names no key"), std::string::npos) << Detail(removed);
  EXPECT_EQ(tokens.hits(), 1u);
  EXPECT_TRUE(tokens.Verify(Bearer(new_), kSecret, Now()).ok());
}

// Both keys during the rotation, then the old one dropped.
TEST_F(VerifiedProviderTokensTest, BothKeysWorkWhileTheSetHoldsBoth) {
  Write({old_.Jwk()});
  const std::shared_ptr<KeyRing> ring = Open();
  VerifiedTokens tokens;
  tokens.TrustProvider(ring);
  const std::string old_token = Bearer(old_);
  const std::string new_token = Bearer(new_);
  ASSERT_TRUE(tokens.Verify(old_token, kSecret, Now()).ok());
  Write({old_.Jwk(), new_.Jwk()});
  ASSERT_OK(ring->Reload(nullptr));
  EXPECT_TRUE(tokens.Verify(old_token, kSecret, Now()).ok());
  EXPECT_TRUE(tokens.Verify(new_token, kSecret, Now()).ok());
  EXPECT_TRUE(tokens.Verify(new_token, kSecret, Now()).ok());
  EXPECT_EQ(tokens.hits(), 1u);  // each checked once under the new set
  Write({new_.Jwk()});
  ASSERT_OK(ring->Reload(nullptr));
  EXPECT_FALSE(tokens.Verify(old_token, kSecret, Now()).ok());
  EXPECT_TRUE(tokens.Verify(new_token, kSecret, Now()).ok());
}

}  // namespace
}  // namespace ledger::api
