#pragma once

// A RocksDB file system that can be told the disk is full: while it is, every
// write, sync and file creation fails with IOStatus::NoSpace() and the free
// space reads 0, as on a real full disk; reads always work. Tests run the log
// on it through RocksLogOptions::env (NewDiskFullEnv).

#include <atomic>
#include <memory>
#include <string>

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <unistd.h>

namespace ledger::testing {

// What a full disk refuses. kSyncOnly lets appends reach the file (the page
// cache) and fails only their fsync: the record is in the WAL file but was
// never acknowledged.
enum class DiskFull { kNo, kEverything, kSyncOnly };

class DiskFullFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  DiskFullFileSystem() : rocksdb::FileSystemWrapper(rocksdb::FileSystem::Default()) {}

  void Set(DiskFull state) { state_.store(state, std::memory_order_release); }
  DiskFull state() const { return state_.load(std::memory_order_acquire); }
  // Operations refused so far.
  int refused() const { return refused_.load(std::memory_order_relaxed); }
  // For crash tests: the process ends at once (_exit(0), leaving the files
  // as kill -9 would) when the `n`-th table file from now is about to be
  // created, so a flush of several column families stops between two of
  // them.
  void ExitAtTableFile(int n) { exit_at_table_.store(n, std::memory_order_release); }

  const char* Name() const override { return "DiskFullFileSystem"; }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    if (state() == DiskFull::kEverything) return Refuse();
    if (name.ends_with(".sst") && exit_at_table_.load(std::memory_order_acquire) > 0 &&
        exit_at_table_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      _exit(0);
    }
    std::unique_ptr<rocksdb::FSWritableFile> file;
    rocksdb::IOStatus s = target()->NewWritableFile(name, options, &file, dbg);
    if (s.ok()) *result = std::make_unique<File>(std::move(file), this);
    return s;
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override {
    if (state() == DiskFull::kEverything) return Refuse();
    std::unique_ptr<rocksdb::FSWritableFile> file;
    rocksdb::IOStatus s = target()->ReopenWritableFile(name, options, &file, dbg);
    if (s.ok()) *result = std::make_unique<File>(std::move(file), this);
    return s;
  }
  rocksdb::IOStatus GetFreeSpace(const std::string& path, const rocksdb::IOOptions& options,
                                 uint64_t* free_bytes, rocksdb::IODebugContext* dbg) override {
    if (state() != DiskFull::kNo) {
      *free_bytes = 0;
      return rocksdb::IOStatus::OK();
    }
    return target()->GetFreeSpace(path, options, free_bytes, dbg);
  }

 private:
  class File final : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile> file, DiskFullFileSystem* fs)
        : rocksdb::FSWritableFileOwnerWrapper(std::move(file)), fs_(fs) {}

    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override {
      if (fs_->state() == DiskFull::kEverything) return fs_->Refuse();
      return FSWritableFileOwnerWrapper::Append(data, options, dbg);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             const rocksdb::DataVerificationInfo& info,
                             rocksdb::IODebugContext* dbg) override {
      if (fs_->state() == DiskFull::kEverything) return fs_->Refuse();
      return FSWritableFileOwnerWrapper::Append(data, options, info, dbg);
    }
    rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                       const rocksdb::IOOptions& options,
                                       rocksdb::IODebugContext* dbg) override {
      if (fs_->state() == DiskFull::kEverything) return fs_->Refuse();
      return FSWritableFileOwnerWrapper::PositionedAppend(data, offset, options, dbg);
    }
    rocksdb::IOStatus Flush(const rocksdb::IOOptions& options,
                            rocksdb::IODebugContext* dbg) override {
      if (fs_->state() == DiskFull::kEverything) return fs_->Refuse();
      return FSWritableFileOwnerWrapper::Flush(options, dbg);
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
      if (fs_->state() != DiskFull::kNo) return fs_->Refuse();
      return FSWritableFileOwnerWrapper::Sync(options, dbg);
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                            rocksdb::IODebugContext* dbg) override {
      if (fs_->state() != DiskFull::kNo) return fs_->Refuse();
      return FSWritableFileOwnerWrapper::Fsync(options, dbg);
    }
    rocksdb::IOStatus RangeSync(uint64_t offset, uint64_t bytes, const rocksdb::IOOptions& options,
                                rocksdb::IODebugContext* dbg) override {
      if (fs_->state() != DiskFull::kNo) return fs_->Refuse();
      return FSWritableFileOwnerWrapper::RangeSync(offset, bytes, options, dbg);
    }

   private:
    DiskFullFileSystem* const fs_;
  };

  rocksdb::IOStatus Refuse() {
    refused_.fetch_add(1, std::memory_order_relaxed);
    return rocksdb::IOStatus::NoSpace("injected: the disk is full");
  }

  std::atomic<DiskFull> state_{DiskFull::kNo};
  std::atomic<int> refused_{0};
  std::atomic<int> exit_at_table_{0};
};

// An Env running on `fs` (RocksLogOptions::env).
inline std::shared_ptr<rocksdb::Env> NewDiskFullEnv(const std::shared_ptr<DiskFullFileSystem>& fs) {
  return std::shared_ptr<rocksdb::Env>(rocksdb::NewCompositeEnv(fs));
}

}  // namespace ledger::testing
