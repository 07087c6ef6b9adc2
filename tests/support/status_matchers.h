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

// The error of `r`, which the test expects to have failed: when it holds a
// value instead, that is a test failure and the answer is E{}.
template <typename T, typename E>
E ErrorOf(const Result<T, E>& r) {
  EXPECT_FALSE(r.ok()) << "expected an error";
  return r.ok() ? E{} : r.error();
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
