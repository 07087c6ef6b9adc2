#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace ledger {

// Operational outcome of a call that can fail for reasons outside the caller's
// control (disk, database, network, malformed outside input). Business
// rejections are not Statuses: they are enum values of the command layer.
//
// Codes follow Abseil's guidance on meaning:
//   kInvalidArgument    the input itself is malformed; retrying will not help
//   kNotFound           the thing asked for does not exist
//   kCorruption         stored bytes are not what was written (checksum, hash)
//   kIOError            the operating system or storage engine failed
//   kUnavailable        try again later (overload, shutting down, database down)
//   kFailedPrecondition the system is not in a state where this can run
//   kResourceExhausted  a named limit was hit
//   kInternal           a bug; should never be seen
//   kCancelled          the caller asked the work to stop (an interrupt)
class [[nodiscard]] Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,
    kNotFound,
    kCorruption,
    kIOError,
    kUnavailable,
    kFailedPrecondition,
    kResourceExhausted,
    kInternal,
    kCancelled,
  };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg) {
    return {Code::kInvalidArgument, std::move(msg)};
  }
  static Status NotFound(std::string msg) { return {Code::kNotFound, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {Code::kCorruption, std::move(msg)}; }
  static Status IOError(std::string msg) { return {Code::kIOError, std::move(msg)}; }
  static Status Unavailable(std::string msg) { return {Code::kUnavailable, std::move(msg)}; }
  static Status FailedPrecondition(std::string msg) {
    return {Code::kFailedPrecondition, std::move(msg)};
  }
  static Status ResourceExhausted(std::string msg) {
    return {Code::kResourceExhausted, std::move(msg)};
  }
  static Status Internal(std::string msg) { return {Code::kInternal, std::move(msg)}; }
  static Status Cancelled(std::string msg) { return {Code::kCancelled, std::move(msg)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "Corruption: event at position 7: hash mismatch"
  std::string ToString() const;

  // Returns a copy whose message is "context: message"; the code is kept.
  Status WithContext(std::string_view context) const;

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}

  Code code_ = Code::kOk;
  std::string message_;
};

std::string_view CodeName(Status::Code code);

}  // namespace ledger

// Returns early from the enclosing function when `expr` is not OK.
#define LEDGER_RETURN_IF_ERROR(expr)          \
  do {                                        \
    ::ledger::Status ledger_status_ = (expr); \
    if (!ledger_status_.ok()) {               \
      return ledger_status_;                  \
    }                                         \
  } while (false)
