#!/usr/bin/env bash
# Settlement lag under fund load (issue 14): many posts close while wrk keeps
# funding other posts, and the service's own ledger_settlement_lag_seconds
# histogram (recorded_at - closes_at of each PostSettled) says how long after
# its deadline each post was settled. Goal: p99 <= 1 s.
#
#   bench/http/settlement_lag.sh BUILD_DIR [OUT.md]
#
# The clock: libfaketime starts build/funding-ledger's wall clock at
# FAKE_START (UTC), LAG_LEAD_SECONDS before the end of 2030-06-30 in
# Asia/Seoul (the service's default zone), which is 2030-06-30T15:00:00Z, the
# deadline of every closing post. The monotonic clock and every other process
# (the embedded PostgreSQL, wrk, curl) keep the real time.
#
# Steps: start the service once without faketime to create its data directory
# (initdb is slow and would eat the lead), stop it; start it under faketime;
# create LAG_OPEN_POSTS posts that stay open (2030-12-31) and
# LAG_CLOSING_POSTS that close at the deadline, alternately keep_it_all with a
# target of one unit (they succeed) and all_or_nothing with a target no one
# reaches (they fail and refund every backer); fund the closing posts with
# wrk for LAG_BACKING_SECONDS (100 backers); then fund the open posts with
# wrk from before the deadline until LAG_AFTER_SECONDS after it, with
# BENCH_CONNECTIONS connections. Last, read /metrics and the log.
#
# Environment: LAG_OPEN_POSTS (1000), LAG_CLOSING_POSTS (1000),
# LAG_LEAD_SECONDS (45), LAG_BACKING_SECONDS (5), LAG_AFTER_SECONDS (15),
# BENCH_CONNECTIONS (64), BENCH_THREADS (2), LEDGER_BENCH_DIR (default /tmp).
# A run takes about LAG_LEAD_SECONDS + LAG_AFTER_SECONDS + 30 s; it is not
# part of the test suite.
set -euo pipefail

build_dir=${1:?usage: bench/http/settlement_lag.sh BUILD_DIR [OUT.md]}
out=${2:-/dev/stdout}
here=$(cd "$(dirname "$0")" && pwd)
binary=$build_dir/funding-ledger
open_posts=${LAG_OPEN_POSTS:-1000}
closing_posts=${LAG_CLOSING_POSTS:-1000}
lead=${LAG_LEAD_SECONDS:-45}
backing=${LAG_BACKING_SECONDS:-5}
after=${LAG_AFTER_SECONDS:-15}
connections=${BENCH_CONNECTIONS:-64}
threads=${BENCH_THREADS:-2}
secret=bench-secret-bench-secret-bench-secret
deadline_epoch=$(date -u -d '2030-06-30T15:00:00Z' +%s)
fake_start_epoch=$((deadline_epoch - lead))
fake_start=$(date -u -d "@$fake_start_epoch" '+%Y-%m-%d %H:%M:%S')

[[ -x $binary ]] || { echo "settlement_lag.sh: $binary is missing (build first)" >&2; exit 2; }
for tool in wrk curl; do
  command -v "$tool" >/dev/null || { echo "settlement_lag.sh: $tool is missing (ops/dev deps)" >&2; exit 2; }
done
libfaketime=
for dir in /usr/lib/x86_64-linux-gnu/faketime /usr/lib/aarch64-linux-gnu/faketime /usr/lib/faketime; do
  [[ -e $dir/libfaketimeMT.so.1 ]] && { libfaketime=$dir/libfaketimeMT.so.1; break; }
done
[[ -n $libfaketime ]] || { echo "settlement_lag.sh: libfaketime is missing (faketime)" >&2; exit 2; }
((open_posts % 100 == 0 && closing_posts % 200 == 0)) ||
  { echo "settlement_lag.sh: LAG_OPEN_POSTS must be a multiple of 100, LAG_CLOSING_POSTS of 200" >&2; exit 2; }

work=$(mktemp -d "${LEDGER_BENCH_DIR:-/tmp}/funding-ledger-lag-bench-XXXXXX")
chmod 711 "$work"
server_pid=
stop_server() {
  if [[ -n $server_pid ]]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
  fi
}
cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT

faked=(env TZ=UTC LD_PRELOAD="$libfaketime" FAKETIME="@$fake_start" FAKETIME_DONT_FAKE_MONOTONIC=1
  FAKETIME_ONLY_CMDS=funding-ledger)

# start_server [COMMAND PREFIX...]: serve on a free port; sets server_pid, api.
start_server() {
  : >"$work/stdout"
  "$@" "$binary" serve --listen 127.0.0.1:0 --data-dir "$work/data" --jwt-secret "$secret" \
    --max-connections 4096 --max-connections-per-address 0 --write-rate 0 --log-level warn \
    >"$work/stdout" 2>"$work/stderr" &
  server_pid=$!
  local port=
  for _ in $(seq 1 600); do
    port=$(sed -n 's/.*serving on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/stdout")
    [[ -n $port ]] && break
    sleep 0.1
  done
  [[ -n $port ]] || { cat "$work/stderr" >&2; echo "settlement_lag.sh: the server did not start" >&2; exit 1; }
  api=http://127.0.0.1:$port
  for _ in $(seq 1 600); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$api/readyz") == 200 ]] && return 0
    sleep 0.1
  done
  echo "settlement_lag.sh: the server did not become ready" >&2
  exit 1
}

start_server
stop_server
launched=$(date +%s.%N)
start_server "${faked[@]}"
# The service's wall clock now, in seconds since the epoch.
fake_now() { awk -v s="$fake_start_epoch" -v l="$launched" -v n="$(date +%s.%N)" 'BEGIN { printf "%.3f", s + n - l }'; }

token() { "${faked[@]}" "$binary" token --jwt-secret "$secret" --data-dir "$work/data" --sub "$1"; }
owner=$(token owner)
for i in $(seq 1 100); do token "backer-$i"; done >"$work/tokens"

# create_batch END_DATE FIRST: 100 posts; for closing ones (END_DATE the
# deadline's day) even numbers keep_it_all reaching their target, odd ones
# all_or_nothing missing it.
create_batch() {
  local end_date=$1 first=$2 body="[" n model target
  for ((n = first; n < first + 100; n++)); do
    ((n == first)) || body+=","
    model=keep_it_all target=1000
    if [[ $end_date == 2030-06-30 ]] && ((n % 2 == 1)); then
      model=all_or_nothing target=1000000000
    fi
    body+="{\"title\":\"lag $n\",\"uploader\":\"owner\",\"description\":\"bench\","
    body+="\"target_amount\":$target,\"funding_unit\":1000,\"end_date\":\"$end_date\","
    body+="\"funding_model\":\"$model\"}"
  done
  body+="]"
  curl -sf -o /dev/null -X POST "$api/api/posts" -H "Authorization: Bearer $owner" \
    -H 'Content-Type: application/json' --data-binary "$body"
}
for ((n = 1; n <= open_posts; n += 100)); do create_batch 2030-12-31 "$n"; done
for ((n = open_posts + 1; n <= open_posts + closing_posts; n += 100)); do
  create_batch 2030-06-30 "$n"
done

export BENCH_DIR=$here BENCH_TOKENS=$work/tokens
run_wrk() {
  local name=$1 seconds=$2 first=$3 count=$4
  LAG_FIRST_POST=$first LAG_POST_COUNT=$count wrk -t"$threads" -c"$connections" -d"${seconds}s" \
    --latency -s "$here/fund_range.lua" "$api" >"$work/$name.txt" 2>&1 || true
}
run_wrk backing "$backing" $((open_posts + 1)) "$closing_posts"

remaining=$(awk -v d="$deadline_epoch" -v n="$(fake_now)" 'BEGIN { printf "%.3f", d - n }')
if awk -v r="$remaining" 'BEGIN { exit !(r < 3) }'; then
  echo "settlement_lag.sh: only ${remaining} s were left before the deadline; raise LAG_LEAD_SECONDS" >&2
  exit 1
fi
load_seconds=$(awk -v r="$remaining" -v a="$after" 'BEGIN { printf "%.0f", r + a }')
run_wrk load "$load_seconds" 1 "$open_posts"
curl -sf "$api/metrics" >"$work/metrics"
stop_server

# p-quantile of the histogram the way PromQL's histogram_quantile reads it:
# linear within the bucket that holds the rank.
quantile() {
  awk -v q="$1" -F'[{}" ]+' '
    /^ledger_settlement_lag_seconds_bucket/ { le[n] = $3; c[n] = $NF; n++ }
    END {
      total = c[n - 1]; rank = q * total; lower = 0; below = 0
      if (total == 0) { printf "none (no settlement)"; exit }
      for (i = 0; i < n; i++) {
        if (c[i] >= rank) {
          if (le[i] == "+Inf") { printf "> %s s", lower; exit }
          printf "%.4f s", lower + (le[i] - lower) * (rank - below) / (c[i] - below); exit
        }
        lower = le[i]; below = c[i]
      }
    }' "$work/metrics"
}
value() { awk -v name="$1" '$1 == name { print $2 }' "$work/metrics"; }

# The same lags from the log, exactly: recorded_at of each PostSettled minus
# the deadline.
"$binary" events --data-dir "$work/data" --jwt-secret "$secret" --type PostSettled |
  sed -n 's/.*"recorded_at":"\([^"]*\)".*/\1/p' |
  awk -F'[T:Z]' '$1 != "2030-06-30" { print "settlement_lag.sh: a settlement on " $1 > "/dev/stderr"; exit 1 }
    { print $2 * 3600 + $3 * 60 + $4 - 15 * 3600 }' | sort -g >"$work/lags"

rps() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$work/$1.txt"; }
non2xx() { sed -n 's/^unexpected_status \([0-9]*\)/\1/p' "$work/$1.txt"; }
{
  echo "Server clock started at $fake_start UTC; $closing_posts posts closed at 2030-06-30T15:00:00Z"
  echo "($((closing_posts / 2)) keep_it_all successful, $((closing_posts / 2)) all_or_nothing failed)."
  echo
  echo "| phase | connections | seconds | requests/s | non-2xx |"
  echo "|---|---:|---:|---:|---:|"
  echo "| fund the closing posts before the deadline | $connections | $backing | $(rps backing) | $(non2xx backing) |"
  echo "| fund the open posts across the deadline | $connections | $load_seconds | $(rps load) | $(non2xx load) |"
  echo
  echo "From /metrics: ledger_settlements_total successful $(value 'ledger_settlements_total{outcome="successful"}')," \
    "failed $(value 'ledger_settlements_total{outcome="failed"}');" \
    "ledger_refunds_total{cause=\"settlement\"} $(value 'ledger_refunds_total{cause="settlement"}');" \
    "ledger_settlement_overdue_seconds $(value ledger_settlement_overdue_seconds)."
  echo "Settlement lag from the histogram (interpolated as histogram_quantile):" \
    "p50 $(quantile 0.5), p99 $(quantile 0.99)."
  if [[ -s $work/lags ]]; then
    awk '{ v[NR] = $1 } END {
      p50 = int(NR * 0.50) + 1; if (p50 > NR) p50 = NR
      p99 = int(NR * 0.99) + 1; if (p99 > NR) p99 = NR
      printf "Settlement lag from the log (%d PostSettled): min %.1f ms, p50 %.1f ms, p99 %.1f ms, max %.1f ms.\n",
        NR, v[1] * 1000, v[p50] * 1000, v[p99] * 1000, v[NR] * 1000 }' "$work/lags"
  fi
} >"$out"
