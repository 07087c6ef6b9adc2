#include "events/backup.h"

#include <chrono>
#include <filesystem>

#include <fcntl.h>
#include <unistd.h>

namespace ledger::events {
namespace {

namespace fs = std::filesystem;

// Makes a rename in `dir` durable.
Status SyncDirectory(const std::string& dir) {
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::IOError("opening " + dir + " to sync it");
  const bool synced = fsync(fd) == 0;
  close(fd);
  if (!synced) return Status::IOError("syncing " + dir);
  return Status::Ok();
}

// Removes a partial copy when it goes out of scope, unless released.
class PartialCopy {
 public:
  explicit PartialCopy(std::string path) : path_(std::move(path)) {}
  ~PartialCopy() {
    if (!path_.empty()) {
      std::error_code ec;
      fs::remove_all(path_, ec);
    }
  }
  PartialCopy(const PartialCopy&) = delete;
  PartialCopy& operator=(const PartialCopy&) = delete;
  void Release() { path_.clear(); }

 private:
  std::string path_;
};

}  // namespace

Result<BackupReport> WriteCheckedCopy(const std::string& dir, const CopyWriter& write, int attempts,
                                      const BackupOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  std::error_code ec;
  const fs::path target = fs::absolute(dir, ec);
  if (ec) return Status::InvalidArgument("backup directory " + dir + ": " + ec.message());
  if (fs::exists(target, ec)) {
    return Status::InvalidArgument("backup directory " + dir +
                                   " exists: a backup never writes over anything");
  }
  const fs::path parent = target.parent_path();
  if (!fs::is_directory(parent, ec)) {
    return Status::InvalidArgument("the parent of the backup directory, " + parent.string() +
                                   ", is not a directory");
  }
  // Next to the target, so that the final rename stays in one file system.
  const std::string partial = target.string() + ".partial-" + std::to_string(getpid());

  BackupReport report;
  for (report.attempts = 1; report.attempts <= attempts; ++report.attempts) {
    fs::remove_all(partial, ec);
    PartialCopy cleanup(partial);
    LEDGER_ASSIGN_OR_RETURN(const LogHead seen, write(partial));
    LogHead copied;
    int64_t checked = 0;
    {
      RocksLogOptions read_only;
      read_only.read_only = true;
      LEDGER_ASSIGN_OR_RETURN(auto copy, RocksEventLog::Open(partial, read_only));
      copied = copy->Head();
      if (copied.position < seen.position) continue;  // short (a missed flush): again
      std::function<void(int64_t)> progress;
      if (options.progress) {
        progress = [&options, &copied](int64_t done) { options.progress(done, copied.position); };
      }
      LEDGER_ASSIGN_OR_RETURN(const ChainCheck chain,
                              VerifyLogChain(*copy, 1, copied.position, progress));
      if (options.stop && options.stop()) {
        return Status::Cancelled("backup stopped; nothing was written to " + dir);
      }
      if (!chain.ok) {
        return Status::Corruption("the copy's hash chain is broken at position " +
                                  std::to_string(chain.first_bad_position) + ": " + chain.problem);
      }
      checked = chain.events_checked;
    }
    fs::rename(partial, target, ec);
    if (ec) {
      std::string message = "renaming " + partial;
      message += " to " + dir + ": " + ec.message();
      return Status::IOError(std::move(message));
    }
    cleanup.Release();
    LEDGER_RETURN_IF_ERROR(SyncDirectory(parent.string()));
    report.head = copied;
    report.events_checked = checked;
    report.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return report;
  }
  return Status::Unavailable("every one of " + std::to_string(attempts) +
                             " copies of the log was short of its head: the service is "
                             "flushing too often; try again");
}

Result<BackupReport> BackupLog(RocksEventLog& log, const std::string& dir,
                               const BackupOptions& options) {
  return WriteCheckedCopy(
      dir,
      [&log](const std::string& partial) -> Result<LogHead> {
        LEDGER_ASSIGN_OR_RETURN(const LogHead seen, log.CatchUp());
        LEDGER_RETURN_IF_ERROR(log.Checkpoint(partial));
        return seen;
      },
      kBackupAttempts, options);
}

}  // namespace ledger::events
