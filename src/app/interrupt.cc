#include "app/interrupt.h"

#include <atomic>
#include <csignal>

namespace ledger::app {
namespace {

std::atomic<bool> g_stop_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free, "used from a signal handler");

extern "C" void OnInterrupt(int signal) {
  if (g_stop_requested.exchange(true)) {
    // The second signal: the default action, now.
    std::signal(signal, SIG_DFL);
    std::raise(signal);
  }
}

struct sigaction g_previous_int {};
struct sigaction g_previous_term {};

}  // namespace

InterruptScope::InterruptScope() {
  g_stop_requested = false;
  struct sigaction action {};
  action.sa_handler = OnInterrupt;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &g_previous_int);
  sigaction(SIGTERM, &action, &g_previous_term);
}

InterruptScope::~InterruptScope() {
  sigaction(SIGINT, &g_previous_int, nullptr);
  sigaction(SIGTERM, &g_previous_term, nullptr);
}

bool StopRequested() { return g_stop_requested.load(); }

}  // namespace ledger::app
