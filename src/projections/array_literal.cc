#include "projections/array_literal.h"

#include "common/check.h"

namespace ledger::projections {

void ArrayLiteral::Separate() {
  if (size_ > 0) text_ += ',';
  ++size_;
}

void ArrayLiteral::Add(int64_t value) {
  Separate();
  text_ += std::to_string(value);
}

void ArrayLiteral::Add(std::string_view value) {
  LEDGER_CHECK(value.find('\0') == std::string_view::npos, "text for PostgreSQL has no NUL");
  Separate();
  text_ += '"';
  for (const char c : value) {
    if (c == '"' || c == '\\') text_ += '\\';
    text_ += c;
  }
  text_ += '"';
}

void ArrayLiteral::AddNull() {
  Separate();
  text_ += "NULL";
}

}  // namespace ledger::projections
