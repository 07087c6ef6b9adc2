// Kills a process that is appending with SIGKILL and checks that everything
// it acknowledged survived, and that the sequencer's durable state is still
// exactly the fold of the log, over several rounds on the same log: each
// kill lands at another point of the writes of events and state.
#include <chrono>
#include <string>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands/fold.h"
#include "commands/state_check.h"
#include "events/chain.h"
#include "events/rocks_log.h"
#include "support/status_matchers.h"
#include "support/temp_dir.h"

extern char** environ;

namespace ledger {
namespace {

// Runs crash_child on `dir`, reads acknowledged positions for `run_for` after
// the first one, kills it with SIGKILL, then drains what it had already
// written.
std::vector<int64_t> RunAndKill(const std::string& dir, std::chrono::milliseconds run_for) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  std::string binary = LEDGER_CRASH_CHILD;
  std::string arg = dir;
  char* argv[] = {binary.data(), arg.data(), nullptr};
  pid_t pid = 0;
  EXPECT_EQ(posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv, environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);

  std::string text;
  char buf[4096];
  // `run_for` counts from the first acknowledgement, so that a slow start
  // (under a sanitizer, say) never leaves a round with nothing written; the
  // start itself may take up to kStartLimit.
  constexpr auto kStartLimit = std::chrono::seconds(60);
  auto deadline = std::chrono::steady_clock::now() + kStartLimit;
  bool acknowledged = false;
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  while (std::chrono::steady_clock::now() < deadline) {
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n > 0) {
      if (!acknowledged) deadline = std::chrono::steady_clock::now() + run_for;
      acknowledged = true;
      text.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      break;  // the child exited on its own: a failure, reported below
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "child ended by itself with status " << status;
  fcntl(fds[0], F_SETFL, 0);
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;)
    text.append(buf, static_cast<size_t>(n));
  close(fds[0]);

  std::vector<int64_t> positions;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    positions.push_back(std::stoll(text.substr(start, nl - start)));
  }
  return positions;
}

TEST(CrashTest, EveryAcknowledgedAppendSurvivesSigkill) {
  testing::TempDir dir;
  const std::string log_dir = dir.Sub("log");
  int64_t acknowledged_total = 0;
  constexpr int kRounds = 6;
  for (int round = 0; round < kRounds; ++round) {
    const std::vector<int64_t> acked =
        RunAndKill(log_dir, std::chrono::milliseconds(200 + 150 * round));
    ASSERT_FALSE(acked.empty()) << "round " << round << ": nothing was acknowledged";
    acknowledged_total += static_cast<int64_t>(acked.size());

    auto log = events::RocksEventLog::Open(log_dir);
    ASSERT_OK(log);
    const events::LogHead head = (*log)->Head();
    auto chain = events::VerifyLogChain(**log, 1, head.position);
    ASSERT_OK(chain);
    EXPECT_TRUE(chain->ok) << "round " << round << ": " << chain->problem;
    int64_t max_acked = 0;
    for (const int64_t p : acked) max_acked = std::max(max_acked, p);
    EXPECT_LE(max_acked, head.position) << "round " << round << ": acknowledged position "
                                        << max_acked << " lost; head is " << head.position;
    std::vector<events::Event> events;
    for (const int64_t p : acked) {
      events.clear();
      ASSERT_OK(events::ReadEvents(**log, p, p, 1, &events));
      ASSERT_EQ(events.size(), 1u) << "acknowledged position " << p << " is missing";
      EXPECT_EQ(events[0].type(), events::EventType::kPostFunded);
    }
    auto folded = commands::FoldLog(**log, head.position);
    ASSERT_OK(folded);
    auto state = commands::CompareState(**log, *folded);
    ASSERT_OK(state);
    EXPECT_TRUE(state->stored) << "round " << round;
    EXPECT_EQ(state->difference, std::nullopt) << "round " << round << ": " << *state->difference;
  }
  std::cout << "acknowledged appends checked across " << kRounds
            << " SIGKILLs: " << acknowledged_total << "\n";
}

}  // namespace
}  // namespace ledger
