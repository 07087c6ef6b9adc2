#include "app/config.h"

#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "app/environment_fixture.h"
#include "support/status_matchers.h"
#include "support/temp_dir.h"

namespace ledger::app {
namespace {

class ConfigTest : public testing::CleanEnvironmentTest {
 protected:
  std::string WriteFile(const std::string& text) {
    const std::string path = dir_.path() + "/ledger.toml";
    std::ofstream(path) << text;
    return path;
  }

  ledger::testing::TempDir dir_;
};

TEST_F(ConfigTest, DefaultsAreTheDocumentedOnes) {
  const Result<Config> c = LoadConfig({});
  ASSERT_OK(c);
  EXPECT_EQ(c->listen, "127.0.0.1:8080");
  EXPECT_EQ(c->data_dir, "./var");
  EXPECT_EQ(c->database_url, "");
  EXPECT_EQ(c->jwt_secret, "");
  EXPECT_EQ(c->time_zone, "Asia/Seoul");
  EXPECT_EQ(c->body_limit_bytes, 65'536);
  EXPECT_EQ(c->header_limit_bytes, 8'192);
  EXPECT_EQ(c->read_wait_ms, 2'000);
  EXPECT_EQ(c->log_level, LogLevel::kInfo);
  EXPECT_TRUE(c->metrics);
  EXPECT_EQ(c->state_cache_mib, 128);
  EXPECT_EQ(c->log_cache_mib, 64);
  EXPECT_FALSE(c->rebuild_state);
  EXPECT_EQ(c->jwks_file, "");
  EXPECT_EQ(c->jwt_issuer, "");
  EXPECT_EQ(c->jwt_audience, "");
}

// The state cache is bounded on both sides; the rebuild is a switch of the
// command line alone, never an option of the environment or the file.
TEST_F(ConfigTest, StateCacheIsBoundedAndRebuildIsNoOption) {
  const Result<Config> c = LoadConfig({{"state-cache-mib", "64"}});
  ASSERT_OK(c);
  EXPECT_EQ(c->state_cache_mib, 64);
  for (const char* bad : {"0", "1048577"}) {
    const Result<Config> refused = LoadConfig({{"state-cache-mib", bad}});
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_NE(refused.status().message().find("state-cache-mib"), std::string::npos);
  }
  EXPECT_FALSE(LoadConfig({{"rebuild-state", "on"}}).ok());
}

// The log's block cache is what bounds its memory: set, never zero.
TEST_F(ConfigTest, LogCacheIsBounded) {
  const Result<Config> c = LoadConfig({{"log-cache-mib", "256"}});
  ASSERT_OK(c);
  EXPECT_EQ(c->log_cache_mib, 256);
  for (const char* bad : {"0", "-1", "1048577"}) {
    const Result<Config> refused = LoadConfig({{"log-cache-mib", bad}});
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_NE(refused.status().message().find("log-cache-mib"), std::string::npos);
  }
}

TEST_F(ConfigTest, EnvironmentNamesFollowTheFlags) {
  EXPECT_EQ(EnvName("listen"), "FUNDING_LEDGER_LISTEN");
  EXPECT_EQ(EnvName("data-dir"), "FUNDING_LEDGER_DATA_DIR");
  EXPECT_EQ(EnvName("database-url"), "FUNDING_LEDGER_DATABASE_URL");
  EXPECT_EQ(EnvName("jwt-secret"), "FUNDING_LEDGER_JWT_SECRET");
  EXPECT_EQ(EnvName("time-zone"), "FUNDING_LEDGER_TIME_ZONE");
  EXPECT_EQ(EnvName("log-level"), "FUNDING_LEDGER_LOG_LEVEL");
  EXPECT_EQ(EnvName("metrics"), "FUNDING_LEDGER_METRICS");
}

TEST_F(ConfigTest, FlagBeatsEnvironmentBeatsFileBeatsDefault) {
  const std::string file = WriteFile(
      "listen = \"127.0.0.1:1111\"\n"
      "time-zone = \"UTC\"\n"
      "body-limit-bytes = 2048\n"
      "data-dir = \"/from/file\"\n");
  setenv("FUNDING_LEDGER_TIME_ZONE", "America/New_York", 1);
  setenv("FUNDING_LEDGER_DATA_DIR", "/from/env", 1);
  const Result<Config> c = LoadConfig({{"config", file}, {"data-dir", "/from/flag"}});
  ASSERT_OK(c);
  EXPECT_EQ(c->data_dir, "/from/flag");
  EXPECT_EQ(c->time_zone, "America/New_York");
  EXPECT_EQ(c->listen, "127.0.0.1:1111");
  EXPECT_EQ(c->body_limit_bytes, 2'048);
  EXPECT_EQ(c->read_timeout_ms, 10'000);
}

TEST_F(ConfigTest, TheFileMayComeFromTheEnvironment) {
  setenv("FUNDING_LEDGER_CONFIG", WriteFile("max-connections = 7\n").c_str(), 1);
  const Result<Config> c = LoadConfig({});
  ASSERT_OK(c);
  EXPECT_EQ(c->max_connections, 7);
}

TEST_F(ConfigTest, RefusesWhatItDoesNotKnow) {
  EXPECT_EQ(LoadConfig({{"no-such-flag", "1"}}).status().code(), Status::Code::kInvalidArgument);
  const Result<Config> c = LoadConfig({{"config", WriteFile("lisen = \"x\"\n")}});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("lisen"), std::string::npos);
}

TEST_F(ConfigTest, RefusesIntegersOutOfRangeOrMalformed) {
  for (const char* bad : {"0", "-5", "12x", "", "99999999999999999999", "1.5"}) {
    const Result<Config> c = LoadConfig({{"body-limit-bytes", bad}});
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_NE(c.status().message().find("body-limit-bytes"), std::string::npos);
  }
  setenv("FUNDING_LEDGER_IO_THREADS", "1000", 1);
  const Result<Config> c = LoadConfig({});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("FUNDING_LEDGER_IO_THREADS"), std::string::npos);
}

TEST_F(ConfigTest, TakesTheLogLevelFromEachSource) {
  for (const auto& [text, level] :
       std::vector<std::pair<std::string, LogLevel>>{{"debug", LogLevel::kDebug},
                                                     {"info", LogLevel::kInfo},
                                                     {"warn", LogLevel::kWarn},
                                                     {"error", LogLevel::kError}}) {
    const Result<Config> flag = LoadConfig({{"log-level", text}});
    ASSERT_OK(flag);
    EXPECT_EQ(flag->log_level, level) << text;
  }
  setenv("FUNDING_LEDGER_LOG_LEVEL", "warn", 1);
  const Result<Config> env = LoadConfig({{"config", WriteFile("log-level = \"debug\"\n")}});
  ASSERT_OK(env);
  EXPECT_EQ(env->log_level, LogLevel::kWarn);
  unsetenv("FUNDING_LEDGER_LOG_LEVEL");
  const Result<Config> file = LoadConfig({{"config", WriteFile("log-level = \"debug\"\n")}});
  ASSERT_OK(file);
  EXPECT_EQ(file->log_level, LogLevel::kDebug);
}

TEST_F(ConfigTest, TurnsMetricsOnAndOff) {
  const Result<Config> off = LoadConfig({{"metrics", "off"}});
  ASSERT_OK(off);
  EXPECT_FALSE(off->metrics);
  const Result<Config> on = LoadConfig({{"metrics", "on"}});
  ASSERT_OK(on);
  EXPECT_TRUE(on->metrics);
  setenv("FUNDING_LEDGER_METRICS", "off", 1);
  const Result<Config> env = LoadConfig({});
  ASSERT_OK(env);
  EXPECT_FALSE(env->metrics);
  unsetenv("FUNDING_LEDGER_METRICS");
  const Result<Config> file = LoadConfig({{"config", WriteFile("metrics = \"off\"\n")}});
  ASSERT_OK(file);
  EXPECT_FALSE(file->metrics);
}

TEST_F(ConfigTest, RefusesWordsOutsideAnOptionsChoicesNamingWhereTheyCameFrom) {
  for (const char* bad : {"", "INFO", "warning", "verbose", "info "}) {
    const Result<Config> c = LoadConfig({{"log-level", bad}});
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_EQ(c.status().code(), Status::Code::kInvalidArgument);
    EXPECT_EQ(c.status().message(), "log-level (flag --log-level): '" + std::string(bad) +
                                        "' is not one of debug|info|warn|error");
  }
  for (const char* bad : {"", "true", "ON", "yes", "1"}) {
    const Result<Config> c = LoadConfig({{"metrics", bad}});
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_EQ(c.status().message(),
              "metrics (flag --metrics): '" + std::string(bad) + "' is not one of on|off");
  }
  setenv("FUNDING_LEDGER_LOG_LEVEL", "loud", 1);
  const Result<Config> env = LoadConfig({});
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.status().message(),
            "log-level (environment FUNDING_LEDGER_LOG_LEVEL): 'loud' is not one of "
            "debug|info|warn|error");
  unsetenv("FUNDING_LEDGER_LOG_LEVEL");
  const std::string path = WriteFile("metrics = \"maybe\"\n");
  const Result<Config> file = LoadConfig({{"config", path}});
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().message(), "metrics (" + path + "): 'maybe' is not one of on|off");
  // A TOML boolean is not one of the words either.
  EXPECT_FALSE(LoadConfig({{"config", WriteFile("metrics = false\n")}}).ok());
}

TEST_F(ConfigTest, NamesTheLineOfABrokenFile) {
  const Result<Config> c = LoadConfig({{"config", WriteFile("listen = \n")}});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("line 1"), std::string::npos) << c.status().message();
  const Result<Config> wrong_type = LoadConfig({{"config", WriteFile("listen = [1, 2]\n")}});
  ASSERT_FALSE(wrong_type.ok());
  const Result<Config> missing = LoadConfig({{"config", dir_.path() + "/absent.toml"}});
  ASSERT_FALSE(missing.ok());
}

TEST_F(ConfigTest, ReadsTheIdentityProviderFromEachSource) {
  EXPECT_EQ(EnvName("jwks-file"), "FUNDING_LEDGER_JWKS_FILE");
  EXPECT_EQ(EnvName("jwt-issuer"), "FUNDING_LEDGER_JWT_ISSUER");
  EXPECT_EQ(EnvName("jwt-audience"), "FUNDING_LEDGER_JWT_AUDIENCE");
  const std::string file = WriteFile(
      "jwks-file = \"/etc/funding-ledger/jwks.json\"\n"
      "jwt-issuer = \"https://sso.example.com/realms/funding\"\n");
  setenv("FUNDING_LEDGER_JWT_AUDIENCE", "funding-ledger", 1);
  const Result<Config> c = LoadConfig({{"config", file}});
  ASSERT_OK(c);
  EXPECT_EQ(c->jwks_file, "/etc/funding-ledger/jwks.json");
  EXPECT_EQ(c->jwt_issuer, "https://sso.example.com/realms/funding");
  EXPECT_EQ(c->jwt_audience, "funding-ledger");
  const Result<Config> flags = LoadConfig({{"config", file}, {"jwks-file", "/tmp/other.json"}});
  ASSERT_OK(flags);
  EXPECT_EQ(flags->jwks_file, "/tmp/other.json");
}

// iss and aud are what the provider's tokens must carry: without the
// provider's keys they would silently check nothing.
TEST_F(ConfigTest, IssuerAndAudienceNeedAJwksFile) {
  for (const char* name : {"jwt-issuer", "jwt-audience"}) {
    const Result<Config> c = LoadConfig({{name, "x"}});
    ASSERT_FALSE(c.ok()) << name;
    EXPECT_EQ(c.status().message(),
              "jwt-issuer and jwt-audience check the tokens of the identity provider: they need "
              "jwks-file");
  }
}

}  // namespace
}  // namespace ledger::app
