#pragma once

// serve's side of the identity provider's keys (--jwks-file): read at
// start, reread on SIGHUP, and what each step logs (docs/operations.md,
// "Tokens from an identity provider").

#include <memory>

#include "api/key_ring.h"
#include "app/config.h"
#include "common/result.h"

namespace ledger::app {

// The keys of config.jwks_file with config's issuer and audience; null when
// no file is configured. Logs the keys in use and those left out, and warns
// when no audience is set. Errors: api::KeyRing::Open's.
Result<std::shared_ptr<api::KeyRing>> OpenProviderKeys(const Config& config);

// Rereads `ring`'s file and logs the keys now in use; a failure is logged at
// error level and the keys in use stay. Null `ring`: logs that there is
// nothing to reread.
void ReloadProviderKeys(api::KeyRing* ring);

}  // namespace ledger::app
