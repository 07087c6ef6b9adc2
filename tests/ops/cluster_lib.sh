# shellcheck shell=bash
# Sourced by the tests that start an ops/cluster: how they fail, the tools
# they need, their scratch directory and the logs they show on failure.

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# require_cluster_tools: etcd, Patroni and what the scripts drive them with.
require_cluster_tools() {
  local tool
  for tool in etcd patroni python3 curl; do
    command -v "$tool" >/dev/null || fail "$tool not found (run ops/dev deps)"
  done
}

# new_test_dir NAME: a fresh directory under $TMPDIR. As root, the members
# run as the user postgres, which must enter it (mktemp makes it 0700).
new_test_dir() {
  local made
  made=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
  chmod 755 "$made"
  echo "$made"
}

# tail_logs LINES FILE...: the last LINES lines of each FILE that exists, on
# stderr.
tail_logs() {
  local lines=$1 log
  shift
  for log in "$@"; do
    [[ -f $log ]] || continue
    echo "--- last lines of $log" >&2
    tail -n "$lines" "$log" >&2
  done
}
