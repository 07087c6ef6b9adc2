#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ledger::projections {

// Builds the text form of a one-dimensional PostgreSQL array ("{1,2,3}",
// {"a","b\"c"}), to pass a whole column of a batch as one parameter:
//
//   INSERT INTO t (a, b) SELECT * FROM unnest($1::bigint[], $2::text[])
//
// One parameter per column instead of a literal per cell keeps the statement
// text fixed: the server parses and plans a short statement, not ten thousand
// VALUES rows (measured on 10 000 backer rows: 105 ms with VALUES, 58 ms with
// unnest). Values travel as parameters, never inside the SQL text.
class ArrayLiteral {
 public:
  void Add(int64_t value);
  // Any text: quoted and escaped, so "NULL", braces, commas, quotes and
  // backslashes arrive as themselves. REQUIRES: no NUL byte (PostgreSQL text
  // cannot hold one; the event rules refuse it before it reaches the log).
  void Add(std::string_view value);
  void AddNull();

  size_t size() const { return size_; }
  // The literal, closed.
  std::string Finish() const { return text_ + '}'; }

 private:
  void Separate();

  std::string text_ = std::string(1, '{');
  size_t size_ = 0;
};

}  // namespace ledger::projections
