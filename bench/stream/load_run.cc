#include "load_run.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <string_view>
#include <utility>

#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "answer_head.h"
#include "common/check.h"

namespace ledger::bench {
namespace {

// Streams connecting or waiting for their answer's head at once: enough to
// open 10 000 in seconds, few enough not to overflow the listen backlog.
constexpr size_t kOpeningMax = 64;
constexpr size_t kReadBytes = size_t{64} * 1024;  // one recv
constexpr size_t kFundAnswerBytesMax = size_t{64} * 1024;
constexpr size_t kSaidBytesMax = 300;  // of a refusal's body, kept for the report
constexpr int kEpollBatch = 256;
constexpr auto kProgressEvery = std::chrono::seconds(2);
constexpr auto kConnectTimeout = std::chrono::seconds(5);
constexpr int64_t kReconnectsMax = 1000;  // of funding connections, over a run

constexpr uint64_t kStreamTag = 0;
constexpr uint64_t kFundTag = 1;

std::string Errno(std::string_view what, int error) {
  return std::string(what) + ": " + std::strerror(error);
}

int SocketError(int fd) {
  int error = 0;
  socklen_t size = sizeof error;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) != 0) return errno;
  return error;
}

// A non-blocking socket whose connect has started, or -1 with `*error` set.
int StartConnect(const sockaddr_in& address, std::string* error) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = Errno("socket", errno);
    return -1;
  }
  const int one = 1;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 &&
      errno != EINPROGRESS) {
    *error = Errno("connect", errno);
    close(fd);
    return -1;
  }
  return fd;
}

// Sends all of `bytes` at once. The requests are small and each socket has
// nothing else queued (a stream sends one request; a funding connection one
// at a time, after the previous answer), so a short send means trouble.
bool SendAll(int fd, std::string_view bytes) {
  const ssize_t n = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  return n >= 0 && static_cast<size_t>(n) == bytes.size();
}

std::string_view Said(std::string_view body) { return body.substr(0, kSaidBytesMax); }

}  // namespace

struct LoadRun::Stream {
  enum class Phase { kNotStarted, kConnecting, kHead, kBody, kEnded };
  int fd = -1;
  int64_t post_id = 0;  // 0: a stream of every post
  Phase phase = Phase::kNotStarted;
  std::string head;  // the answer so far, until its head is complete
  SseReader reader;
  bool cut = false;
  std::string cut_reason;
};

struct LoadRun::FundConnection {
  enum class Phase { kClosed, kConnecting, kIdle, kBusy };
  int fd = -1;
  Phase phase = Phase::kClosed;
  int64_t post_id = 0;  // of the funding in flight
  Steady::time_point sent_at;
  std::string in;  // the answer so far
};

LoadRun::LoadRun(LoadConfig config)
    : config_(std::move(config)),
      streams_(static_cast<size_t>(config_.streams)),
      funds_(static_cast<size_t>(config_.connections)),
      read_buffer_(new char[kReadBytes]),
      random_(config_.seed) {
  LEDGER_CHECK(config_.streams >= 1 && config_.posts >= 1, "streams and posts are checked flags");
  for (size_t i = 0; i < streams_.size(); ++i) {
    streams_[i].post_id =
        config_.post_streams ? 1 + static_cast<int64_t>(i) % config_.posts : int64_t{0};
  }
}

LoadRun::~LoadRun() {
  CloseAll();
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

bool LoadRun::Init() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  return epoll_fd_ >= 0;
}

bool LoadRun::Watch(int fd, uint32_t events, uint64_t tag, bool add) {
  epoll_event event{};
  event.events = events;
  event.data.u64 = tag;
  return epoll_ctl(epoll_fd_, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &event) == 0;
}

void LoadRun::Poll(Steady::duration timeout) {
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(timeout).count();
  std::array<epoll_event, kEpollBatch> events;
  const int n = epoll_wait(epoll_fd_, events.data(), kEpollBatch,
                           static_cast<int>(std::clamp<int64_t>(ms, 0, 1000)));
  for (int k = 0; k < n; ++k) {
    const epoll_event& e = events[static_cast<size_t>(k)];
    const size_t index = static_cast<size_t>(e.data.u64 >> 1);
    if ((e.data.u64 & 1) == kStreamTag) {
      OnStream(index, e.events);
    } else {
      OnFund(index, e.events);
    }
  }
}

void LoadRun::OpenStreams(Steady::duration stall_timeout, const volatile bool* stop) {
  const auto settled = [this] { return next_stream_ == streams_.size() && opening_ == 0; };
  size_t answered_before = opens_answered_;
  Steady::time_point last_progress = Steady::now();
  Steady::time_point report_at = last_progress + kProgressEvery;
  while (!settled() && !*stop && Steady::now() - last_progress < stall_timeout) {
    while (opening_ < kOpeningMax && next_stream_ < streams_.size()) StartStream(next_stream_++);
    Poll(std::chrono::milliseconds(100));
    const Steady::time_point now = Steady::now();
    if (opens_answered_ != answered_before) {
      answered_before = opens_answered_;
      last_progress = now;
    }
    if (now >= report_at) {
      std::cerr << "stream_load: " << counts_.streams_open << " of " << streams_.size()
                << " streams open\n";
      report_at = now + kProgressEvery;
    }
  }
  // Whatever has not opened by now counts as failed.
  for (size_t i = 0; i < streams_.size(); ++i) {
    const Stream::Phase phase = streams_[i].phase;
    if (phase == Stream::Phase::kNotStarted || phase == Stream::Phase::kConnecting ||
        phase == Stream::Phase::kHead) {
      ++counts_.open_failed[*stop ? "stopped while opening" : "no answer (the opening stalled)"];
      CloseStream(i);
    }
  }
  opening_ = 0;
}

void LoadRun::Hold(Steady::duration duration, const volatile bool* stop) {
  const Steady::time_point end = Steady::now() + duration;
  for (Steady::time_point now = Steady::now(); now < end && !*stop; now = Steady::now()) {
    Poll(end - now);
  }
}

void LoadRun::StartStream(size_t i) {
  Stream& s = streams_[i];
  std::string error;
  s.fd = StartConnect(config_.address, &error);
  s.phase = Stream::Phase::kConnecting;
  ++opening_;
  if (s.fd < 0) {
    FailOpen(i, error, {});
  } else if (!Watch(s.fd, EPOLLOUT, i << 1 | kStreamTag, true)) {
    FailOpen(i, Errno("epoll_ctl", errno), {});
  }
}

void LoadRun::OnStream(size_t i, uint32_t events) {
  Stream& s = streams_[i];
  if (s.phase == Stream::Phase::kEnded) return;  // closed earlier in this batch
  if (s.phase == Stream::Phase::kConnecting) {
    if (const int error = SocketError(s.fd); error != 0)
      return FailOpen(i, Errno("connect", error), {});
    if ((events & EPOLLOUT) == 0) return;
    const std::string path = s.post_id == 0 ? std::string("/api/events/stream")
                                            : "/api/posts/" + std::to_string(s.post_id) + "/stream";
    const std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + config_.host_header +
                                "\r\nAccept: text/event-stream\r\n\r\n";
    if (!SendAll(s.fd, request)) return FailOpen(i, "could not send the request", {});
    if (!Watch(s.fd, EPOLLIN, i << 1 | kStreamTag, false)) {
      return FailOpen(i, Errno("epoll_ctl", errno), {});
    }
    s.phase = Stream::Phase::kHead;
    return;
  }
  const ssize_t n = recv(s.fd, read_buffer_.get(), kReadBytes, 0);
  const Steady::time_point now = Steady::now();
  if (n < 0) {
    if (errno != EAGAIN && errno != EINTR) StreamLost(i, Errno("recv", errno));
    return;
  }
  if (n == 0) return StreamLost(i, "closed by the server");
  const std::string_view bytes(read_buffer_.get(), static_cast<size_t>(n));
  if (s.phase != Stream::Phase::kHead) return StreamBody(i, bytes, now);

  s.head.append(bytes);
  AnswerHead head;
  const HeadParse parsed = ParseAnswerHead(s.head, &head);
  if (parsed == HeadParse::kIncomplete) return;
  if (parsed == HeadParse::kMalformed) return FailOpen(i, "malformed answer head", {});
  if (head.status != 200) {
    return FailOpen(i, "status " + std::to_string(head.status),
                    std::string_view(s.head).substr(head.bytes));
  }
  const std::string rest = s.head.substr(head.bytes);
  std::string().swap(s.head);
  s.reader = SseReader(head.chunked);
  s.phase = Stream::Phase::kBody;
  --opening_;
  ++opens_answered_;
  ++counts_.streams_opened;
  ++counts_.streams_open;
  StreamBody(i, rest, now);
}

void LoadRun::StreamBody(size_t i, std::string_view bytes, Steady::time_point now) {
  Stream& s = streams_[i];
  frames_.clear();
  const SseFeed fed = s.reader.Feed(bytes, &frames_);
  for (SseFrame& frame : frames_) {
    switch (frame.kind) {
      case SseFrame::Kind::kLedger:
        ++counts_.ledger_frames;
        if (record_ && frame.id >= 0) {
          arrivals_.insert_or_assign(frame.id, Arrival{now, s.post_id});
          awaited_.erase(frame.id);
        }
        break;
      case SseFrame::Kind::kFigures:
        ++counts_.figures_frames;
        break;
      case SseFrame::Kind::kHeartbeat:
        ++counts_.heartbeats;
        break;
      case SseFrame::Kind::kCut:
        ++counts_.cuts;
        s.cut = true;
        s.cut_reason = JsonStringMember(frame.data, "reason").value_or("?");
        break;
      case SseFrame::Kind::kOther:
        break;
    }
  }
  if (fed == SseFeed::kEnd) {
    StreamLost(i, s.cut ? "cut: " + s.cut_reason : "the server ended the stream");
  } else if (fed == SseFeed::kMalformed) {
    StreamLost(i, "malformed event stream");
  }
}

void LoadRun::StreamLost(size_t i, const std::string& reason) {
  Stream& s = streams_[i];
  if (s.phase != Stream::Phase::kBody) return FailOpen(i, reason, {});
  // A cut is followed by the end of the body, then the close: one reason.
  ++counts_
        .ended_early[s.cut && reason == "closed by the server" ? "cut: " + s.cut_reason : reason];
  --counts_.streams_open;
  CloseStream(i);
}

void LoadRun::FailOpen(size_t i, const std::string& reason, std::string_view said) {
  ++counts_.open_failed[reason];
  if (counts_.first_failure.empty()) {
    counts_.first_failure = reason + (said.empty() ? "" : ": ") + std::string(Said(said));
  }
  --opening_;
  ++opens_answered_;
  CloseStream(i);
}

void LoadRun::CloseStream(size_t i) {
  Stream& s = streams_[i];
  if (s.fd >= 0) close(s.fd);  // also leaves the epoll set
  s.fd = -1;
  s.phase = Stream::Phase::kEnded;
}

void LoadRun::CloseAll() {
  for (size_t i = 0; i < streams_.size(); ++i) {
    if (streams_[i].phase == Stream::Phase::kBody) --counts_.streams_open;
    CloseStream(i);
  }
  for (FundConnection& c : funds_) {
    if (c.fd >= 0) close(c.fd);
    c.fd = -1;
    c.phase = FundConnection::Phase::kClosed;
  }
  in_flight_ = 0;
  funding_ = false;
}

Steady::duration LoadRun::Fund(int64_t rate_per_s, Steady::duration duration,
                               Steady::duration drain, const volatile bool* stop) {
  LEDGER_CHECK(rate_per_s >= 1 && rate_per_s <= kRateMax && duration <= kFundDurationMax &&
                   !funds_.empty() && !config_.tokens.empty(),
               "rate, duration, connections and tokens are checked flags");
  funding_ = true;
  record_ = true;
  for (size_t i = 0; i < funds_.size(); ++i) Connect(i);
  const auto idle = [this] {
    return std::all_of(funds_.begin(), funds_.end(), [](const FundConnection& c) {
      return c.phase == FundConnection::Phase::kIdle;
    });
  };
  for (const Steady::time_point give_up = Steady::now() + kConnectTimeout;
       !idle() && !*stop && Steady::now() < give_up;) {
    Poll(std::chrono::milliseconds(10));
  }

  // Open loop: funding k is due at start + k / rate, whatever became of the
  // ones before it.
  const Steady::time_point start = Steady::now();
  const Steady::time_point end = start + duration;
  Steady::time_point now = start;
  for (; now < end && !*stop; now = Steady::now()) {
    // In µs, which cannot overflow: rate <= kRateMax, duration <= a day.
    const int64_t elapsed_us =
        std::chrono::duration_cast<std::chrono::microseconds>(now - start).count();
    const int64_t due = elapsed_us * rate_per_s / 1'000'000 + 1;
    for (; counts_.fundings_due < due; ++counts_.fundings_due) {
      if (!SendFunding()) ++counts_.fundings_missed;
    }
    const Steady::time_point next =
        start + std::chrono::microseconds(counts_.fundings_due * 1'000'000 / rate_per_s);
    Poll(std::min(next, end) - Steady::now());
  }
  const Steady::duration sending = now - start;

  funding_ = false;
  const Steady::time_point give_up = Steady::now() + drain;
  while ((in_flight_ > 0 || !awaited_.empty()) && !*stop && Steady::now() < give_up) {
    Poll(std::min<Steady::duration>(give_up - Steady::now(), std::chrono::milliseconds(100)));
  }
  record_ = false;
  return sending;
}

void LoadRun::Connect(size_t i) {
  FundConnection& c = funds_[i];
  std::string error;
  c.fd = StartConnect(config_.address, &error);
  c.phase = FundConnection::Phase::kConnecting;
  c.in.clear();
  if (c.fd < 0) {
    ++counts_.fund_errors[error];
    c.phase = FundConnection::Phase::kClosed;
  } else if (!Watch(c.fd, EPOLLOUT, i << 1 | kFundTag, true)) {
    ++counts_.fund_errors[Errno("epoll_ctl", errno)];
    close(c.fd);
    c.fd = -1;
    c.phase = FundConnection::Phase::kClosed;
  }
}

bool LoadRun::SendFunding() {
  const size_t k = funds_.size();
  for (size_t step = 0; step < k; ++step) {
    const size_t i = (fund_cursor_ + step) % k;
    FundConnection& c = funds_[i];
    if (c.phase != FundConnection::Phase::kIdle) continue;
    fund_cursor_ = (i + 1) % k;
    const int64_t post_id = std::uniform_int_distribution<int64_t>(1, config_.posts)(random_);
    const std::string& token =
        config_.tokens[static_cast<size_t>(counts_.fundings_sent) % config_.tokens.size()];
    constexpr std::string_view kBody = R"({"units":1})";
    const std::string request =
        "POST /api/posts/" + std::to_string(post_id) +
        "/fundings HTTP/1.1\r\nHost: " + config_.host_header + "\r\nAuthorization: Bearer " +
        token +
        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(kBody.size()) +
        "\r\n\r\n" + std::string(kBody);
    ++counts_.fundings_sent;
    ++in_flight_;
    c.phase = FundConnection::Phase::kBusy;
    c.post_id = post_id;
    c.sent_at = Steady::now();
    if (!SendAll(c.fd, request)) FundLost(i, "could not send a funding");
    return true;
  }
  return false;
}

void LoadRun::OnFund(size_t i, uint32_t events) {
  FundConnection& c = funds_[i];
  if (c.phase == FundConnection::Phase::kClosed) return;
  if (c.phase == FundConnection::Phase::kConnecting) {
    if (const int error = SocketError(c.fd); error != 0)
      return FundLost(i, Errno("connect", error));
    if ((events & EPOLLOUT) == 0) return;
    if (!Watch(c.fd, EPOLLIN, i << 1 | kFundTag, false))
      return FundLost(i, Errno("epoll_ctl", errno));
    c.phase = FundConnection::Phase::kIdle;
    return;
  }
  const ssize_t n = recv(c.fd, read_buffer_.get(), kReadBytes, 0);
  const Steady::time_point now = Steady::now();
  if (n < 0) {
    if (errno != EAGAIN && errno != EINTR) FundLost(i, Errno("recv", errno));
    return;
  }
  if (n == 0) return FundLost(i, "closed by the server");
  if (c.phase != FundConnection::Phase::kBusy) return FundLost(i, "bytes with no funding sent");
  c.in.append(read_buffer_.get(), static_cast<size_t>(n));
  AnswerHead head;
  const HeadParse parsed = ParseAnswerHead(c.in, &head);
  if (parsed == HeadParse::kIncomplete) return;
  if (parsed == HeadParse::kMalformed || !head.content_length ||
      *head.content_length > kFundAnswerBytesMax) {
    return FundLost(i, "an answer without a usable head");
  }
  const size_t size = head.bytes + static_cast<size_t>(*head.content_length);
  if (c.in.size() < size) return;
  if (c.in.size() > size) return FundLost(i, "more than one answer to one funding");
  answer_us_.push_back(
      std::chrono::duration_cast<std::chrono::microseconds>(now - c.sent_at).count());
  FundAnswer(i, head.status, std::string_view(c.in).substr(head.bytes), now);
  c.in.clear();
  --in_flight_;
  c.phase = FundConnection::Phase::kIdle;
  if (head.close) {
    close(c.fd);
    c.fd = -1;
    c.phase = FundConnection::Phase::kClosed;
    if (funding_ && ++reconnects_ <= kReconnectsMax) Connect(i);
  }
}

void LoadRun::FundAnswer(size_t i, int status, std::string_view body, Steady::time_point now) {
  const std::optional<int64_t> position =
      status == 201 ? JsonIntMember(body, "position") : std::nullopt;
  if (!position) {
    ++counts_.fundings_other[status];
    if (counts_.first_other_body.empty()) {
      counts_.first_other_body = std::to_string(status) + " " + std::string(Said(body));
    }
    return;
  }
  ++counts_.fundings_201;
  fundings_.push_back(Funding{*position, funds_[i].post_id, now});
  if (!arrivals_.contains(*position)) awaited_.insert(*position);
}

void LoadRun::FundLost(size_t i, const std::string& reason) {
  FundConnection& c = funds_[i];
  ++counts_.fund_errors[reason];
  if (c.phase == FundConnection::Phase::kBusy) --in_flight_;
  if (c.fd >= 0) close(c.fd);
  c.fd = -1;
  c.phase = FundConnection::Phase::kClosed;
  // A server that is gone would otherwise be reconnected to in a busy loop.
  if (funding_ && ++reconnects_ <= kReconnectsMax) Connect(i);
}

}  // namespace ledger::bench
