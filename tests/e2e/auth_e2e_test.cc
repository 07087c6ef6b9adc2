// End-to-end: tokens of an identity provider through the real binary. The
// provider is a stand-in whose keys the test generates (support/
// identity_provider.h); serve reads their JWKS from a file, as an operator
// would export a Keycloak realm's (docs/operations.md).

#include <chrono>
#include <csignal>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common/clock.h"
#include "e2e_support.h"
#include "http_client.h"
#include "server_process.h"
#include "support/identity_provider.h"
#include "support/temp_dir.h"

namespace ledger::e2e {
namespace {

using ledger::testing::JwkSetJson;
using ledger::testing::ProviderKey;

constexpr char kIssuer[] = "https://sso.example.com/realms/funding";
constexpr char kAudience[] = "funding-ledger";
constexpr char kPost[] =
    R"({"title":"provider","uploader":"U","description":"","target_amount":1000000,)"
    R"("funding_unit":1000,"end_date":"2030-12-31"})";

// A token of the provider for `sub`, valid for an hour from now.
std::string ProviderToken(const ProviderKey& key, const std::string& sub) {
  const int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(SystemClock().Now().time_since_epoch())
          .count();
  return key.Token(R"({"sub":")" + sub + R"(","iss":")" + kIssuer + R"(","aud":")" + kAudience +
                   R"(","iat":)" + std::to_string(now) + R"(,"exp":)" + std::to_string(now + 3600) +
                   "}");
}

class ProviderTokensTest : public ::testing::Test {
 protected:
  void SetUp() override { chmod(dir_.path().c_str(), 0711); }

  void WriteJwks(const std::vector<std::string>& jwks) {
    // Replaced whole, as an operator's script would (write, then rename).
    std::ofstream(jwks_ + ".tmp", std::ios::trunc) << JwkSetJson(jwks);
    std::rename((jwks_ + ".tmp").c_str(), jwks_.c_str());
  }
  std::vector<std::string> Flags() const {
    return {"--jwt-secret", kSecret, "--jwks-file",    jwks_,
            "--jwt-issuer", kIssuer, "--jwt-audience", kAudience};
  }
  static HttpResponse Fund(const ServerProcess& server, int64_t id, const std::string& token) {
    return Call(server, "POST", "/api/posts/" + std::to_string(id) + "/fundings",
                "/api/posts/{id}/fundings", R"({"units":1})",
                {{"Authorization", "Bearer " + token}});
  }

  ledger::testing::TempDir dir_;
  std::string jwks_ = dir_.Sub("jwks.json");
  std::string data_ = dir_.Sub("data");
};

TEST_F(ProviderTokensTest, BadJwksFilesStopServeAtStart) {
  struct Case {
    std::string content;  // empty: no file
    std::string message;
  };
  const std::vector<Case> cases = {
      {"", "cannot be opened for reading"},
      {"{\"keys\":", "the JWKS is not JSON"},
      {R"({"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0"}]})", "the JWKS has no usable key"},
      {JwkSetJson({ProviderKey::Rsa("weak", 1024).Jwk()}), "1024-bit modulus"},
  };
  for (const Case& c : cases) {
    std::remove(jwks_.c_str());
    if (!c.content.empty()) std::ofstream(jwks_) << c.content;
    ServerProcess server(FUNDING_LEDGER_BINARY, data_, Flags());
    EXPECT_FALSE(server.ok()) << c.message;
    const std::optional<int> status = server.WaitExit(std::chrono::seconds(30));
    ASSERT_TRUE(status.has_value());
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) != 0);
    const std::string log = server.Log();
    EXPECT_NE(log.find(R"("stage":"JWKS file")"), std::string::npos) << log;
    EXPECT_NE(log.find(c.message), std::string::npos) << log;
  }
}

TEST_F(ProviderTokensTest, FundsWithAProvidersTokenAndFollowsItsKeyRotation) {
  const ProviderKey old_key = ProviderKey::Rsa("2026-11");
  const ProviderKey new_key = ProviderKey::P256("2026-12");
  WriteJwks({old_key.Jwk()});
  ServerProcess server(FUNDING_LEDGER_BINARY, data_, Flags());
  ASSERT_TRUE(server.ok()) << server.Log();

  // The service's own HS256 tokens keep working beside the provider's.
  const HttpResponse created = Call(server, "POST", "/api/posts", "/api/posts", kPost,
                                    {{"Authorization", "Bearer " + Token("alice")}});
  ASSERT_EQ(created.status, 201) << created.body;
  const int64_t id = Parse(created.body)["id"].GetInt64();

  const std::string old_token = ProviderToken(old_key, "bob");
  const HttpResponse funded = Fund(server, id, old_token);
  ASSERT_EQ(funded.status, 201) << funded.body;
  EXPECT_STREQ(Parse(funded.body)["backer"].GetString(), "bob");
  EXPECT_EQ(Fund(server, id, old_token).status, 201);  // from the cache now

  const HttpResponse unknown = Fund(server, id, ProviderToken(new_key, "carol"));
  EXPECT_EQ(unknown.status, 401) << unknown.body;
  EXPECT_EQ(ProblemName(unknown), "unauthorized");

  // Rotation: the new key in, the old one out, then SIGHUP.
  WriteJwks({new_key.Jwk()});
  ASSERT_EQ(kill(server.pid(), SIGHUP), 0);
  const std::string new_token = ProviderToken(new_key, "carol");
  int status = 0;
  for (int i = 0; i < 100 && status != 201; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    status = Fund(server, id, new_token).status;
  }
  EXPECT_EQ(status, 201) << server.Log();
  EXPECT_EQ(Fund(server, id, old_token).status, 401);

  // A broken file on the next SIGHUP keeps the keys in use.
  std::ofstream(jwks_, std::ios::trunc) << "{";
  ASSERT_EQ(kill(server.pid(), SIGHUP), 0);
  for (int i = 0; i < 100 && server.Log().find("JWKS reload failed") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(server.Log().find("JWKS reload failed"), std::string::npos) << server.Log();
  EXPECT_EQ(Fund(server, id, new_token).status, 201);
  EXPECT_EQ(ScrapeSample(server, "ledger_jwks_keys"), 1);
  EXPECT_EQ(ScrapeSample(server, R"(ledger_jwks_reloads_total{outcome="ok"})"), 1);
  EXPECT_EQ(ScrapeSample(server, R"(ledger_jwks_reloads_total{outcome="failed"})"), 1);
  EXPECT_EQ(server.Stop(), 0) << server.Log();
}

}  // namespace
}  // namespace ledger::e2e
