#pragma once

#include <gtest/gtest.h>

#include "common/result.h"
#include "common/status.h"

namespace ledger::testing {

inline const Status& ToStatus(const Status& s) { return s; }
template <typename T>
const Status& ToStatus(const Result<T>& r) {
  return r.status();
}

}  // namespace ledger::testing

// Print the whole Status on failure, like RocksDB's ASSERT_OK. `expr` is
// evaluated once.
#define ASSERT_OK(expr)                                                   \
  do {                                                                    \
    const ::ledger::Status ledger_s_ = ::ledger::testing::ToStatus(expr); \
    ASSERT_TRUE(ledger_s_.ok()) << ledger_s_.ToString();                  \
  } while (false)
#define EXPECT_OK(expr)                                                   \
  do {                                                                    \
    const ::ledger::Status ledger_s_ = ::ledger::testing::ToStatus(expr); \
    EXPECT_TRUE(ledger_s_.ok()) << ledger_s_.ToString();                  \
  } while (false)
