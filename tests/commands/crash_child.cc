// Child process of crash_test.cc: appends fundings from several threads as
// fast as it can and prints each acknowledged position on stdout, one per
// line, until it is killed. Usage: crash_child DATA_DIR
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "commands/sequencer.h"
#include "events/rocks_log.h"

int main(int argc, char** argv) {
  using namespace ledger;
  if (argc != 2) {
    std::fprintf(stderr, "usage: crash_child DATA_DIR\n");
    return 2;
  }
  auto log = events::RocksEventLog::Open(argv[1]);
  if (!log.ok()) {
    std::fprintf(stderr, "crash_child: %s\n", log.status().ToString().c_str());
    return 2;
  }
  SystemClock clock;
  auto zone = TimeZone::Load("Asia/Seoul");
  if (!zone.ok()) return 2;
  auto sequencer = commands::Sequencer::Start(log->get(), &clock, &*zone);
  if (!sequencer.ok()) {
    std::fprintf(stderr, "crash_child: %s\n", sequencer.status().ToString().c_str());
    return 2;
  }
  commands::Sequencer& s = **sequencer;
  if ((*log)->Head().position == 0) {
    commands::PostDraft d;
    d.title = "crash";
    d.uploader = "alice";
    d.target_amount = 1'000'000'000;
    d.funding_unit = 1;
    d.end_date =
        CivilDate(std::chrono::sys_days(zone->LocalDate(clock.Now())) + std::chrono::days(365));
    const auto r = s.SubmitAndWait({commands::CreatePosts{{d}, false}, "alice", "c", ""});
    if (r.status != commands::CommandStatus::kAccepted) return 3;
  }
  std::mutex out_mu;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&s, &out_mu, t] {
      const std::string backer = "backer-" + std::to_string(t);
      while (true) {
        const auto r = s.SubmitAndWait({commands::FundPost{1, 1}, backer, "crash", ""});
        if (r.status != commands::CommandStatus::kAccepted) std::_Exit(4);
        // write(2) straight to the pipe: once it returns, the parent can
        // read the line even if this process dies a moment later.
        const std::string line = std::to_string(r.outcome.first_position) + "\n";
        std::lock_guard lock(out_mu);
        if (write(STDOUT_FILENO, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
          std::_Exit(5);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  return 0;
}
