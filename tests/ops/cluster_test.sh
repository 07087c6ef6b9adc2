#!/usr/bin/env bash
# cluster_test.sh OPS_CLUSTER: the local highly available cluster of
# ops/cluster, end to end. Starts it in a fresh directory without ledger
# nodes, checks that `status --json` shows one leader and one synchronous
# standby that streams, commits a row on the leader, kills the leader's
# postmaster (kill -9), waits for another member to lead, reads the row
# there, stops the cluster and checks that no process of the directory is
# left. `down` runs whatever happens (trap), so a failure leaves nothing
# running either. Prints the time of each phase.
set -euo pipefail

(($# == 1)) || {
  echo "usage: $0 OPS_CLUSTER" >&2
  exit 2
}
cluster=$1
psql=/usr/lib/postgresql/15/bin/psql
readonly failover_limit=60

# shellcheck source=tests/ops/cluster_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster_lib.sh"
require_cluster_tools
[[ -x $psql ]] || fail "$psql not found (run ops/dev deps)"

dir=$(new_test_dir ops-cluster-test)

cleanup() {
  local status=$?
  trap - EXIT
  if ! "$cluster" down --dir "$dir" >/dev/null 2>"$dir/cleanup-down.err"; then
    cat "$dir/cleanup-down.err" >&2
    echo "FAIL: ops/cluster down (clean-up) failed" >&2
    status=1
  fi
  if ((status != 0)); then
    tail_logs 30 "$dir"/etcd/etcd.log "$dir"/pg*/patroni.log
  fi
  rm -rf "$dir"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
since() { printf '%.1f' "$(echo "$(now) - $1" | bc)"; }
total_start=$(now)

# status_field EXPR: evaluates a Python expression over `status --json`
# (bound to s) and prints the result; fails when status fails.
status_field() {
  local json
  json=$("$cluster" status --dir "$dir" --json) || return 1
  python3 -c 'import json, sys
s = json.loads(sys.argv[1])
print(eval(sys.argv[2]))' "$json" "$1"
}

sql() {
  local port=$1
  shift
  PGCONNECT_TIMEOUT=5 "$psql" -X -q -t -A -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" \
    -U postgres -d ledger "$@"
}

# --- up
t=$(now)
out=$("$cluster" up --dir "$dir" --ledger-nodes 0) || fail "ops/cluster up failed"
up_time=$(since "$t")
echo "$out"
(($(grep -c '^member pg[0-9] 127\.0\.0\.1:[0-9]* http://127\.0\.0\.1:[0-9]* ' <<<"$out") == 3)) ||
  fail "up did not print three member lines"
grep -q '^database-url postgresql://postgres@127\.0\.0\.1:[0-9]*,.*/ledger?target_session_attrs=read-write$' <<<"$out" ||
  fail "up printed no multi-host database-url"
grep -q '^log-url postgresql://' <<<"$out" || fail "up printed no log-url"
! grep -q '^node ' <<<"$out" || fail "up printed node lines with --ledger-nodes 0"

# --- one leader, one synchronous standby that streams
leaders=$(status_field 'len([m for m in s["postgres"] if m["role"] == "primary" and m["state"] == "running"])')
((leaders == 1)) || fail "status shows $leaders running leaders, not 1"
syncs=$(status_field 'len([m for m in s["postgres"] if m["role"] == "sync_standby" and m["replication_state"] == "streaming" and m["sync_state"] == "sync" and m["pid"]])')
((syncs == 1)) || fail "status shows $syncs streaming synchronous standbys, not 1"
[[ $(status_field 's["ledger"]') == "[]" ]] || fail "status shows ledger nodes"
read -r old_leader old_port < <(status_field '" ".join("%s %d" % (m["name"], m["port"]) for m in s["postgres"] if m["role"] == "primary")')

# --- a committed row: with synchronous_commit on and a synchronous standby,
# the commit returns once the standby has flushed it
token="row-$RANDOM-$$"
sql "$old_port" -c "CREATE TABLE failover_check (id int PRIMARY KEY, note text NOT NULL)" \
  -c "INSERT INTO failover_check VALUES (1, '$token')" || fail "writing on the leader $old_leader failed"

# --- kill -9 of the leader's postmaster, and the wait for another leader
t=$(now)
killed=$("$cluster" kill-primary --dir "$dir") || fail "kill-primary failed"
echo "$killed"
[[ $killed =~ ^killed\ postmaster\ [0-9]+\ $old_leader\ leader$ ]] || fail "kill-primary printed '$killed'"
new_leader="" new_port=""
deadline=$((SECONDS + failover_limit))
while ((SECONDS < deadline)); do
  if read -r new_leader new_port < <(status_field '" ".join("%s %d" % (m["name"], m["port"]) for m in s["postgres"] if m["role"] == "primary" and m["state"] == "running")' 2>/dev/null) &&
    [[ -n $new_leader && $new_leader != "$old_leader" ]]; then
    break
  fi
  new_leader=""
  sleep 0.5
done
[[ -n $new_leader ]] || fail "no member other than $old_leader leads ${failover_limit}s after kill-primary"
failover_time=$(since "$t")
[[ $(sql "$new_port" -c "SELECT pg_is_in_recovery()") == f ]] || fail "the new leader $new_leader is still in recovery"
got=$(sql "$new_port" -c "SELECT note FROM failover_check WHERE id = 1") ||
  fail "reading the row on the new leader $new_leader failed"
[[ $got == "$token" ]] || fail "the new leader $new_leader has '$got', not the committed '$token'"

# --- down, and nothing of the directory left
t=$(now)
"$cluster" down --dir "$dir" || fail "ops/cluster down failed"
down_time=$(since "$t")
left=$(ps -eo pid=,args= | grep -F -- "$dir" | grep -v -F -e "grep -F" -e "$0" || true)
[[ -z $left ]] || fail "processes mention $dir after down:"$'\n'"$left"
for pid in $(pgrep -x postgres || true); do
  cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null || true)
  [[ $cwd != "$dir"/* ]] || fail "postgres $pid (in $cwd) is still running after down"
done
"$cluster" down --dir "$dir" >/dev/null 2>&1 || fail "a second down (on a stopped cluster) failed"

echo "ok: up ${up_time}s, failover ${failover_time}s ($old_leader -> $new_leader), down ${down_time}s, total $(since "$total_start")s"
