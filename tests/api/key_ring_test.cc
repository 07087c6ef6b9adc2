#include "api/key_ring.h"

#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/identity_provider.h"
#include "support/status_matchers.h"
#include "support/temp_dir.h"

namespace ledger::api {
namespace {

using testing::JwkSetJson;
using testing::ProviderKey;

class KeyRingTest : public ::testing::Test {
 protected:
  void Write(const std::string& text) { std::ofstream(path_, std::ios::trunc) << text; }

  std::unique_ptr<KeyRing> Open() {
    KeyRingOptions options;
    options.jwks_file = path_;
    options.issuer = "https://sso.example.com/realms/funding";
    options.audience = "funding-ledger";
    Result<std::unique_ptr<KeyRing>> ring = KeyRing::Open(options, nullptr);
    EXPECT_TRUE(ring.ok()) << ring.status().ToString();
    return ring.ok() ? std::move(ring).value() : nullptr;
  }

  ledger::testing::TempDir dir_;
  std::string path_ = dir_.Sub("jwks.json");
  ProviderKey old_ = ProviderKey::P256("2026-11");
  ProviderKey new_ = ProviderKey::P256("2026-12");
};

TEST_F(KeyRingTest, OpenRefusesWhatServeMustNotStartWith) {
  KeyRingOptions options;
  options.jwks_file = path_;
  const auto missing = KeyRing::Open(options, nullptr);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("cannot be opened"), std::string::npos);
  Write(R"({"keys":[]})");
  const auto empty = KeyRing::Open(options, nullptr);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("no usable key"), std::string::npos);
}

TEST_F(KeyRingTest, ReloadSwapsTheKeysAndMovesTheGeneration) {
  Write(JwkSetJson({old_.Jwk()}));
  const std::unique_ptr<KeyRing> ring = Open();
  ASSERT_NE(ring, nullptr);
  const KeyRing::Snapshot before = ring->Current();
  EXPECT_NE(before.keys->Find("2026-11"), nullptr);
  EXPECT_EQ(ring->issuer(), "https://sso.example.com/realms/funding");
  EXPECT_EQ(ring->audience(), "funding-ledger");

  Write(JwkSetJson({new_.Jwk()}));
  ASSERT_OK(ring->Reload(nullptr));
  const KeyRing::Snapshot after = ring->Current();
  EXPECT_GT(after.generation, before.generation);
  EXPECT_EQ(ring->generation(), after.generation);
  EXPECT_EQ(after.keys->Find("2026-11"), nullptr);
  EXPECT_NE(after.keys->Find("2026-12"), nullptr);
  // A snapshot taken before stays whole.
  EXPECT_NE(before.keys->Find("2026-11"), nullptr);
  EXPECT_EQ(ring->reloads(), 1u);
}

TEST_F(KeyRingTest, AFailedReloadKeepsTheKeysInUse) {
  Write(JwkSetJson({old_.Jwk()}));
  const std::unique_ptr<KeyRing> ring = Open();
  ASSERT_NE(ring, nullptr);
  const uint64_t generation = ring->generation();
  for (const std::string& bad : {std::string("{\"keys\":["), std::string(R"({"keys":[]})"),
                                 JwkSetJson({ProviderKey::Rsa("weak", 1024).Jwk()})}) {
    Write(bad);
    const Status reloaded = ring->Reload(nullptr);
    EXPECT_FALSE(reloaded.ok());
    EXPECT_EQ(reloaded.message().rfind(path_ + ": ", 0), 0u) << reloaded.ToString();
  }
  EXPECT_EQ(ring->generation(), generation);
  EXPECT_NE(ring->Current().keys->Find("2026-11"), nullptr);
  EXPECT_EQ(ring->failed_reloads(), 3u);
  EXPECT_EQ(ring->reloads(), 0u);
}

}  // namespace
}  // namespace ledger::api
