#pragma once

#include <string_view>

namespace ledger::projections {

// The live read schema. A replay builds a fresh schema and swaps it in under
// this name. (Its own header so that users of queries, replay and verify do
// not pull in pqxx.)
inline constexpr std::string_view kReadSchema = "ledger_read";

}  // namespace ledger::projections
