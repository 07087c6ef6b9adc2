#include "tool_process.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "server_process.h"

namespace ledger::e2e {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string TempFile() {
  const char* tmp = std::getenv("TMPDIR");
  std::string path =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/funding-ledger-tool-XXXXXX";
  const int fd = mkstemp(path.data());
  if (fd >= 0) close(fd);
  return path;
}

int ExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Forks `binary args...` with stdout on `out_fd` and stderr on `err_fd`.
pid_t Spawn(const std::string& binary, const std::vector<std::string>& args, int out_fd,
            int err_fd) {
  std::vector<std::string> all = {binary};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(out_fd, STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

}  // namespace

ToolResult RunTool(const std::string& binary, const std::vector<std::string>& args,
                   std::chrono::seconds timeout) {
  const std::string out_path = TempFile();
  const std::string err_path = TempFile();
  const int out_fd = open(out_path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  const int err_fd = open(err_path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  ToolResult result;
  const pid_t pid = Spawn(binary, args, out_fd, err_fd);
  close(out_fd);
  close(err_fd);
  if (pid > 0) {
    if (const auto status = WaitForChild(pid, timeout)) {
      result.exit_code = ExitCode(*status);
    } else {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
  result.out = ReadFile(out_path);
  result.err = ReadFile(err_path);
  unlink(out_path.c_str());
  unlink(err_path.c_str());
  return result;
}

ToolProcess::ToolProcess(const std::string& binary, const std::vector<std::string>& args) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return;
  err_path_ = TempFile();
  const int err_fd = open(err_path_.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  pid_ = Spawn(binary, args, out[1], err_fd);
  close(out[1]);
  close(err_fd);
  out_fd_ = out[0];
}

ToolProcess::~ToolProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (out_fd_ >= 0) close(out_fd_);
  if (!err_path_.empty()) unlink(err_path_.c_str());
}

std::optional<std::string> ToolProcess::ReadLine(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (const size_t nl = buffered_.find('\n'); nl != std::string::npos) {
      std::string line = buffered_.substr(0, nl);
      buffered_.erase(0, nl + 1);
      return line;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || out_fd_ < 0) return std::nullopt;
    pollfd p{out_fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char chunk[4096];
    const ssize_t n = read(out_fd_, chunk, sizeof chunk);
    if (n <= 0) return std::nullopt;  // end of output
    buffered_.append(chunk, static_cast<size_t>(n));
  }
}

void ToolProcess::Signal(int signal) {
  if (pid_ > 0) kill(pid_, signal);
}

std::optional<int> ToolProcess::Wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return std::nullopt;
  const std::optional<int> status = WaitForChild(pid_, timeout);
  if (!status) return std::nullopt;
  pid_ = -1;
  return ExitCode(*status);
}

std::string ToolProcess::Err() const { return ReadFile(err_path_); }

}  // namespace ledger::e2e
