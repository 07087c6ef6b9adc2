#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "events/hash.h"

namespace ledger::events {

// Outcome of walking a range of the chain.
struct ChainCheck {
  bool ok = true;
  int64_t first_bad_position = 0;  // 0 when ok
  std::string problem;             // empty when ok
  int64_t events_checked = 0;
  int64_t last_position = 0;  // last good position
  Hash last_hash{};           // hash of last_position (or the starting prev hash)
};

// Checks records one after another. Each record must sit at the position
// after the previous one, carry that one's hash as prev_hash, hash to its
// stored hash, and name its own position in its canonical bytes. The first
// failure is kept and later records are ignored.
class ChainVerifier {
 public:
  // `expected_prev` is the hash of the event at `first_position - 1`
  // (kGenesisHash when first_position is 1).
  ChainVerifier(int64_t first_position, const Hash& expected_prev);

  // Returns false once a failure has been found.
  bool Feed(int64_t key_position, std::string_view record);
  // As Feed, with the record's hash already computed by the caller (on
  // another thread, say): `computed_hash` must be the ChainHash of the
  // record's prev_hash and canonical bytes; it is ignored for a record that
  // ParseRecord refuses.
  bool Feed(int64_t key_position, std::string_view record, const Hash& computed_hash);
  // Records a failure that is not about one record's bytes (a missing event).
  void FailAt(int64_t position, std::string problem);

  const ChainCheck& result() const { return result_; }

 private:
  int64_t next_position_;
  ChainCheck result_;
};

}  // namespace ledger::events
