#!/usr/bin/env bash
# failover_test.sh FAILOVER_PY BINARY: the short failover harness run in CI.
# Five rounds, one of each fault (PostgreSQL primary, Patroni of the
# primary, sequencing ledger node, zombie sequencer, synchronous standby),
# under the fund load of four clients; the harness fails on any acknowledged
# funding lost or duplicated on any member, a broken chain, a replay that
# does not answer as first acknowledged, or a cluster that does not heal.
# It stops its cluster itself (ops/cluster down, whatever happens); this
# script checks that nothing of the directory is left running, and prints
# the end of the Patroni and node logs when the run failed. About 100 s.
set -euo pipefail

(($# == 2)) || {
  echo "usage: $0 FAILOVER_PY BINARY" >&2
  exit 2
}
harness=$(realpath -- "$1")
binary=$2
cluster=$(dirname "$harness")/../../ops/cluster

# shellcheck source=tests/ops/cluster_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster_lib.sh"
require_cluster_tools

dir=$(new_test_dir ops-failover-test)

cleanup() {
  local status=$?
  trap - EXIT
  local left
  left=$(ps -eo pid=,args= | grep -F -- "$dir/" | grep -v -F -e "grep -F" -e "$0" || true)
  if [[ -n $left ]]; then
    echo "FAIL: processes of $dir are still running:" >&2
    echo "$left" >&2
    "$cluster" down --dir "$dir/cluster" >&2 || true
    status=1
  fi
  if ((status != 0)); then
    tail_logs 20 "$dir"/pg*/patroni.log "$dir"/node*/serve.log
  fi
  rm -rf "$dir"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start=$SECONDS
python3 "$harness" --dir "$dir/cluster" --binary "$binary" --rounds 5 \
  --faults primary,node,zombie,standby,patroni --clients 4 --json "$dir/result.json" ||
  fail "the failover harness failed (exit $?)"
python3 - "$dir/result.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["rounds"] == 5, r["rounds"]
assert r["lost"] == 0 and r["duplicated"] == 0, (r["lost"], r["duplicated"])
assert r["acknowledged"] > 0, "nothing was acknowledged"
assert not r["failures"], r["failures"]
PY
echo "ok: five failovers in $((SECONDS - start))s"
