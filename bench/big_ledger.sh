#!/usr/bin/env bash
# The at-scale benchmark of issue 15. Builds a ledger of EVENTS events in a
# fresh data directory with build/bench/big_ledger (in-process, through the
# sequencer), then measures on it, one after the other:
#
#   - the log's size on disk (du of DATA_DIR/log);
#   - replay: the read tables rebuilt from the log (it creates the embedded
#     PostgreSQL first; timed again on a second run, the cluster then
#     existing), events/s from replay's own report;
#   - verify (chain and read tables), and verify --chain-only: wall time of
#     the command, events/s;
#   - backup: wall time and the copy's size (table files are hard links);
#   - restart to ready, RESTARTS times: from exec of `serve` to the first
#     200 of /readyz (the log opened and folded, the embedded PostgreSQL
#     started, the projector caught up), then SIGTERM;
#   - the server's VmRSS and VmHWM (/proc/PID/status) right after ready, then
#     after LOAD_SECONDS of fund load over HTTP (wrk with bench/http/fund.lua,
#     as 100 of the ledger's backers, on its popular posts), and the fund
#     throughput of that load.
#
# Prints a Markdown table on stdout (or into --out FILE); progress on stderr.
# Every step must succeed, or the script fails naming it. Nothing is left
# running: serve stops its embedded PostgreSQL on SIGTERM, and the script
# checks that no process of the data directory is left.
#
#   bench/big_ledger.sh BUILD_DIR [--events N] [--posts N] [--backers N]
#                       [--load-seconds S] [--connections C] [--restarts R]
#                       [--fill-cache-mib M] [--state-cache-mib M]
#                       [--out FILE] [--keep]
#
# Defaults: 10 000 000 events; posts events/100, backers events/10 (the
# issue's 100 000 and 1 000 000 at 10 M); a 60 s load on 64 connections; 3
# restarts; the fill's sequencer keeps 128 MiB of posts in memory like the
# service (see bench/big_ledger.cc), serve its own default (--state-cache-mib
# unset). The
# data directory goes under $LEDGER_BENCH_DIR (default /tmp) and
# is removed at the end unless --keep.
set -euo pipefail

usage() {
  sed -n '/^#   bench\/big_ledger.sh/,/^#   *\[--out/p' "$0" | sed 's/^# *//' >&2
  exit 2
}

build_dir=${1:-}
[[ -n $build_dir && $build_dir != -* ]] || usage
shift
events=10000000
posts=
backers=
load_seconds=60
connections=64
restarts=3
fill_cache_mib=128
serve_cache=()
out=/dev/stdout
keep=0
while (($# > 0)); do
  case $1 in
    --events | --posts | --backers | --load-seconds | --connections | --restarts | --out | \
      --fill-cache-mib | --state-cache-mib)
      (($# >= 2)) || usage
      case $1 in
        --events) events=$2 ;;
        --posts) posts=$2 ;;
        --backers) backers=$2 ;;
        --load-seconds) load_seconds=$2 ;;
        --connections) connections=$2 ;;
        --restarts) restarts=$2 ;;
        --fill-cache-mib) fill_cache_mib=$2 ;;
        --state-cache-mib) serve_cache=(--state-cache-mib "$2") ;;
        --out) out=$2 ;;
      esac
      shift 2
      ;;
    --keep)
      keep=1
      shift
      ;;
    *) usage ;;
  esac
done
posts=${posts:-$((events / 100))}
backers=${backers:-$((events / 10))}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
binary=$build_dir/funding-ledger
generator=$build_dir/bench/big_ledger
secret=bench-secret-bench-secret-bench-secret
for tool in "$binary" "$generator"; do
  [[ -x $tool ]] || { echo "big_ledger.sh: $tool is missing (build first)" >&2; exit 2; }
done
for tool in wrk curl du; do
  command -v "$tool" >/dev/null || { echo "big_ledger.sh: $tool is missing (ops/dev deps)" >&2; exit 2; }
done

work=$(mktemp -d "${LEDGER_BENCH_DIR:-/tmp}/funding-ledger-big-XXXXXX")
# The embedded PostgreSQL runs as its own user when we are root; it must reach
# its folder.
chmod 711 "$work"
data=$work/data
server_pid=
cleanup() {
  if [[ -n $server_pid ]]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if ((keep == 1)); then
    echo "big_ledger.sh: kept $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

note() { echo "big_ledger.sh: $*" >&2; }
fail() {
  note "error: $*"
  exit 1
}
now_ns() { date +%s%N; }
# seconds with two decimals between two now_ns readings
seconds_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'; }
per_second() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "?" }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
summary() { awk -v k="$1" '$1 == k { print $2 }' "$work/big_ledger.txt"; }
common=(--data-dir "$data" --jwt-secret "$secret")

# Runs a tool; its stdout in $work/NAME.out, stderr in $work/NAME.err. Prints
# its wall time and its CPU time (user + system of the tool and its waited-for
# children; not the embedded PostgreSQL's server processes), in seconds. The
# machine is shared: CPU time says what a step costs when wall time is
# stretched by other load.
timed() {
  local name=$1 TIMEFORMAT='%R %U %S'
  shift
  note "$name: $*"
  { time "$@" >"$work/$name.out" 2>"$work/$name.err"; } 2>"$work/$name.time" || {
    cat "$work/$name.err" >&2
    fail "$name failed"
  }
  awk '{ printf "%.2f %.2f", $1, $2 + $3 }' "$work/$name.time"
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# 1. The log, in-process through the sequencer.
note "building $events events over $posts posts and $backers backers in $data"
exec 3>&2  # the generator's progress stays on stderr
TIMEFORMAT='%R %U %S'
{ time "$generator" --data-dir "$data" --events "$events" --posts "$posts" \
  --backers "$backers" --state-cache-mib "$fill_cache_mib" >"$work/big_ledger.txt" 2>&3; } \
  2>"$work/big_ledger.time" ||
  fail "big_ledger failed"
build_cpu=$(awk '{ printf "%.1f", $2 + $3 }' "$work/big_ledger.time")
total=$(summary events)
fund_posts=$(summary fund_posts)
log_kib=$(du -sk "$data/log" | cut -f1)

# 2. Replay (creates the embedded cluster), then again on the existing one.
r=$(timed replay-first "$binary" replay "${common[@]}")
read -r replay_first_wall _ <<<"$r"
r=$(timed replay "$binary" replay "${common[@]}")
read -r replay_wall replay_cpu <<<"$r"
replay_s=$(sed -n 's/.* backers rows, in \([0-9.]*\) s (.*/\1/p' "$work/replay.out")
replay_parts=$(sed -n 's/.* s (\(fold .*\))$/\1/p' "$work/replay.out")
[[ -n $replay_s ]] || fail "replay printed no timing: $(cat "$work/replay.out")"

# 3. Verify, whole and chain only.
r=$(timed verify "$binary" verify "${common[@]}")
read -r verify_s verify_cpu <<<"$r"
r=$(timed verify-chain "$binary" verify --chain-only "${common[@]}")
read -r chain_s chain_cpu <<<"$r"

# 4. Backup.
r=$(timed backup "$binary" backup "${common[@]}" --to "$work/backup")
read -r backup_s backup_cpu <<<"$r"
backup_kib=$(du -sk "$work/backup" | cut -f1)

# Starts serve; sets server_pid and api once it answers /readyz 200, and
# prints the seconds from exec to that answer and the server's CPU seconds
# until then (its own process, without the embedded PostgreSQL). Gives up
# after ready_limit_s, saying what /readyz answered last: a run that hangs
# says nothing, and once took CI's whole test timeout.
ready_limit_s=120
start_ready() {
  local t0 t1 port= last=
  # Emptied here, before the server starts: the server's own redirection
  # truncates the file only once it runs, and until then the loop below
  # could read the previous server's port (and wait on a closed one).
  : >"$work/serve.out"
  t0=$(now_ns)
  "$binary" serve --listen 127.0.0.1:0 "${common[@]}" --log-level warn \
    --max-connections 4096 --max-connections-per-address 0 --write-rate 0 "${serve_cache[@]}" \
    >"$work/serve.out" 2>>"$work/serve.err" &
  server_pid=$!
  while kill -0 "$server_pid" 2>/dev/null; do
    if [[ -z $port ]]; then
      port=$(sed -n 's/.*serving on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/serve.out")
    fi
    if [[ -n $port ]]; then
      # --max-time: a connection the server never answers is tried again.
      if last=$(curl -s --max-time 5 -w ' (HTTP %{http_code})' "http://127.0.0.1:$port/readyz"); then
        if [[ $last == *'(HTTP 200)' ]]; then
          t1=$(now_ns)
          api=http://127.0.0.1:$port
          echo "$(seconds_between "$t0" "$t1") $(cpu_seconds)"
          return 0
        fi
      else
        last="curl failed with status $?"
      fi
    fi
    if (($(now_ns) - t0 > ready_limit_s * 1000000000)); then
      note "serve was not ready after ${ready_limit_s} s; /readyz said: ${last:-nothing (no port yet)}"
      kill -TERM "$server_pid"
      wait "$server_pid" || true
      break
    fi
    sleep 0.02
  done
  cat "$work/serve.err" >&2
  return 1
}

stop_server() {
  kill -TERM "$server_pid"
  wait "$server_pid" || fail "serve exited with status $? on SIGTERM"
  server_pid=
}

# VmRSS and VmHWM of the server, in KiB.
rss() {
  awk '$1 == "VmRSS:" { rss = $2 } $1 == "VmHWM:" { hwm = $2 } END { print rss, hwm }' \
    "/proc/$server_pid/status"
}
# User + system CPU seconds of the server so far (fields 14 and 15 of stat,
# counted from after the command name).
cpu_seconds() {
  sed 's/.*) //' "/proc/$server_pid/stat" |
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%.1f", ($12 + $13) / hz }'
}

# 5. Restart to ready, RESTARTS times; the last server stays up for the load.
ready_times=()
ready_cpu=()
api=
for ((i = 1; i <= restarts; i++)); do
  note "restart $i of $restarts"
  # start_ready runs in this shell (not a subshell) so server_pid and api stay set.
  start_ready >"$work/ready.txt" || fail "serve did not become ready"
  read -r wall cpu <"$work/ready.txt"
  ready_times+=("$wall")
  ready_cpu+=("$cpu")
  if ((i < restarts)); then stop_server; fi
done
read -r rss_ready hwm_ready <<<"$(rss)"

# 6. A minute of fund load over HTTP.
for n in $(seq 1 100); do
  "$binary" token "${common[@]}" --sub "backer-$n"
done >"$work/tokens"
note "fund load: wrk -c$connections for ${load_seconds}s on $fund_posts posts"
BENCH_DIR=$here/http BENCH_TOKENS=$work/tokens BENCH_FUND_POSTS=$fund_posts BENCH_POSTS=$posts \
  wrk -t2 -c"$connections" -d"${load_seconds}s" --latency -s "$here/http/fund.lua" "$api" \
  >"$work/wrk.txt" 2>&1 || { cat "$work/wrk.txt" >&2; fail "wrk failed"; }
read -r rss_load hwm_load <<<"$(rss)"
load_cpu=$(cpu_seconds)
fund_rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$work/wrk.txt")
fund_p50=$(awk '$1=="50%"{print $2}' "$work/wrk.txt")
fund_p99=$(awk '$1=="99%"{print $2}' "$work/wrk.txt")
fund_bad=$(sed -n 's/^unexpected_status \([0-9]*\)/\1/p' "$work/wrk.txt")
[[ -n $fund_rps ]] || { cat "$work/wrk.txt" >&2; fail "wrk printed no rate"; }
head_after=$(curl -sf "$api/api/ledger/head" | sed 's/.*"position":\([0-9]*\).*/\1/')
stop_server

# Nothing of this data directory may still run (serve stops its PostgreSQL).
if pgrep -f "$data" >/dev/null; then
  pgrep -af "$data" >&2
  fail "processes of $data are still running after serve stopped"
fi

# 1234567 -> "1 234 567", as docs/performance.md writes numbers.
count() { sed ':a;s/\B[0-9]\{3\}\>/ &/;ta' <<<"$1"; }
rate() { count "$(per_second "$total" "$1")"; }
commit=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)
fundings_served=$((head_after - total))
cpu_per_funding=$(awk -v a="${ready_cpu[-1]}" -v b="$load_cpu" -v n="$fundings_served" \
  'BEGIN { if (n > 0) printf "%.0f", (b - a) * 1e6 / n; else print "?" }')
{
  echo "Commit $commit, $(date -u +%F), load average $load_start at the start and" \
    "$(cut -d' ' -f1-3 /proc/loadavg) at the end (2 cores). Wall time, then CPU time of the" \
    "tool (the embedded PostgreSQL's server processes not included)."
  echo
  echo "| measure | result |"
  echo "|---|---|"
  echo "| ledger | $(count "$total") events: $(count "$posts") posts, $(count "$backers") backers;" \
    "$(count "$(summary type_PostFunded)") fundings, $(count "$(summary type_FundingCancelled)")" \
    "cancelled, $(count "$(summary type_FundingRefunded)") refunded," \
    "$(count "$(summary type_PostSettled)") settled ($(summary settled_failed) failed)," \
    "$(count "$(summary type_PostDeleted)") deleted |"
  echo "| sequencer state cache | fill $fill_cache_mib MiB; serve ${serve_cache[1]:-its default} |"
  echo "| build in-process (sequencer, fsync'd group commit) | $(printf '%.1f' "$(summary seconds)") s" \
    "(CPU $build_cpu s), $(count "$(summary events_per_s)") events/s, peak RSS" \
    "$(mib "$(summary peak_rss_kib)") MiB |"
  echo "| log on disk (du of DATA_DIR/log) | $(mib "$log_kib") MiB |"
  echo "| replay (second run) | $replay_s s by its report ($replay_parts): $(rate "$replay_s")" \
    "events/s; command $replay_wall s (CPU $replay_cpu s) with PostgreSQL's start and stop;" \
    "the first run, creating the cluster, $replay_first_wall s |"
  echo "| verify (chain and read tables) | $verify_s s (CPU $verify_cpu s): $(rate "$verify_s") events/s |"
  echo "| verify --chain-only | $chain_s s (CPU $chain_cpu s): $(rate "$chain_s") events/s |"
  echo "| backup (checked copy) | $backup_s s (CPU $backup_cpu s), $(mib "$backup_kib") MiB" \
    "(table files hard-linked) |"
  echo "| restart to ready (exec → /readyz 200), $restarts runs | ${ready_times[*]} s" \
    "(server CPU ${ready_cpu[*]} s) |"
  echo "| server RSS right after ready: VmRSS (VmHWM) | $(mib "$rss_ready") MiB ($(mib "$hwm_ready") MiB) |"
  echo "| fund over HTTP, $connections connections, ${load_seconds} s | $(count "${fund_rps%.*}")" \
    "requests/s, p50 $fund_p50, p99 $fund_p99, non-2xx ${fund_bad:-?}; server CPU" \
    "$cpu_per_funding µs per funding |"
  echo "| server RSS after the fund load: VmRSS (VmHWM) | $(mib "$rss_load") MiB ($(mib "$hwm_load") MiB) |"
} >"$out"
