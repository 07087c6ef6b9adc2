#pragma once

// Runs the real funding-ledger binary's audit subcommands (head, events,
// verify, replay, backup) as child processes for the end-to-end tests.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace ledger::e2e {

struct ToolResult {
  int exit_code = -1;  // 128 + signal when killed by one
  std::string out;
  std::string err;
};

// Runs `binary args...` to its end, stdout and stderr captured; killed
// (exit_code -1) after `timeout`.
ToolResult RunTool(const std::string& binary, const std::vector<std::string>& args,
                   std::chrono::seconds timeout = std::chrono::seconds(300));

// A tool left running (events --follow), its stdout read line by line.
class ToolProcess {
 public:
  ToolProcess(const std::string& binary, const std::vector<std::string>& args);
  // SIGKILL and wait, if still running.
  ~ToolProcess();
  ToolProcess(const ToolProcess&) = delete;
  ToolProcess& operator=(const ToolProcess&) = delete;

  bool ok() const { return pid_ > 0; }
  // The next line of stdout without its newline, or nothing after `timeout`
  // or at end of output.
  std::optional<std::string> ReadLine(std::chrono::milliseconds timeout);
  void Signal(int signal);
  // The exit code once it exits within `timeout`.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  // Its stderr so far.
  std::string Err() const;

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string buffered_;
  std::string err_path_;
};

}  // namespace ledger::e2e
