#pragma once

#include <exception>
#include <string>

#include <pqxx/except>

namespace ledger::projections {

template <typename Fn>
Status Guard(std::string_view what, Fn&& fn) {
  try {
    return fn();
  } catch (const pqxx::broken_connection& e) {
    return Status::Unavailable(std::string(what) + ": database connection lost: " + e.what());
  } catch (const pqxx::in_doubt_error& e) {
    // The connection died during COMMIT: whether it took effect is unknown.
    // Callers that keep a checkpoint in the same transaction re-read it.
    return Status::Unavailable(std::string(what) + ": outcome of commit unknown: " + e.what());
  } catch (const pqxx::sql_error& e) {
    // Class 08 (connection exception) and 57 (operator intervention: query
    // canceled, admin or crash shutdown, cannot connect now) mean "retry later".
    const std::string& state = e.sqlstate();
    if (state.rfind("08", 0) == 0 || state.rfind("57", 0) == 0) {
      return Status::Unavailable(std::string(what) + ": " + e.what());
    }
    return Status::Internal(std::string(what) + ": SQL error: " + e.what() +
                            " (query: " + e.query().substr(0, 200) + ")");
  } catch (const std::exception& e) {
    return Status::Internal(std::string(what) + ": " + e.what());
  }
}

}  // namespace ledger::projections
