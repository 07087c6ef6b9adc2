#include "server_process.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace ledger::e2e {

ServerProcess::ServerProcess(const std::string& binary, const std::string& data_dir,
                             const std::vector<std::string>& extra,
                             const std::vector<std::string>& env) {
  log_path_ = data_dir + ".log";
  int out[2];
  if (pipe(out) != 0) return;
  std::vector<std::string> args = {binary,        "serve",      "--listen",
                                   "127.0.0.1:0", "--data-dir", data_dir};
  args.insert(args.end(), extra.begin(), extra.end());
  // The child's environment and arguments, built before fork: the child only
  // execs.
  std::vector<std::string> variables;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const std::string name = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const std::string& added : env) replaced |= added.substr(0, added.find('=')) == name;
    if (!replaced) variables.push_back(entry);
  }
  variables.insert(variables.end(), env.begin(), env.end());
  std::vector<char*> envp;
  envp.reserve(variables.size() + 1);
  for (std::string& v : variables) envp.push_back(v.data());
  envp.push_back(nullptr);
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = fork();
  if (pid_ == 0) {
    // The server (and its PostgreSQL) must not outlive a crashed test.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    dup2(out[1], STDOUT_FILENO);
    const int log = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (log >= 0) dup2(log, STDERR_FILENO);
    close(out[0]);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(out[1]);
  // "funding-ledger serving on http://127.0.0.1:PORT" (https:// with TLS)
  FILE* f = fdopen(out[0], "r");
  char line[512];
  while (f != nullptr && std::fgets(line, sizeof line, f) != nullptr) {
    const std::string text(line);
    const size_t at = text.find("serving on http");
    if (at == std::string::npos) continue;
    const size_t colon = text.rfind(':');
    port_ = static_cast<uint16_t>(std::stoi(text.substr(colon + 1)));
    break;
  }
  // The pipe stays open (the server may print more); nobody reads it, and the
  // server prints only one line to stdout.
}

ServerProcess::~ServerProcess() { Stop(); }

int ServerProcess::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 600; ++i) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return -1;
}

bool ServerProcess::Terminate() { return pid_ > 0 && kill(pid_, SIGTERM) == 0; }

std::optional<int> WaitForChild(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return status;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::optional<int> ServerProcess::WaitExit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return std::nullopt;
  const std::optional<int> status = WaitForChild(pid_, timeout);
  if (status) pid_ = -1;
  return status;
}

std::string ServerProcess::Log() const {
  std::ifstream in(log_path_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace ledger::e2e
