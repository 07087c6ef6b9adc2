// The listener's TLS: what LoadTlsContext refuses, a real TLS client
// (OpenSSL, blocking) against the real server, the protocol floor, a plain
// HTTP client on the TLS port, a silent handshake, and a reload of the
// certificate while connections are open.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/metrics.h"
#include "http/raw_client.h"
#include "http/server.h"
#include "http/test_source.h"
#include "support/status_matchers.h"
#include "support/temp_dir.h"
#include "support/tls_files.h"

namespace ledger::http {
namespace {

using namespace std::chrono_literals;
using ledger::testing::TempDir;
using ledger::testing::TlsFilePaths;
using ledger::testing::WriteSelfSigned;
using test_support::Client;
using test_support::TestSource;
using Clock = std::chrono::steady_clock;

// A blocking TLS client on a plain socket: connects, handshakes within
// `max_version` (0: any), and sends and reads one HTTP exchange at a time.
class TlsClient {
 public:
  TlsClient(uint16_t port, int max_version = 0) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (max_version != 0) SSL_CTX_set_max_proto_version(ctx_, max_version);
    SSL_CTX_set_min_proto_version(ctx_, TLS1_VERSION);
    SSL_CTX_set_security_level(ctx_, 0);  // let the client offer old versions at all
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval timeout{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) return;
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    connected_ = SSL_connect(ssl_) == 1;
    ERR_clear_error();
  }
  ~TlsClient() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (fd_ >= 0) ::close(fd_);
    SSL_CTX_free(ctx_);
  }
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  bool connected() const { return connected_; }
  std::string version() const { return SSL_get_version(ssl_); }
  // The CN of the certificate the server presented.
  std::string PeerName() const {
    X509* cert = SSL_get1_peer_certificate(ssl_);
    if (cert == nullptr) return "";
    char name[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof name);
    X509_free(cert);
    return name;
  }
  bool Send(const std::string& bytes) {
    return SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size())) > 0;
  }
  // What arrives up to and with `needle`, or "" when the connection ends
  // first (its socket's receive timeout, set at connect, bounds the wait).
  std::string ReadUntil(std::string_view needle) {
    size_t at = 0;
    while ((at = pending_.find(needle)) == std::string::npos) {
      char chunk[4096];
      const int n = SSL_read(ssl_, chunk, sizeof chunk);
      if (n <= 0) return "";
      pending_.append(chunk, static_cast<size_t>(n));
    }
    std::string read = pending_.substr(0, at + needle.size());
    pending_.erase(0, at + needle.size());
    return read;
  }
  // GET `target`; the whole answer (head and Content-Length body) or "".
  std::string Get(const std::string& target) {
    const std::string request = "GET " + target + " HTTP/1.1\r\nHost: t\r\n\r\n";
    if (!Send(request)) return "";
    std::string got;
    char chunk[4096];
    for (;;) {
      const size_t end = got.find("\r\n\r\n");
      if (end != std::string::npos) {
        const size_t at = got.find("content-length: ");
        const size_t length = at == std::string::npos ? 0 : std::stoul(got.substr(at + 16));
        if (got.size() >= end + 4 + length) return got;
      }
      const int n = SSL_read(ssl_, chunk, sizeof chunk);
      if (n <= 0) return got;
      got.append(chunk, static_cast<size_t>(n));
    }
  }

 private:
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  bool connected_ = false;
  std::string pending_;  // read by ReadUntil, not yet returned
};

Response Text(std::string body) {
  Response r;
  r.status = 200;
  r.content_type = "text/plain";
  r.body = std::move(body);
  return r;
}

// Why a server with `files` does not start ("started" when it does).
std::string LoadError(const TlsFiles& files) {
  ServerOptions options;
  options.port = 0;
  options.tls = files;
  const auto started = HttpServer::Start(std::move(options), Router(), nullptr);
  if (started.ok()) return "started";
  EXPECT_EQ(started.status().code(), Status::Code::kInvalidArgument);
  return started.status().message();
}

TEST(TlsContextTest, ExposesTheCertificatesExpiry) {
  TempDir dir;
  const TlsFilePaths one = WriteSelfSigned(dir.path(), "one");
  HttpMetrics metrics;
  ServerOptions options;
  options.port = 0;
  options.tls = {one.cert, one.key};
  auto started = HttpServer::Start(std::move(options), Router(), &metrics);
  ASSERT_OK(started);
  const std::string exposition = metrics.Expose();
  const std::string name = "\nhttp_tls_certificate_expiry_timestamp_seconds ";
  const size_t at = exposition.find(name);
  ASSERT_NE(at, std::string::npos) << exposition;
  const double expiry = std::stod(exposition.substr(at + name.size()));
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_NEAR(expiry, now + 24 * 3600, 120);
  EXPECT_NE(exposition.find("http_tls_handshakes_failed_total 0"), std::string::npos);
}

TEST(TlsContextTest, RefusesWhatCannotServeWithAReasonNamingTheFile) {
  TempDir dir;
  const TlsFilePaths one = WriteSelfSigned(dir.path(), "one");
  const TlsFilePaths two = WriteSelfSigned(dir.path(), "two");
  const TlsFilePaths expired = WriteSelfSigned(dir.path(), "expired", -48h, -24h);
  const TlsFilePaths future = WriteSelfSigned(dir.path(), "future", 24h, 48h);
  const std::string garbage = dir.path() + "/garbage.pem";
  std::ofstream(garbage) << "not a certificate\n";

  EXPECT_EQ(LoadError({one.cert, one.key}), "started");
  EXPECT_EQ(LoadError({one.cert, ""}),
            "TLS needs both a certificate (--tls-cert) and a key (--tls-key)");
  EXPECT_EQ(LoadError({dir.path() + "/absent.crt", one.key}),
            "tls-cert: cannot read " + dir.path() + "/absent.crt");
  EXPECT_EQ(LoadError({one.cert, dir.path() + "/absent.key"}),
            "tls-key: cannot read " + dir.path() + "/absent.key");
  EXPECT_NE(LoadError({garbage, one.key}).find("is not a PEM certificate chain"),
            std::string::npos);
  EXPECT_NE(LoadError({one.cert, garbage}).find("is not an unencrypted PEM private key"),
            std::string::npos);
  EXPECT_EQ(LoadError({one.cert, two.key}),
            "tls-key: " + two.key + " is not the key of the certificate in " + one.cert);
  EXPECT_NE(LoadError({expired.cert, expired.key}).find(" expired on "), std::string::npos)
      << LoadError({expired.cert, expired.key});
  EXPECT_NE(LoadError({future.cert, future.key}).find(" is not valid before "), std::string::npos);
}

class TlsServerTest : public ::testing::Test {
 protected:
  void Start() {
    Router router;
    router.Add("GET", "/a", [](const Request&, const Respond& respond) { respond(Text("a")); });
    router.Add("GET", "/s", [this](const Request&, const Respond& respond) {
      Response r;
      r.content_type = "text/event-stream";
      r.stream = source_;
      respond(std::move(r));
    });
    ServerOptions options;
    options.port = 0;
    options.limits = limits_;
    options.tls = {files_.cert, files_.key};
    auto started = HttpServer::Start(std::move(options), std::move(router), nullptr);
    ASSERT_OK(started);
    server_ = std::move(started).value();
  }
  uint16_t port() const { return server_->port(); }

  TempDir dir_;
  TlsFilePaths files_ = WriteSelfSigned(dir_.path(), "one");
  ServerLimits limits_;
  std::shared_ptr<TestSource> source_ = std::make_shared<TestSource>();
  std::unique_ptr<HttpServer> server_;
};

TEST_F(TlsServerTest, ServesRequestsOverTls12And13) {
  Start();
  TlsClient any(port());
  ASSERT_TRUE(any.connected());
  EXPECT_EQ(any.version(), "TLSv1.3");
  EXPECT_EQ(any.PeerName(), "one");
  const std::string first = any.Get("/a");
  EXPECT_EQ(first.rfind("HTTP/1.1 200", 0), 0u) << first;
  EXPECT_EQ(first.substr(first.size() - 1), "a");
  const std::string second = any.Get("/a");  // kept alive
  EXPECT_EQ(second.rfind("HTTP/1.1 200", 0), 0u) << second;

  TlsClient tls12(port(), TLS1_2_VERSION);
  ASSERT_TRUE(tls12.connected());
  EXPECT_EQ(tls12.version(), "TLSv1.2");
  EXPECT_EQ(tls12.Get("/a").rfind("HTTP/1.1 200", 0), 0u);
}

// Frames of a stream go through the TLS layer (never straight to the
// socket, as they may over plain TCP), framed as chunks, live and to the end.
TEST_F(TlsServerTest, StreamsOverTls) {
  Start();
  TlsClient client(port());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.Send("GET /s HTTP/1.1\r\nHost: t\r\n\r\n"));
  const std::string head = client.ReadUntil("\r\n\r\n");
  EXPECT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << head;
  EXPECT_NE(head.find("Transfer-Encoding: chunked"), std::string::npos) << head;
  const Clock::time_point deadline = Clock::now() + 3s;
  while (!source_->started() && Clock::now() < deadline) std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(source_->started());
  source_->Push("one");
  EXPECT_EQ(client.ReadUntil("one\r\n"), "3\r\none\r\n");
  source_->Push("two");
  EXPECT_EQ(client.ReadUntil("two\r\n"), "3\r\ntwo\r\n");
  source_->End();
  EXPECT_EQ(client.ReadUntil("\r\n\r\n"), "0\r\n\r\n");
}

TEST_F(TlsServerTest, RefusesTls11AndPlainHttp) {
  Start();
  TlsClient tls11(port(), TLS1_1_VERSION);
  EXPECT_FALSE(tls11.connected());
  Client plain(port());
  ASSERT_TRUE(plain.Get("/a"));
  // No HTTP answer: the bytes are not a TLS ClientHello.
  const auto answer = plain.Read(false, 2s);
  EXPECT_FALSE(answer.has_value());
  EXPECT_TRUE(plain.WaitClosed());
  const Clock::time_point deadline = Clock::now() + 5s;
  while (server_->connection_counts().handshakes_failed < 2 && Clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(server_->connection_counts().handshakes_failed, 2u);
}

TEST_F(TlsServerTest, ClosesAConnectionThatNeverStartsItsHandshake) {
  limits_.head_timeout = 200ms;
  Start();
  Client silent(port());
  const Clock::time_point start = Clock::now();
  EXPECT_TRUE(silent.WaitClosed(5s));
  EXPECT_GE(Clock::now() - start, 150ms);
  EXPECT_EQ(server_->connection_counts().handshakes_failed, 1u);
}

TEST_F(TlsServerTest, AReloadServesTheNewCertificateToNewConnectionsOnly) {
  Start();
  TlsClient before(port());
  ASSERT_TRUE(before.connected());
  EXPECT_EQ(before.PeerName(), "one");

  // The operator replaces the files in place, then signals.
  const TlsFilePaths two = WriteSelfSigned(dir_.path(), "two");
  std::filesystem::copy_file(two.cert, files_.cert,
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(two.key, files_.key,
                             std::filesystem::copy_options::overwrite_existing);
  ASSERT_OK(server_->ReloadTls());
  TlsClient after(port());
  ASSERT_TRUE(after.connected());
  EXPECT_EQ(after.PeerName(), "two");
  EXPECT_EQ(after.Get("/a").rfind("HTTP/1.1 200", 0), 0u);
  // The connection made before goes on with what it has.
  EXPECT_EQ(before.Get("/a").rfind("HTTP/1.1 200", 0), 0u);

  // A reload of broken files fails and changes nothing.
  std::ofstream(files_.key, std::ios::trunc) << "broken\n";
  const Status failed = server_->ReloadTls();
  EXPECT_FALSE(failed.ok());
  EXPECT_NE(failed.message().find("is not an unencrypted PEM private key"), std::string::npos)
      << failed.message();
  TlsClient still(port());
  ASSERT_TRUE(still.connected());
  EXPECT_EQ(still.PeerName(), "two");
}

TEST(TlsServerStartTest, APlainServerHasNoTlsToReload) {
  ServerOptions options;
  options.port = 0;
  auto started = HttpServer::Start(std::move(options), Router(), nullptr);
  ASSERT_OK(started);
  EXPECT_EQ((*started)->ReloadTls().code(), Status::Code::kFailedPrecondition);
}

}  // namespace
}  // namespace ledger::http
