#!/usr/bin/env bash
# The chaos suite (issue 13): the five services, each on a filesystem of its own, take a surge
# of tickets from the load client over intake's bus while, one phase after the other:
#   kill   every service, intake included, is SIGKILLed at random and restarted (the client
#          resends what was not answered with the same idempotency key);
#   stop   a consumer (dispatch, which every other service follows) is stopped (SIGSTOP) while
#          the surge goes on: intake keeps acknowledging; after SIGCONT it catches up;
#   (units sign and reply CHAOS_REPLIES (40) tickets: sla stops their clocks and starts callback
#          clocks, callback schedules the calls)
#   diskfull  each service's disk fills in turn (a filler file takes the rest of its
#          filesystem): it must refuse or stall cleanly (store full, 503), keep running, and
#          resume by itself when the filler goes; its consumers catch up;
#   clock  the clock jumps, as NTP steps a host's clock: every service's test clock forward a
#          day (a storm of yellow cards, sla SIGKILLed during it), back across local midnight,
#          forward two days (overdue, red cards, sla killed again); a restarted service comes
#          up on the real clock and is stepped again.
# Then every service's clock jumps FINAL_JUMP_DAYS on, past every step of every ladder, sla is
# SIGKILLed during that storm too, the pipeline drains, and tests/support/chaos_check.py (its
# own process, reading only the load client's ack file and the services' HTTP APIs) checks:
# acknowledged == received once == dispatched once == counted by analytics, one SIGN and one
# REPLY clock per ticket, each planned ladder step exactly once and never early, one callback
# scheduled per reply. CHAOS_CONTROLS=1 (the default) then doctors the checker's dump of this
# run (a ticket dispatched twice, one lost, one never acknowledged, a step twice, a step early,
# a step missing, a ticket received by two intake instances, an analytics count off) and each
# must fail; the receipts split over two intake logs must pass.
#
# Sizes (env): CHAOS_N tickets at least (6000; the surge goes on in rounds of CHAOS_ROUND, 500,
# until the phases are over and that many were acknowledged), CHAOS_RATE tickets/s (120),
# KILL_SECONDS (20), STOP_SECONDS (20), FULL_HOLD_SECONDS (3), JUMP_KILLS (2),
# FINAL_JUMP_DAYS (60), CHAOS_FS (tmpfs, or ext4: a loop-mounted image on the real disk),
# CHAOS_FS_MB (each filesystem's size, 512), DRAIN_SECONDS (300: the bound on every feed
# catching up after the final storm), SETTLE_SECONDS (180: the checker's own wait for counts
# still moving), CHAOS_SUMMARY (a file for the figures). tests/bench/chaos_million.sh runs it
# with 1,000,000 tickets.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pipeline.sh"
N=${CHAOS_N:-6000}
RATE=${CHAOS_RATE:-120}
ROUND=${CHAOS_ROUND:-500}
KILL_SECONDS=${KILL_SECONDS:-20}
STOP_SECONDS=${STOP_SECONDS:-20}
FULL_HOLD_SECONDS=${FULL_HOLD_SECONDS:-3}
JUMP_KILLS=${JUMP_KILLS:-2}
FINAL_JUMP_DAYS=${FINAL_JUMP_DAYS:-60}
CHAOS_FS=${CHAOS_FS:-tmpfs}
CHAOS_FS_MB=${CHAOS_FS_MB:-512}
SETTLE_SECONDS=${SETTLE_SECONDS:-180}
DRAIN_SECONDS=${DRAIN_SECONDS:-300}
CONTROLS=${CHAOS_CONTROLS:-1}
REPLIES=${CHAOS_REPLIES:-40}
CHECK=$(cd "$(dirname "$0")/../support" && pwd)/chaos_check.py
T_START=$(date +%s)

auth_on
mint service "chaos services" > "$T/auth/service.token"
mint admin chaos-admin > "$T/auth/admin.token"
export HOTLINE_RUNTIME_AUTH_SERVICE_TOKEN_FILE="$T/auth/service.token"
# The checker reads every log from seq 1: nothing may be trimmed, also once the clocks have
# jumped weeks past the default retention (168 h).
export HOTLINE_RUNTIME_EVENT_LOG_RETENTION_HOURS=87600
ADMIN=$(cat "$T/auth/admin.token")

# ---- each service's data on a filesystem of its own ----
mount_fs() { # mount_fs DIR
  mkdir -p "$1"
  if [ "$CHAOS_FS" = ext4 ]; then
    truncate -s "${CHAOS_FS_MB}M" "$1.img"
    mkfs.ext4 -q -F -m 0 "$1.img" || fail "mkfs.ext4 failed"
    mount -o loop "$1.img" "$1" || fail "cannot loop-mount $1.img (CHAOS_FS=tmpfs needs no loop device)"
  else
    mount -t tmpfs -o "size=${CHAOS_FS_MB}m" tmpfs "$1" ||
      fail "cannot mount a tmpfs on $1: the disk-full phase needs one (run as root)"
  fi
  AT_EXIT+=("umount '$1'")
}
for s in "${SERVICES[@]}"; do mount_fs "$T/fs/$s"; done
fill_disk() { # fill_disk SERVICE: a filler takes every free byte of its filesystem
  local d=$T/fs/$1 avail
  avail=$(df --output=avail -B1 "$d" | tail -n 1)
  fallocate -l "$avail" "$d/filler" 2>/dev/null || true
  dd if=/dev/zero of="$d/filler2" bs=4k status=none 2>/dev/null || true # what fallocate left
}
free_disk() { rm -f "$T/fs/$1/filler" "$T/fs/$1/filler2"; }

# ---- the services, wired as `hotline up` wires them (cli/cli_up.c), each on the test clock ----
declare -A FOLLOWS=([intake]="dispatch sla callback" [dispatch]="intake callback sla analytics"
                    [sla]="dispatch callback" [callback]="dispatch intake"
                    [analytics]="intake dispatch sla callback")
bus() { echo "tcp://127.0.0.1:$(( BASE + 10 + $(svc_index "$1") ))"; }
ready() { curl -sf "$(svc_url "$1")/readyz" >/dev/null; }
# The host's clock: real time + OFFSET_MS. A jump moves OFFSET_MS and steps every service; a
# service (re)started reads the real clock until the suite steps it too (a moment back in time).
OFFSET_MS=0
now_ms() { echo $(( $(date +%s%3N) + OFFSET_MS )); }
step_clock() { # step_clock SERVICE: to the host's clock
  local out
  out=$(curl -s -X POST -H "Authorization: Bearer $ADMIN" -d "{\"nowMs\": $(now_ms)}" \
    -w ' %{http_code}' "$(svc_url "$1")/admin/clock") || true
  [ "${out##* }" = 200 ] || fail "cannot step $1's clock: $out"
}
start_svc() {
  local s=$1 args=()
  for p in ${FOLLOWS[$s]}; do args+=(--feed "$p=$(bus "$p")"); done
  start "$s" "$BIN/hotline-$s" --data-dir "$T/fs/$s/data" --http-port $(( BASE + $(svc_index "$s") )) \
    --bus "$(bus "$s")" "${args[@]}" --test-clock --log-level warn
  wait_until 60 ready "$s"
  step_clock "$s"
}
alive() { kill -0 "${PIDS[$1]}" 2>/dev/null || fail "$1 died (see $T/$1.log)"; }
metric() { # metric SERVICE NAME: its value on /metrics (empty when it does not answer)
  curl -sf -m 5 "$(svc_url "$1")/metrics" 2>/dev/null | awk -v k="$2" '$1 == k {print $2}' || true
}
acked() { wc -l < "$T/acked"; }
for s in "${SERVICES[@]}"; do start_svc "$s"; done
log "five services up (data on $CHAOS_FS, ${CHAOS_FS_MB} MiB each); $N tickets at ${RATE}/s"

# The surge: rounds of the load client (ROUND tickets each, at RATE/s, numbered on), one after
# the other until the phases are over and at least N tickets were acknowledged; each appends
# what intake acknowledged to $T/acked.
OPERATOR=$(mint operator chaos-load)
load_rounds() {
  local r=0
  while :; do
    HOTLINE_TOKEN=$OPERATOR "$BIN/testclient" --bus "$(bus intake)" --kind ticket \
      --events "$ROUND" --offset $(( r * ROUND )) --key "chaos-r$r" --rate "$RATE" --window 64 \
      --timeout-ms 2000 --acked "$T/acked" &
    echo $! > "$T/client.pid"
    wait $! || return 1
    r=$(( r + 1 ))
    [ -e "$T/load.stop" ] && [ "$(acked)" -ge "$N" ] && return 0
  done
}
touch "$T/acked"
AT_EXIT+=('[ ! -s "$T/client.pid" ] || kill -9 "$(cat "$T/client.pid")" 2>/dev/null')
start load load_rounds
FIG="$T/figures"  # one JSON object per line, gathered into the summary at the end
figure() { echo "$1" >> "$FIG"; }
phase_start() { PHASE=$1; PHASE_T0=$(date +%s.%N); PHASE_ACK0=$(acked); log "phase $PHASE"; }
phase_end() { # phase_end EXTRA_JSON
  figure "{\"phase\": \"$PHASE\", \"seconds\": $(python3 -c "print(round($(date +%s.%N) - $PHASE_T0, 1))"), \"ackedDuring\": $(( $(acked) - PHASE_ACK0 ))${1:+, $1}}"
}

# ---- kill: SIGKILL of every service at random during the surge ----
declare -A KILLS=()
phase_start kill
end=$(( $(date +%s) + KILL_SECONDS ))
while [ "$(date +%s)" -lt "$end" ]; do
  for s in $(printf '%s\n' "${SERVICES[@]}" | shuf); do
    sleep "0.$(( RANDOM % 6 + 2 ))"
    stop9 "$s"
    KILLS[$s]=$(( ${KILLS[$s]:-0} + 1 ))
    start_svc "$s"
  done
done
for s in "${SERVICES[@]}"; do [ "${KILLS[$s]:-0}" -ge 1 ] || fail "$s was never killed"; done
kills_json=$(for s in "${SERVICES[@]}"; do printf '"%s": %s, ' "$s" "${KILLS[$s]}"; done)
phase_end "\"kills\": {${kills_json%, }}"
log "kills: ${kills_json%, }; acknowledged so far $(acked)"

# ---- stop: a consumer stopped while the surge goes on ----
phase_start stop
before=$(acked)
kill -STOP "${PIDS[dispatch]}"
sleep "$STOP_SECONDS"
during=$(( $(acked) - before ))
lag=$(metric intake 'hotline_feed_lag_events{producer="dispatch"}')
backlog=$(( $(curl -sf -H "Authorization: Bearer $ADMIN" "$(svc_url intake)/v1/status" | json_get - headSeq) ))
kill -CONT "${PIDS[dispatch]}"
[ "$during" -gt 0 ] || fail "intake acknowledged nothing while dispatch was stopped"
dispatch_caught_up() {
  local c
  c=$(metric dispatch 'hotline_feed_cursor_seq{producer="intake"}')
  [ -n "$c" ] && [ "$c" -ge "$backlog" ]
}
t_cont=$(date +%s.%N)
wait_until 300 dispatch_caught_up
catchup=$(python3 -c "print(round($(date +%s.%N) - $t_cont, 1))")
phase_end "\"stopped\": \"dispatch\", \"stopSeconds\": $STOP_SECONDS, \"ackedWhileStopped\": $during, \"intakeLogHead\": $backlog, \"catchUpSeconds\": $catchup"
log "dispatch stopped ${STOP_SECONDS}s: intake acknowledged $during meanwhile; caught up with intake's $backlog events in ${catchup}s"

# ---- units at work during the surge: REPLIES tickets signed and replied by their units, so
# that sla stops clocks and starts callback clocks and callback schedules calls ----
phase_start replies
head -n "$REPLIES" "$T/acked" | cut -d' ' -f2 > "$T/reply.ids"
pyc 'import json, sys, urllib.request
url, admin = sys.argv[1], open(sys.argv[2]).read().strip()
for tid in open(sys.argv[3]).read().split():
    req = urllib.request.Request(f"{url}/v1/assignments/{tid}", headers={"Authorization": "Bearer " + admin})
    print(tid, json.load(urllib.request.urlopen(req))["unit"])' \
  "$(svc_url dispatch)" "$T/auth/admin.token" "$T/reply.ids" > "$T/reply.units"
for u in $(cut -d' ' -f2 "$T/reply.units" | sort -u); do
  mint "unit:$u" > "$T/auth/unit-$u.token"
  wait_token "$(svc_url dispatch)" "$(cat "$T/auth/unit-$u.token")"
done
pyc 'import json, sys, urllib.request
url, d = sys.argv[1], sys.argv[2]
def post(path, tok, body):
    req = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": "Bearer " + tok, "Content-Type": "application/json"})
    urllib.request.urlopen(req).read()
for line in open(sys.argv[3]):
    tid, unit = line.split()
    tok = open(f"{d}/unit-{unit}.token").read().strip()
    post(f"/v1/tickets/{tid}/sign", tok, {})
    post(f"/v1/tickets/{tid}/reply", tok, {"result": "repaired", "resolved": True})' \
  "$(svc_url dispatch)" "$T/auth" "$T/reply.units"
phase_end "\"replied\": $REPLIES"
log "$REPLIES tickets signed and replied by their units ($(cut -d' ' -f2 "$T/reply.units" | sort -u | wc -l) units)"

# ---- diskfull: disk full on each service in turn ----
phase_start diskfull
episodes=()
for s in "${SERVICES[@]}"; do
  t0=$(date +%s.%N) a0=$(acked)
  fill_disk "$s"
  # The service keeps writing into pages its store freed, then refuses (its store full, /readyz
  # 503 saying why); a consumer stalls as soon as its feed brings something to apply (the
  # surge sees to that). A write that fits into freed pages may still pass now and then.
  is_full() {
    [ "$(metric "$s" hotline_store_full)" = 1 ] || return 1
    http GET "$(svc_url "$s")/readyz" > "$T/ready.json"
    [ "$HTTP_STATUS" = 503 ]
  }
  wait_until 120 is_full
  t_full=$(date +%s.%N) a_at_full=$(acked)
  sleep "$FULL_HOLD_SECONDS"
  alive "$s"
  a_full=$(acked)
  free_disk "$s"
  not_full() { [ "$(metric "$s" hotline_store_full)" = 0 ] && ready "$s"; }
  wait_until 120 not_full
  alive "$s"
  t1=$(date +%s.%N)
  episodes+=("{\"service\": \"$s\", \"toFullSeconds\": $(python3 -c "print(round($t_full - $t0, 1))"), \"fullSeconds\": $(python3 -c "print(round($t1 - $t_full, 1))"), \"ackedBeforeFull\": $(( a_at_full - a0 )), \"ackedWhileFull\": $(( a_full - a_at_full ))}")
  log "$s: disk full after $(python3 -c "print(round($t_full - $t0, 1))")s (readyz 503: $(json_get "$T/ready.json" error.message)); resumed when room returned"
done
phase_end "\"episodes\": [$(IFS=,; echo "${episodes[*]}")]"

# ---- clock: the clock jumps (NTP steps every service's clock) ----
phase_start clock
jump() { # jump MS: the host's clock steps by MS, every service with it
  OFFSET_MS=$(( OFFSET_MS + $1 ))
  for s in "${SERVICES[@]}"; do step_clock "$s"; done
  log "clock stepped by $(( $1 / 60000 )) min (offset now $(( OFFSET_MS / 3600000 )) h)"
}
steps() { # ladder steps sla has appended, all kinds
  local w b x
  w=$(metric sla 'hotline_events_appended_total{kind="sla_warning"}')
  b=$(metric sla 'hotline_events_appended_total{kind="sla_breached"}')
  x=$(metric sla 'hotline_events_appended_total{kind="sla_escalated"}')
  echo $(( ${w:-0} + ${b:-0} + ${x:-0} ))
}
sla_kills=0
storm_kills() { # SIGKILL sla JUMP_KILLS times while its ladder storm runs
  local i
  for (( i = 0; i < JUMP_KILLS; i++ )); do
    sleep "0.$(( RANDOM % 5 + 1 ))"
    stop9 sla
    sla_kills=$(( sla_kills + 1 ))
    start_svc sla
  done
}
s0=$(steps)
jump $(( 26 * 3600 * 1000 ))
storm_kills
# Back across local midnight (UTC+8), to 23:00 of the day before: a day's ticket numbers,
# an sla step already given, a day's counts must all survive the same day coming round again.
back=$(( -( ( $(now_ms) + 8 * 3600000 ) % 86400000 + 3600000 ) ))
jump "$back"
sleep 2
jump $(( 2 * 24 * 3600 * 1000 ))
storm_kills
sleep 2
phase_end "\"jumpsHours\": [26, $(( back / 3600000 )), 48], \"slaKills\": $sla_kills, \"stepsFired\": $(( $(steps) - s0 ))"

# ---- the surge ends; the final jump past every ladder ----
touch "$T/load.stop"
log "phases over; the surge ends once $N are acknowledged ($(acked) so far)"
wait "${PIDS[load]}" || fail "the load client failed: $(tail -n 3 "$T/load.log")"
unset 'PIDS[load]'
load=$(pyc 'import json, sys
r = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
print(json.dumps({"rounds": len(r), "acknowledged": sum(x["commands"] for x in r),
                  "seconds": round(sum(x["seconds"] for x in r), 1),
                  "resends": sum(x["resends"] for x in r), "p50MsMedian": sorted(x["p50_ms"] for x in r)[len(r) // 2],
                  "p99MsMax": max(x["p99_ms"] for x in r)}))' "$T/load.log")
N=$(acked)
log "load: $load"
[ "$(json_get - acknowledged <<< "$load")" = "$N" ] || fail "the ack file has $N lines, the client counted $(json_get - acknowledged <<< "$load")"
for s in "${SERVICES[@]}"; do alive "$s"; done
phase_start final
s0=$(steps)
jump $(( FINAL_JUMP_DAYS * 24 * 3600 * 1000 ))
FINAL_MS=$(now_ms)
storm_kills
phase_end "\"jumpDays\": $FINAL_JUMP_DAYS, \"slaKills\": $JUMP_KILLS"

# ---- the pipeline drains: sla has given every step now due (all of them, after the final
# jump) and every consumer has reached its producers' heads ----
drained() {
  local s p lag
  [ "$(metric sla hotline_sched_pending_sla_steps)" = 0 ] || return 1
  for s in "${SERVICES[@]}"; do
    for p in ${FOLLOWS[$s]}; do
      lag=$(metric "$s" "hotline_feed_lag_events{producer=\"$p\"}")
      [ "${lag:-1}" = 0 ] || return 1
    done
  done
}
t_drain=$(date +%s.%N)
wait_until "$DRAIN_SECONDS" drained
drain=$(python3 -c "print(round($(date +%s.%N) - $t_drain, 1))")
figure "{\"phase\": \"drain\", \"seconds\": $drain, \"sinceStartSeconds\": $(( $(date +%s) - T_START ))}"
log "every step given and every feed caught up ${drain}s after the final storm's kills"

# ---- the independent check ----
log "checking (sla's clock at $FINAL_MS: every planned step before it must have fired)"
rc=0 dump=()
[ "$CONTROLS" != 1 ] || dump=(--dump "$T/dump")
python3 "$CHECK" --intake "$(svc_url intake)" --dispatch "$(svc_url dispatch)" --sla "$(svc_url sla)" \
  --callback "$(svc_url callback)" --analytics "$(svc_url analytics)" \
  --service-token "$T/auth/service.token" --admin-token "$T/auth/admin.token" \
  --acked "$T/acked" --sla-now "$FINAL_MS" --settle "$SETTLE_SECONDS" "${dump[@]}" \
  --summary "$T/check.json" > "$T/check.out" 2> "$T/check.err" || rc=$?
[ "$rc" = 0 ] || { cat "$T/check.out" "$T/check.err"; fail "the checker found a violation (exit $rc)"; }
for s in "${SERVICES[@]}"; do alive "$s"; done

# ---- the summary ----
python3 - "$FIG" "$T/check.json" "$load" "$N" "$(( $(date +%s) - T_START ))" "$CHAOS_FS" > "$T/summary.json" <<'PY'
import json, sys
figs = [json.loads(l) for l in open(sys.argv[1])]
check = json.load(open(sys.argv[2]))
load = json.loads(sys.argv[3])
out = {"tickets": int(sys.argv[4]),
       "ackedPerS": round(load["acknowledged"] / max(load["seconds"], 0.001)),
       "seconds": int(sys.argv[5]), "filesystem": sys.argv[6],
       "load": load, "phases": figs,
       "kills": next(f["kills"] for f in figs if f["phase"] == "kill"),
       "slaKillsInStorms": sum(f.get("slaKills", 0) for f in figs if f["phase"] in ("clock", "final")),
       "check": {k: v for k, v in check.items() if k not in ("eventKinds",)}}
print(json.dumps(out, indent=1))
PY
cat "$T/summary.json"
[ -z "${CHAOS_SUMMARY:-}" ] || cp "$T/summary.json" "$CHAOS_SUMMARY"

# ---- controls: the checker must fail on doctored copies of this run's dump ----
if [ "$CONTROLS" = 1 ]; then
  control() { # control NAME VIOLATION PYTHON: doctor a copy of the dump, expect VIOLATION
    local name=$1 want=$2 code=$3 d=$T/control-$1 crc=0
    cp -r "$T/dump" "$d"
    python3 - "$d" <<< "$code" || fail "control $name: doctoring failed"
    python3 "$CHECK" --replay "$d" --sample 0 > "$d.out" 2> "$d.err" || crc=$?
    [ "$crc" = 1 ] || fail "control $name: the checker exited $crc on a doctored log (want 1): $(cat "$d.err")"
    grep -q "\"$want\"" "$d.out" || fail "control $name: no $want violation reported: $(cat "$d.err")"
    log "control $name: the checker fails as it must ($(head -c 200 "$d.err"))"
  }
  control dispatched-twice dispatched_twice '
import sys; d = sys.argv[1]
lines = open(d + "/dispatch.ndjson").readlines()
i = next(i for i, l in enumerate(lines) if "ticketDispatched" in l)
open(d + "/dispatch.ndjson", "w").writelines(lines + [lines[i]])'
  control lost lost '
import sys; d = sys.argv[1]
lines = open(d + "/intake.ndjson").readlines()
i = next(i for i, l in enumerate(lines) if "ticketReceived" in l)
open(d + "/intake.ndjson", "w").writelines(lines[:i] + lines[i + 1:])'
  control unacked received_unacked '
import sys; d = sys.argv[1]
lines = open(d + "/acked").readlines()
open(d + "/acked", "w").writelines(lines[1:])'
  control step-twice step_twice '
import sys; d = sys.argv[1]
lines = open(d + "/sla.ndjson").readlines()
i = next(i for i, l in enumerate(lines) if "slaWarning" in l)
open(d + "/sla.ndjson", "w").writelines(lines + [lines[i]])'
  control step-early step_early '
import json, sys; d = sys.argv[1]
lines = open(d + "/sla.ndjson").readlines()
i = next(i for i, l in enumerate(lines) if "slaBreached" in l)
e = json.loads(lines[i]); e["timeMs"] = str(int(e["slaBreached"]["dueMs"]) - 1)
lines[i] = json.dumps(e) + "\n"
open(d + "/sla.ndjson", "w").writelines(lines)'
  control step-missing step_missing '
import json, sys; d = sys.argv[1]
lines = open(d + "/sla.ndjson").readlines()
i = next(i for i, l in enumerate(lines) if "SLA_STEP_SUPERVISION" in l)
open(d + "/sla.ndjson", "w").writelines(lines[:i] + lines[i + 1:])'
  # Two intake instances, each with its own log: the same run's receipts split over two logs
  # must pass, and a ticket received by both must fail.
  split='
import sys; d = sys.argv[1]
lines = open(d + "/intake.ndjson").readlines()
open(d + "/intake.ndjson", "w").writelines(lines[0::2])
open(d + "/intake2.ndjson", "w").writelines(lines[1::2])'
  cp -r "$T/dump" "$T/two-intakes"
  python3 - "$T/two-intakes" <<< "$split"
  python3 "$CHECK" --replay "$T/two-intakes" --sample 0 > "$T/two-intakes.out" 2>&1 ||
    fail "the checker refused the run's receipts split over two intake logs: $(tail -n 3 "$T/two-intakes.out")"
  control received-by-two-intakes received_twice "$split"'
lines = open(d + "/intake.ndjson").readlines()
open(d + "/intake2.ndjson", "a").write(next(l for l in lines if "ticketReceived" in l))'
  control analytics-count analytics_kpis '
import json, sys; d = sys.argv[1]
k = json.load(open(d + "/kpis.json")); k["totals"]["dispatched"] += 1
json.dump(k, open(d + "/kpis.json", "w"))'
fi
for s in "${SERVICES[@]}"; do stop_term "$s"; done
log "PASS: $N tickets through $(python3 -c "import json; print(sum(json.load(open('$T/summary.json'))['kills'].values()))") SIGKILLs, 5 disk-full episodes, dispatch stopped ${STOP_SECONDS}s, clock jumps; every invariant held ($(( $(date +%s) - T_START )) s)"
