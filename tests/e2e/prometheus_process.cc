#include "prometheus_process.h"

#include <cctype>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "server_process.h"

namespace ledger::e2e {
namespace {

// How many ports are tried before giving up.
constexpr int kStartAttempts = 5;
constexpr std::chrono::seconds kStopTimeout{15};

// A loopback port that was free a moment ago (0 when none could be had).
uint16_t FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  uint16_t port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

int Connect(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

PrometheusProcess::PrometheusProcess(const std::string& binary, const std::string& config,
                                     const std::string& dir, std::chrono::seconds ready_timeout) {
  log_path_ = dir + "/prometheus.log";
  for (int attempt = 0; attempt < kStartAttempts && !ready_; ++attempt) {
    port_ = FreePort();
    if (port_ == 0) continue;
    ready_ = Start(binary, config, dir, ready_timeout);
    // Only a lost race for the port is worth another attempt.
    if (!ready_ && Log().find("address already in use") == std::string::npos) break;
  }
}

PrometheusProcess::~PrometheusProcess() { Kill(); }

bool PrometheusProcess::Start(const std::string& binary, const std::string& config,
                              const std::string& dir, std::chrono::seconds ready_timeout) {
  std::vector<std::string> args = {binary, "--config.file=" + config,
                                   "--storage.tsdb.path=" + dir + "/tsdb",
                                   "--web.listen-address=127.0.0.1:" + std::to_string(port_)};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int log = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log < 0) return false;
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the test died before prctl
    dup2(log, STDOUT_FILENO);
    dup2(log, STDERR_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(log);
  if (pid_ < 0) return false;
  const auto deadline = std::chrono::steady_clock::now() + ready_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (WaitForChild(pid_, std::chrono::milliseconds(0))) {
      pid_ = -1;  // exited (and reaped): a taken port, a bad flag or config
      return false;
    }
    const std::optional<HttpResponse> r = HttpGet(port_, "/-/ready", std::chrono::seconds(2));
    if (r && r->status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  Kill();
  return false;
}

void PrometheusProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  if (!WaitForChild(pid_, kStopTimeout)) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  pid_ = -1;
}

std::string PrometheusProcess::Log() const {
  std::ifstream in(log_path_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::optional<HttpResponse> HttpGet(uint16_t port, const std::string& target,
                                    std::chrono::milliseconds timeout) {
  const int fd = Connect(port);
  if (fd < 0) return std::nullopt;
  const std::string request = "GET " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  std::string raw;
  bool complete = send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
                  static_cast<ssize_t>(request.size());
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (complete) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      complete = false;
      break;
    }
    char chunk[16384];
    const ssize_t n = recv(fd, chunk, sizeof chunk, 0);
    if (n < 0) complete = false;
    if (n <= 0) break;
    raw.append(chunk, static_cast<size_t>(n));
  }
  close(fd);
  const size_t head_end = raw.find("\r\n\r\n");
  if (!complete || head_end == std::string::npos || raw.size() < 12) return std::nullopt;
  HttpResponse r;
  r.status = std::atoi(raw.substr(9, 3).c_str());
  std::istringstream head(raw.substr(0, head_end));
  std::string line;
  std::getline(head, line);  // the status line
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    size_t value = colon + 1;
    while (value < line.size() && line[value] == ' ') ++value;
    r.headers.emplace_back(Lower(line.substr(0, colon)), line.substr(value));
  }
  r.body = raw.substr(head_end + 4);
  return r;
}

std::string UrlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xF]);
    }
  }
  return out;
}

}  // namespace ledger::e2e
