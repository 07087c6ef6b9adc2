#pragma once

// Helpers shared by the end-to-end test programs: the recorder of answers for
// the OpenAPI check (check_responses.mjs), tokens, and JSON and problem
// parsing.

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <rapidjson/document.h>

#include "http_client.h"
#include "projections/embedded_postgres.h"
#include "server_process.h"

namespace ledger::e2e {

// The JWT secret every end-to-end server is started with.
inline constexpr char kSecret[] = "e2e-secret-e2e-secret-e2e-secret";

// Appends each answer as one NDJSON line to $FUNDING_LEDGER_E2E_RESPONSES,
// which e2e_responses_match_openapi then checks against schemas/openapi.json.
// `route` is the OpenAPI path template, or "unmatched" for a request that
// matched no route.
class Recorder {
 public:
  static Recorder& Get();
  void Add(const std::string& method, const std::string& route, const HttpResponse& r);

 private:
  std::mutex mu_;
};

// One request to `server` on a fresh connection, its answer recorded under
// `route`. A body is sent as application/json. No answer is a failed
// expectation (with the server's log) and an empty response.
HttpResponse Call(const ServerProcess& server, const std::string& method, const std::string& target,
                  const std::string& route, const std::string& body = "", Headers headers = {});

// An HS256 token for `sub` signed with kSecret, issued now (the test's clock).
std::string Token(const std::string& sub, std::chrono::seconds ttl = std::chrono::hours(1));

// Parses a JSON body (a failed expectation when it is not JSON).
rapidjson::Document Parse(const std::string& body);

// The problem name of a problem+json answer ("" when it is none).
std::string ProblemName(const HttpResponse& r);

// The value of the sample `series` in Prometheus text `exposition`: the
// metric name with its labels exactly as the server writes them, e.g.
// `ledger_ready` or `http_requests_total{method="GET",route="/readyz",status="200"}`.
// nullopt when there is no such sample.
std::optional<double> MetricSample(const std::string& exposition, const std::string& series);
// GET /metrics from `server` (recorded; a failed expectation unless 200),
// then MetricSample of its body.
std::optional<double> ScrapeSample(const ServerProcess& server, const std::string& series);

// libfaketime's multi-threading variant (Debian package libfaketime, pulled
// in by faketime), or nullopt when it is not installed.
std::optional<std::string> FindLibFaketime();

// Starts a PostgreSQL cluster of the test's own in `data_dir` (fsync on when
// `durable`); null, and a failed expectation, when it does not start.
std::unique_ptr<projections::EmbeddedPostgres> StartPostgres(const std::string& data_dir,
                                                             bool durable);

}  // namespace ledger::e2e
