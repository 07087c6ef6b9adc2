#pragma once

// The service's metrics beyond the HTTP front's own (metrics.h): the write
// side, the log, the projector, the read pool and queue, readiness, build
// information and the process. They are read from the modules' counters when
// /metrics is scraped, so the hot paths only ever bump atomic counters.
// docs/operations.md#monitoring lists every name.

#include <string_view>
#include <vector>

#include "api/context.h"
#include "commands/sequencer_metrics.h"
#include "common/histogram.h"
#include "events/event_log.h"
#include "http/metric_family.h"

namespace ledger::api {

// Every family above, read now. `c`'s sequencer, log, projector, queries,
// workers and clock must be set.
std::vector<http::MetricFamily> ServiceFamilies(const ApiContext& c);

// The families of the write side: ledger_commands_total,
// ledger_idempotency_hits_total, ledger_events_appended_total, the campaign
// lifecycle (settlements, refunds, cancellations, settlement lag and
// overdue), the group commit and fsync histograms, append failures and the
// sequencer queue.
std::vector<http::MetricFamily> WriteSideFamilies(const commands::SequencerMetrics& m);

// The log's own families: ledger_log_writable, ledger_log_write_failures_total
// (every cause from the start, at 0), ledger_log_resume_attempts_total,
// ledger_idempotency_records_purged_total and ledger_idempotency_records.
std::vector<http::MetricFamily> LogFamilies(bool writable, const events::LogStats& stats);

// ledger_build_info{version,revision} 1.
http::MetricFamily BuildInfoFamily(std::string_view version, std::string_view revision);

// The version and source revision compiled in.
std::string_view BuildVersion();
std::string_view BuildRevision();

}  // namespace ledger::api
