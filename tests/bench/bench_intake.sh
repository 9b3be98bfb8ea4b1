#!/usr/bin/env bash
# Surge intake: 200,000 tickets over HTTP keep-alive at concurrency 64 (wrk, 2 threads) to a
# durable intake (full sync), with access checks on (an operator's bearer token on every
# request) and off, alternating, twice each; then the same with one commit per ticket
# (maxBatch 1, tokens on). Prints
# tickets/s (until intake's log holds them all), acknowledgement latency p50 / p99 / p99.9
# (wrk), and intake's memory: anonymous RSS (heap: what a backlog would grow) when a quarter
# of the tickets are in and at the peak, and file-backed RSS (LMDB pages the kernel keeps
# mapped; reclaimable).
# Usage: HOTLINE_BIN=build/release/bin tests/bench/bench_intake.sh [TICKETS]
#   HOTLINE_SRC (default: this checkout) is where the wrk script tests/bench/post_ticket.lua is;
#   ROUNDS=N (default 2) alternations of tokens on / off; SYNC=SYNC_NOSYNC takes the disk out
#   (to see the CPU cost of a change alone); PER_TICKET=0 skips the commit-per-ticket run.
source "$(dirname "$0")/../lib.sh"
N=${1:-${N:-200000}}
HOTLINE_SRC=${HOTLINE_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
LUA=$HOTLINE_SRC/tests/bench/post_ticket.lua
command -v wrk >/dev/null || fail "wrk is not installed (scripts/deps.sh installs it)"

auth_on
TOKEN=$(mint operator bench)
ADMIN=$(mint admin bench-admin) # for /v1/status
run() { # run LABEL MAX_BATCH tokens|open
  local label=$1 batch=$2 dir="$T/$1.$RANDOM" disabled=true token=""
  [ "$3" = tokens ] && disabled=false token=$TOKEN
  rm -f "$T/p.json"
  HOTLINE_RUNTIME_AUTH_DISABLED=$disabled HOTLINE_RUNTIME_MAX_BATCH=$batch \
    HOTLINE_RUNTIME_STORE_SYNC=${SYNC:-SYNC_FULL} \
    start intake "$BIN/hotline-intake" --data-dir "$dir" \
    --http-port 0 --bus 'tcp://127.0.0.1:*' --port-file "$T/p.json" --log-level warn
  wait_port_file "$T/p.json"
  local port pid head=0 peak=0 rss anon_q=0 file_peak=0 f
  port=$(json_get "$T/p.json" http)
  pid=${PIDS[intake]}
  local rss0; rss0=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status")
  local t0; t0=$(date +%s.%N)
  [ -z "$token" ] || wait_token "http://127.0.0.1:$port" "$token"
  wrk -t2 -c64 -d600s -s "$LUA" "http://127.0.0.1:$port/v1/tickets" -- 1000000000 $token \
    > "$T/wrk.out" 2>&1 &
  local w=$!
  while [ "$head" -lt "$N" ]; do
    sleep 0.2
    head=$(curl -sf -H "Authorization: Bearer $ADMIN" "http://127.0.0.1:$port/v1/status" |
           json_get - headSeq)
    rss=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status")
    f=$(awk '/^RssFile:/ {print $2}' "/proc/$pid/status")
    [ "$rss" -gt "$peak" ] && peak=$rss
    [ "$f" -gt "$file_peak" ] && file_peak=$f
    [ "$anon_q" = 0 ] && [ "$head" -ge $(( N / 4 )) ] && anon_q=$rss
  done
  local t1; t1=$(date +%s.%N)
  kill -INT "$w"; wait "$w" || true
  local rss1; rss1=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status")
  local commits
  commits=$(curl -sf -H "Authorization: Bearer $ADMIN" "http://127.0.0.1:$port/v1/status" |
            json_get - commits.count)
  grep -q 'non-200' "$T/wrk.out" && fail "$label: intake refused tickets: $(grep -m1 non-200 "$T/wrk.out")"
  python3 - "$label" "$N" "$t0" "$t1" "$rss0" "$anon_q" "$peak" "$rss1" "$file_peak" "$commits" \
    "$(tail -n 1 "$T/wrk.out")" <<'PY'
import json, os, sys
label, n, t0, t1, r0, rq, peak, r1, fpeak, commits, wrk = sys.argv[1:]
w = json.loads(wrk)
print(json.dumps({"bench": "intake_http_" + label, "sync": os.environ.get("SYNC", "SYNC_FULL"),
                  "tickets": int(n),
                  "tickets_per_s": round(int(n) / (float(t1) - float(t0))),
                  "ack_p50_ms": w["p50_ms"], "ack_p99_ms": w["p99_ms"], "ack_p999_ms": w["p999_ms"],
                  "commits": int(commits), "tickets_per_commit": round(int(n) / int(commits), 1),
                  "rss_anon_kb_start": int(r0), "rss_anon_kb_at_25pct": int(rq),
                  "rss_anon_kb_peak": int(peak), "rss_anon_kb_end": int(r1),
                  "rss_file_kb_peak": int(fpeak),
                  "wrk_errors": w["errors"]}))
PY
  stop_term intake
}
for round in $(seq 1 "${ROUNDS:-2}"); do
  run group_commit 10000 open
  run group_commit_tokens 10000 tokens
done
[ "${PER_TICKET:-1}" = 0 ] || run commit_per_ticket_tokens 1 tokens
