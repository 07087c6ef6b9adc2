#include "api/service_metrics.h"

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>

#include "api/build_info.h"
#include "api/ops_handlers.h"
#include "api/stream_hub.h"
#include "http/process_metrics.h"

namespace ledger::api {

using http::AddSample;
using http::EmptyFamily;
using http::HistogramFamily;
using http::MetricFamily;
using http::MetricLabel;
using http::MetricType;
using http::OneValueFamily;
using http::ProcessFamilies;
using http::SampleThisProcess;
namespace {

MetricFamily Gauge(std::string_view name, std::string_view help, double value) {
  return OneValueFamily(name, help, MetricType::kGauge, value);
}

MetricFamily Counter(std::string_view name, std::string_view help, double value) {
  return OneValueFamily(name, help, MetricType::kCounter, value);
}

MetricLabel Label(std::string_view name, std::string_view value) {
  return MetricLabel{std::string(name), std::string(value)};
}

// A family with one sample per value of `label`, in the order given.
struct LabelledValue {
  std::string_view label_value;
  uint64_t value;
};
MetricFamily ByLabel(std::string_view name, std::string_view help, MetricType type,
                     std::string_view label, std::initializer_list<LabelledValue> samples) {
  MetricFamily family = EmptyFamily(name, help, type);
  for (const LabelledValue& sample : samples) {
    AddSample(family, static_cast<double>(sample.value), {Label(label, sample.label_value)});
  }
  return family;
}

// Age of the first event after the projector's checkpoint, 0 when there is
// none (caught up) or it cannot be read.
double ProjectorLagSeconds(const ApiContext& c, int64_t head, int64_t position) {
  const int64_t next = std::max<int64_t>(position, 0) + 1;
  if (next > head) return 0;
  std::vector<events::Event> first;
  if (!events::ReadEvents(*c.log, next, next, 1, &first).ok() || first.empty()) return 0;
  const auto age = c.clock->Now() - first.front().recorded_at;
  return std::max(0.0, std::chrono::duration<double>(age).count());
}

// The live streams: open, refused at the cap, events handed to clients, and
// streams the server ended, by reason.
void AddStreams(const StreamStats& s, const StreamOptions& options,
                std::vector<MetricFamily>& out) {
  out.push_back(
      Gauge("ledger_streams_open", "Event streams open now", static_cast<double>(s.open)));
  out.push_back(Gauge("ledger_streams_max", "Bound of open event streams (max-streams)",
                      static_cast<double>(options.max_streams)));
  out.push_back(Counter("ledger_streams_opened_total", "Event streams opened",
                        static_cast<double>(s.opened_total)));
  out.push_back(Counter("ledger_streams_refused_total",
                        "Event streams refused with 503 too_many_streams",
                        static_cast<double>(s.refused_total)));
  out.push_back(Counter("ledger_stream_events_sent_total",
                        "Ledger events handed to stream clients (one per event per stream)",
                        static_cast<double>(s.events_sent_total)));
  out.push_back(ByLabel("ledger_streams_cut_total",
                        "Event streams the server ended with event: cut, by reason",
                        MetricType::kCounter, "reason",
                        {{"slow_consumer", s.cut_slow_total},
                         {"shutting_down", s.cut_shutdown_total},
                         {"unavailable", s.cut_failed_total}}));
}

// The node's part in a cluster on a PostgreSQL log. A single node sequences
// for good: 1, epoch 0, nothing passed on.
void AddCluster(const ApiContext& c, std::vector<MetricFamily>& out) {
  const ClusterCounters& n = c.sequencers->counters;
  out.push_back(Gauge("ledger_cluster_sequencing",
                      "1 while this node sequences writes (holds the sequencer lease on a "
                      "cluster), else 0",
                      c.sequencers->Get() != nullptr ? 1 : 0));
  out.push_back(Gauge("ledger_cluster_lease_epoch",
                      "Epoch of the sequencer lease as this node last saw it (0 on a single node)",
                      static_cast<double>(n.lease_epoch.load(std::memory_order_relaxed))));
  MetricFamily changes =
      EmptyFamily("ledger_cluster_lease_changes_total",
                  "Times this node took the sequencer lease (taken) and lost or gave it up (lost)",
                  MetricType::kCounter);
  AddSample(changes, static_cast<double>(n.leases_taken.load(std::memory_order_relaxed)),
            {Label("change", "taken")});
  AddSample(changes, static_cast<double>(n.leases_lost.load(std::memory_order_relaxed)),
            {Label("change", "lost")});
  out.push_back(std::move(changes));
  out.push_back(Gauge("ledger_cluster_sync_standbys",
                      "Synchronous standbys streaming from the log's primary, as the sequencing "
                      "node last read them (-1: not known here)",
                      static_cast<double>(n.sync_standbys.load(std::memory_order_relaxed))));
  out.push_back(Gauge("ledger_cluster_standby_lag_bytes",
                      "Largest replay lag of a standby of the log's primary, in bytes of WAL, as "
                      "the sequencing node last read it (-1: not known here)",
                      static_cast<double>(n.standby_lag_bytes.load(std::memory_order_relaxed))));
  out.push_back(Gauge("ledger_cluster_forwards_in_flight",
                      "Writes passed on to the sequencing node and not yet answered",
                      c.forwarder != nullptr ? static_cast<double>(c.forwarder->in_flight()) : 0));
}

// The identity provider's keys (--jwks-file); 0 everywhere without one.
void AddProviderKeys(const ApiContext& c, std::vector<MetricFamily>& out) {
  const KeyRing* ring = c.tokens != nullptr ? c.tokens->provider() : nullptr;
  out.push_back(Gauge(
      "ledger_jwks_keys", "Keys of the identity provider's JWKS file that tokens are verified with",
      ring != nullptr ? static_cast<double>(ring->Current().keys->keys().size()) : 0));
  MetricFamily reloads =
      EmptyFamily("ledger_jwks_reloads_total",
                  "Rereads of the JWKS file on SIGHUP, by outcome: ok (the keys were swapped) "
                  "or failed (the keys in use stayed)",
                  MetricType::kCounter);
  AddSample(reloads, ring != nullptr ? static_cast<double>(ring->reloads()) : 0,
            {Label("outcome", "ok")});
  AddSample(reloads, ring != nullptr ? static_cast<double>(ring->failed_reloads()) : 0,
            {Label("outcome", "failed")});
  out.push_back(std::move(reloads));
}

void AddReadSide(const ApiContext& c, std::vector<MetricFamily>& out) {
  const int64_t head = c.log->Head().position;
  const int64_t position = c.projector->position();
  out.push_back(Gauge("ledger_log_head_position", "Position of the newest event in the log",
                      static_cast<double>(head)));
  out.push_back(Gauge("ledger_projector_position",
                      "Log position the read tables reflect (-1 before the projector first "
                      "reached PostgreSQL)",
                      static_cast<double>(position)));
  out.push_back(Gauge("ledger_projector_lag_events",
                      "Events in the log not yet applied to the read tables",
                      static_cast<double>(head - std::max<int64_t>(position, 0))));
  out.push_back(Gauge("ledger_projector_lag_seconds",
                      "Age of the oldest event not yet applied to the read tables (0 when "
                      "caught up)",
                      ProjectorLagSeconds(c, head, position)));
  out.push_back(Counter("ledger_projector_events_total",
                        "Events applied to the read tables since the service started",
                        static_cast<double>(c.projector->events_applied())));
  out.push_back(Counter("ledger_projector_errors_total",
                        "Projector steps that failed (database errors, retried with backoff; "
                        "or the fatal one)",
                        static_cast<double>(c.projector->errors())));
  AddCluster(c, out);
  out.push_back(Gauge("ledger_ready", "1 when GET /readyz answers 200, else 0",
                      ReadinessProblems(c).empty() ? 1 : 0));

  const projections::PoolUsage pool = c.queries->pool_usage();
  out.push_back(Gauge("ledger_db_pool_connections_in_use",
                      "Read-pool PostgreSQL connections leased now",
                      static_cast<double>(pool.in_use)));
  out.push_back(Gauge("ledger_db_pool_connections_open",
                      "Read-pool PostgreSQL connections open, leased or idle",
                      static_cast<double>(pool.open)));
  out.push_back(Gauge("ledger_db_pool_connections_max",
                      "Bound of the read pool's connections (db-pool-size)",
                      static_cast<double>(pool.max_connections)));
  out.push_back(Gauge("ledger_db_pool_waiting", "Callers waiting for a pooled connection",
                      static_cast<double>(pool.waiting)));
  out.push_back(Gauge("ledger_query_queue_depth", "Read queries waiting for a query worker",
                      static_cast<double>(c.workers->queued())));
  out.push_back(Gauge("ledger_query_queue_capacity",
                      "Bound of the read-query queue (query-queue); full answers 503",
                      static_cast<double>(c.workers->capacity())));
  if (c.streams != nullptr) AddStreams(c.streams->stats(), c.streams->options(), out);
}

// Settlements, refunds and cancellations. Every labelled series exists from
// the start, at 0, so that dashboards and alerts see them before the first
// campaign closes.
void AddLifecycle(const commands::SequencerMetrics& m, std::vector<MetricFamily>& out) {
  MetricFamily settlements = EmptyFamily(
      "ledger_settlements_total",
      "Posts settled at their deadline by the service (PostSettled made durable), by outcome",
      MetricType::kCounter);
  for (size_t o = 0; o < commands::kSettlementOutcomeCount; ++o) {
    AddSample(settlements, static_cast<double>(m.settlements[o]),
              {Label("outcome", events::OutcomeName(static_cast<events::SettlementOutcome>(o)))});
  }
  out.push_back(std::move(settlements));

  MetricFamily refunds =
      EmptyFamily("ledger_refunds_total",
                  "Backers refunded (FundingRefunded made durable), by cause: settlement of a "
                  "failed all_or_nothing post, or deletion of the post",
                  MetricType::kCounter);
  MetricFamily refunded = EmptyFamily(
      "ledger_refunded_amount_total",
      "Money refunded, in minor units of the currency, by cause as ledger_refunds_total",
      MetricType::kCounter);
  for (size_t c = 0; c < commands::kRefundCauseCount; ++c) {
    const std::string_view cause = commands::RefundCauseName(static_cast<commands::RefundCause>(c));
    AddSample(refunds, static_cast<double>(m.refunds[c]), {Label("cause", cause)});
    AddSample(refunded, static_cast<double>(m.refunded_amount[c]), {Label("cause", cause)});
  }
  out.push_back(std::move(refunds));
  out.push_back(std::move(refunded));

  // The same number as ledger_events_appended_total{type="FundingCancelled"},
  // under the name an operator looks for; counted once.
  const auto cancelled = static_cast<size_t>(events::EventType::kFundingCancelled);
  out.push_back(Counter("ledger_cancellations_total",
                        "Fundings cancelled by their backers (FundingCancelled made durable)",
                        static_cast<double>(m.events_appended[cancelled])));
  out.push_back(Counter("ledger_cancelled_amount_total",
                        "Money of cancelled fundings, in minor units of the currency",
                        static_cast<double>(m.cancelled_amount)));

  out.push_back(HistogramFamily(
      "ledger_settlement_lag_seconds",
      "Settlement lag: recorded_at - closes_at of each PostSettled the service appended",
      m.settlement_lag_seconds));
  out.push_back(Gauge("ledger_settlement_overdue_seconds",
                      "How long the earliest deadline of a post not yet settled has passed "
                      "(0 when none has)",
                      m.settlement_overdue_seconds));
}

}  // namespace

std::string_view BuildVersion() { return kBuildVersion; }
std::string_view BuildRevision() { return kBuildRevision; }

MetricFamily BuildInfoFamily(std::string_view version, std::string_view revision) {
  MetricFamily family = EmptyFamily("ledger_build_info",
                                    "Version and source revision of the running binary (always 1)",
                                    MetricType::kGauge);
  AddSample(family, 1, {Label("revision", revision), Label("version", version)});
  return family;
}

std::vector<MetricFamily> WriteSideFamilies(const commands::SequencerMetrics& m) {
  std::vector<MetricFamily> out;
  MetricFamily commands =
      EmptyFamily("ledger_commands_total",
                  "Commands submitted, by command, outcome and reason (idempotent "
                  "replays are counted in ledger_idempotency_hits_total instead)",
                  MetricType::kCounter);
  MetricFamily hits =
      EmptyFamily("ledger_idempotency_hits_total",
                  "Commands answered with the stored result of an earlier request with the same "
                  "Idempotency-Key",
                  MetricType::kCounter);
  for (size_t k = 0; k < commands::kCommandKindCount; ++k) {
    const std::string_view kind = commands::KindName(static_cast<commands::CommandKind>(k));
    for (size_t slot = 0; slot < commands::kOutcomeSlotCount; ++slot) {
      const uint64_t n = m.commands[k][slot];
      // Accepted series exist from the start so that rates and ratios over
      // them are defined before the first command; the others appear once
      // they happen, which keeps impossible pairs out.
      if (n == 0 && slot != commands::kSlotAccepted) continue;
      const commands::OutcomeLabels labels = commands::SlotLabels(slot);
      AddSample(commands, static_cast<double>(n),
                {Label("command", kind), Label("outcome", labels.outcome),
                 Label("reason", labels.reason)});
    }
    AddSample(hits, static_cast<double>(m.idempotency_hits[k]), {Label("command", kind)});
  }
  out.push_back(std::move(commands));
  out.push_back(std::move(hits));

  MetricFamily appended =
      EmptyFamily("ledger_events_appended_total", "Events made durable in the log, by type",
                  MetricType::kCounter);
  for (size_t t = 0; t < events::kEventTypeCount; ++t) {
    AddSample(appended, static_cast<double>(m.events_appended[t]),
              {Label("type", events::TypeName(static_cast<events::EventType>(t)))});
  }
  out.push_back(std::move(appended));

  AddLifecycle(m, out);

  out.push_back(HistogramFamily("ledger_group_commit_commands",
                                "Commands the sequencer took from its queue per batch",
                                m.batch_commands));
  out.push_back(HistogramFamily("ledger_group_commit_events",
                                "Events per durable write of the log (one write per batch)",
                                m.batch_events));
  out.push_back(HistogramFamily(
      "ledger_log_fsync_duration_seconds",
      "Duration of each durable batch write (a RocksDB write with sync), which every "
      "acknowledgement waits for",
      m.write_seconds));
  out.push_back(Counter("ledger_log_append_failures_total",
                        "Batch writes that failed; nothing of them was acknowledged",
                        static_cast<double>(m.append_failures)));
  out.push_back(Gauge("ledger_sequencer_queue_depth", "Commands waiting for the sequencer",
                      static_cast<double>(m.queue_depth)));
  out.push_back(Gauge("ledger_sequencer_queue_capacity",
                      "Bound of the sequencer's queue (queue-capacity); full answers 503",
                      static_cast<double>(m.queue_capacity)));
  out.push_back(Gauge("ledger_state_cache_posts",
                      "Posts whose state the sequencer holds in memory (the rest are read from "
                      "the log's durable state when a command needs them)",
                      static_cast<double>(m.state_cache_posts)));
  out.push_back(Gauge("ledger_state_cache_bytes",
                      "Estimated memory of the posts the sequencer holds, as of the last batch",
                      static_cast<double>(m.state_cache_bytes)));
  out.push_back(Gauge("ledger_state_cache_capacity_bytes",
                      "Bound of the sequencer's post cache (state-cache-mib)",
                      static_cast<double>(m.state_cache_capacity)));
  out.push_back(Counter("ledger_state_cache_loads_total",
                        "Posts read from the durable state because they were not in memory",
                        static_cast<double>(m.state_cache_loads)));
  out.push_back(Counter("ledger_state_cache_evictions_total",
                        "Posts dropped from memory to keep the cache within its bound",
                        static_cast<double>(m.state_cache_evictions)));
  out.push_back(Counter("ledger_state_whole_reads_total",
                        "Posts read whole from the durable state, every funding record of "
                        "them, for a deletion or a settlement that refunds backers",
                        static_cast<double>(m.state_whole_reads)));
  return out;
}

std::vector<MetricFamily> LogFamilies(bool writable, const events::LogStats& stats) {
  std::vector<MetricFamily> out;
  out.push_back(Gauge("ledger_log_writable",
                      "1 while the event log can be written; 0 while it cannot (disk full, "
                      "storage error), until a write or RocksDB's recovery succeeds",
                      writable ? 1 : 0));
  MetricFamily failures = EmptyFamily(
      "ledger_log_write_failures_total",
      "Appends to the event log that failed, by cause: no_space (disk full), io_error (any "
      "other storage error), waiting (refused at once while the log is unwritable and its next "
      "resume attempt is not due); nothing of them was acknowledged",
      MetricType::kCounter);
  for (size_t i = 0; i < events::kWriteFailureCauseCount; ++i) {
    AddSample(
        failures, static_cast<double>(stats.write_failures[i]),
        {Label("cause", events::WriteFailureCauseName(static_cast<events::WriteFailureCause>(i)))});
  }
  out.push_back(std::move(failures));
  out.push_back(Counter("ledger_log_resume_attempts_total",
                        "Times the event log asked RocksDB to resume writing after a failure",
                        static_cast<double>(stats.resume_attempts)));
  out.push_back(Counter("ledger_idempotency_records_purged_total",
                        "Idempotency records removed by compaction because they were past "
                        "retention (plus the purge margin)",
                        static_cast<double>(stats.idempotency_purged)));
  out.push_back(Gauge("ledger_idempotency_records",
                      "RocksDB's estimate of the idempotency records the log holds",
                      static_cast<double>(stats.idempotency_records_estimate)));
  out.push_back(ByLabel("ledger_log_memory_bytes",
                        "Memory of the event log by part: block_cache (bounded by "
                        "--log-cache-mib), table_readers (held by its open table files outside "
                        "the cache), memtables",
                        MetricType::kGauge, "part",
                        {{"block_cache", stats.block_cache_bytes},
                         {"table_readers", stats.table_readers_bytes},
                         {"memtables", stats.memtables_bytes}}));
  out.push_back(Gauge("ledger_log_block_cache_capacity_bytes",
                      "Bound of the event log's block cache (--log-cache-mib)",
                      static_cast<double>(stats.block_cache_capacity_bytes)));
  out.push_back(Gauge("ledger_log_table_files",
                      "Table files of the event log, each held open (a file descriptor)",
                      static_cast<double>(stats.table_files)));
  return out;
}

std::vector<MetricFamily> ServiceFamilies(const ApiContext& c) {
  const std::shared_ptr<commands::Sequencer> sequencer = c.sequencers->Get();
  std::vector<MetricFamily> out =
      WriteSideFamilies(sequencer ? sequencer->metrics() : commands::SequencerMetrics{});
  for (MetricFamily& family : LogFamilies(c.log->WriteHealth().ok(), c.log->Stats())) {
    out.push_back(std::move(family));
  }
  AddReadSide(c, out);
  if (c.write_limiter != nullptr) {
    out.push_back(Counter("ledger_writes_rate_limited_total",
                          "Writes answered 429 too_many_requests: their user was over "
                          "--write-rate",
                          static_cast<double>(c.write_limiter->refused())));
    out.push_back(Gauge("ledger_write_rate_users", "Users whose write buckets are kept (not full)",
                        static_cast<double>(c.write_limiter->users())));
  }
  AddProviderKeys(c, out);
  out.push_back(BuildInfoFamily(BuildVersion(), BuildRevision()));
  if (const auto process = SampleThisProcess()) {
    for (MetricFamily& family : ProcessFamilies(*process)) out.push_back(std::move(family));
  }
  return out;
}

}  // namespace ledger::api
