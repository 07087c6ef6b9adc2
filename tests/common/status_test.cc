#include "common/status.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "common/check.h"
#include "common/result.h"
#include "support/status_matchers.h"

namespace ledger {
namespace {

using Code = Status::Code;

TEST(StatusTest, DefaultIsOk) {
  const Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), Code::kOk);
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_TRUE(Status::Ok().ok());
}

TEST(StatusTest, FactoriesSetCodeAndMessage) {
  const std::vector<std::pair<Status, Code>> cases = {
      {Status::InvalidArgument("m"), Code::kInvalidArgument},
      {Status::NotFound("m"), Code::kNotFound},
      {Status::Corruption("m"), Code::kCorruption},
      {Status::IOError("m"), Code::kIOError},
      {Status::Unavailable("m"), Code::kUnavailable},
      {Status::FailedPrecondition("m"), Code::kFailedPrecondition},
      {Status::ResourceExhausted("m"), Code::kResourceExhausted},
      {Status::Internal("m"), Code::kInternal},
      {Status::Cancelled("m"), Code::kCancelled},
  };
  for (const auto& [status, code] : cases) {
    EXPECT_FALSE(status.ok()) << CodeName(code);
    EXPECT_EQ(status.code(), code);
    EXPECT_EQ(status.message(), "m");
  }
}

TEST(StatusTest, CodeNamesAreStable) {
  EXPECT_EQ(CodeName(Code::kOk), "OK");
  EXPECT_EQ(CodeName(Code::kInvalidArgument), "InvalidArgument");
  EXPECT_EQ(CodeName(Code::kNotFound), "NotFound");
  EXPECT_EQ(CodeName(Code::kCorruption), "Corruption");
  EXPECT_EQ(CodeName(Code::kIOError), "IOError");
  EXPECT_EQ(CodeName(Code::kUnavailable), "Unavailable");
  EXPECT_EQ(CodeName(Code::kFailedPrecondition), "FailedPrecondition");
  EXPECT_EQ(CodeName(Code::kResourceExhausted), "ResourceExhausted");
  EXPECT_EQ(CodeName(Code::kInternal), "Internal");
  EXPECT_EQ(CodeName(Code::kCancelled), "Cancelled");
}

TEST(StatusTest, ToStringJoinsCodeNameAndMessage) {
  EXPECT_EQ(Status::Corruption("event at position 7: hash mismatch").ToString(),
            "Corruption: event at position 7: hash mismatch");
  EXPECT_EQ(Status::IOError("").ToString(), "IOError: ");
}

TEST(StatusTest, WithContextPrefixesMessageAndKeepsCode) {
  const Status s = Status::NotFound("no such post").WithContext("edit 42");
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_EQ(s.message(), "edit 42: no such post");
  EXPECT_EQ(s.WithContext("request r1").ToString(), "NotFound: request r1: edit 42: no such post");
}

TEST(StatusTest, WithContextOnOkStaysOk) {
  const Status s = Status::Ok().WithContext("anything");
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(StatusTest, WithContextLeavesOriginalUnchanged) {
  const Status original = Status::Unavailable("database down");
  const Status wrapped = original.WithContext("projector");
  EXPECT_EQ(original.message(), "database down");
  EXPECT_EQ(wrapped.message(), "projector: database down");
}

Status FailsAt(int step, int* reached) {
  const auto stage = [&](int i) {
    *reached = i;
    return i == step ? Status::IOError("step " + std::to_string(i)) : Status::Ok();
  };
  LEDGER_RETURN_IF_ERROR(stage(1));
  LEDGER_RETURN_IF_ERROR(stage(2));
  LEDGER_RETURN_IF_ERROR(stage(3));
  return Status::Ok();
}

TEST(StatusTest, ReturnIfErrorStopsAtFirstFailure) {
  int reached = 0;
  const Status s = FailsAt(2, &reached);
  EXPECT_EQ(s.code(), Code::kIOError);
  EXPECT_EQ(s.message(), "step 2");
  EXPECT_EQ(reached, 2);
}

TEST(StatusTest, ReturnIfErrorPassesThroughOk) {
  int reached = 0;
  EXPECT_OK(FailsAt(0, &reached));
  EXPECT_EQ(reached, 3);
}

TEST(ResultTest, HoldsValue) {
  Result<int> r = 7;
  ASSERT_TRUE(r.ok());
  EXPECT_OK(r);
  EXPECT_EQ(r.status().code(), Code::kOk);
  EXPECT_EQ(r.value(), 7);
  EXPECT_EQ(*r, 7);
  r.value() = 8;
  EXPECT_EQ(*r, 8);
}

TEST(ResultTest, ArrowReachesMembers) {
  const Result<std::string> r = std::string("ledger");
  EXPECT_EQ(r->size(), 6u);
}

TEST(ResultTest, HoldsError) {
  const Result<int> r = Status::NotFound("post 9");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_EQ(r.status().message(), "post 9");
}

TEST(ResultTest, MovesOutMoveOnlyValue) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(5);
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 5);
}

Result<int> Half(int x) {
  if (x % 2 != 0) {
    return Status::InvalidArgument(std::to_string(x) + " is odd");
  }
  return x / 2;
}

// Two LEDGER_ASSIGN_OR_RETURN in one scope must not collide.
Result<int> Quarter(int x) {
  LEDGER_ASSIGN_OR_RETURN(const int half, Half(x));
  LEDGER_ASSIGN_OR_RETURN(const int quarter, Half(half));
  return quarter;
}

TEST(ResultTest, AssignOrReturnAssignsValues) {
  const Result<int> r = Quarter(12);
  ASSERT_OK(r);
  EXPECT_EQ(*r, 3);
}

TEST(ResultTest, AssignOrReturnReturnsFirstError) {
  const Result<int> r = Quarter(6);  // 6 -> 3 -> odd
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "3 is odd");
}

Result<std::string> Describe(int x) {
  if (x <= 0) {
    return Status::InvalidArgument("not positive");
  }
  return std::string("positive");
}

// The macro also assigns into a variable declared earlier.
Status AssignIntoExisting(int x, std::string* out) {
  std::string text = "unchanged";
  LEDGER_ASSIGN_OR_RETURN(text, Describe(x));
  *out = text;
  return Status::Ok();
}

TEST(ResultTest, AssignOrReturnAssignsExistingVariable) {
  std::string out;
  EXPECT_OK(AssignIntoExisting(1, &out));
  EXPECT_EQ(out, "positive");
  out = "untouched";
  const Status s = AssignIntoExisting(0, &out);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(out, "untouched");
}

// A layer with richer failures (the API's problem details) uses its own
// error type through the same Result.
struct Refusal {
  int status = 0;
  std::string why;
};

Result<int, Refusal> ParsePositive(int x) {
  if (x <= 0) return Refusal{422, "not positive"};
  return x;
}

TEST(ResultTest, CarriesAnotherErrorType) {
  const Result<int, Refusal> good = ParsePositive(3);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 3);
  const Result<int, Refusal> bad = ParsePositive(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().status, 422);
  EXPECT_EQ(bad.error().why, "not positive");
}

TEST(ResultTest, VoidResultIsOkOrAnError) {
  const Result<void, Refusal> fine;
  EXPECT_TRUE(fine.ok());
  const Result<void, Refusal> refused = Refusal{415, "not JSON"};
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().status, 415);
}

TEST(CheckDeathTest, ErrorOfValueResultAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const Result<int, Refusal> r = 5;
  EXPECT_DEATH(static_cast<void>(r.error()),
               "LEDGER_CHECK failed: .*error\\(\\) of a Result that holds a value");
}

TEST(CheckDeathTest, ValueOfErrorResultAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const Result<int> r = Status::Corruption("bad");
  EXPECT_DEATH(static_cast<void>(r.value()),
               "LEDGER_CHECK failed: .*value\\(\\) of an error Result");
}

TEST(CheckDeathTest, DereferenceOfErrorResultAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Result<std::string> r = Status::IOError("disk");
  EXPECT_DEATH(static_cast<void>(r->size()), "value\\(\\) of an error Result");
  EXPECT_DEATH(static_cast<void>(std::move(r).value()), "value\\(\\) of an error Result");
}

TEST(CheckDeathTest, ResultFromOkStatusAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(static_cast<void>(Result<int>(Status::Ok())), "Result built from an OK status");
}

TEST(CheckDeathTest, FailedCheckNamesConditionAndMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const int balance = -1;
  EXPECT_DEATH(LEDGER_CHECK(balance >= 0, "balance went negative"),
               "status_test\\.cc:[0-9]+: LEDGER_CHECK failed: balance >= 0: balance went negative");
}

TEST(CheckTest, PassingCheckDoesNothing) {
  int evaluated = 0;
  LEDGER_CHECK(++evaluated == 1, "evaluated once");
  EXPECT_EQ(evaluated, 1);
}

}  // namespace
}  // namespace ledger
