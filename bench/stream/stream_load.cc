// A load tool for the live streams (issue 17): holds many Server-Sent Event
// streams of `funding-ledger serve` open and reads them, and optionally sends
// fundings open-loop beside them, to measure what the issue asks:
//
// - memory: the server's VmRSS (--server-pid) before the streams open and
//   after they are all open and settled, per stream (goal <= 16 KiB);
// - delay: for each 201 to a funding, the time from its arrival until its
//   event (`id: <position>`) arrived on the stream of its post (goal p99 <=
//   100 ms); every funding's event must arrive within 5 s of the end;
// - --hold-seconds: the streams alone, for wrk to measure fund throughput
//   beside them (bench/stream/run.sh runs that comparison).
//
// One thread, epoll, non-blocking sockets (load_run.h). Post streams are
// spread over posts 1..--posts (default: one per post); fundings go to
// posts drawn uniformly from the same range. When several streams carry an
// event, its last arrival counts.
//
// Output: a report on stdout (or one line of JSON with --json); progress
// and "stream_load: ready" (all streams open and settled) on stderr. Exit 0
// when every stream opened and stayed open, every funding got 201 and every
// event arrived; 1 otherwise (the report says what); 2 for bad flags.
// Timing goals are reported, never asserted.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <arpa/inet.h>
#include <signal.h>
#include <sys/resource.h>

#include "load_run.h"

namespace ledger::bench {
namespace {

// Opening gives up when no stream has opened or failed for this long.
constexpr auto kOpenStallTimeout = std::chrono::seconds(30);
// The goal's own bound: every funding's event arrives within this after the end.
constexpr auto kDrainTimeout = std::chrono::seconds(5);
constexpr size_t kMissingShownMax = 20;
constexpr int64_t kFdsBeyondSockets = 64;  // stdio, epoll, and what libc opens

struct Options {
  std::string host = "127.0.0.1";
  int64_t port = 0;
  int64_t streams = 1'000;
  bool post_streams = true;
  int64_t posts = 0;  // 0: as many as streams
  int64_t rate = 5'000;
  int64_t connections = 32;
  int64_t seconds = 60;
  int64_t hold_seconds = 0;  // > 0: hold the streams, send no fundings
  int64_t settle_ms = 2'000;
  std::vector<std::string> tokens;
  int64_t server_pid = 0;
  bool json = false;
  int64_t seed = 1;
};

constexpr std::string_view kUsage =
    "usage: stream_load --port PORT [--host 127.0.0.1] [--streams 1000]\n"
    "                   [--post-streams | --global-streams] [--posts N]\n"
    "                   [--rate 5000 --connections 32 --seconds 60 --token JWT...\n"
    "                    | --hold-seconds T] [--token-file FILE] [--settle-ms 2000]\n"
    "                   [--server-pid PID] [--seed 1] [--json]\n"
    "Opens --streams streams (GET /api/posts/{i}/stream over posts 1..N, or\n"
    "GET /api/events/stream), then sends fundings at --rate per second over\n"
    "--connections keep-alive connections for --seconds and reports the delay from\n"
    "each 201 to its event on a stream; or, with --hold-seconds, only holds the\n"
    "streams (until T passes or SIGTERM). --server-pid: report the server's VmRSS\n"
    "per stream. Tokens: --token (repeatable) or --token-file (one per line).\n";

std::optional<int64_t> ParseInt(std::string_view text, int64_t min, int64_t max) {
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return std::nullopt;
  }
  return value;
}

bool ReadTokens(const std::string& path, std::vector<std::string>* tokens) {
  std::ifstream in(path);
  if (!in) return false;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) tokens->push_back(line);
  }
  return true;
}

constexpr int64_t kSecondsMax = int64_t{24} * 3600;

// The integer flags: name, where it goes, its range.
struct IntFlag {
  std::string_view name;
  int64_t Options::*field;
  int64_t min;
  int64_t max;
};
constexpr IntFlag kIntFlags[] = {
    {"--port", &Options::port, 1, 65535},
    {"--streams", &Options::streams, 1, 1'000'000},
    {"--posts", &Options::posts, 1, INT64_MAX},
    {"--rate", &Options::rate, 1, kRateMax},
    {"--connections", &Options::connections, 1, 100'000},
    {"--seconds", &Options::seconds, 1, kSecondsMax},
    {"--hold-seconds", &Options::hold_seconds, 1, kSecondsMax},
    {"--settle-ms", &Options::settle_ms, 0, kSecondsMax * 1000},
    {"--server-pid", &Options::server_pid, 1, INT32_MAX},
    {"--seed", &Options::seed, 0, INT64_MAX},
};

std::optional<Options> ParseOptions(int argc, char** argv, std::ostream& err) {
  Options o;
  bool fund_flags = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--post-streams" || flag == "--global-streams") {
      o.post_streams = flag == "--post-streams";
      continue;
    }
    if (flag == "--json") {
      o.json = true;
      continue;
    }
    if (flag == "--help") return std::nullopt;
    if (i + 1 >= argc) {
      err << "stream_load: " << flag << " needs a value\n";
      return std::nullopt;
    }
    const std::string_view value = argv[++i];
    fund_flags |= flag == "--rate" || flag == "--connections" || flag == "--seconds" ||
                  flag == "--token" || flag == "--token-file";
    if (flag == "--host") {
      o.host = value;
    } else if (flag == "--token") {
      o.tokens.emplace_back(value);
    } else if (flag == "--token-file") {
      if (!ReadTokens(std::string(value), &o.tokens)) {
        err << "stream_load: cannot read " << value << "\n";
        return std::nullopt;
      }
    } else {
      const auto* known = std::find_if(std::begin(kIntFlags), std::end(kIntFlags),
                                       [&](const IntFlag& f) { return f.name == flag; });
      if (known == std::end(kIntFlags)) {
        err << "stream_load: unknown flag " << flag << "\n";
        return std::nullopt;
      }
      const std::optional<int64_t> n = ParseInt(value, known->min, known->max);
      if (!n) {
        err << "stream_load: " << flag << " takes an integer in " << known->min << ".."
            << known->max << ", not '" << value << "'\n";
        return std::nullopt;
      }
      o.*known->field = *n;
    }
  }
  if (o.posts == 0) o.posts = o.streams;
  if (o.port == 0) {
    err << "stream_load: --port is required\n";
    return std::nullopt;
  }
  if (o.hold_seconds > 0 && fund_flags) {
    err << "stream_load: --hold-seconds sends no fundings; drop the funding flags\n";
    return std::nullopt;
  }
  if (o.hold_seconds == 0 && o.tokens.empty()) {
    err << "stream_load: fundings need --token or --token-file (a backer, not the posts' owner)\n";
    return std::nullopt;
  }
  return o;
}

// VmRSS of `pid` in KiB, from /proc/PID/status.
std::optional<int64_t> RssKiB(int64_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) {
      std::istringstream fields(line.substr(6));
      int64_t kib = 0;
      if (fields >> kib) return kib;
    }
  }
  return std::nullopt;
}

// Raises the soft limit on open files to the hard one; the limit it got.
int64_t RaiseFdLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  limit.rlim_cur = limit.rlim_max;
  (void)setrlimit(RLIMIT_NOFILE, &limit);
  (void)getrlimit(RLIMIT_NOFILE, &limit);
  return limit.rlim_cur == RLIM_INFINITY ? INT64_MAX : static_cast<int64_t>(limit.rlim_cur);
}

volatile bool stop_requested = false;  // set by SIGINT and SIGTERM

extern "C" void OnStopSignal(int) { stop_requested = true; }

void HandleStopSignals() {
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: epoll_wait returns EINTR, the loops look
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

struct Delays {
  std::vector<int64_t> us;  // sorted; negative ones counted as 0
  int64_t negative = 0;
  int64_t wrong_post = 0;  // arrived on another post's stream
  std::vector<const Funding*> missing;
};

Delays MatchFundings(const LoadRun& run) {
  Delays d;
  for (const Funding& f : run.fundings()) {
    const auto it = run.arrivals().find(f.position);
    if (it == run.arrivals().end()) {
      d.missing.push_back(&f);
      continue;
    }
    if (it->second.post_id != 0 && it->second.post_id != f.post_id) ++d.wrong_post;
    const int64_t us =
        std::chrono::duration_cast<std::chrono::microseconds>(it->second.at - f.at).count();
    if (us < 0) ++d.negative;
    d.us.push_back(std::max<int64_t>(us, 0));
  }
  std::sort(d.us.begin(), d.us.end());
  return d;
}

// The nearest-rank percentile in ms. REQUIRES: !sorted_us.empty().
double PercentileMs(const std::vector<int64_t>& sorted_us, double p) {
  const auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted_us.size())));
  return static_cast<double>(sorted_us[std::clamp<size_t>(rank, 1, sorted_us.size()) - 1]) / 1e3;
}

std::string Reasons(const std::map<std::string, int64_t>& reasons) {
  std::string out;
  for (const auto& [reason, n] : reasons) {
    out += (out.empty() ? "" : ", ") + reason + " " + std::to_string(n);
  }
  return out;
}

int64_t Sum(const auto& counts) {
  int64_t total = 0;
  for (const auto& [key, n] : counts) total += n;
  return total;
}

std::string JsonEscaped(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  return out;
}

// What the report says, gathered once for both forms of it.
struct Summary {
  const Options* options = nullptr;
  LoadCounts counts;
  int64_t still_open = 0;  // when the tool closed them
  std::optional<int64_t> rss_before_kib, rss_after_kib;
  double fund_seconds = 0;
  Delays delays;
  std::vector<int64_t> answer_us;  // sorted

  bool funded() const { return options->hold_seconds == 0; }
  std::optional<double> KiBPerStream() const {
    if (!rss_before_kib || !rss_after_kib || counts.streams_opened == 0) return std::nullopt;
    return static_cast<double>(*rss_after_kib - *rss_before_kib) /
           static_cast<double>(counts.streams_opened);
  }
  double PerSecond(int64_t n) const {
    return fund_seconds > 0 ? static_cast<double>(n) / fund_seconds : 0;
  }
  bool ok() const {
    const bool streams_ok = counts.open_failed.empty() && counts.ended_early.empty();
    if (!funded()) return streams_ok;
    return streams_ok && counts.fundings_201 > 0 && counts.fundings_other.empty() &&
           delays.missing.empty() && delays.wrong_post == 0;
  }
};

void PrintText(const Summary& s, std::ostream& out) {
  const LoadCounts& c = s.counts;
  const Options& o = *s.options;
  out << "streams: " << o.streams << (o.post_streams ? " post" : " global") << " streams asked, "
      << c.streams_opened << " opened, " << Sum(c.open_failed) << " failed to open"
      << (c.open_failed.empty() ? "" : " (" + Reasons(c.open_failed) + ")") << ", "
      << Sum(c.ended_early) << " ended early"
      << (c.ended_early.empty() ? "" : " (" + Reasons(c.ended_early) + ")") << ", " << s.still_open
      << " open at the end\n";
  if (!c.first_failure.empty()) out << "first failure: " << c.first_failure << "\n";
  out << "frames: " << c.ledger_frames << " ledger events, " << c.figures_frames << " figures, "
      << c.heartbeats << " heartbeats, " << c.cuts << " cuts\n";
  if (const std::optional<double> per = s.KiBPerStream()) {
    out << "server VmRSS: " << *s.rss_before_kib << " KiB before, " << *s.rss_after_kib
        << " KiB with the streams open: " << *per << " KiB per stream (goal <= 16)\n";
  }
  if (!s.funded()) return;
  out << "fundings over " << s.fund_seconds << " s: " << c.fundings_due << " due, "
      << c.fundings_sent << " sent (" << s.PerSecond(c.fundings_sent) << "/s), "
      << c.fundings_missed << " missed (every connection busy), " << c.fundings_201 << " 201 ("
      << s.PerSecond(c.fundings_201) << "/s), " << Sum(c.fundings_other) << " other";
  for (const auto& [status, n] : c.fundings_other) out << " [" << status << ": " << n << "]";
  out << ", connection errors " << Sum(c.fund_errors)
      << (c.fund_errors.empty() ? "" : " (" + Reasons(c.fund_errors) + ")") << "\n";
  if (!c.first_other_body.empty()) out << "first other answer: " << c.first_other_body << "\n";
  if (!s.answer_us.empty()) {
    const std::vector<int64_t>& us = s.answer_us;
    out << "answer time of a funding (send to whole answer): p50 " << PercentileMs(us, 0.50)
        << " ms, p99 " << PercentileMs(us, 0.99) << " ms, max " << PercentileMs(us, 1.0) << " ms\n";
  }
  if (!s.delays.us.empty()) {
    const std::vector<int64_t>& us = s.delays.us;
    out << "delay from 201 to its event on the stream (" << us.size() << " fundings): p50 "
        << PercentileMs(us, 0.50) << " ms, p90 " << PercentileMs(us, 0.90) << " ms, p99 "
        << PercentileMs(us, 0.99) << " ms, max " << PercentileMs(us, 1.0)
        << " ms (goal p99 <= 100); " << s.delays.negative
        << " arrived before their 201 (counted as 0)\n";
  }
  if (s.delays.wrong_post > 0) {
    out << "events on the stream of another post: " << s.delays.wrong_post << "\n";
  }
  out << "events that never arrived within 5 s of the end: " << s.delays.missing.size() << "\n";
  for (size_t i = 0; i < std::min(kMissingShownMax, s.delays.missing.size()); ++i) {
    out << "  position " << s.delays.missing[i]->position << " (post "
        << s.delays.missing[i]->post_id << ")\n";
  }
}

void PrintJson(const Summary& s, std::ostream& out) {
  const LoadCounts& c = s.counts;
  const Options& o = *s.options;
  out << "{\"mode\":\"" << (s.funded() ? "fund" : "hold") << "\",\"streams\":" << o.streams
      << ",\"stream_kind\":\"" << (o.post_streams ? "post" : "global")
      << "\",\"streams_opened\":" << c.streams_opened
      << ",\"streams_failed\":" << Sum(c.open_failed)
      << ",\"streams_ended_early\":" << Sum(c.ended_early)
      << ",\"streams_open_at_end\":" << s.still_open << ",\"open_failures\":\""
      << JsonEscaped(Reasons(c.open_failed)) << "\",\"early_ends\":\""
      << JsonEscaped(Reasons(c.ended_early)) << "\",\"ledger_frames\":" << c.ledger_frames
      << ",\"figures_frames\":" << c.figures_frames << ",\"heartbeats\":" << c.heartbeats
      << ",\"cuts\":" << c.cuts;
  if (const std::optional<double> per = s.KiBPerStream()) {
    out << ",\"rss_before_kib\":" << *s.rss_before_kib << ",\"rss_after_kib\":" << *s.rss_after_kib
        << ",\"rss_per_stream_kib\":" << *per;
  }
  if (s.funded()) {
    out << ",\"fund_seconds\":" << s.fund_seconds << ",\"fundings_due\":" << c.fundings_due
        << ",\"fundings_sent\":" << c.fundings_sent << ",\"fundings_missed\":" << c.fundings_missed
        << ",\"fundings_201\":" << c.fundings_201 << ",\"fundings_other\":" << Sum(c.fundings_other)
        << ",\"fund_connection_errors\":" << Sum(c.fund_errors)
        << ",\"sent_per_s\":" << s.PerSecond(c.fundings_sent)
        << ",\"ok_per_s\":" << s.PerSecond(c.fundings_201)
        << ",\"delay_negative\":" << s.delays.negative << ",\"wrong_post\":" << s.delays.wrong_post
        << ",\"missing\":" << s.delays.missing.size();
    if (!s.answer_us.empty()) {
      out << ",\"answer_p50_ms\":" << PercentileMs(s.answer_us, 0.50)
          << ",\"answer_p99_ms\":" << PercentileMs(s.answer_us, 0.99)
          << ",\"answer_max_ms\":" << PercentileMs(s.answer_us, 1.0);
    }
    if (!s.delays.us.empty()) {
      out << ",\"delay_p50_ms\":" << PercentileMs(s.delays.us, 0.50)
          << ",\"delay_p90_ms\":" << PercentileMs(s.delays.us, 0.90)
          << ",\"delay_p99_ms\":" << PercentileMs(s.delays.us, 0.99)
          << ",\"delay_max_ms\":" << PercentileMs(s.delays.us, 1.0);
    }
  }
  out << ",\"ok\":" << (s.ok() ? "true" : "false") << "}\n";
}

int Main(int argc, char** argv) {
  const std::optional<Options> options = ParseOptions(argc, argv, std::cerr);
  if (!options) {
    std::cerr << kUsage;
    return 2;
  }
  const Options& o = *options;
  LoadConfig config;
  config.address.sin_family = AF_INET;
  config.address.sin_port = htons(static_cast<uint16_t>(o.port));
  if (inet_pton(AF_INET, o.host.c_str(), &config.address.sin_addr) != 1) {
    std::cerr << "stream_load: --host takes an IPv4 address, not '" << o.host << "'\n" << kUsage;
    return 2;
  }
  config.host_header = o.host + ":" + std::to_string(o.port);
  config.streams = o.streams;
  config.post_streams = o.post_streams;
  config.posts = o.posts;
  config.connections = o.hold_seconds > 0 ? 0 : o.connections;
  config.tokens = o.tokens;
  config.seed = static_cast<uint64_t>(o.seed);

  const int64_t fds_needed = o.streams + config.connections + kFdsBeyondSockets;
  if (const int64_t limit = RaiseFdLimit(); limit < fds_needed) {
    std::cerr << "stream_load: needs " << fds_needed << " open files but may have only " << limit
              << " (the hard limit); raise it, as root: ulimit -Hn " << fds_needed << "\n";
    return 1;
  }
  HandleStopSignals();
  LoadRun run(std::move(config));
  if (!run.Init()) {
    std::cerr << "stream_load: epoll_create1 failed\n";
    return 1;
  }
  Summary s;
  s.options = &o;
  if (o.server_pid > 0 && !(s.rss_before_kib = RssKiB(o.server_pid))) {
    std::cerr << "stream_load: no VmRSS in /proc/" << o.server_pid << "/status\n";
    return 1;
  }
  run.OpenStreams(kOpenStallTimeout, &stop_requested);
  run.Hold(std::chrono::milliseconds(o.settle_ms), &stop_requested);
  if (o.server_pid > 0) s.rss_after_kib = RssKiB(o.server_pid);
  std::cerr << "stream_load: ready, " << run.counts().streams_open << " streams open" << std::endl;

  if (o.hold_seconds > 0) {
    run.Hold(std::chrono::seconds(o.hold_seconds), &stop_requested);
  } else {
    s.fund_seconds = std::chrono::duration<double>(run.Fund(o.rate, std::chrono::seconds(o.seconds),
                                                            kDrainTimeout, &stop_requested))
                         .count();
    s.delays = MatchFundings(run);
    s.answer_us = run.answer_us();
    std::sort(s.answer_us.begin(), s.answer_us.end());
  }
  s.still_open = run.counts().streams_open;
  run.CloseAll();
  s.counts = run.counts();
  if (o.json) {
    PrintJson(s, std::cout);
  } else {
    PrintText(s, std::cout);
  }
  return s.ok() ? 0 : 1;
}

}  // namespace
}  // namespace ledger::bench

int main(int argc, char** argv) { return ledger::bench::Main(argc, argv); }
