#include "support/temp_dir.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "common/check.h"

namespace ledger::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/funding-ledger-test-XXXXXX";
  LEDGER_CHECK(mkdtemp(pattern.data()) != nullptr, "mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace ledger::testing
