#!/usr/bin/env bash
# Incidents in full, with the five services (issue 9):
# - a wide incident (a whole district, a one-letter prefix) is refused for a dispatcher, naming
#   the rule, and accepted from a supervisor;
# - 2,000 tickets from 100 callers (20 reports each), dispatched before the incident is known, are linked to it
#   by rule (they leave their unit's queue); one more by hand; a replied one is refused naming
#   its state; a new one joins at the door; unlink sends a hand-linked ticket back to its unit
#   and a door-linked one to the catalogue's;
# - a linked ticket's own sla clocks are suspended; an ETA update shows in intake's view of a
#   rule-linked and of a hand-linked ticket, its phone number masked;
# - the close replies every linked ticket (REPLIED): here in chunks of 5 (incidentLimits.
#   closeChunk) on dispatch's scheduler, with dispatch killed -9 in the middle: every ticket is
#   replied exactly once after the restart; callback schedules one call per distinct caller
#   (callback tasks == callers), and rating each call closes every ticket of its caller: a
#   caller with 20 linked reports gets one callback that rates all 20 (issue 11).
# INCIDENT_CALLERS (100) and INCIDENT_PER_CALLER (20) size the surge.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pipeline.sh"
# Chunks of 5: the close's fan-out goes through the scheduler pass by pass, long enough to be
# killed in the middle (the default, 5,000 in one transaction, is what bench_incident_close times).
HOTLINE_INCIDENT_LIMITS_CLOSE_CHUNK=5 pipeline_up --test-clock --sync nosync
I=$(svc_url intake)
D=$(svc_url dispatch)
S=$(svc_url sla)
C=$(svc_url callback)
CALLERS=${INCIDENT_CALLERS:-100} # INCIDENT_CALLERS=250 gives 5,000 linked tickets
PER_CALLER=${INCIDENT_PER_CALLER:-20} # one ticket per community c0, c1...: not repeat calls, each its own ticket

submit() { # submit JSON-TICKET -> the ticket id; the answer in $T/ans.json
  TOKEN=$(token_for operator) http POST "$I/v1/tickets" "$1" > "$T/ans.json"
  [ "$HTTP_STATUS" = 200 ] || fail "submit refused: $(cat "$T/ans.json")"
  json_get "$T/ans.json" submitTicket.ticketId
}
as_dispatcher() { TOKEN=$(token_for dispatcher) http POST "$D$1" "$2"; }
caught_up() { # caught_up CONSUMER PRODUCER: CONSUMER has applied PRODUCER's log to its head
  local head; head=$(curl_as admin -sf "$(svc_url "$2")/v1/status" | json_get - headSeq)
  pyc 'import json,sys
f={x["producer"]: x for x in json.loads(sys.argv[3])["feeds"]}
sys.exit(0 if f[sys.argv[1]]["cursor"] >= int(sys.argv[2]) else 1)' "$2" "$head" \
    "$(curl_as admin -sf "$(svc_url "$1")/v1/status")"
}
state_at_dispatch() { curl_as dispatcher -sf "$D/v1/assignments/$1" | json_get - status; }
sup_pid() { pyc 'import json,sys; print(json.load(open(sys.argv[1]))["services"][sys.argv[2]]["pid"])' "$T/hl/supervisor.json" "$1"; }

# ---- tickets before the incident: the surge, one hand-link candidate, one replied, one other ----
export OPERATOR_TOKEN=$(token_for operator)
python3 - "$I" "$CALLERS" "$PER_CALLER" <<'PY' || fail "bulk submit failed"
import http.client, json, os, sys, threading, urllib.parse
url, callers, per = urllib.parse.urlparse(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
tok = os.environ["OPERATOR_TOKEN"]
jobs = [(p, c) for p in range(callers) for c in range(per)]
errors = []
def worker(part):
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    for p, c in part:
        body = json.dumps({"categoryCode": "W01", "description": "no water",
                           "contact": {"phone": "139%08d" % p},
                           "location": {"district": "Gulou", "street": "Main St",
                                        "community": "c%d" % c}})
        conn.request("POST", "/v1/tickets", body, {"Authorization": "Bearer " + tok,
                                                    "Content-Type": "application/json"})
        r = conn.getresponse(); data = r.read()
        if r.status != 200 or b'"linked"' in data:
            errors.append("%d %s" % (r.status, data[:200]))
threads = [threading.Thread(target=worker, args=(jobs[i::8],)) for i in range(8)]
[t.start() for t in threads]; [t.join() for t in threads]
if errors:
    print("\n".join(errors[:5])); sys.exit(1)
PY
BULK=$(( CALLERS * PER_CALLER ))
log "$BULK tickets from $CALLERS callers submitted"
# A: the same caller as the surge's first, elsewhere on Main St; H: elsewhere, linked by hand;
# B: elsewhere, replied before the incident; O: another category on Main St.
A=$(submit '{"categoryCode": "W01", "description": "low pressure", "contact": {"phone": "+86 139 0000 0000"},
             "location": {"district": "Gulou", "street": "Main St", "community": "cA"}}')
H=$(submit '{"categoryCode": "W01", "description": "no water", "contact": {"phone": "13700000001"},
             "location": {"district": "Taijiang", "community": "Hillside"}}')
B=$(submit '{"categoryCode": "W01", "description": "no water", "contact": {"phone": "13700000002"},
             "location": {"district": "Taijiang", "community": "Hillside"}}')
O=$(submit '{"categoryCode": "W06", "description": "bill", "contact": {"phone": "13700000003"},
             "location": {"district": "Gulou", "street": "Main St"}}')
dispatched() { [ "$(events_count dispatch ticket_dispatched)" -ge $(( BULK + 4 )) ]; }
wait_until 90 dispatched
TOKEN=$(token_for unit:water-supply) http POST "$D/v1/tickets/$B/sign" '{}' >/dev/null
TOKEN=$(token_for unit:water-supply) http POST "$D/v1/tickets/$B/reply" '{"result": "valve opened", "resolved": true}' >/dev/null
[ "$HTTP_STATUS" = 200 ] || fail "reply of $B: $HTTP_STATUS"
TOKEN=$(token_for unit:water-supply) http POST "$D/v1/tickets/$H/sign" '{}' >/dev/null
log "dispatched; $H signed, $B replied"

# ---- wide incidents need a supervisor ----
wide='{"categoryPrefix": "W01", "area": {"district": "Gulou"}, "summary": "district-wide outage"}'
as_dispatcher /v1/incidents "$wide" > "$T/e.json"
[ "$HTTP_STATUS" = 403 ] && grep -q "supervisor" "$T/e.json" && grep -q "whole district" "$T/e.json" ||
  fail "a dispatcher declared a district-wide incident: $HTTP_STATUS $(cat "$T/e.json")"
as_dispatcher /v1/incidents '{"categoryPrefix": "W", "area": {"community": "c0"}, "summary": "x"}' > "$T/e.json"
[ "$HTTP_STATUS" = 403 ] && grep -q "shorter than 2" "$T/e.json" ||
  fail "a dispatcher declared a one-letter prefix: $HTTP_STATUS $(cat "$T/e.json")"
TOKEN=$(token_for supervisor) http POST "$D/v1/incidents" "$wide" > "$T/w.json"
[ "$HTTP_STATUS" = 200 ] || fail "a supervisor may declare a wide incident: $(cat "$T/w.json")"
WIDE=$(json_get "$T/w.json" incident.incidentId)
as_dispatcher "/v1/incidents/$WIDE/close" '{"resolution": "false alarm"}' >/dev/null
[ "$HTTP_STATUS" = 200 ] || fail "close $WIDE: $HTTP_STATUS"

# ---- the incident ----
ETA=$(( $(date +%s) * 1000 + 3 * 3600 * 1000 ))
as_dispatcher /v1/incidents "{\"categoryPrefix\": \"W01\", \"area\": {\"district\": \"Gulou\", \"street\": \"Main St\"},
  \"etaMs\": \"$ETA\", \"summary\": \"Burst main on Main St\"}" > "$T/inc.json"
[ "$HTTP_STATUS" = 200 ] || fail "declare: $(cat "$T/inc.json")"
INC=$(json_get "$T/inc.json" incident.incidentId)
log "declared $INC"

# by hand: H (signed) yes; B (replied) refused, naming it and its state; bad input is a 400
as_dispatcher "/v1/incidents/$INC/link" "{\"ticketIds\": [\"$H\"]}" > "$T/l.json"
[ "$HTTP_STATUS" = 200 ] && [ "$(json_get "$T/l.json" linkTickets.linked.0)" = "$H" ] ||
  fail "link by hand: $(cat "$T/l.json")"
as_dispatcher "/v1/incidents/$INC/link" "{\"ticketIds\": [\"$B\"]}" > "$T/e.json"
[ "$HTTP_STATUS" = 409 ] && grep -q "$B is REPLIED" "$T/e.json" ||
  fail "a replied ticket was linked: $HTTP_STATUS $(cat "$T/e.json")"
as_dispatcher "/v1/incidents/$INC/link" '{}' > "$T/e.json"
[ "$HTTP_STATUS" = 400 ] && [ "$(json_get "$T/e.json" error.field)" = linkTickets.ticketIds ] ||
  fail "an empty link: $HTTP_STATUS $(cat "$T/e.json")"
as_dispatcher "/v1/incidents/$INC/link" '{"ticketIds": "x"}' > "$T/e.json"
[ "$HTTP_STATUS" = 400 ] || fail "a bad body: $HTTP_STATUS $(cat "$T/e.json")"
TOKEN=$(token_for unit:water-supply) http POST "$D/v1/incidents/$INC/link" '{"matching": true}' > /dev/null
[ "$HTTP_STATUS" = 403 ] || fail "a unit linked tickets: $HTTP_STATUS"
# by rule: the surge and A (W01 on Main St); not O (billing), not B
as_dispatcher "/v1/incidents/$INC/link" '{"matching": true}' > "$T/l.json"
[ "$HTTP_STATUS" = 200 ] || fail "link by rule: $(cat "$T/l.json")"
N=$(pyc 'import json,sys; print(len(json.load(open(sys.argv[1]))["linkTickets"]["linked"]))' "$T/l.json")
[ "$N" = $(( BULK + 1 )) ] || fail "linked by rule $N, want $(( BULK + 1 ))"
[ "$(state_at_dispatch "$A")" = TICKET_LINKED ] || fail "$A not linked"
[ "$(state_at_dispatch "$O")" = TICKET_DISPATCHED ] || fail "$O (billing) was linked"
curl_as unit:water-supply -sf "$D/v1/units/water-supply/tickets?state=DISPATCHED&limit=1000" > "$T/q.json"
grep -q "$A" "$T/q.json" && fail "$A is still in its unit's queue"
log "linked by hand ($H) and by rule ($N)"

# at the door, and unlink: a hand-linked one goes back to its unit, a door one by the catalogue
wait_until 20 caught_up intake dispatch
E=$(submit '{"categoryCode": "W01", "description": "no water", "contact": {"phone": "13700000004"},
             "location": {"district": "Gulou", "street": "main st", "community": "c0"}}')
[ "$(json_get "$T/ans.json" submitTicket.incidentId)" = "$INC" ] || fail "$E not joined at the door"
E2=$(submit '{"categoryCode": "W01", "description": "no water", "contact": {"phone": "13700000005"},
              "location": {"district": "Gulou", "street": "Main St", "community": "c9"}}')
door_linked() { [ "$(state_at_dispatch "$E2")" = TICKET_LINKED ]; }
wait_until 20 door_linked
as_dispatcher "/v1/incidents/$INC/unlink" "{\"ticketId\": \"$E2\"}" > "$T/u.json"
[ "$HTTP_STATUS" = 200 ] && [ "$(json_get "$T/u.json" ticketAction.unit)" = water-supply ] ||
  fail "unlink at the door: $(cat "$T/u.json")"
as_dispatcher "/v1/incidents/$INC/unlink" "{\"ticketId\": \"$O\"}" > "$T/e.json"
[ "$HTTP_STATUS" = 409 ] && grep -q "not linked" "$T/e.json" || fail "unlink of $O: $(cat "$T/e.json")"
H2=$(submit '{"categoryCode": "W01", "description": "no water", "contact": {"phone": "13700000006"},
              "location": {"district": "Cangshan"}}')
wait_until 20 test "$(state_at_dispatch "$H2")" = TICKET_DISPATCHED
as_dispatcher "/v1/incidents/$INC/link" "{\"ticketIds\": [\"$H2\"]}" > /dev/null
hl_as dispatcher incident unlink "$INC" "$H2" > "$T/cli.txt" || fail "hotline incident unlink: $(cat "$T/cli.txt")"
[ "$(state_at_dispatch "$H2")" = TICKET_DISPATCHED ] || fail "$H2 not dispatched again"
wait_view "$E2" status TICKET_DISPATCHED
log "door-linked $E; unlinked $E2 and $H2"

# ---- sla: a linked ticket's own clocks are suspended ----
suspended() { pyc 'import json,sys
c=json.loads(sys.argv[1])["clocks"]
sys.exit(0 if c and all(x.get("suspended") and not x["running"] for x in c) else 1)' \
  "$(curl_as dispatcher -sf "$S/v1/clocks/$A")"; }
wait_until 30 suspended
# ... and it follows the incident's own clock (issue 10), shown under the incident's id
[ "$(curl_as dispatcher -sf "$S/v1/clocks/$A" | json_get - followsIncident)" = "$INC" ] ||
  fail "$A does not name $INC: $(curl_as dispatcher -sf "$S/v1/clocks/$A")"
[ "$(curl_as dispatcher -sf "$S/v1/clocks/$INC" | json_get - clocks.0.clock)" = SLA_CLOCK_REPLY ] ||
  fail "no clock for $INC: $(curl_as dispatcher -s "$S/v1/clocks/$INC")"

# ---- an ETA update shows in intake's views (rule-linked and hand-linked), masked ----
ETA2=$(( ETA + 3600 * 1000 ))
hl_as dispatcher incident update "$INC" --eta "$ETA2" --summary "Crew on site; questions: 138 0013 8000" > "$T/cli.txt" ||
  fail "hotline incident update: $(cat "$T/cli.txt")"
wait_until 20 caught_up intake dispatch
for t in "$A" "$H" "$E"; do
  wait_view "$t" incidentId "$INC"
  [ "$(view "$t" incidentEtaMs)" = "$ETA2" ] || fail "$t's view shows ETA $(view "$t" incidentEtaMs), not $ETA2"
  view "$t" incidentSummary | grep -q "Crew on site" || fail "$t's view lacks the summary"
  view "$t" incidentSummary | grep -q "0013 8000" && fail "a phone number in the summary is not masked"
done
[ "$(view "$H" status)" = TICKET_LINKED ] || fail "$H's view: $(view "$H" status)"
log "ETA and summary visible in intake's view"

# ---- close: every linked ticket replied, one call per distinct caller ----
SCHED0=$(events_count callback callback_scheduled) # B's own call
REPLIED0=$(events_count dispatch ticket_replied)
as_dispatcher "/v1/incidents/$INC/close" '{"resolution": "Main repaired, water is back"}' > "$T/c.json"
[ "$HTTP_STATUS" = 200 ] || fail "close: $(cat "$T/c.json")"
kill -9 "$(sup_pid dispatch)" # while the rest is being replied, chunk by chunk
LINKED=$(( BULK + 3 )) # the surge, A, H, E
[ "$(json_get "$T/c.json" incident.replied)" = 5 ] && [ "$(json_get "$T/c.json" incident.closing)" = true ] ||
  fail "close answered $(cat "$T/c.json")"
CALLS=$(( CALLERS + 2 )) # the surge's callers (A is one of them), H, E
dispatch_back() { curl -sf "$D/readyz" >/dev/null; }
wait_until 30 dispatch_back
log "dispatch killed -9 while closing, back with $(( $(events_count dispatch ticket_replied) - REPLIED0 )) of $LINKED replied"
all_replied() { [ "$(events_count dispatch ticket_replied)" -ge $(( REPLIED0 + LINKED )) ]; }
wait_until 60 all_replied
not_closing() { ! curl_as dispatcher -sf "$D/v1/incidents?all=true" | grep -q '"closing"'; }
wait_until 10 not_closing
[ "$(events_count dispatch ticket_replied)" = $(( REPLIED0 + LINKED )) ] ||
  fail "$(( $(events_count dispatch ticket_replied) - REPLIED0 )) replies for $LINKED linked tickets"
wait_until 60 caught_up callback dispatch
wait_until 60 caught_up intake dispatch
[ "$(events_count callback callback_scheduled)" = $(( SCHED0 + CALLS )) ] ||
  fail "callback scheduled $(( $(events_count callback callback_scheduled) - SCHED0 )) calls for $CALLS callers"
for t in "$A" "$H" "$E"; do [ "$(view "$t" status)" = TICKET_REPLIED ] || fail "$t: $(view "$t" status)"; done
[ "$(view "$E2" status)" = TICKET_DISPATCHED ] || fail "the unlinked $E2 was replied"
wait_until 60 caught_up sla dispatch # each reply judged by the incident's clock: on time
[ "$(curl_as dispatcher -sf "$S/v1/clocks/$A" | json_get - incidentOnTime)" = true ] ||
  fail "$A's reply not judged by $INC's clock: $(curl_as dispatcher -sf "$S/v1/clocks/$A")"
log "closed: $LINKED tickets replied, $CALLS calls scheduled"

# ---- the calls: one rating per caller closes all of that caller's tickets ----
DUE=$(pyc 'import json,sys
print(max(int(c["dueMs"]) for c in json.loads(sys.argv[1])["callbacks"]))' \
  "$(curl_as supervisor -sf "$C/v1/callbacks?state=pending&limit=1000")")
curl_as admin -sf -X POST -d "{\"nowMs\": $DUE}" "$C/admin/clock" > /dev/null
export AGENT_TOKEN=$(token_for callback-agent@agent-1)
python3 - "$C" "$B" <<'PY' || fail "the callback round failed"
import http.client, json, os, sys, time, urllib.parse
url, skip = urllib.parse.urlparse(sys.argv[1]), sys.argv[2]
h = {"Authorization": "Bearer " + os.environ["AGENT_TOKEN"], "Content-Type": "application/json"}
conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
def post(path, body):
    conn.request("POST", path, json.dumps(body), h)
    r = conn.getresponse()
    return r.status, json.loads(r.read() or b"{}")
done, deadline = 0, time.time() + 60
while time.time() < deadline:
    st, task = post("/v1/callbacks/next", {})
    if st == 404:
        break
    assert st == 200, task
    tid = task["callbackTask"]["ticketId"]
    st, res = post("/v1/callbacks/" + tid, {"outcome": "CALLBACK_RATED",
                                           "rating": "RATING_SATISFIED", "resolved": True})
    assert st == 200, res
    done += 1
print("calls made:", done)
PY
closed_all() { [ "$(events_count callback ticket_closed)" -ge $(( LINKED + 1 )) ]; }
wait_until 30 closed_all
[ "$(events_count callback ticket_closed)" = $(( LINKED + 1 )) ] ||
  fail "closed $(events_count callback ticket_closed) tickets, want $(( LINKED + 1 )) (the incident's and $B)"
[ "$(events_count callback callback_scheduled)" = $(( SCHED0 + CALLS )) ] || fail "more calls appeared"
wait_until 60 caught_up intake callback
for t in "$A" "$H" "$E"; do wait_view "$t" status TICKET_CLOSED; done
closed_at_dispatch() { [ "$(state_at_dispatch "$A")" = TICKET_CLOSED ]; }
wait_until 30 closed_at_dispatch
hl down --data-dir "$T/hl" >/dev/null
log "PASS: wide incidents need a supervisor; linked by door, hand and rule; unlinked; ETA in views; $LINKED tickets replied on close, $CALLS calls for $CALLS callers, all closed"
