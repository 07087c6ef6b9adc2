#pragma once

// The API's handlers over the service's real parts: a RocksDB log in a
// temporary directory, the sequencer, the worker pools, the projector and
// the queries over a fresh PostgreSQL database. Handlers are called directly
// with a Request (no socket), and their answer, which may come from another
// thread, is awaited.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "api/context.h"
#include "api/position_waiter.h"
#include "api/stream_hub.h"
#include "commands/sequencer.h"
#include "common/clock.h"
#include "common/time_zone.h"
#include "events/rocks_log.h"
#include "http/message.h"
#include "http/metrics.h"
#include "http/worker_pool.h"
#include "pg_fixture.h"
#include "projections/connection_pool.h"
#include "projections/projector.h"
#include "projections/queries.h"
#include "support/fault_file_system.h"
#include "support/temp_dir.h"

namespace ledger::api::testing {

using HandlerFn = void (*)(const ApiContext&, const http::Request&, const http::Respond&);

// A create body: one post, ending 2026-12-31.
inline constexpr std::string_view kPostBody =
    R"({"title":"내 취미 만들기","uploader":"Alice","description":"hobby kits",)"
    R"("target_amount":1000000,"funding_unit":1000,"end_date":"2026-12-31"})";

inline constexpr size_t kFixtureMaxStreams = 4;

class ApiFixture : public projections::testing::PgTest {
 protected:
  ApiFixture();
  void SetUp() override;
  void TearDown() override;

  // Calls `handler` with `request` and waits (bounded) for its answer.
  http::Response Call(HandlerFn handler, http::Request request);

  // A request as the router hands it over: header names lower-case, the
  // route's {id} in path_params when `id` is given.
  static http::Request Req(std::string method, std::string path, std::string body = "",
                           std::vector<std::pair<std::string, std::string>> headers = {},
                           std::optional<std::string> id = std::nullopt, std::string query = "");
  // "Bearer <token>" for user `sub`, valid at the fixture's clock.
  std::string Bearer(std::string_view sub) const;
  // Creates one post as alice through the sequencer; returns its position.
  int64_t CreatePost();
  // Funds post `id` as `backer` through the sequencer; returns its position.
  int64_t Fund(int64_t id, std::string backer = "bob");
  // Waits (bounded) until the read tables hold the log head.
  void WaitProjected();

  static std::optional<std::string> HeaderOf(const http::Response& r, std::string_view name);

  ManualClock clock_;
  TimeZone zone_;
  ledger::testing::TempDir dir_;
  // The log's file system: the real one, until a test says the disk is full.
  std::shared_ptr<ledger::testing::DiskFullFileSystem> disk_ =
      std::make_shared<ledger::testing::DiskFullFileSystem>();
  std::unique_ptr<events::RocksEventLog> log_;
  std::shared_ptr<commands::Sequencer> sequencer_;
  SequencerSlot sequencers_;
  std::unique_ptr<projections::Projector> projector_;
  std::unique_ptr<projections::ConnectionPool> pool_;
  std::unique_ptr<projections::QueryService> queries_;
  std::unique_ptr<http::WorkerPool> workers_;
  std::unique_ptr<http::WorkerPool> answers_;
  std::unique_ptr<PositionWaiter> waiter_;
  // Polls the log every 10 ms and hears of projected positions; at most
  // kFixtureMaxStreams streams.
  std::unique_ptr<StreamHub> streams_;
  http::HttpMetrics metrics_;
  ApiContext context_;
};

}  // namespace ledger::api::testing
