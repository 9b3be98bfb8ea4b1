#!/usr/bin/env bash
# sla under SIGKILL during a storm of 100,000 ladder steps (issue 10, must-show 3): every step
# fires exactly once, checked per clock (ticket, clock, round) from sla's event log.
#
# intake, dispatch and sla run on the test clock at a Wednesday 10:00 +08:00 a year or so from
# now (see T0 below); 11,112 tickets go in over intake's bus (testclient) and are dispatched and
# never signed nor replied: two running clocks each, 9 planned steps a ticket with the default policies (sign: yellow card,
# overdue, red card, supervision notice; reply: reminder too), 100,008 steps in all. Then sla's
# clock jumps 60 days on, past every step, so the whole ladder of every clock falls due at
# once; while the scheduler climbs them (one step per clock per pass, up to 2,000 steps a
# transaction; about 2 s of firing under ASan) sla is killed with SIGKILL and restarted, each
# restarted process killed 0-90 ms after its clock is set again (it restarts on the real
# clock, a year before the tickets: nothing is due until then), up to KILLS_MAX times; at
# least 3 kills must land while steps remain. At the end sla's whole log is read and, per clock,
# each planned step (from its SlaClockStarted: reminderMs, warnMs, dueMs, redMs,
# supervisionMs; 0 or absent = no such step) appears exactly once, none unplanned, in ladder
# order, none before its instant, and nothing else happened.
#
# N=STEPS scales the storm (tickets = ceil(N / 9)); KILLS_MAX (default 20) caps the kills.
source "$(dirname "$0")/../lib.sh"
STEPS_TARGET=${N:-100000}
TICKETS=$(( (STEPS_TARGET + 8) / 9 ))
KILLS_MAX=${KILLS_MAX:-20}

# http: P (intake), P+1 (dispatch), P+2 (sla); bus: P+3 .. P+5; P+6: a callback bus nobody
# serves. Every feed a service follows by default is named, so that none reaches for the
# default ports (8090-8093) of some other Hotline on this machine.
P=$(reserve_ports 7)
url() { echo "http://127.0.0.1:$(( P + $1 ))"; }
bus() { echo "tcp://127.0.0.1:$(( P + 3 + $1 ))"; }
NOBODY="tcp://127.0.0.1:$(( P + 6 ))"
SLA=$(url 2)
ready() { curl -sf "$1/readyz" >/dev/null; }
start_sla() {
  start sla "$BIN/hotline-sla" --data-dir "$T/sla" --http-port "$(( P + 2 ))" --bus "$(bus 2)" \
    --feed "dispatch=$(bus 1)" --test-clock --log-level warn
}
# As `hotline up` wires them: intake and dispatch follow sla too (its feed is served during the
# storm); callback does not run.
start intake "$BIN/hotline-intake" --data-dir "$T/intake" --http-port "$P" --bus "$(bus 0)" \
  --feed "dispatch=$(bus 1)" --feed "sla=$(bus 2)" --feed "callback=$NOBODY" \
  --test-clock --log-level warn
start dispatch "$BIN/hotline-dispatch" --data-dir "$T/dispatch" --http-port "$(( P + 1 ))" \
  --bus "$(bus 1)" --feed "intake=$(bus 0)" --feed "sla=$(bus 2)" --feed "callback=$NOBODY" \
  --test-clock --log-level warn
start_sla
for i in 0 1 2; do wait_until 30 ready "$(url "$i")"; done

set_clock() { # set_clock URL MS
  http POST "$1/admin/clock" "{\"nowMs\": $2}" >/dev/null
  [ "$HTTP_STATUS" = 200 ] || fail "cannot move the clock of $1 ($HTTP_STATUS)"
}
# T0: a Wednesday, 10:00 +08:00, more than a year after the real clock; JUMP: 60 days later,
# past the last supervision notice (W08: 15 working days, then 2 more). A restarted sla's test
# clock starts again from the real clock (hclock keeps its offset in memory only), before every
# step: it fires nothing until the test sets its clock again.
read -r T0 JUMP DAY < <(python3 -c 'import datetime as d
t = d.datetime.now(d.timezone(d.timedelta(hours=8))) + d.timedelta(days=400)
t = t.replace(hour=10, minute=0, second=0, microsecond=0) + d.timedelta(days=(2 - t.weekday()) % 7)
print(int(t.timestamp() * 1000), int((t + d.timedelta(days=60)).timestamp() * 1000), t.date())')
for i in 0 1 2; do set_clock "$(url "$i")" "$T0"; done

metric() { # metric NAME: its value on sla's /metrics (0 when absent or sla is down)
  local v
  v=$(curl -sf "$SLA/metrics" 2>/dev/null | awk -v k="$1" '$1 == k {print $2}') || true
  echo "${v:-0}"
}
head_seq() { curl -sf "$1/v1/status" | sed -n 's/.*"headSeq": *\([0-9]*\).*/\1/p'; }

# ---- the tickets: dispatched at T0, two clocks each, never stopped ----
log "submitting $TICKETS tickets to intake"
t_load=$(date +%s)
start load "$BIN/testclient" --bus "$(bus 0)" --kind ticket --events "$TICKETS" --window 128 \
  --timeout-ms 5000 --key slakill
wait "${PIDS[load]}" || fail "the load client failed"
unset 'PIDS[load]'
[ "$(json_get - commands < <(tail -n 1 "$T/load.log"))" = "$TICKETS" ] ||
  fail "not every ticket was acknowledged: $(tail -n 1 "$T/load.log")"
clocks_started() { [ "$(metric 'hotline_events_appended_total{kind="sla_clock_started"}')" = $(( 2 * TICKETS )) ]; }
wait_until 120 clocks_started
CLOCKS_HEAD=$(head_seq "$SLA")
[ "$CLOCKS_HEAD" = $(( 2 * TICKETS )) ] || fail "sla's log holds $CLOCKS_HEAD events before the storm, expected $(( 2 * TICKETS )) clock starts"
[ "$(metric hotline_sched_pending_sla_steps)" = $(( 2 * TICKETS )) ] ||
  fail "sla has $(metric hotline_sched_pending_sla_steps) steps scheduled for $(( 2 * TICKETS )) clocks"
log "$TICKETS tickets dispatched on $DAY, $CLOCKS_HEAD clocks running ($(( $(date +%s) - t_load )) s); no step fired yet"

# ---- the storm, with SIGKILLs ----
pending() { metric hotline_sched_pending_sla_steps; }
fired_here() { metric 'hotline_sched_fired_total{sched="sla_steps"}'; } # by this process
set_clock "$SLA" "$JUMP"
log "sla's clock jumped 60 days past $DAY: the ladder of every clock is due"
t_storm=$(date +%s.%N)
first_pass() { [ "$(fired_here)" != 0 ]; }
wait_until 30 first_pass
# The storm takes about 2 s of firing under ASan (some 50,000 steps a second, 2,000 a
# transaction), so the kills come fast: each restarted sla, once it answers, gets its clock set
# past every step and is killed 0-90 ms later (plus one look at its /metrics): the storm moves
# on by a few passes and the kill lands at a random point of one. sla is restarted at once.
# Kill k landed during the storm when some process after it was seen to have fired steps.
ready_fast() { # wait (polling every 20 ms) until sla answers; fail after 30 s
  local end=$(( $(date +%s) + 30 ))
  until ready "$SLA"; do
    [ "$(date +%s)" -lt "$end" ] || fail "sla did not come back within 30 s"
    sleep 0.02
  done
}
snapshot() { # "FIRED_HERE PENDING STEPS": one look at sla's /metrics (steps: since the log began)
  curl -sf "$SLA/metrics" | awk '
    $1 == "hotline_sched_fired_total{sched=\"sla_steps\"}" { f = $2 }
    $1 == "hotline_sched_pending_sla_steps" { p = $2; seen = 1 }
    $1 ~ /^hotline_events_appended_total[{]kind="sla_(warning|breached|escalated)"[}]$/ { s += $2 }
    END { if (seen) printf "%d %d %d\n", f, p, s }'
}
kills=0 last_firing=0 # the last process (0: the first, k: the one after kill k) seen firing
at_kill=()            # steps fired a moment before each kill
while :; do
  read -r fired left steps < <(snapshot) || fail "sla's /metrics did not answer"
  [ "$fired" = 0 ] || last_firing=$kills
  [ "$left" != 0 ] && [ "$kills" -lt "$KILLS_MAX" ] || break
  at_kill+=("$steps")
  stop9 sla
  kills=$(( kills + 1 ))
  start_sla
  ready_fast
  [ "$(fired_here)" = 0 ] || fail "sla fired steps on the real clock, before their instants"
  set_clock "$SLA" "$JUMP"
  sleep "0.0$(( RANDOM % 10 ))"
done
log "$kills kills; steps fired a moment before each: ${at_kill[*]}"
all_fired() { [ "$(pending)" = 0 ]; }
wait_until 120 all_fired
t_done=$(date +%s.%N)
[ "$(fired_here)" = 0 ] || last_firing=$kills
landed=$last_firing
sleep 1 # a step fired twice, or late, would show now
[ "$(pending)" = 0 ] || fail "sla still has $(pending) steps scheduled"
log "storm over in $(python3 -c "print(round($t_done - $t_storm, 1))") s; $kills kills, $landed of them while steps remained"
[ "$landed" -ge 3 ] || fail "only $landed kills landed while steps were firing (need 3)"

# ---- the check: sla's whole log, per clock ----
python3 - "$SLA" "$TICKETS" "$STEPS_TARGET" "$JUMP" "$kills" <<'PY' || fail "the ladder's steps did not fire exactly once each"
import collections, json, sys, urllib.request
url, tickets, target, jump, kills = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
ORDER = ["SLA_STEP_REMINDER", "SLA_STEP_YELLOW_CARD", "SLA_STEP_OVERDUE", "SLA_STEP_RED_CARD",
         "SLA_STEP_SUPERVISION"]
PLAN_FIELD = dict(zip(ORDER, ["reminderMs", "warnMs", "dueMs", "redMs", "supervisionMs"]))
plans = {}                          # (ticket, clock, round) -> {step: planned instant}
seen = collections.defaultdict(list)  # (ticket, clock, round) -> [(step, seq, timeMs, atMs)]
started_twice, other, after, n = [], collections.Counter(), 0, 0
while True:
    page = json.load(urllib.request.urlopen(f"{url}/v1/events?after={after}&limit=1000"))
    if not page["events"]:
        break
    for e in page["events"]:
        n += 1
        seq, t, tid = int(e["seq"]), int(e["timeMs"]), e.get("ticketId", "")
        if "slaClockStarted" in e:
            s = e["slaClockStarted"]
            key = (tid, s["clock"], int(s.get("round", 0)))
            if key in plans:
                started_twice.append(key)
            plans[key] = {st: int(s.get(f, 0)) for st, f in PLAN_FIELD.items() if int(s.get(f, 0))}
            continue
        for kind, body in (("slaEscalated", None), ("slaWarning", "SLA_STEP_YELLOW_CARD"),
                           ("slaBreached", "SLA_STEP_OVERDUE")):
            if kind in e:
                b = e[kind]
                step = body or b["step"]
                key = (tid, b["clock"], int(b.get("round", 0)))
                seen[key].append((step, seq, t, int(b["atMs"]) if "atMs" in b else None))
                break
        else:
            other[next(k for k in e if k not in ("source", "seq", "timeMs", "ticketId"))] += 1
    after = int(page["events"][-1]["seq"])

expected = sum(len(p) for p in plans.values())
steps_seen = sum(len(v) for v in seen.values())
dups = missing = unplanned = disorder = early = wrong_at = 0
examples = []
for key in plans.keys() | seen.keys():
    plan, got = plans.get(key, {}), seen.get(key, [])
    c = collections.Counter(s for s, *_ in got)
    for st in plan:
        if c[st] == 0:
            missing += 1
            examples.append(("missing", key, st))
        elif c[st] > 1:
            dups += c[st] - 1
            examples.append(("twice", key, st, c[st]))
    for st in c:
        if st not in plan:
            unplanned += c[st]
            examples.append(("unplanned", key, st))
    fired = [s for s, *_ in sorted(got, key=lambda x: x[1])]
    if fired != sorted(fired, key=ORDER.index):
        disorder += 1
        examples.append(("order", key, fired))
    for st, seq, t, at in got:
        if st in plan and t < plan[st]:
            early += 1
            examples.append(("early", key, st, t, plan[st]))
        if at is not None and st in plan and at != plan[st]:
            wrong_at += 1
            examples.append(("atMs", key, st, at, plan[st]))
beyond = sum(1 for p in plans.values() for at in p.values() if at > jump)
per_step = collections.Counter(s for v in seen.values() for s, *_ in v)
print(f"{len(plans)} clocks of {tickets} tickets; {n} events read; steps expected {expected}, "
      f"seen {steps_seen}; duplicates {dups}, missing {missing}, unplanned {unplanned}, "
      f"out of order {disorder}, early {early}, wrong atMs {wrong_at}; kills {kills}")
print("per step: " + ", ".join(f"{s[9:].lower()} {per_step[s]}" for s in ORDER))
for x in examples[:10]:
    print("  ", x)
ok = True
if started_twice or len(plans) != 2 * tickets:
    print(f"clocks: {len(plans)} for {tickets} tickets, {len(started_twice)} started twice"); ok = False
if other:
    print(f"other events in sla's log: {dict(other)}"); ok = False
if beyond:
    print(f"{beyond} planned steps after the jump instant: move JUMP on"); ok = False
if expected < target:
    print(f"only {expected} steps planned, fewer than the {target} asked for"); ok = False
if dups or missing or unplanned or disorder or early or wrong_at or steps_seen != expected:
    ok = False
sys.exit(0 if ok else 1)
PY
stop_term sla
stop_term dispatch
stop_term intake
log "PASS: $STEPS_TARGET+ ladder steps through $kills SIGKILLs of sla ($landed during the storm): each planned step once per clock"
