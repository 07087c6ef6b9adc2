#!/usr/bin/env bash
# The REST benchmark (issue 4): starts build/funding-ledger serve on a free
# port with a fresh data directory, seeds BENCH_POSTS posts, then runs each wrk
# scenario for BENCH_SECONDS and prints a Markdown table. During the fund run a
# probe measures projection lag the way a client sees it: the time from a
# funding's 201 until a read with X-Min-Position of its position answers. The
# last column is the CPU the service spent per request during a run: the
# server process, its embedded PostgreSQL and that cluster's backends, from
# /proc, wrk's own CPU not included (the projector may still be finishing the
# last fundings when a fund run ends, so its share is slightly undercounted).
#
#   bench/http/run.sh BUILD_DIR [OUT.md]
#
# Environment: BENCH_POSTS (100000), BENCH_FUND_POSTS (1000), BENCH_SECONDS
# (20), BENCH_CONNECTIONS (64), BENCH_FUND_CONNECTIONS (256, a second fund
# run), BENCH_THREADS (2), LEDGER_BENCH_DIR (data directory parent, default
# /tmp), BENCH_SERVE_ARGS (more flags for serve, split on spaces, e.g.
# "--metrics off --log-level warn"), BENCH_ONLY_FUND (1: only the fund rows,
# without the lag probe), BENCH_BUDGET (1: a second table of each run's CPU
# per request by thread and PostgreSQL backend, and wrk's, and a third of the
# time the service's threads waited for a CPU), BENCH_IDEMPOTENCY (1: every
# funding carries an Idempotency-Key of its own, as careful clients send).
#
# The server is started without the per-address connection cap and the
# per-user write rate (--max-connections-per-address 0 --write-rate 0): wrk is
# one address and funds as 100 backers, thousands of times a second each, which
# is the load those limits exist to refuse.
#
# A service that runs already (a node of ops/cluster): BENCH_API=http://HOST:PORT
# and BENCH_JWT_SECRET (its secret) instead of starting one; the CPU column is
# then "?" (it counts only a server this script started). BENCH_SKIP_SEED=1
# uses the posts a previous run seeded there. BENCH_SPREAD=HOST:PORT,... (the
# cluster's nodes) spreads the wrk threads round robin over those addresses,
# one thread per address unless BENCH_THREADS says otherwise.
#
# Why a second fund run with more connections: a funding is answered only
# after the fsync of its batch, so each connection has at most one funding
# in flight per batch. If the fsync rather than the CPU were the limit, more
# connections (bigger batches) would raise the rate; the two fund rows show
# which one it is.
set -euo pipefail

build_dir=${1:?usage: bench/http/run.sh BUILD_DIR [OUT.md]}
out=${2:-/dev/stdout}
here=$(cd "$(dirname "$0")" && pwd)
binary=$build_dir/funding-ledger
posts=${BENCH_POSTS:-100000}
fund_posts=${BENCH_FUND_POSTS:-1000}
seconds=${BENCH_SECONDS:-20}
connections=${BENCH_CONNECTIONS:-64}
fund_connections=${BENCH_FUND_CONNECTIONS:-256}
spread=${BENCH_SPREAD:-}
default_threads=2
[[ -n $spread ]] && default_threads=$(tr ',' '\n' <<<"$spread" | grep -c .)
threads=${BENCH_THREADS:-$default_threads}
export BENCH_SPREAD=$spread
secret=${BENCH_JWT_SECRET:-bench-secret-bench-secret-bench-secret}

[[ -x $binary ]] || { echo "run.sh: $binary is missing (build first)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "run.sh: wrk is missing (ops/dev deps)" >&2; exit 2; }
command -v curl >/dev/null || { echo "run.sh: curl is missing (ops/dev deps)" >&2; exit 2; }

work=$(mktemp -d "${LEDGER_BENCH_DIR:-/tmp}/funding-ledger-http-bench-XXXXXX")
chmod 711 "$work"
server_pid=
cleanup() {
  if [[ -n $server_pid ]]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

if [[ -n ${BENCH_API:-} ]]; then
  api=$BENCH_API
else
  "$binary" serve --listen 127.0.0.1:0 --data-dir "$work/data" --jwt-secret "$secret" \
    --max-connections 4096 --max-connections-per-address 0 --write-rate 0 \
    ${BENCH_SERVE_ARGS:-} >"$work/stdout" 2>"$work/stderr" &
  server_pid=$!
  port=
  for _ in $(seq 1 600); do
    port=$(sed -n 's/.*serving on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/stdout")
    [[ -n $port ]] && break
    sleep 0.1
  done
  [[ -n $port ]] || { cat "$work/stderr" >&2; echo "run.sh: the server did not start" >&2; exit 1; }
  api=http://127.0.0.1:$port
fi

token() { "$binary" token --jwt-secret "$secret" --data-dir "$work/data" --sub "$1"; }
seeder=$(token seeder)
for i in $(seq 1 100); do token "backer-$i"; done >"$work/tokens"

# Seed: arrays of 100 posts, four requests at a time. Each title has two of
# 40 words, so a one-word search matches about 5 % of the posts, as a real
# search would, rather than all of them.
seed_batch() {
  local first=$1 body="[" n
  local words=(취미 모임 요리 여행 음악 사진 독서 운동 그림 영화 게임 정원 커피 공예 캠핑
    등산 강아지 고양이 책방 공연 hobby music travel photo garden coffee craft camping
    cinema books art food design film dance games pets tea yoga)
  for ((n = first; n < first + 100; n++)); do
    ((n == first)) || body+=","
    local a=${words[$((n % 40))]} b=${words[$(((n / 40) % 40))]}
    body+="{\"title\":\"캠페인 $n $a $b\",\"uploader\":\"seeder\","
    body+="\"description\":\"bench\",\"target_amount\":100000000,\"funding_unit\":1000,"
    body+="\"end_date\":\"2030-12-31\"}"
  done
  body+="]"
  curl -sf -o /dev/null -X POST "$api/api/posts" -H "Authorization: Bearer $seeder" \
    -H 'Content-Type: application/json' --data-binary "$body"
}
export -f seed_batch
export api seeder
start=$(date +%s)
[[ ${BENCH_SKIP_SEED:-0} == 1 ]] || seq 1 100 "$posts" | xargs -P 4 -I{} bash -c 'seed_batch {}'
seed_s=$(($(date +%s) - start))
# Wait until the read tables hold every post: each read waits a few seconds
# for the position (then 503), and projecting 100 000 creations can take
# longer than that on a slow machine, so try for up to two minutes.
head=$(curl -sf "$api/api/ledger/head" | sed 's/.*"position":\([0-9]*\).*/\1/')
for attempt in $(seq 1 40); do
  curl -sf -o /dev/null -H "X-Min-Position: $head" "$api/api/posts/1" && break
  ((attempt < 40)) || { echo "run.sh: the read tables never reached position $head" >&2; exit 1; }
done

export BENCH_DIR=$here BENCH_TOKENS=$work/tokens BENCH_POSTS=$posts BENCH_FUND_POSTS=$fund_posts

# Projection lag probe: fund, then read with X-Min-Position, sample the wait.
probe() {
  local token
  token=$(sed -n 1p "$BENCH_TOKENS")
  while [[ ! -e $work/stop-probe ]]; do
    local position
    position=$(curl -sf -X POST "$api/api/posts/$((RANDOM % fund_posts + 1))/fundings" \
      -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d '{}' \
      -D - -o /dev/null | tr -d '\r' | sed -n 's/^[Xx]-[Ll]edger-[Pp]osition: //p')
    [[ -n $position ]] || continue
    curl -s -o /dev/null -w '%{time_total}\n' -H "X-Min-Position: $position" \
      "$api/api/posts/1" >>"$work/lag"
    sleep 0.05
  done
}

# CPU time in clock ticks of the service and every process below it (its
# embedded PostgreSQL, that cluster's backends), so that a change's cost per
# request can be compared where requests/s alone is too noisy to tell.
service_ticks() {
  [[ -n $server_pid ]] || { echo 0; return; }
  local pids=$server_pid frontier=$server_pid
  while [[ -n $frontier ]]; do
    frontier=$(ps -o pid= --ppid "${frontier// /,}" | xargs || true)
    pids+=" $frontier"
  done
  local p
  for p in $pids; do
    # Fields after the command name: utime, stime, cutime, cstime are 12-15.
    sed 's/.*) //' "/proc/$p/stat" 2>/dev/null || true
  done | awk '{ total += $12 + $13 + $14 + $15 } END { print total + 0 }'
}
ticks_per_s=$(getconf CLK_TCK)

# BENCH_BUDGET=1: the service's CPU per request split by where it was spent,
# for issue 18's budget. Lines "group ticks": the service's threads by name
# (its HTTP threads are named after the binary), its PostgreSQL's backends by
# application_name (the read pool, the projector), and that cluster's own
# processes (WAL writer, checkpointer, autovacuum) as "postgres:other".
budget=0
[[ ${BENCH_BUDGET:-0} == 1 && -n $server_pid ]] && budget=1
# utime + stime of one /proc/.../stat (fields 12 and 13 after the name).
stat_ticks() { sed 's/.*) //' "$1" 2>/dev/null | awk '{ print $12 + $13 }'; }
# "name value" for each of the service's threads, the value printed by the
# command in "$@" given the thread's /proc directory (its HTTP threads are
# named after the binary: "http").
each_thread() {
  local t name
  for t in /proc/"$server_pid"/task/*; do
    name=$(cat "$t/comm" 2>/dev/null) || continue
    [[ $name == funding-ledger ]] && name=http
    echo "$name $("$@" "$t")"
  done | awk 'NF == 2'
}
thread_ticks() { stat_ticks "$1/stat"; }
budget_ticks() {
  local name
  each_thread thread_ticks
  local cluster=$work/data/pg/cluster names
  names=$(runuser -u postgres -- psql -h "$cluster" -d postgres -XAtq -F ' ' \
    -c "SELECT pid, application_name FROM pg_stat_activity" 2>/dev/null || true)
  local p
  for p in $(pgrep -f "postgres: " -P "$(head -1 "$cluster/postmaster.pid")" || true); do
    name=$(awk -v p="$p" '$1 == p { print $2 }' <<<"$names")
    case $name in
      funding-ledger-reads) name=postgres:reads ;;
      funding-ledger-projector) name=postgres:projector ;;
      *) name=postgres:other ;;
    esac
    echo "$name $(stat_ticks "/proc/$p/stat")"
  done | awk 'NF == 2'
}
# The same groups' time spent runnable but waiting for a CPU (the second
# field of /proc/.../schedstat, ns): when the sequencer waits as long as it
# runs, the rate is set by the cores, not by the disk's sync.
thread_wait_ns() { awk '{ print $2 }' "$1/schedstat" 2>/dev/null; }
budget_waits() { each_thread thread_wait_ns; }
budget_rows=()
wait_rows=()

run() {
  local name=$1 script=$2 clients=${3:-$connections}
  local ticks_before ticks_after
  ticks_before=$(service_ticks)
  ((budget)) && budget_ticks >"$work/budget-before" && budget_waits >"$work/waits-before"
  # `times` in the subshell: wrk's own CPU (its second line, the children's).
  (
    wrk -t"$threads" -c"$clients" -d"${seconds}s" --latency -s "$here/$script" "$api" || true
    times >"$work/wrk-times"
  ) >"$work/$name.txt" 2>&1
  ticks_after=$(service_ticks)
  ((budget)) && budget_ticks >"$work/budget-after" && budget_waits >"$work/waits-after"
  local rps p50 p99 bad requests cpu_us
  rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$work/$name.txt")
  p50=$(awk '$1=="50%"{print $2}' "$work/$name.txt")
  p99=$(awk '$1=="99%"{print $2}' "$work/$name.txt")
  bad=$(sed -n 's/^unexpected_status \([0-9]*\)/\1/p' "$work/$name.txt")
  requests=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$work/$name.txt")
  cpu_us=$(awk -v t=$((ticks_after - ticks_before)) -v hz="$ticks_per_s" -v n="${requests:-0}" \
    -v own="${server_pid:+1}" 'BEGIN { if (n > 0 && own) printf "%.0f", t / hz * 1e6 / n; else print "?" }')
  printf '| %s | %s | %.0f | %s | %s | %s | %s |\n' "$name" "$clients" "${rps:-0}" "${p50:-?}" \
    "${p99:-?}" "${bad:-?}" "$cpu_us"
  if ((budget)) && [[ ${requests:-0} -gt 0 ]]; then
    # µs of CPU per request for each group that spent any, then wrk's.
    budget_rows+=("| $name | $clients | $(
      awk -v hz="$ticks_per_s" -v n="$requests" '
        FNR == NR { before[$1] += $2; next }
        { after[$1] += $2 }
        END {
          for (g in after) if (after[g] - before[g] > 0)
            printf "%s %.1f, ", g, (after[g] - before[g]) / hz * 1e6 / n
        }' "$work/budget-before" "$work/budget-after" | sed 's/, $//'
    ) | $(awk -v n="$requests" 'END {
        split($1, u, /[ms]/); split($2, s, /[ms]/)
        printf "%.1f", ((u[1] * 60 + u[2]) + (s[1] * 60 + s[2])) * 1e6 / n }' "$work/wrk-times") |")
    # ms waiting for a CPU per second of the run, by thread name.
    wait_rows+=("| $name | $clients | $(
      awk -v secs="$seconds" '
        FNR == NR { before[$1] += $2; next }
        { after[$1] += $2 }
        END {
          for (g in after) if ((after[g] - before[g]) / 1e6 / secs >= 1)
            printf "%s %.0f, ", g, (after[g] - before[g]) / 1e6 / secs
        }' "$work/waits-before" "$work/waits-after" | sed 's/, $//'
    ) |")
  fi
}

{
  echo "Seeded $posts posts in $seed_s s. wrk -t$threads, ${seconds} s each."
  echo
  echo "| scenario | connections | requests/s | p50 | p99 | non-2xx | service CPU µs/request |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  rm -f "$work/stop-probe" "$work/lag"
  if [[ ${BENCH_ONLY_FUND:-0} == 1 ]]; then
    run "fund (1 000 posts, durable)" fund.lua
    run "fund (1 000 posts, durable)" fund.lua "$fund_connections"
  else
    probe &
    probe_pid=$!
    run "fund (1 000 posts, durable)" fund.lua
    run "fund (1 000 posts, durable)" fund.lua "$fund_connections"
    touch "$work/stop-probe"
    wait "$probe_pid" || true
    run "detail" detail.lua
    run "list, default order" list.lua
    run "title search" search.lua
    # Issue 18's goal: one common Korean word (취미, in 5 % of the titles).
    BENCH_SEARCH_TERM=%EC%B7%A8%EB%AF%B8 run "title search, 취미 alone" search.lua
  fi
  if [[ -s $work/lag ]]; then
    echo
    sort -n "$work/lag" | awk '{v[NR]=$1} END {
      p50 = int(NR * 0.50) + 1; if (p50 > NR) p50 = NR
      p99 = int(NR * 0.99) + 1; if (p99 > NR) p99 = NR
      printf "Projection lag seen by a client during the fund runs (%d probes): ", NR
      printf "p50 %.0f ms, p99 %.0f ms, max %.0f ms.\n", v[p50] * 1000, v[p99] * 1000, v[NR] * 1000 }'
  fi
  if ((${#budget_rows[@]} > 0)); then
    echo
    echo "CPU per request by where it was spent (µs, BENCH_BUDGET=1):"
    echo
    echo "| scenario | connections | service: thread or backend µs | wrk µs |"
    echo "|---|---:|---|---:|"
    printf '%s\n' "${budget_rows[@]}"
    echo
    echo "Waiting for a CPU (ms per second of the run, summed over each name's threads; 1 or more):"
    echo
    echo "| scenario | connections | service thread: ms/s runnable but not running |"
    echo "|---|---:|---|"
    printf '%s\n' "${wait_rows[@]}"
  fi
} >"$out"
