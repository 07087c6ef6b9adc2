#pragma once

// Which sequencer takes this node's writes. On a single node it is set once
// at start. On a cluster (several nodes on one PostgreSQL log) it holds this
// node's sequencer while the node holds the sequencer lease, and is empty
// while another node (named by leader()) or none holds it; the write
// handlers then answer 503 with the leader's address.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "commands/sequencer.h"

namespace ledger::api {

// The node that sequences, as the lease row names it.
struct LeaderInfo {
  std::string node_id;  // empty: none known
  std::string url;      // its advertised URL
  int64_t epoch = 0;    // the lease's epoch; 0 without a lease
};

// What a cluster node counts of its role: the cluster's role thread writes,
// /metrics reads. On a single node they stay as they start.
struct ClusterCounters {
  std::atomic<int64_t> lease_epoch{0};    // as this node last saw it
  std::atomic<uint64_t> leases_taken{0};  // times this node took the lease
  std::atomic<uint64_t> leases_lost{0};   // times it lost or gave it up
  // Synchronous standbys streaming from the log's primary, as the
  // sequencing node last read them; -1 when not known (a single node, a
  // node that does not sequence).
  std::atomic<int64_t> sync_standbys{-1};
  // The largest replay lag of any standby, in bytes of WAL; -1 when not
  // known (as above, or the log's role may not read replication LSNs).
  std::atomic<int64_t> standby_lag_bytes{-1};
};

class SequencerSlot {
 public:
  ClusterCounters counters;

  // The sequencer to submit to; null while this node does not sequence. A
  // caller keeps the pointer only for one command and its answer: a
  // replaced sequencer refuses new commands (kUnavailable) and stays alive
  // while anyone holds it.
  std::shared_ptr<commands::Sequencer> Get() const {
    std::lock_guard lock(mu_);
    return sequencer_;
  }
  LeaderInfo leader() const {
    std::lock_guard lock(mu_);
    return leader_;
  }
  // This node sequences with `sequencer` (under the lease `self` describes).
  void Set(std::shared_ptr<commands::Sequencer> sequencer, LeaderInfo self) {
    std::lock_guard lock(mu_);
    sequencer_ = std::move(sequencer);
    leader_ = std::move(self);
  }
  // This node does not sequence; `leader` does (empty: nobody known). Returns
  // the sequencer it held, for the caller to stop.
  std::shared_ptr<commands::Sequencer> Clear(LeaderInfo leader) {
    std::lock_guard lock(mu_);
    leader_ = std::move(leader);
    return std::exchange(sequencer_, nullptr);
  }
  // Only the leader's address changed (a follower learning who took over).
  void SetLeader(LeaderInfo leader) {
    std::lock_guard lock(mu_);
    leader_ = std::move(leader);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<commands::Sequencer> sequencer_;  // guarded by mu_
  LeaderInfo leader_;                               // guarded by mu_
};

}  // namespace ledger::api
