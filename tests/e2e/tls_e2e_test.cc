// End-to-end, TLS on the listener (issue 19): the real binary with
// --tls-cert and --tls-key, checked with the tools operators use (curl and
// `openssl s_client`, from Debian), a certificate replaced under SIGHUP, and
// files that must stop serve at start. The certificates are made by the test
// (support/tls_files.h); nothing secret is committed.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include "e2e_support.h"
#include "server_process.h"
#include "support/temp_dir.h"
#include "support/tls_files.h"
#include "tool_process.h"

namespace ledger::e2e {
namespace {

using ledger::testing::TlsFilePaths;
using ledger::testing::WriteSelfSigned;
using std::chrono::seconds;

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class TlsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override { chmod(dir_.path().c_str(), 0711); }
  void TearDown() override {
    if (server_ != nullptr && server_->pid() > 0) server_->Stop();
  }
  bool StartServer(const TlsFilePaths& files) {
    server_ = std::make_unique<ServerProcess>(
        FUNDING_LEDGER_BINARY, dir_.Sub("data"),
        std::vector<std::string>{"--jwt-secret", kSecret, "--tls-cert", files.cert, "--tls-key",
                                 files.key});
    return server_->ok();
  }
  std::string Url(const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(server_->port()) + path;
  }
  // `openssl s_client` against the server with `options`, stdin closed.
  ToolResult SClient(const std::string& options) const {
    return RunTool("/bin/sh",
                   {"-c", "openssl s_client -connect 127.0.0.1:" + std::to_string(server_->port()) +
                              " " + options + " </dev/null 2>&1"},
                   seconds(30));
  }

  ledger::testing::TempDir dir_;
  TlsFilePaths files_ = WriteSelfSigned(dir_.path(), "one");
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(TlsE2eTest, ServesCurlOverTlsAndOnlyTls12AndLater) {
  ASSERT_TRUE(StartServer(files_)) << server_->Log();
  const ToolResult health = RunTool(
      "/usr/bin/curl", {"-sS", "--cacert", files_.cert, "-w", "\n%{http_code}", Url("/healthz")});
  EXPECT_EQ(health.exit_code, 0) << health.err;
  EXPECT_TRUE(Has(health.out, "\n200")) << health.out;

  // A write and a read back over TLS.
  const ToolResult created = RunTool(
      "/usr/bin/curl",
      {"-sS", "--cacert", files_.cert, "-w", "\n%{http_code}", "-H",
       "Authorization: Bearer " + Token("tls-owner"), "-H", "Content-Type: application/json", "-d",
       R"({"title":"암호화","uploader":"u","description":"d","target_amount":1000,)"
       R"("funding_unit":100,"end_date":"2030-12-31"})",
       Url("/api/posts")});
  EXPECT_TRUE(Has(created.out, "\n201")) << created.out << created.err;

  // A stream over TLS: its first frames arrive (curl stops it at the time
  // limit, exit 28).
  const ToolResult stream = RunTool(
      "/usr/bin/curl",
      {"-sS", "-N", "--max-time", "2", "--cacert", files_.cert, Url("/api/events/stream?after=0")});
  EXPECT_TRUE(Has(stream.out, "retry: ")) << stream.out << stream.err;
  EXPECT_TRUE(Has(stream.out, "event: ledger")) << stream.out;

  const ToolResult tls12 = SClient("-tls1_2 -brief");
  EXPECT_TRUE(Has(tls12.out, "Protocol version: TLSv1.2")) << tls12.out;
  const ToolResult tls13 = SClient("-brief");
  EXPECT_TRUE(Has(tls13.out, "Protocol version: TLSv1.3")) << tls13.out;
  const ToolResult tls11 = SClient("-tls1_1 -brief");
  EXPECT_NE(tls11.exit_code, 0) << tls11.out;
  EXPECT_FALSE(Has(tls11.out, "Protocol version: TLSv1.1")) << tls11.out;

  // Plain HTTP on the TLS port gets no HTTP answer.
  const ToolResult plain = RunTool(
      "/usr/bin/curl", {"-sS", "--max-time", "5",
                        "http://127.0.0.1:" + std::to_string(server_->port()) + "/healthz"});
  EXPECT_NE(plain.exit_code, 0) << plain.out;
}

TEST_F(TlsE2eTest, SighupServesAReplacedCertificate) {
  ASSERT_TRUE(StartServer(files_)) << server_->Log();
  EXPECT_TRUE(Has(SClient("-brief").out, "CN = one"));
  const TlsFilePaths two = WriteSelfSigned(dir_.path(), "two");
  std::filesystem::copy_file(two.cert, files_.cert,
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(two.key, files_.key,
                             std::filesystem::copy_options::overwrite_existing);
  ASSERT_EQ(kill(server_->pid(), SIGHUP), 0);
  std::string seen;
  for (int i = 0; i < 50 && !Has(seen, "CN = two"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    seen = SClient("-brief").out;
  }
  EXPECT_TRUE(Has(seen, "CN = two")) << seen << server_->Log();

  // A reload of a broken key keeps the certificate in use, and says why.
  std::ofstream(files_.key, std::ios::trunc) << "broken\n";
  ASSERT_EQ(kill(server_->pid(), SIGHUP), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_TRUE(Has(SClient("-brief").out, "CN = two"));
  EXPECT_TRUE(Has(server_->Log(), "is not an unencrypted PEM private key")) << server_->Log();
}

TEST_F(TlsE2eTest, UnusableTlsFilesStopServeAtStart) {
  const TlsFilePaths expired =
      WriteSelfSigned(dir_.path(), "expired", -std::chrono::hours(48), -std::chrono::hours(24));
  const TlsFilePaths other = WriteSelfSigned(dir_.path(), "other");
  struct Case {
    TlsFilePaths files;
    std::string message;
  };
  for (const Case& c : {Case{expired, "expired on"},
                        Case{{files_.cert, other.key}, "is not the key of the certificate"},
                        Case{{files_.cert, dir_.path() + "/absent.key"}, "cannot read"}}) {
    EXPECT_FALSE(StartServer(c.files));
    EXPECT_EQ(server_->WaitExit(std::chrono::seconds(30)), 2 << 8) << server_->Log();
    EXPECT_TRUE(Has(server_->Log(), c.message)) << server_->Log();
    server_.reset();
  }
}

}  // namespace
}  // namespace ledger::e2e
