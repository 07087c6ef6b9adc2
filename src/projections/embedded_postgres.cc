#include "projections/embedded_postgres.h"

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace ledger::projections {
namespace {

namespace fs = std::filesystem;

// A Unix socket path must fit sockaddr_un.sun_path (108 bytes with the NUL).
constexpr size_t kMaxSocketPath = 107;
// How long a fast shutdown may take before the server is killed.
constexpr std::chrono::seconds kStopTimeout{30};

struct RunAs {
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

std::string Errno(std::string_view what) { return std::string(what) + ": " + std::strerror(errno); }

Result<std::string> FindBinDir(const std::string& configured) {
  std::string dir = configured;
  if (dir.empty()) {
    if (const char* env = std::getenv("FUNDING_LEDGER_PG_BIN_DIR"); env != nullptr && *env) {
      dir = env;
    }
  }
  if (dir.empty()) {
    int best = -1;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
      const std::string name = entry.path().filename().string();
      char* end = nullptr;
      const long version = std::strtol(name.c_str(), &end, 10);
      if (end != nullptr && *end == '\0' && version > best &&
          fs::exists(entry.path() / "bin" / "postgres")) {
        best = static_cast<int>(version);
        dir = (entry.path() / "bin").string();
      }
    }
  }
  if (dir.empty() || access((dir + "/postgres").c_str(), X_OK) != 0 ||
      access((dir + "/initdb").c_str(), X_OK) != 0) {
    return Status::FailedPrecondition(
        "PostgreSQL server binaries (initdb, postgres) not found" +
        (dir.empty() ? std::string(" under /usr/lib/postgresql/*/bin") : " in " + dir) +
        "; install the postgresql package (ops/dev deps does) or set FUNDING_LEDGER_PG_BIN_DIR");
  }
  return dir;
}

Result<RunAs> DecideUser() {
  RunAs as;
  if (geteuid() != 0) {
    return as;  // run as ourselves
  }
  // initdb and postgres refuse to run as root.
  const passwd* pw = getpwnam("postgres");
  if (pw == nullptr) {
    return Status::FailedPrecondition(
        "running as root, but there is no 'postgres' user to run the embedded PostgreSQL as");
  }
  as.switch_user = true;
  as.uid = pw->pw_uid;
  as.gid = pw->pw_gid;
  return as;
}

// Runs `argv` as a child (as `as`), with stdout and stderr appended to
// `log_path`. With `pdeathsig`, the child gets that signal when this process
// dies. Returns the child's pid.
Result<pid_t> Spawn(const std::vector<std::string>& argv, const RunAs& as,
                    const std::string& log_path, int pdeathsig) {
  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) {
    return Status::IOError(Errno("opening " + log_path));
  }
  if (as.switch_user && fchown(log_fd, as.uid, as.gid) != 0) {
    close(log_fd);
    return Status::IOError(Errno("handing " + log_path + " to the postgres user"));
  }
  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls.
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_storage = {"LC_ALL=C.UTF-8", "PATH=/usr/bin:/bin", "TZ=UTC"};
  std::vector<char*> env;
  env.reserve(env_storage.size() + 1);
  for (std::string& e : env_storage) env.push_back(e.data());
  env.push_back(nullptr);
  const pid_t parent = getpid();

  const pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    return Status::IOError(Errno("fork"));
  }
  if (pid == 0) {
    setsid();  // a terminal's Ctrl-C goes to us; we decide how to stop it
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    const int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    if (as.switch_user) {
      const gid_t groups[] = {as.gid};
      if (setgroups(1, groups) != 0 || setgid(as.gid) != 0 || setuid(as.uid) != 0) _exit(126);
    }
    // After the credential change: changing uid or gid clears the
    // parent-death signal.
    if (pdeathsig != 0) {
      prctl(PR_SET_PDEATHSIG, pdeathsig);
      if (getppid() != parent) _exit(127);  // the parent died before prctl
    }
    execve(args[0], args.data(), env.data());
    _exit(127);
  }
  close(log_fd);
  return pid;
}

// Waits for `pid` to exit; returns its exit status, or nullopt on timeout.
std::optional<int> WaitFor(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return -1;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string LogTail(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return "";
  std::string text;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  std::fclose(f);
  constexpr size_t kTail = 2000;
  return text.size() > kTail ? text.substr(text.size() - kTail) : text;
}

Status Initdb(const std::string& bin_dir, const std::string& data_dir, const std::string& log,
              const RunAs& as, bool durable) {
  std::vector<std::string> argv = {
      bin_dir + "/initdb", "-D",           data_dir,          "-U",
      "postgres",          "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"};
  if (!durable) argv.emplace_back("--no-sync");
  LEDGER_ASSIGN_OR_RETURN(const pid_t pid, Spawn(argv, as, log, SIGKILL));
  const auto status = WaitFor(pid, std::chrono::minutes(5));
  if (!status || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    if (!status) kill(pid, SIGKILL), waitpid(pid, nullptr, 0);
    return Status::IOError("initdb failed for " + data_dir + ":\n" + LogTail(log));
  }
  return Status::Ok();
}

// Runs initdb for `cluster_dir` unless a cluster is there (PG_VERSION); a
// half-done one from an interrupted start is removed first. initdb's output
// goes to `log`. Errors: as Initdb.
Status InitdbOnFirstUse(const std::string& bin_dir, const std::string& cluster_dir,
                        const std::string& log, const RunAs& as, bool durable) {
  if (fs::exists(cluster_dir + "/PG_VERSION")) return Status::Ok();
  std::error_code ec;
  fs::remove_all(cluster_dir, ec);
  return Initdb(bin_dir, cluster_dir, log, as, durable);
}

// The absolute, normalised options.data_dir without a trailing '/': the
// directory that holds the cluster (in <dir>/cluster) and the logs.
// Errors: kInvalidArgument when it is empty, or when the server's socket in
// it would not fit a Unix socket address (kMaxSocketPath).
Result<std::string> ResolveDataDir(const EmbeddedPostgresOptions& options) {
  if (options.data_dir.empty()) {
    return Status::InvalidArgument("the embedded PostgreSQL needs a data directory");
  }
  std::error_code ec;
  std::string dir = fs::absolute(options.data_dir, ec).lexically_normal().string();
  if (!dir.empty() && dir.back() == '/') dir.pop_back();
  const std::string socket_path = dir + "/cluster/.s.PGSQL." + std::to_string(options.port);
  if (socket_path.size() > kMaxSocketPath) {
    return Status::InvalidArgument("data directory path too long for a Unix socket (" +
                                   socket_path + " is over " + std::to_string(kMaxSocketPath) +
                                   " bytes); use a shorter --data-dir");
  }
  return dir;
}

// Creates the data directory `dir` if needed. When the server runs as
// another user (`as`), hands `dir` to that user and checks that the user can
// reach it. Errors: kIOError when `dir` cannot be created or handed over;
// kFailedPrecondition when a directory above it is not searchable by the
// user (reported, not worked around).
Status PrepareDataDir(const std::string& dir, const RunAs& as) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IOError("creating " + dir + ": " + ec.message());
  if (!as.switch_user) return Status::Ok();
  if (chown(dir.c_str(), as.uid, as.gid) != 0) {
    return Status::IOError(Errno("handing " + dir + " to the postgres user"));
  }
  // The postgres user must be able to reach the directory.
  for (fs::path p = fs::path(dir).parent_path(); !p.empty() && p != p.root_path();
       p = p.parent_path()) {
    struct stat st {};
    if (stat(p.c_str(), &st) == 0 && (st.st_mode & S_IXOTH) == 0 && st.st_uid != as.uid) {
      return Status::FailedPrecondition(
          "the postgres user cannot reach " + dir + ": " + p.string() +
          " is not searchable by others (chmod o+x it, or choose another --data-dir)");
    }
  }
  return Status::Ok();
}

// The server's command line. `options.data_dir` is the cluster directory,
// which also holds the socket; nothing listens on TCP.
std::vector<std::string> ServerArgv(const EmbeddedPostgresOptions& options) {
  std::vector<std::string> argv = {options.bin_dir + "/postgres",
                                   "-D",
                                   options.data_dir,
                                   "-p",
                                   std::to_string(options.port),
                                   "-c",
                                   "listen_addresses=",
                                   "-c",
                                   "unix_socket_directories=" + options.data_dir,
                                   "-c",
                                   "unix_socket_permissions=0700",
                                   "-c",
                                   "max_connections=64"};
  // Nothing replicates or archives this cluster. With minimal WAL, a replay's
  // COPY into tables emptied in the same transaction skips the WAL; the files
  // are synced at commit instead (1 010 000-event replay: build 1.43 -> 1.03 s).
  for (const char* setting : {"wal_level=minimal", "max_wal_senders=0"}) {
    argv.emplace_back("-c");
    argv.emplace_back(setting);
  }
  if (!options.durable) {
    for (const char* setting : {"fsync=off", "synchronous_commit=off", "full_page_writes=off"}) {
      argv.emplace_back("-c");
      argv.emplace_back(setting);
    }
  }
  return argv;
}

}  // namespace

Result<std::unique_ptr<EmbeddedPostgres>> EmbeddedPostgres::Start(
    const EmbeddedPostgresOptions& options) {
  LEDGER_ASSIGN_OR_RETURN(const std::string parent, ResolveDataDir(options));
  EmbeddedPostgresOptions opts = options;
  LEDGER_ASSIGN_OR_RETURN(opts.bin_dir, FindBinDir(options.bin_dir));
  LEDGER_ASSIGN_OR_RETURN(const RunAs as, DecideUser());
  LEDGER_RETURN_IF_ERROR(PrepareDataDir(parent, as));
  // The cluster lives in data_dir/cluster, so that data_dir can hold the
  // initdb log beside it; the socket goes into data_dir/cluster too.
  opts.data_dir = parent + "/cluster";
  LEDGER_RETURN_IF_ERROR(
      InitdbOnFirstUse(opts.bin_dir, opts.data_dir, parent + "/initdb.log", as, opts.durable));

  std::unique_ptr<EmbeddedPostgres> server(new EmbeddedPostgres(opts));
  const std::string log = parent + "/postgres.log";
  // SIGINT is PostgreSQL's fast shutdown: if this process dies, so does the server.
  LEDGER_ASSIGN_OR_RETURN(server->pid_, Spawn(ServerArgv(opts), as, log, SIGINT));
  LEDGER_RETURN_IF_ERROR(server->AwaitConnections(log));
  return server;
}

Status EmbeddedPostgres::AwaitConnections(const std::string& log) {
  const std::string conninfo = ConnectionString("postgres");
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.start_timeout_ms);
  while (true) {
    if (PQping(conninfo.c_str()) == PQPING_OK) return Status::Ok();
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return Status::Unavailable("the embedded PostgreSQL exited during start-up:\n" +
                                 LogTail(log));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      (void)Stop();
      return Status::Unavailable("the embedded PostgreSQL did not accept connections within " +
                                 std::to_string(options_.start_timeout_ms) + " ms:\n" +
                                 LogTail(log));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

EmbeddedPostgres::~EmbeddedPostgres() { (void)Stop(); }

Status EmbeddedPostgres::Stop() {
  if (pid_ <= 0) return Status::Ok();
  const pid_t pid = pid_;
  pid_ = -1;
  kill(pid, SIGINT);  // fast shutdown
  auto status = WaitFor(pid, kStopTimeout);
  if (!status) {
    kill(pid, SIGQUIT);  // immediate shutdown
    status = WaitFor(pid, std::chrono::seconds(5));
    if (!status) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    return Status::IOError("the embedded PostgreSQL did not stop within " +
                           std::to_string(kStopTimeout.count()) + " s and was killed");
  }
  return Status::Ok();
}

namespace {

std::string SocketConnectionString(const std::string& socket_dir, int port,
                                   const std::string& database) {
  return "host=" + socket_dir + " port=" + std::to_string(port) +
         " user=postgres dbname=" + database + " connect_timeout=5";
}

}  // namespace

std::optional<std::string> EmbeddedPostgres::RunningAt(const EmbeddedPostgresOptions& options,
                                                       const std::string& database) {
  std::error_code ec;
  std::string parent = fs::absolute(options.data_dir, ec).lexically_normal().string();
  if (ec || parent.empty()) return std::nullopt;
  if (parent.back() == '/') parent.pop_back();
  std::string conninfo = SocketConnectionString(parent + "/cluster", options.port, database);
  if (PQping(conninfo.c_str()) != PQPING_OK) return std::nullopt;
  return conninfo;
}

std::string EmbeddedPostgres::ConnectionString(const std::string& database) const {
  return SocketConnectionString(options_.data_dir, options_.port, database);
}

}  // namespace ledger::projections
