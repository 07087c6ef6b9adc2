#!/usr/bin/env bash
# The live streams benchmark (issue 17), with build/bench/stream_load. Each
# mode starts its own `funding-ledger serve` (a fresh data directory, room
# for the streams: --max-streams, --max-connections, open files), seeds posts
# through bench/http/run.sh (BENCH_API), measures, and stops the server:
#
#   idle        STREAM_IDLE_STREAMS (10 000) streams opened and held, of
#               STREAM_IDLE_KIND (post: one per post 1..N; global:
#               /api/events/stream); the server's VmRSS per stream.
#               Goal: <= 16 KiB per stream.
#   delay       STREAM_DELAY_STREAMS (1 000) post streams on posts 1..S while
#               fundings go open-loop to those posts at STREAM_RATE/s (5 000)
#               over STREAM_CONNECTIONS (32) for STREAM_SECONDS (60); the delay
#               from each 201 to its event on the post's stream, and every
#               event must arrive. Goal: p99 <= 100 ms.
#   throughput  bench/http/run.sh's fund rows (wrk, BENCH_SECONDS each, 64 and
#               BENCH_FUND_CONNECTIONS connections) without streams, then with
#               STREAM_THROUGHPUT_STREAMS (BENCH_FUND_POSTS, 1 000) post
#               streams held on the posts wrk funds. Goal: not more than 10 %
#               lower with the streams. Also the server's CPU per funding in
#               each (steadier than requests/s where wrk, stream_load and the
#               server share a few cores) and stream_load's own CPU.
#
#   alternate   on one server, STREAM_ROUNDS (3) rounds of a wrk fund run
#               (BENCH_CONNECTIONS, 64; BENCH_SECONDS each) without streams
#               and one with STREAM_THROUGHPUT_STREAMS post streams held on
#               the funded posts, so that the two cases alternate on the same
#               ledger; per run, the rate and the CPU per funding of each of
#               the server's threads (by name; unnamed ones by thread id: the
#               HTTP I/O threads and the stream hub's feeder), of its
#               PostgreSQL and of stream_load. What a stream's delivery costs,
#               and where.
#
#   bench/stream/run.sh BUILD_DIR [--small] [idle] [delay] [throughput] [alternate]
#
# No mode: all four, in that order. --small: a CI size (a few dozen streams,
# seconds per step, global streams for idle) that checks the tool and this
# script, not the goals.
#
# BENCH_POSTS posts are seeded (default: what the mode needs, rounded up to
# 100; none for global idle streams); the other BENCH_* of bench/http/run.sh
# apply to its runs. STREAM_SETTLE_MS (2 000): how long the streams settle
# after opening before the server's VmRSS is read. STREAM_SERVE_ARGS: more
# flags for serve (split on spaces). Data directories go under
# $LEDGER_BENCH_DIR (default /tmp) and are removed at the end. The fund rows
# with streams run after those without, on a ledger longer by the fundings of
# the first ones.
#
# Open files: 10 000 streams take 10 000 descriptors in the server and as many
# in stream_load. The script raises its limit (ulimit -n 65536, else the hard
# limit) before starting either; raising the hard limit needs root, so run it
# as root, or with a hard limit above the streams plus a few thousand.
#
# Every step must succeed (stream_load exits 1 when a stream failed to open
# or ended early, a funding was not answered 201, or an event never arrived),
# or the script fails naming it. Timing goals are printed, never asserted.
set -euo pipefail

usage() {
  sed -n '/^#   bench\/stream\/run.sh/p' "$0" | sed 's/^# *//' >&2
  exit 2
}

build_dir=${1:-}
[[ -n $build_dir && $build_dir != -* ]] || usage
shift
small=0
modes=()
for arg in "$@"; do
  case $arg in
    --small) small=1 ;;
    idle | delay | throughput | alternate) modes+=("$arg") ;;
    *) usage ;;
  esac
done
((${#modes[@]} > 0)) || modes=(idle delay throughput alternate)

here=$(cd "$(dirname "$0")" && pwd)
binary=$build_dir/funding-ledger
tool=$build_dir/bench/stream_load
secret=bench-secret-bench-secret-bench-secret
[[ -x $binary ]] || { echo "run.sh: $binary is missing (build first)" >&2; exit 2; }
[[ -x $tool ]] || { echo "run.sh: $tool is missing (build the stream_load target)" >&2; exit 2; }

idle_kind=${STREAM_IDLE_KIND:-post}
if ((small)); then
  idle_streams=${STREAM_IDLE_STREAMS:-40}
  delay_streams=${STREAM_DELAY_STREAMS:-40}
  rate=${STREAM_RATE:-200}
  stream_connections=${STREAM_CONNECTIONS:-4}
  stream_seconds=${STREAM_SECONDS:-2}
  settle_ms=${STREAM_SETTLE_MS:-500}
  idle_kind=${STREAM_IDLE_KIND:-global}  # so that both kinds are run
  export BENCH_SECONDS=${BENCH_SECONDS:-1} BENCH_FUND_POSTS=${BENCH_FUND_POSTS:-40}
  export BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-8}
  export BENCH_FUND_CONNECTIONS=${BENCH_FUND_CONNECTIONS:-16}
  export BENCH_THREADS=${BENCH_THREADS:-1}
  rounds=${STREAM_ROUNDS:-1}
else
  idle_streams=${STREAM_IDLE_STREAMS:-10000}
  delay_streams=${STREAM_DELAY_STREAMS:-1000}
  rate=${STREAM_RATE:-5000}
  stream_connections=${STREAM_CONNECTIONS:-32}
  stream_seconds=${STREAM_SECONDS:-60}
  settle_ms=${STREAM_SETTLE_MS:-2000}
  export BENCH_FUND_POSTS=${BENCH_FUND_POSTS:-1000}
  rounds=${STREAM_ROUNDS:-3}
fi
user_posts=${BENCH_POSTS:-}
if [[ $idle_kind != post && $idle_kind != global ]]; then
  echo "run.sh: STREAM_IDLE_KIND is post or global" >&2
  exit 2
fi
throughput_streams=${STREAM_THROUGHPUT_STREAMS:-$BENCH_FUND_POSTS}
# shellcheck disable=SC2034  # read as ${!n} in the loop below
alternate_streams=$throughput_streams

# Room for the most streams a chosen mode opens, plus wrk's connections and
# spares, in the server and in stream_load.
most_streams=0
for mode in "${modes[@]}"; do
  n=${mode}_streams
  ((${!n} <= most_streams)) || most_streams=${!n}
done
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fds=$(ulimit -n)
if [[ $fds != unlimited ]] && ((fds < most_streams + 4096)); then
  echo "run.sh: only $fds open files allowed, $((most_streams + 4096)) wanted for $most_streams" \
    "streams; run as root (or raise ulimit -Hn)" >&2
  exit 2
fi

work=$(mktemp -d "${LEDGER_BENCH_DIR:-/tmp}/funding-ledger-stream-bench-XXXXXX")
chmod 711 "$work"  # embedded PostgreSQL runs as another user and must reach its data
server_pid=
tool_pid=
seeded_posts=
stop_server() {
  [[ -n $server_pid ]] || return 0
  kill -TERM "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=
}
cleanup() {
  if [[ -n $tool_pid ]]; then
    kill -TERM "$tool_pid" 2>/dev/null || true
    wait "$tool_pid" 2>/dev/null || true
  fi
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT

note() { echo "run.sh: $(date +%T) $*" >&2; }
fail() {
  echo "run.sh: $*" >&2
  exit 1
}

# start_server NAME MAX_STREAMS: a fresh server in $work/NAME; sets
# server_pid, port, api and data.
start_server() {
  local name=$1 max_streams=$2
  ((max_streams >= 1000)) || max_streams=1000
  data=$work/$name
  # shellcheck disable=SC2086  # STREAM_SERVE_ARGS is split on purpose
  "$binary" serve --listen 127.0.0.1:0 --data-dir "$data" --jwt-secret "$secret" \
    --max-streams "$max_streams" --max-connections $((max_streams + 4096)) \
    --max-connections-per-address 0 --write-rate 0 \
    ${STREAM_SERVE_ARGS:-} >"$work/$name.stdout" 2>"$work/$name.stderr" &
  server_pid=$!
  port=
  for _ in $(seq 1 600); do
    # The file may not exist yet: the server's shell creates it after the fork.
    port=$(sed -n 's/.*serving on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/$name.stdout" \
      2>/dev/null || true)
    [[ -n $port ]] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  [[ -n $port ]] || { cat "$work/$name.stderr" >&2; fail "the server ($name) did not start"; }
  api=http://127.0.0.1:$port
}

# seed NEEDED: bench/http/run.sh seeds BENCH_POSTS posts, else NEEDED rounded
# up to its batches of 100, and waits for the read tables; with
# BENCH_ONLY_FUND it then runs only its fund rows, here for 1 s each.
seed() {
  seeded_posts=${user_posts:-$((($1 + 99) / 100 * 100))}
  note "seeding $seeded_posts posts"
  local fund_posts=$BENCH_FUND_POSTS  # its 1 s fund rows must find their posts
  ((fund_posts <= seeded_posts)) || fund_posts=$seeded_posts
  BENCH_API=$api BENCH_JWT_SECRET=$secret BENCH_POSTS=$seeded_posts BENCH_ONLY_FUND=1 \
    BENCH_SECONDS=1 BENCH_FUND_POSTS=$fund_posts \
    bash "$here/../http/run.sh" "$build_dir" "$work/seed.md" || fail "seeding failed"
}

# Backers: the posts' owner (seeder) may not fund them.
tokens() {
  for i in $(seq 1 100); do
    "$binary" token --jwt-secret "$secret" --data-dir "$data" --sub "backer-$i"
  done >"$work/tokens"
}

run_idle() {
  start_server idle "$idle_streams"
  [[ $idle_kind == global ]] || seed "$idle_streams"
  note "idle: $idle_streams $idle_kind streams"
  echo "## idle: $idle_streams $idle_kind streams held"
  "$tool" --port "$port" --streams "$idle_streams" "--$idle_kind-streams" --hold-seconds 1 \
    --settle-ms "$settle_ms" --server-pid "$server_pid" || fail "stream_load (idle) failed"
  echo
  stop_server
}

run_delay() {
  start_server delay "$delay_streams"
  seed "$delay_streams"
  tokens
  note "delay: $delay_streams post streams, $rate fundings/s for $stream_seconds s"
  echo "## delay: $delay_streams post streams, fundings at $rate/s over" \
    "$stream_connections connections for $stream_seconds s"
  "$tool" --port "$port" --streams "$delay_streams" --post-streams --rate "$rate" \
    --connections "$stream_connections" --seconds "$stream_seconds" --token-file "$work/tokens" \
    --settle-ms "$settle_ms" --server-pid "$server_pid" || fail "stream_load (delay) failed"
  echo
  stop_server
}

# CPU ticks of process $1 and every process below it (the server's embedded
# PostgreSQL and its backends), counted as bench/http/run.sh counts them.
cpu_ticks() {
  local pids=$1 frontier=$1 p
  while [[ -n $frontier ]]; do
    frontier=$(ps -o pid= --ppid "${frontier// /,}" | xargs || true)
    pids+=" $frontier"
  done
  for p in $pids; do
    # Fields after the command name: utime, stime, cutime, cstime are 12-15.
    sed 's/.*) //' "/proc/$p/stat" 2>/dev/null || true
  done | awk '{ total += $12 + $13 + $14 + $15 } END { print total + 0 }'
}

# The server's CPU per funding over one bench/http/run.sh run (its own column
# says "?" for a server it did not start): ticks over the fund rows' requests.
cpu_per_funding_us() {
  local ticks=$1 table=$2
  awk -F'|' -v t="$ticks" -v hz="$(getconf CLK_TCK)" -v s="${BENCH_SECONDS:-20}" '
    /^\| fund/ { n += $4 * s }
    END { if (n > 0) printf "%.0f", t / hz * 1e6 / n; else print "?" }' "$table"
}

# The requests/s column of bench/http/run.sh's table rows, one per line.
rates() { awk -F'|' '/^\| fund/ { gsub(/ /, "", $3); gsub(/ /, "", $4); print $3, $4 }' "$1"; }

# hold_streams: stream_load holds $throughput_streams post streams (on the
# posts wrk funds) in the background until killed; sets tool_pid once they
# are all open.
hold_streams() {
  "$tool" --port "$port" --streams "$throughput_streams" --post-streams --hold-seconds 86400 \
    --settle-ms "$settle_ms" >"$work/hold.txt" 2>"$work/hold.stderr" &
  tool_pid=$!
  until grep -q '^stream_load: ready' "$work/hold.stderr"; do
    if ! kill -0 "$tool_pid" 2>/dev/null; then
      cat "$work/hold.stderr" "$work/hold.txt" >&2
      fail "stream_load (hold) ended before it was ready"
    fi
    sleep 0.2
  done
}

run_throughput() {
  start_server throughput "$throughput_streams"
  seed "$BENCH_FUND_POSTS"
  note "throughput: fund rows without streams"
  local ticks_before ticks_without ticks_with tool_ticks
  ticks_before=$(cpu_ticks "$server_pid")
  BENCH_API=$api BENCH_JWT_SECRET=$secret BENCH_POSTS=$seeded_posts BENCH_ONLY_FUND=1 \
    BENCH_SKIP_SEED=1 bash "$here/../http/run.sh" "$build_dir" "$work/without.md" ||
    fail "bench/http/run.sh without streams failed"
  ticks_without=$(($(cpu_ticks "$server_pid") - ticks_before))

  note "throughput: holding $throughput_streams post streams"
  hold_streams
  note "throughput: fund rows with the streams"
  ticks_before=$(cpu_ticks "$server_pid")
  tool_ticks=$(cpu_ticks "$tool_pid")
  BENCH_API=$api BENCH_JWT_SECRET=$secret BENCH_POSTS=$seeded_posts BENCH_ONLY_FUND=1 \
    BENCH_SKIP_SEED=1 bash "$here/../http/run.sh" "$build_dir" "$work/with.md" ||
    fail "bench/http/run.sh with streams failed"
  ticks_with=$(($(cpu_ticks "$server_pid") - ticks_before))
  tool_ticks=$(($(cpu_ticks "$tool_pid") - tool_ticks))
  kill -TERM "$tool_pid"
  local held=0
  wait "$tool_pid" || held=$?
  tool_pid=

  echo "## throughput: bench/http/run.sh fund rows, without and with" \
    "$throughput_streams post streams"
  echo
  echo "Without streams:"
  echo
  cat "$work/without.md"
  echo
  echo "With $throughput_streams post streams held by stream_load:"
  echo
  cat "$work/with.md"
  echo
  cat "$work/hold.txt"
  paste -d' ' <(rates "$work/without.md") <(rates "$work/with.md") |
    awk '{ printf "fund with %s connections: %s/s without streams, %s/s with: %+.1f %%", $1, $2,
                  $4, ($2 > 0 ? ($4 - $2) * 100 / $2 : 0)
           print " (goal: no lower than -10 %)" }'
  echo "server CPU per funding (with its PostgreSQL): $(cpu_per_funding_us "$ticks_without" \
    "$work/without.md") µs without streams, $(cpu_per_funding_us "$ticks_with" "$work/with.md")" \
    "µs with; stream_load itself used $(awk -v t="$tool_ticks" -v hz="$(getconf CLK_TCK)" \
      'BEGIN { printf "%.1f", t / hz }') s of CPU beside the fund rows with streams"
  echo
  stop_server
  ((held == 0)) || fail "stream_load (hold) reported a problem (above)"
}

# thread_ticks SERVER_PID [TOOL_PID]: "group ticks" lines: each thread of
# the server by name (unnamed ones, named like the process, by thread id),
# its PostgreSQL processes as one group, and the tool.
thread_ticks() {
  local server=$1 tool=${2:-} t name
  for t in /proc/"$server"/task/*; do
    name=$(tr ' ' _ <"$t/comm" 2>/dev/null || true)
    [[ $name == funding-ledger ]] && name=thread-${t##*/}
    [[ -n $name ]] && echo "$name $(sed 's/.*) //' "$t/stat" 2>/dev/null | awk '{ print $12 + $13 }')"
  done
  echo "postgres $(($(cpu_ticks "$server") - $(sed 's/.*) //' "/proc/$server/stat" |
    awk '{ print $12 + $13 }')))"
  [[ -z $tool ]] || echo "stream_load $(cpu_ticks "$tool")"
}

# alternate_run NAME: one wrk fund run; prints its table row.
alternate_run() {
  local name=$1 out=$work/alternate-wrk.txt requests rps p99
  thread_ticks "$server_pid" "$tool_pid" >"$work/ticks-before"
  wrk -t"${BENCH_THREADS:-2}" -c"${BENCH_CONNECTIONS:-64}" -d"${BENCH_SECONDS:-20}s" --latency \
    -s "$here/../http/fund.lua" "$api" >"$out" 2>&1 || fail "wrk failed: $(cat "$out")"
  thread_ticks "$server_pid" "$tool_pid" >"$work/ticks-after"
  grep -q '^unexpected_status 0$' "$out" || fail "fundings not answered 201: $(cat "$out")"
  requests=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$out")
  rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$out")
  p99=$(awk '$1=="99%"{print $2}' "$out")
  printf '| %s | %.0f | %s | %s |\n' "$name" "$rps" "$p99" "$(
    awk -v n="$requests" -v hz="$(getconf CLK_TCK)" '
      FNR == NR { before[$1] = $2; next }
      { us = ($2 - before[$1]) / hz * 1e6 / n
        if ($1 != "stream_load") total += us
        if (us >= 0.5) parts = parts sprintf("%s %.1f, ", $1, us) }
      END { sub(/, $/, "", parts); printf "**%.1f** | %s", total, parts }' \
      "$work/ticks-before" "$work/ticks-after")"
}

run_alternate() {
  start_server alternate "$throughput_streams"
  seed "$BENCH_FUND_POSTS"
  tokens
  export BENCH_DIR=$here/../http BENCH_TOKENS=$work/tokens BENCH_POSTS=$seeded_posts
  echo "## alternate: wrk fund runs at ${BENCH_CONNECTIONS:-64} connections, without and with" \
    "$throughput_streams post streams on one server, rounds: $rounds"
  echo
  echo "| run | fundings/s | p99 | server and PostgreSQL µs CPU per funding | by thread (µs) |"
  echo "|---|---:|---:|---:|---|"
  local round
  for round in $(seq 1 "$rounds"); do
    alternate_run "$round: without streams"
    hold_streams
    alternate_run "$round: with streams"
    kill -TERM "$tool_pid"
    local held=0
    wait "$tool_pid" || held=$?
    tool_pid=
    ((held == 0)) || fail "stream_load (alternate) reported a problem: $(cat "$work/hold.txt")"
  done
  echo
  stop_server
}

for mode in "${modes[@]}"; do
  "run_$mode"
done
