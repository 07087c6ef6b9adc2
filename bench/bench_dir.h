#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace ledger::bench {

// A scratch directory on the disk under test ($LEDGER_BENCH_DIR, else
// $TMPDIR, else /tmp), removed afterwards. fsync numbers are only meaningful
// on a real disk, not tmpfs.
class BenchDir {
 public:
  BenchDir() {
    const char* base = std::getenv("LEDGER_BENCH_DIR");
    if (base == nullptr || *base == '\0') base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                          "/funding-ledger-bench-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~BenchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  BenchDir(const BenchDir&) = delete;
  BenchDir& operator=(const BenchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace ledger::bench
