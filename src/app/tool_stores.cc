#include "app/tool_stores.h"

#include <cstdlib>
#include <filesystem>
#include <future>
#include <ostream>

#include <sys/stat.h>
#include <unistd.h>

#include "projections/pg_event_log.h"

namespace ledger::app {
namespace {

namespace fs = std::filesystem;

std::string RocksLogPath(const Config& config) { return config.data_dir + "/log"; }

}  // namespace

Result<std::unique_ptr<ToolLog>> ToolLog::Open(const Config& config, bool check_tail) {
  if (!config.log_url.empty()) {
    projections::PgLogOptions options;
    options.read_only = true;
    if (!check_tail) options.verify_tail_events = 0;
    std::unique_ptr<ToolLog> tool(new ToolLog());
    LEDGER_ASSIGN_OR_RETURN(auto log, projections::PgEventLog::Open(config.log_url, options));
    tool->pg_ = log.get();
    tool->log_ = std::move(log);
    return tool;
  }
  const std::string path = RocksLogPath(config);
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    return Status::NotFound("no event log in " + path + " (is --data-dir right?)");
  }
  std::string pattern = (fs::temp_directory_path(ec) / "funding-ledger-secondary-XXXXXX").string();
  if (ec) pattern = "/tmp/funding-ledger-secondary-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    return Status::IOError("creating a temporary directory " + pattern);
  }
  std::unique_ptr<ToolLog> tool(new ToolLog());
  tool->secondary_dir_ = pattern;
  events::RocksLogOptions options;
  options.secondary_dir = pattern;
  if (!check_tail) options.verify_tail_events = 0;
  LEDGER_ASSIGN_OR_RETURN(auto rocks, events::RocksEventLog::Open(path, options));
  tool->rocks_ = rocks.get();
  tool->log_ = std::move(rocks);
  return tool;
}

ToolLog::~ToolLog() {
  log_.reset();
  if (!secondary_dir_.empty()) {
    std::error_code ec;
    fs::remove_all(secondary_dir_, ec);
  }
}

Result<ReadSide> OpenReadSide(const Config& config, std::string_view command, bool create,
                              std::ostream& err) {
  ReadSide side;
  if (!config.database_url.empty()) {
    side.conninfo = config.database_url;
    return side;
  }
  projections::EmbeddedPostgresOptions pg;
  pg.data_dir = config.data_dir + "/pg";
  pg.durable = true;
  if (auto running = projections::EmbeddedPostgres::RunningAt(pg)) {
    side.conninfo = std::move(*running);
    return side;
  }
  std::error_code ec;
  if (!create && !fs::is_directory(pg.data_dir + "/cluster", ec)) {
    return Status::NotFound("no read-side database: " + pg.data_dir +
                            " holds no embedded PostgreSQL and no --database-url was given");
  }
  // As serve does: the embedded PostgreSQL runs as its own user and must
  // reach its folder.
  chmod(config.data_dir.c_str(), 0711);
  LEDGER_ASSIGN_OR_RETURN(side.started, projections::EmbeddedPostgres::Start(pg));
  side.conninfo = side.started->ConnectionString("postgres");
  err << "funding-ledger " << command << ": started the embedded PostgreSQL in " << pg.data_dir
      << " (the service is not running); it stops when " << command << " ends\n";
  return side;
}

Result<ToolStores> OpenToolStores(const Config& config, std::string_view command,
                                  bool create_read_side, std::ostream& err) {
  std::error_code ec;
  if (config.log_url.empty() && !fs::is_directory(RocksLogPath(config), ec)) {
    // Refused at once, before any cluster is started or created.
    return ToolLog::Open(config).status();
  }
  // The log on a thread of its own, the read side on this one: an embedded
  // PostgreSQL started here gets its stop signal when the thread that
  // started it ends (PR_SET_PDEATHSIG follows the thread, not the process),
  // so it must be one that lives as long as the command.
  std::future<Result<std::unique_ptr<ToolLog>>> opening =
      std::async(std::launch::async, [&config] { return ToolLog::Open(config); });
  Result<ReadSide> read_side = OpenReadSide(config, command, create_read_side, err);
  Result<std::unique_ptr<ToolLog>> log = opening.get();
  LEDGER_RETURN_IF_ERROR(log.status());
  LEDGER_RETURN_IF_ERROR(read_side.status());
  return ToolStores{std::move(log).value(), std::move(read_side).value()};
}

}  // namespace ledger::app
