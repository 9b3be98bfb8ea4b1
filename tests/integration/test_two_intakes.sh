#!/usr/bin/env bash
# Two intakes behind one address (issue 13): intake (instance 1) and intake-2 (instance 2, by its
# name) share one HTTP port (--reuse-port: the kernel spreads new connections between them),
# each with its own log, bus and instance port; dispatch, sla, callback and analytics follow
# both (--feed intake=... --feed intake-2=...: a cursor per producer instance). A client submits
# N tickets over HTTP, each on a new connection, while intake-2 is killed with SIGKILL and
# restarted. Then: both instances took tickets; ticket ids never collide (distinct, each
# carrying its instance); everything either intake acknowledged is in its log; every ticket
# received by either is dispatched exactly once, with one sign and one reply clock; analytics
# counts each once; intake-2's events name their source. Each intake follows the other, so
# every ticket can be looked up at either one (its status as dispatch set it), and a caller who
# rings again is linked to the first ticket whichever intake takes the second call.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pipeline.sh"
auth_on
mint service "pipeline services" > "$T/auth/service.token"
export HOTLINE_RUNTIME_AUTH_SERVICE_TOKEN_FILE="$T/auth/service.token"
SERVICE_TOKEN=$(cat "$T/auth/service.token")
OPERATOR=$(mint operator two-intakes-load)
ADMIN=$(mint admin two-intakes-admin)
N=${N:-4000}
EXTRA=$(reserve_ports 3) # intake-2's bus, and the two instance ports

bus() { echo "tcp://127.0.0.1:$(( BASE + 10 + $(svc_index "$1") ))"; }
BUS2="tcp://127.0.0.1:$EXTRA"
declare -A INSTANCE_PORT=([intake]=$(( EXTRA + 1 )) [intake-2]=$(( EXTRA + 2 )))
SHARED=$(svc_url intake) # the one address of both intakes
own() { echo "http://127.0.0.1:${INSTANCE_PORT[$1]}"; }
INTAKES="--feed intake=$(bus intake) --feed intake-2=$BUS2"
declare -A FEEDS=([dispatch]="$INTAKES --feed callback=$(bus callback) --feed sla=$(bus sla)"
                  [sla]="--feed dispatch=$(bus dispatch) --feed callback=$(bus callback)"
                  [callback]="--feed dispatch=$(bus dispatch) $INTAKES"
                  [analytics]="$INTAKES --feed dispatch=$(bus dispatch) --feed sla=$(bus sla) --feed callback=$(bus callback)")
start_intake() { # start_intake NAME BUS PEER=PEER_BUS
  start "$1" "$BIN/hotline-intake" --name "$1" --data-dir "$T/$1" --http-port "${SHARED##*:}" \
    --reuse-port --instance-port "${INSTANCE_PORT[$1]}" --bus "$2" --feed "$3" \
    --feed "dispatch=$(bus dispatch)" --feed "sla=$(bus sla)" --feed "callback=$(bus callback)"
}
for s in dispatch sla callback analytics; do
  # shellcheck disable=SC2086 # FEEDS holds separate arguments
  start "$s" "$BIN/hotline-$s" --data-dir "$T/$s" --http-port $(( BASE + $(svc_index "$s") )) \
    --bus "$(bus "$s")" ${FEEDS[$s]}
done
start_intake intake "$(bus intake)" "intake-2=$BUS2"
start_intake intake-2 "$BUS2" "intake=$(bus intake)"
ready() { curl -sf "$1/readyz" >/dev/null; }
for s in dispatch sla callback analytics; do wait_until 30 ready "$(svc_url "$s")"; done
for i in intake intake-2; do wait_until 30 ready "$(own "$i")"; done

# Names are checked: a second intake named as instance 2 but configured as 1 would issue
# instance 1's ids, so it is refused, naming both.
HOTLINE_INSTANCE=1 "$BIN/hotline-intake" --name intake-2 --data-dir "$T/refused" --http-port 0 \
  --bus tcp://127.0.0.1:0 --feed dispatch=tcp://127.0.0.1:1 --feed sla=tcp://127.0.0.1:1 \
  --feed callback=tcp://127.0.0.1:1 >"$T/refused.log" 2>&1 && fail "intake-2 configured as instance 1 started"
grep -q "instance is 1 but runtime.name 'intake-2' says 2" "$T/refused.log" ||
  fail "the refusal does not say why: $(tail -3 "$T/refused.log")"

start load python3 "$HOTLINE_SRC/tests/support/submit_load.py" "$SHARED" "$OPERATOR" "$N" \
  --acked "$T/acked.txt" --threads 8 --progress "$T/progress"
at_least() { [ "$(cat "$T/progress" 2>/dev/null || echo 0)" -ge "$1" ]; }
wait_until 120 at_least $(( N / 4 ))
log "kill -9 intake-2 (acknowledged so far: $(cat "$T/progress"))"
stop9 intake-2
wait_until 120 at_least $(( N / 2 ))
log "restarting intake-2 (acknowledged so far: $(cat "$T/progress"))"
start_intake intake-2 "$BUS2" "intake=$(bus intake)"
wait "${PIDS[load]}" || fail "the load client failed: $(tail -3 "$T/load.log")"
unset 'PIDS[load]'
log "load: $(tail -n 1 "$T/load.log")"
[ "$(wc -l <"$T/acked.txt")" = "$N" ] || fail "$(wc -l <"$T/acked.txt") of $N acknowledged"

received() { echo $(( $(events_at "$(own intake)" ticket_received) + $(events_at "$(own intake-2)" ticket_received) )); }
events_at() { # events_at URL KIND: hotline_events_appended_total{kind=KIND} there
  local n
  n=$(curl -sf "$1/metrics" | awk -v k="hotline_events_appended_total{kind=\"$2\"}" '$1 == k {print $2}')
  echo "${n:-0}"
}
caught_up() {
  local r
  r=$(received)
  [ "$(events_count dispatch ticket_dispatched)" -ge "$r" ] &&
  [ "$(events_count sla sla_clock_started)" -ge $(( 2 * r )) ] &&
  [ "$(curl -sf "$(svc_url analytics)/metrics" | awk '$1 == "hotline_tickets_total{stage=\"dispatched\"}" {print $2}')" -ge "$r" ]
}
wait_until 180 caught_up
sleep 2 # anything applied twice would show up now

# The independent check: both intakes' logs (through their instance ports), dispatch's and
# sla's logs, analytics' counts, against the client's record of what was acknowledged.
python3 - "$T/acked.txt" "$(own intake)" "$(own intake-2)" "$(svc_url dispatch)" "$(svc_url sla)" \
  "$(svc_url analytics)" "$SERVICE_TOKEN" "$ADMIN" <<'PY' || fail "the check failed"
import collections, datetime, json, re, sys, urllib.request
acked_file, in1, in2, disp, sla, ana, tok, admin = sys.argv[1:]
def get(url, token):
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})
    return json.load(urllib.request.urlopen(req))
def events(url):
    after = 0
    while True:
        page = get(f"{url}/v1/events?after={after}&limit=1000", tok)["events"]
        if not page:
            return
        yield from page
        after = int(page[-1]["seq"])
acked = [line.split()[0] for line in open(acked_file)]
assert len(set(acked)) == len(acked), "two acknowledgements carry the same ticket id"
received = {}
for url, name, inst in ((in1, "intake", 1), (in2, "intake-2", 2)):
    got = [e for e in events(url) if "ticketReceived" in e]
    ids = [e["ticketId"] for e in got]
    assert len(set(ids)) == len(ids), f"{name} received a ticket id twice"
    bad = [i for i in ids if not re.fullmatch(r"\d{8}-%d-\d{6}" % inst, i)]
    assert not bad, f"{name} issued ids of another instance: {bad[:3]}"
    sources = {e["source"] for e in got}
    assert sources == {name}, f"{name}'s events name their source {sources}"
    received[name] = set(ids)
assert not (received["intake"] & received["intake-2"]), "the two intakes issued the same id"
everything = received["intake"] | received["intake-2"]
by_instance = collections.Counter(i.split("-")[1] for i in acked)
assert by_instance["1"] > 0 and by_instance["2"] > 0, f"one intake took no ticket: {by_instance}"
lost = [i for i in acked if i not in everything]
assert not lost, f"{len(lost)} acknowledged tickets are in no intake's log: {lost[:3]}"
dispatched = collections.Counter(e["ticketId"] for e in events(disp) if "ticketDispatched" in e)
twice = [t for t, c in dispatched.items() if c != 1]
assert not twice, f"dispatched more than once: {twice[:3]}"
assert set(dispatched) == everything, (f"dispatched {len(dispatched)} of {len(everything)} received; "
    f"missing {sorted(everything - set(dispatched))[:3]}, unknown {sorted(set(dispatched) - everything)[:3]}")
clocks = collections.Counter((e["ticketId"], e["slaClockStarted"]["clock"]) for e in events(sla) if "slaClockStarted" in e)
assert len(clocks) == 2 * len(everything) and set(clocks.values()) == {1}, ("sla clocks", len(clocks), clocks.most_common(2))
today = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=8))).date()
k = get(f"{ana}/v1/kpis?from={today - datetime.timedelta(days=1)}&to={today}", admin)["totals"]
assert k["received"] == len(everything) and k["dispatched"] == len(everything), ("analytics", k, len(everything))
print(f"acknowledged {len(acked)} (instance 1: {by_instance['1']}, instance 2: {by_instance['2']}); "
      f"received {len(received['intake'])} + {len(received['intake-2'])} = {len(everything)} "
      f"(a retry of a submission whose answer was lost can land on the other intake: "
      f"{len(everything) - len(acked)} such); each dispatched once with one sign and one reply "
      f"clock; analytics counts {k['received']} received, {k['dispatched']} dispatched")
PY
# Either intake answers for every ticket: a sample of 500 acknowledged ids, at both instance
# ports, shows each dispatched to its unit (the peer's view followed dispatch too).
python3 - "$T/acked.txt" "$(own intake)" "$(own intake-2)" "$OPERATOR" <<'PY' || fail "a lookup failed"
import json, random, sys, time, urllib.error, urllib.request
acked = [line.split()[0] for line in open(sys.argv[1])]
random.seed(7)
sample = random.sample(acked, min(500, len(acked)))
def view(url, tid):
    req = urllib.request.Request(f"{url}/v1/tickets/{tid}", headers={"Authorization": "Bearer " + sys.argv[4]})
    return json.load(urllib.request.urlopen(req))
deadline = time.time() + 60
for url in sys.argv[2:4]:
    for tid in sample:
        while True:
            try:
                v = view(url, tid)
                if v.get("status") == "TICKET_DISPATCHED" and v.get("unit") and v["ticket"]["receivedMs"]:
                    break
                why = f"status {v.get('status')} unit {v.get('unit')!r}"
            except urllib.error.HTTPError as e:
                why = f"HTTP {e.code}"
            assert time.time() < deadline, f"{url} shows {tid}: {why}"
            time.sleep(0.2)
print(f"{len(sample)} tickets looked up at both intakes: dispatched, with their unit")
PY
# A repeat call taken by the other intake is linked to the first call's ticket.
call='{"categoryCode": "W01", "description": "no water at all", "contact": {"phone": "13712345678"}, "location": {"district": "Gulou", "community": "Sunshine"}}'
TOKEN=$OPERATOR http POST "$(own intake)/v1/tickets" "$call" >"$T/first.json"
FIRST=$(json_get "$T/first.json" submitTicket.ticketId)
[[ "$FIRST" == *-1-* ]] || fail "the first call went to $FIRST, not instance 1"
linked() {
  TOKEN=$OPERATOR http POST "$(own intake-2)/v1/tickets" "$call" >"$T/again.json"
  [ "$(json_get "$T/again.json" submitTicket.ticketId)" = "$FIRST" ]
}
wait_until 10 linked # the first call's TicketReceived reaches intake-2 within milliseconds
grep -q "You already reported this" "$T/again.json" || fail "the repeat caller was not told: $(cat "$T/again.json")"
log "a repeat call at intake-2 linked to $FIRST taken at intake: $(json_get "$T/again.json" submitTicket.message)"
for s in intake intake-2 dispatch sla callback analytics; do stop_term "$s"; done
log "PASS: two intakes behind one address, one killed with SIGKILL mid-load, nothing acknowledged lost, every ticket dispatched once"
