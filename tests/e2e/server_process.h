#pragma once

// Runs the real funding-ledger binary (`serve`) as a child process on a free
// port with its own data directory, for the end-to-end tests.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace ledger::e2e {

// Waits up to `timeout` for the child `pid` to exit: its wait status, or
// nullopt while it still runs.
std::optional<int> WaitForChild(pid_t pid, std::chrono::milliseconds timeout);

class ServerProcess {
 public:
  // Starts `binary serve --listen 127.0.0.1:0 --data-dir <data_dir> <extra...>`
  // and waits for its "serving on" line. ok() tells whether it came up.
  // `env`: NAME=VALUE entries added to (or replacing in) the inherited
  // environment of the server alone.
  ServerProcess(const std::string& binary, const std::string& data_dir,
                const std::vector<std::string>& extra, const std::vector<std::string>& env = {});
  // SIGTERM, then waits (SIGKILL after 60 s).
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  bool ok() const { return port_ != 0; }
  uint16_t port() const { return port_; }
  // SIGTERM and wait; returns the exit status (or -1).
  int Stop();
  // Sends SIGTERM and returns at once; false when there is no process.
  bool Terminate();
  // Waits up to `timeout` for the process to exit: its wait status (0 for a
  // clean exit), or nullopt while it still runs (or when there is none).
  std::optional<int> WaitExit(std::chrono::milliseconds timeout);
  pid_t pid() const { return pid_; }
  // What the server printed on stderr so far (for failure messages).
  std::string Log() const;

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string log_path_;
};

}  // namespace ledger::e2e
