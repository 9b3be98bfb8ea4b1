#!/usr/bin/env bash
# What a ticket's whole life leaves in each store (issue 14: retention an operator can reason
# about). The five services as `hotline up` runs them by default (access checks on, CURVE bus,
# full sync), as bench_pipeline.sh starts them, but with --test-clock (callbacks fall due the
# working day after the reply: callback's clock is moved there; the others keep real time).
# tests/bench/lifecycle_drive.py then takes N tickets through their life over HTTP with each
# role's token: submitted (wrk + post_ticket.lua), signed and replied by their units, called
# back and rated by 8 agents; REWORK_PCT % rated dissatisfied, reworked (signed and replied
# again), called back again and rated satisfied; the rest satisfied the first time. Once all is
# applied (every feed cursor at its producer's head) the services stop and it prints JSON lines:
#   lifecycle          the mix, each phase's seconds, requests, each service's /metrics
#   store              per service and sub-database (mdb_stat -efa, pipeline_lib.sh's store_stat):
#                      entries, pages, bytes per ticket, free pages
#   lifecycle_service  per service: hotline_store_used_bytes per ticket, pages used per ticket,
#                      events per ticket in its log (and by kind), and the same bytes without
#                      the event log (sub-database "log": trimmed after eventLog.retentionHours,
#                      168 h, so the long-term figure is without it); also without the
#                      idempotency keys (idem, idem_time: kept idempotencyHours, 24 h)
#   lifecycle_total    the five together
# Usage: HOTLINE_BIN=build/release/bin tests/bench/bench_lifecycle.sh [TICKETS]
#   N (default 20000) tickets; REWORK_PCT (default 10); AGENTS (8) callback agents; THREADS (8)
#   unit connections; KEEP=DIR copies the data directory to DIR; HOTLINE_SRC (default: this
#   checkout) holds tests/bench/post_ticket.lua.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pipeline_lib.sh"
# Access checks stay on, as `hotline up` runs the services (see bench_pipeline.sh).
unset HOTLINE_RUNTIME_AUTH_DISABLED
N=${1:-${N:-20000}}
HERE=$(cd "$(dirname "$0")" && pwd)
HOTLINE_SRC=${HOTLINE_SRC:-$(cd "$HERE/../.." && pwd)}
LUA=$HOTLINE_SRC/tests/bench/post_ticket.lua
command -v wrk >/dev/null || fail "wrk is not installed (scripts/deps.sh installs it)"
command -v mdb_stat >/dev/null || fail "mdb_stat is not installed (lmdb-utils)"
BASE=$(reserve_ports 15)
SERVICES=(intake dispatch sla callback analytics)
dir=$T/life
t0=$(date +%s.%N)
since() { python3 -c "import sys; print(round($(date +%s.%N) - $1, 2))"; }

start up "$BIN/hotline" --port-base "$BASE" up --data-dir "$dir" --sync full --test-clock
wait_until 90 grep -q 'hotline: running' "$T/up.log"
grep -q 'NOT READY' "$T/up.log" && fail "a service did not become ready: $(cat "$T/up.log")"
mkdir -p "$T/tokens"
specs=(operator:operator admin:admin service:service)
for i in $(seq 1 "${AGENTS:-8}"); do specs+=("agent-$i:callback-agent"); done
for s in "${specs[@]}"; do
  "$BIN/hotline" --port-base "$BASE" --data-dir "$dir" token create --role "${s#*:}" \
    --name "${s%%:*}" --out "$T/tokens/${s%%:*}.token" >/dev/null
done
for s in "${specs[@]}"; do
  for i in 0 1 2 3 4; do wait_token "http://127.0.0.1:$(( BASE + i ))" "$(cat "$T/tokens/${s%%:*}.token")"; done
done
startup_s=$(since "$t0")

N=$N BASE=$BASE LUA=$LUA BIN=$BIN DATA=$dir TOKENS=$T/tokens \
  python3 "$HERE/lifecycle_drive.py" > "$T/drive.json" || fail "the drive failed"
t1=$(date +%s.%N)
stop_term up
stop_s=$(since "$t1")
t1=$(date +%s.%N)
recorded=$(json_get "$T/drive.json" tickets_recorded)  # wrk sends a few more than N
store_stat lifecycle "$dir" "$recorded" "${SERVICES[@]}" > "$T/store.json"
stat_s=$(since "$t1")
[ -z "${KEEP:-}" ] || { mkdir -p "$KEEP"; cp -a "$dir" "$KEEP/lifecycle"; }

python3 - "$T/drive.json" "$T/store.json" "$startup_s" "$stop_s" "$stat_s" "$(since "$t0")" <<'PY'
import json, sys
drive = json.loads(open(sys.argv[1]).read())
stores = [json.loads(l) for l in open(sys.argv[2])]
n = drive["tickets_recorded"]  # the divisor of every figure per ticket
drive["phases_s"] = {"startup_and_tokens": float(sys.argv[3]), **drive["phases_s"],
                     "stop": float(sys.argv[4]), "mdb_stat": float(sys.argv[5])}
drive["total_s"] = float(sys.argv[6])
metrics = drive.pop("metrics")
print(json.dumps(drive))
LOG, IDEM = ("log",), ("idem", "idem_time")
tot = {"used_bytes_per_ticket": 0, "pages_bytes_per_ticket": 0, "log_bytes_per_ticket": 0,
       "without_log_bytes_per_ticket": 0, "without_log_and_idem_bytes_per_ticket": 0,
       "events_per_ticket": 0}
for st in stores:
    s, m = st["service"], metrics[st["service"]]
    psize_ticket = st["bytes_per_ticket"]  # pages used x page size / N (mdb_stat)
    sub = lambda names: sum(st["subdbs"].get(d, {}).get("bytes_per_ticket", 0) for d in names)
    head = m.get("hotline_event_log_head_seq", 0)
    kinds = {k.split(".", 1)[1]: int(v) for k, v in m.items()
             if k.startswith("hotline_events_appended_total.") and v}
    row = {"bench": "lifecycle_service", "service": s, "tickets_recorded": n,
           "used_bytes_per_ticket": round(m.get("hotline_store_used_bytes", 0) / n, 1),
           "pages_bytes_per_ticket": psize_ticket,
           "free_bytes_per_ticket": st["free_bytes_per_ticket"],
           "log_bytes_per_ticket": sub(LOG), "idem_bytes_per_ticket": sub(IDEM),
           "without_log_bytes_per_ticket": round(psize_ticket - sub(LOG), 1),
           "without_log_and_idem_bytes_per_ticket": round(psize_ticket - sub(LOG) - sub(IDEM), 1),
           "events_in_log": int(head), "events_per_ticket": round(head / n, 2),
           "events_per_ticket_by_kind": {k: round(v / n, 3) for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])}}
    for k in tot:
        tot[k] += row[k]
    print(json.dumps(row))
print(json.dumps({"bench": "lifecycle_total", "tickets_recorded": n, **{k: round(v, 1) for k, v in tot.items()}}))
PY
cat "$T/store.json"
