#pragma once

// How a long-running tool stops cleanly on Ctrl-C (docs/operations.md,
// "Stopping").

namespace ledger::app {

// While alive, SIGINT and SIGTERM set a flag that long work polls (through
// StopRequested) and stops at its next check, cleanly. A second signal ends
// the process at once with the default action, which is still safe: nothing
// a tool writes is visible before its final commit or rename. The previous
// handlers come back on destruction.
class InterruptScope {
 public:
  InterruptScope();
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;
};
bool StopRequested();

}  // namespace ledger::app
