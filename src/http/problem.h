#pragma once

// RFC 9457 problem details: every error the API gives. The names, their
// statuses and titles are the table of docs/api.md.

#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"

namespace ledger::http {

// One field that broke a rule: a JSON pointer into the body, or the name of a
// query parameter or header.
struct FieldError {
  std::string pointer;
  std::string parameter;
  std::string detail;
};

struct Problem {
  std::string name;  // the stable name: "validation_failed"
  int status = 500;
  std::string title;
  std::string detail;
  std::vector<FieldError> errors;
  HeaderList headers;  // Retry-After, WWW-Authenticate, Allow
  bool close = false;  // close the connection after the answer
};

// The problem `name` (one of docs/api.md's) with its status and title.
// REQUIRES: `name` is in the table (checked).
Problem MakeProblem(std::string_view name, std::string detail);

// "urn:funding-ledger:problem:<name>".
std::string ProblemType(std::string_view name);

// The application/problem+json answer to `request` (instance = its path,
// request_id = its id).
Response ToResponse(const Problem& problem, std::string_view path, std::string_view request_id);

// Every name of the table, for tests and the OpenAPI check.
const std::vector<std::string_view>& ProblemNames();

}  // namespace ledger::http
