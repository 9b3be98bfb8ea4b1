#!/usr/bin/env bash
# Crew work orders by webhook (issue 9, "It must show" 2), on real processes: intake, dispatch
# (test clock, two crews configured) and the crew-system simulator (tests/support/crewsim).
#   - crews[] mistakes stop start-up naming the field; the embedded default has no crews
#   - a ticket dispatched to a crew raises a work order, delivered signed and masked; the crew
#     reports status (ASSIGNED, ON_SITE); another crew, a unit token and bad bodies are
#     refused naming what is needed / the field
#   - the crew receiver is down for 10 minutes of dispatch's clock while 1,000 work orders are
#     raised; dispatch is SIGKILLed during the retries and restarted; once the receiver is back
#     every one is delivered exactly once by Idempotency-Key (no key missing, none twice)
#   - a crew with maxAttempts 2 dead-letters its work orders: listed (masked) by API and CLI,
#     replayed by API and CLI, then delivered
#   - a redirect away from a crew and a dispatcher's cancellation send change webhooks; a
#     dispatcher raises one work order for an incident (raising again answers the open one)
#   - dispatch's /metrics (connector figures included) pass promtool
source "$(dirname "$0")/../lib.sh"
D="$BIN/hotline-dispatch"
N=${N:-1000}
auth_on
mint service "pipeline services" >"$T/auth/service.token"
export HOTLINE_RUNTIME_AUTH_SERVICE_TOKEN_FILE="$T/auth/service.token"

expect_exit() { # expect_exit CODE PATTERN CMD...: exit code and a message on stderr
  local code=$1 pattern=$2 rc=0; shift 2
  "$@" >"$T/out" 2>"$T/err" || rc=$?
  [ "$rc" = "$code" ] || fail "$* exited $rc, expected $code: $(cat "$T/err")"
  grep -qF -- "$pattern" "$T/err" || fail "$*: stderr lacks '$pattern': $(cat "$T/err")"
}
expect_error() { # expect_error CODE FIELD TEXT: the last http answer ($T/r.json)
  local got
  [ "$HTTP_STATUS" = "$1" ] || fail "HTTP $HTTP_STATUS, expected $1: $(cat "$T/r.json")"
  got=$(pyc 'import json,sys
e=json.load(open(sys.argv[1]))["error"]; print(e.get("field","")); print(e.get("message",""))' "$T/r.json")
  [ "$(head -n1 <<<"$got")" = "$2" ] || fail "field is not $2: $(cat "$T/r.json")"
  [[ "$(tail -n1 <<<"$got")" == *"$3"* ]] || fail "message lacks '$3': $(cat "$T/r.json")"
}

PORTS=$(reserve_ports 6)
IH=$PORTS DH=$((PORTS + 1)) IB=$((PORTS + 2)) DB=$((PORTS + 3)) SIM=$((PORTS + 4)) NOBODY=$((PORTS + 5))
I="http://127.0.0.1:$IH" H="http://127.0.0.1:$DH"
KEY=crew-webhook-secret-0123456789
printf '%s\n' "$KEY" >"$T/crew.key"
chmod 600 "$T/crew.key"
export CREW_SOUTH_KEY=$KEY

# ---- configuration ------------------------------------------------------------------------
"$D" --print-config >"$T/default.json"
pyc 'import json,sys; sys.exit(1 if json.load(open(sys.argv[1])).get("crews") else 0)' \
  "$T/default.json" || fail "the embedded default configures crews"
RUN=("$D" --data-dir "$T/bad" --http-port 0 --bus 'tcp://127.0.0.1:*'
     --feed "intake=tcp://127.0.0.1:$NOBODY" --feed "callback=tcp://127.0.0.1:$NOBODY")
crews() { echo "{\"crews\": [$1]}" >"$T/c.json"; }
crews '{"unit": "repair-crew", "url": "ftp://x", "secretFile": "'"$T/crew.key"'"}'
expect_exit 2 "crews[0].url: 'ftp://x' is not http:// or https://" "${RUN[@]}" --config "$T/c.json"
crews '{"unit": "no-such-crew", "url": "http://127.0.0.1:1/o", "secretFile": "'"$T/crew.key"'"}'
expect_exit 2 "crews[0].unit: unit 'no-such-crew' is not in the catalogue" "${RUN[@]}" --config "$T/c.json"
cp "$T/crew.key" "$T/open.key"; chmod 644 "$T/open.key"
crews '{"unit": "repair-crew", "url": "http://127.0.0.1:1/o", "secretFile": "'"$T/open.key"'"}'
expect_exit 2 "crews[0].secretFile: $T/open.key is open to group or others (mode 0644)" \
  "${RUN[@]}" --config "$T/c.json"
crews '{"unit": "repair-crew", "url": "http://127.0.0.1:1/o", "secretEnv": "SHORT_KEY"}'
SHORT_KEY=abc expect_exit 2 "crews[0].secretEnv: the secret is 3 bytes; at least 16" \
  "${RUN[@]}" --config "$T/c.json"
crews '{"unit": "repair-crew", "url": "http://127.0.0.1:1/o"}'
expect_exit 2 "crews[0].secretFile: give exactly one of secretFile" "${RUN[@]}" --config "$T/c.json"
crews '{"unit": "repair-crew", "url": "http://127.0.0.1:1/o", "secretFile": "'"$T/crew.key"'"},
       {"unit": "repair-crew", "url": "http://127.0.0.1:1/o", "secretFile": "'"$T/crew.key"'"}'
expect_exit 2 "crews[1].unit: crew 'repair-crew' is also crews[0]" "${RUN[@]}" --config "$T/c.json"
crews '{"unit": "repair-crew", "url": "http://127.0.0.1:1/o", "secretEnv": "CREW_SOUTH_KEY"}'
"$D" --config "$T/c.json" --print-config >"$T/cfg.json" 2>/dev/null
[ "$(json_get "$T/cfg.json" crews.0.maxAttempts)/$(json_get "$T/cfg.json" crews.0.backoffCapMs)" = 8/300000 ] ||
  fail "--print-config lacks the crews' defaults: $(cat "$T/cfg.json")"
grep -q "$KEY" "$T/cfg.json" && fail "--print-config shows the secret"
log "configuration mistakes are refused naming the field"

# ---- the pipeline part: intake, dispatch (two crews), the crew system -----------------------
cat >"$T/dispatch.json" <<EOF
{"crews": [
  {"unit": "repair-crew", "url": "http://127.0.0.1:$SIM/orders", "secretFile": "$T/crew.key",
   "maxAttempts": 40, "backoffFirstMs": 1000, "backoffCapMs": 60000, "timeoutMs": 2000},
  {"unit": "repair-crew-south", "url": "http://127.0.0.1:$SIM/orders/south",
   "secretEnv": "CREW_SOUTH_KEY", "maxAttempts": 2, "backoffFirstMs": 1000, "timeoutMs": 2000}]}
EOF
CREWSIM_KEY=$KEY start crewsim "$BIN/crewsim" --port "$SIM" --skew-ms 864000000
start intake "$BIN/hotline-intake" --data-dir "$T/i" --http-port "$IH" --bus "tcp://127.0.0.1:$IB" \
  --feed "dispatch=tcp://127.0.0.1:$DB" --feed "sla=tcp://127.0.0.1:$NOBODY" \
  --feed "callback=tcp://127.0.0.1:$NOBODY"
start_dispatch() {
  start dispatch "$D" --data-dir "$T/d" --http-port "$DH" --bus "tcp://127.0.0.1:$DB" \
    --feed "intake=tcp://127.0.0.1:$IB" --feed "callback=tcp://127.0.0.1:$NOBODY" \
    --config "$T/dispatch.json" --test-clock
}
start_dispatch
ready() { curl -sf "$1/readyz" >/dev/null; }
wait_until 30 ready "$I"
wait_until 30 ready "$H"
sim() { curl -sf -X "$1" "http://127.0.0.1:$SIM$2"; }
sim_count() { sim GET /counts | json_get - "$1"; }

OPERATOR=$(mint operator desk-1) DISPATCHER=$(mint dispatcher disp-1) SUPERVISOR=$(mint supervisor sup-1)
ADMIN=$(mint admin admin-1) CREW=$(mint crew:repair-crew "crew system central")
SOUTH=$(mint crew:repair-crew-south "crew system south") UNIT=$(mint unit:repair-crew "unit central")
for t in "$OPERATOR" "$DISPATCHER" "$SUPERVISOR" "$ADMIN" "$CREW" "$SOUTH" "$UNIT"; do
  wait_token "$H" "$t"
done
wait_token "$I" "$OPERATOR"
dcli() { HOTLINE_TOKEN=$1 "$BIN/hotline" --port-base $((DH - 1)) "${@:2}"; }

submit() { # submit DISTRICT DESCRIPTION PHONE: a W04 leak; prints the ticket id
  TOKEN=$OPERATOR http POST "$I/v1/tickets" "{\"categoryCode\": \"W04\", \"description\": \"$2\",
    \"contact\": {\"phone\": \"$3\"}, \"location\": {\"district\": \"$1\",
    \"street\": \"Dongjie Rd\", \"address\": \"12 Dongjie Rd\"}}" | json_get - submitTicket.ticketId
}
wo_of() { TOKEN=$DISPATCHER http GET "$H/v1/workorders/WO-$1-1" >"$T/wo.json"; [ "$HTTP_STATUS" = 200 ]; }

# ---- one work order, end to end ---------------------------------------------------------------
TID=$(submit Taijiang "water out of the pavement, call me on 138 0013 8000" 13700000001)
wait_until 20 wo_of "$TID"
WO=WO-$TID-1
[ "$(json_get "$T/wo.json" crew)" = repair-crew ] || fail "crew: $(cat "$T/wo.json")"
[ "$(json_get "$T/wo.json" trigger)" = dispatched ] || fail "trigger: $(cat "$T/wo.json")"
grep -q "138 0013 8000" "$T/wo.json" && fail "the work order shows the phone: $(cat "$T/wo.json")"
grep -q "12 Dongjie Rd" "$T/wo.json" || fail "no location: $(cat "$T/wo.json")"
delivered() { [ "$(sim_count unique)" -ge "$1" ]; }
wait_until 20 delivered 1
sim GET '/counts?keys=1' | grep -q "\"$WO.1\"" || fail "crewsim lacks $WO.1: $(sim GET '/counts?keys=1')"
[ "$(sim_count rejected)" = 0 ] || fail "crewsim refused a signature: $(sim GET /counts)"
log "work order $WO raised on dispatch and delivered signed"

st() { TOKEN=$1 http POST "$H/v1/workorders/$WO/status" "$2" >"$T/r.json"; }
st "$CREW" '{"status": "ASSIGNED", "note": "team 3"}'
[ "$HTTP_STATUS" = 200 ] || fail "the crew's status: $(cat "$T/r.json")"
st "$SOUTH" '{"status": "EN_ROUTE"}'
expect_error 403 updateWorkOrderStatus.workOrderId "only the crew it was sent to"
st "$UNIT" '{"status": "EN_ROUTE"}'
expect_error 403 "" "crew"
st "$DISPATCHER" '{"status": "EN_ROUTE"}'
expect_error 403 "" "crew"
st "$CREW" '{"status": "LOST"}'
expect_error 400 status "LOST"
st "$CREW" '{"status": "ON_SITE", "photoUrls": ["ftp://x/1.jpg"]}'
expect_error 400 "updateWorkOrderStatus.photoUrls[0]" "http:// or https://"
st "$CREW" '{"status": "ON_SITE", "photoUrls": "x"}'
expect_error 400 photoUrls "array"
st "$CREW" "{\"status\": \"ON_SITE\", \"note\": \"$(head -c 1001 /dev/zero | tr '\0' x)\"}"
expect_error 400 updateWorkOrderStatus.note "at most 1000"
st "$CREW" '{"status": "RAISED"}'
expect_error 400 updateWorkOrderStatus.status "one of ASSIGNED, EN_ROUTE, ON_SITE, DONE"
dcli "$CREW" workorder status "$WO" --status on_site --note "valve closed, 13900001111 on site" \
  --photo https://photos.example/1.jpg >"$T/cli.txt" || fail "CLI status: $(cat "$T/cli.txt")"
grep -q ON_SITE "$T/cli.txt" || fail "CLI status: $(cat "$T/cli.txt")"
st "$CREW" '{"status": "ASSIGNED"}'
expect_error 409 updateWorkOrderStatus.status "only moves forward"
TOKEN=$SOUTH http GET "$H/v1/workorders/$WO" >"$T/r.json"
expect_error 403 workOrderId "a crew reads only its own"
TOKEN=$CREW http GET "$H/v1/workorders?crew=repair-crew-south" >"$T/r.json"
expect_error 403 crew "a crew lists only its own"
TOKEN=$CREW http GET "$H/v1/workorders" >"$T/r.json"
[ "$(json_get "$T/r.json" workOrders.0.state)" = WORK_ORDER_ON_SITE ] || fail "crew list: $(cat "$T/r.json")"
grep -q 13900001111 "$T/r.json" && fail "the crew's note was not masked: $(cat "$T/r.json")"
log "crew status: the holder reports; another crew, a unit and a dispatcher are refused; bad bodies get 400 naming the field"

# ---- the receiver down for 10 minutes while N work orders are raised ------------------------
clock() { TOKEN=$ADMIN http POST "$H/admin/clock" "$1" | json_get - nowMs; }
metric() { curl -sf "$H/metrics" | awk -v k="$1" '$1 == k {print $2}'; }
sim POST '/admin/down?ms=3600000' >/dev/null
python3 - "$I" "$OPERATOR" "$N" >"$T/ids.txt" <<'PY' || fail "submitting $N tickets failed"
import http.client, json, sys, threading
host = sys.argv[1].split("//")[1]
n = int(sys.argv[3])
ids, errors = [None] * n, []
def worker(part): # eight connections at once: intake's group commit takes them together
    c = http.client.HTTPConnection(host, timeout=30)
    for i in part:
        body = json.dumps({"categoryCode": "W04", "description": "leak %d, call 138-0013-%04d" % (i, i),
                           "contact": {"phone": "1380000%04d" % i},
                           "location": {"district": "Taijiang", "address": "%d Bayiqi Rd" % i}})
        c.request("POST", "/v1/tickets", body, {"Authorization": "Bearer " + sys.argv[2],
                                                 "Content-Type": "application/json"})
        r = c.getresponse(); d = json.loads(r.read())
        if r.status != 200:
            errors.append("HTTP %d: %s" % (r.status, d)); return
        ids[i] = d["submitTicket"]["ticketId"]
threads = [threading.Thread(target=worker, args=(range(k, n, 8),)) for k in range(8)]
[t.start() for t in threads]; [t.join() for t in threads]
if errors: sys.exit(errors[0])
print("\n".join(ids))
PY
S1=$(submit Cangshan "south leak one, 0591-8765-4321" 13700000002)
S2=$(submit Cangshan "south leak two" 13700000003)
[ "$(wc -l <"$T/ids.txt")" = "$N" ] || fail "intake took $(wc -l <"$T/ids.txt") tickets"
raised() { [ "$(metric 'hotline_events_appended_total{kind="work_order_raised"}')" -ge $((N + 3)) ]; }
wait_until 60 raised
log "$N + 2 work orders raised while the crew system is down"

# Ten minutes of dispatch's clock in steps of a minute; dispatch is killed after the fifth.
for step in 1 2 3 4 5 6 7 8 9 10; do
  NOW=$(clock '{"advanceMs": 60000}')
  sleep 1
  [ -n "$NOW" ] || fail "the clock did not move"
  if [ "$step" = 5 ]; then
    retried=$(metric 'hotline_connector_sent_total{connector="crew_repair_crew",outcome="retried"}')
    log "SIGKILL dispatch after $retried failed attempts (clock $NOW)"
    stop9 dispatch
    start_dispatch
    wait_until 30 ready "$H"
    wait_token "$H" "$ADMIN"
    clock "{\"nowMs\": $((NOW + 1000))}" >/dev/null
  fi
done
pending=$(metric 'hotline_sched_pending_connector_crew_repair_crew')
[ "$pending" = "$N" ] || fail "$pending deliveries pending after the outage, expected $N"
dead_south() { [ "$(TOKEN=$SUPERVISOR http GET "$H/v1/workorders/dead" | json_get - deadLetters.1.crew)" = repair-crew-south ]; }
wait_until 20 dead_south
log "after 10 minutes down and a SIGKILL: $pending deliveries pending, south's 2 dead-lettered"

kill -USR1 "${PIDS[crewsim]}"
clock '{"advanceMs": 120000}' >/dev/null # every backoff has run out
wait_until 120 delivered $((N + 1))
sleep 2
python3 - "$T/ids.txt" "$TID" "http://127.0.0.1:$SIM/counts?keys=1" <<'PY' || fail "not exactly once"
import json, sys, urllib.request
ids = [l.strip() for l in open(sys.argv[1]) if l.strip()] + [sys.argv[2]]
want = {"WO-%s-1.1" % i for i in ids}
got = json.load(urllib.request.urlopen(sys.argv[3]))
keys = got["keys"]
missing = want - set(keys)
extra = set(keys) - want
print("delivered keys %d, expected %d, missing %d, unexpected %d, duplicates %d, received %d"
      % (len(keys), len(want), len(missing), len(extra), got["duplicates"], got["received"]))
sys.exit(1 if missing or extra or len(keys) != len(set(keys)) or got["duplicates"] else 0)
PY
log "crew system back: each of the $N work orders delivered exactly once by Idempotency-Key"

# ---- dead letters: listed masked, replayed by API and CLI ------------------------------------
TOKEN=$DISPATCHER http GET "$H/v1/workorders/dead" >"$T/dead.json"
[ "$HTTP_STATUS" = 200 ] || fail "dead letters: $(cat "$T/dead.json")"
K1=$(json_get "$T/dead.json" deadLetters.0.key) K2=$(json_get "$T/dead.json" deadLetters.1.key)
[ "$(json_get "$T/dead.json" deadLetters.0.attempts)" = 2 ] || fail "attempts: $(cat "$T/dead.json")"
grep -q "8765-4321" "$T/dead.json" && fail "a dead letter shows the phone: $(cat "$T/dead.json")"
grep -q "south leak" "$T/dead.json" || fail "dead letter body: $(cat "$T/dead.json")"
dcli "$ADMIN" workorders dead >"$T/dead.txt" || fail "CLI dead: $(cat "$T/dead.txt")"
grep -q "$K1" "$T/dead.txt" || fail "CLI dead lacks $K1: $(cat "$T/dead.txt")"
TOKEN=$SUPERVISOR http POST "$H/v1/workorders/dead/$K1/replay" '{}' >"$T/r.json"
expect_error 403 "" "dispatcher"
TOKEN=$DISPATCHER http POST "$H/v1/workorders/dead/$K1/replay" '{}' >"$T/r.json"
[ "$HTTP_STATUS" = 200 ] || fail "replay: $(cat "$T/r.json")"
dcli "$ADMIN" workorders replay "$K2" >"$T/cli.txt" || fail "CLI replay: $(cat "$T/cli.txt")"
TOKEN=$DISPATCHER http POST "$H/v1/workorders/dead/$K2/replay" '{}' >"$T/r.json"
expect_error 404 replayDeadLetter.key "no dead letter"
wait_until 30 delivered $((N + 3))
[ "$(TOKEN=$DISPATCHER http GET "$H/v1/workorders/dead" | json_get - deadLetters)" = "[]" ] ||
  fail "dead letters left after replay"
log "dead letters $K1 and $K2 listed (masked), replayed by API and CLI, delivered"

# ---- changes: redirected away, cancelled ---------------------------------------------------------
X=$(head -n 1 "$T/ids.txt")
TOKEN=$DISPATCHER http POST "$H/v1/redirects/$X" '{"toUnit": "network-works", "reason": "a connection job"}' >"$T/r.json"
[ "$HTTP_STATUS" = 200 ] || fail "redirect: $(cat "$T/r.json")"
Y=$(sed -n 2p "$T/ids.txt")
dcli "$DISPATCHER" workorder cancel "WO-$Y-1" --reason "duplicate report" >"$T/cli.txt" ||
  fail "CLI cancel: $(cat "$T/cli.txt")"
dcli "$DISPATCHER" workorder raise --ticket "$Y" --note "second visit" >"$T/cli.txt" ||
  fail "CLI raise: $(cat "$T/cli.txt")"
grep -q "WO-$Y-2" "$T/cli.txt" || fail "raise again: $(cat "$T/cli.txt")"
TOKEN=$DISPATCHER http POST "$H/v1/workorders" "{\"ticketId\": \"$Y\"}" >"$T/r.json"
[ "$(json_get "$T/r.json" workOrder.existing)" = true ] || fail "raised twice: $(cat "$T/r.json")"
TOKEN=$DISPATCHER http POST "$H/v1/workorders" "{\"ticketId\": \"$Y\", \"crew\": \"billing\"}" >"$T/r.json"
expect_error 400 raiseWorkOrder.crew "not a crew"
TOKEN=$DISPATCHER http POST "$H/v1/workorders" '{"note": "x"}' >"$T/r.json"
expect_error 400 raiseWorkOrder.ticketId "exactly one of ticketId and incidentId"
TOKEN=$DISPATCHER http POST "$H/v1/incidents" '{"categoryPrefix": "W0402", "area": {"district":
  "Gulou", "street": "Wuyi Rd"}, "summary": "main burst, call 0591-8765-1234", "unit": "repair-crew"}' >"$T/r.json"
INC=$(json_get "$T/r.json" incident.incidentId)
# An incident held by a crew sends it one work order at once, however many callers join.
[ "$(TOKEN=$DISPATCHER http GET "$H/v1/workorders/WO-$INC-1" | json_get - trigger)" = incident ] ||
  fail "declaring an incident held by a crew raised no work order"
dcli "$DISPATCHER" workorder raise --incident "$INC" >"$T/cli.txt" || fail "incident raise: $(cat "$T/cli.txt")"
grep -q "WO-$INC-1" "$T/cli.txt" || fail "incident work order: $(cat "$T/cli.txt")"
grep -q "8765-1234" "$T/cli.txt" && fail "the incident's work order shows the phone: $(cat "$T/cli.txt")"
TOKEN=$DISPATCHER http POST "$H/v1/workorders" "{\"incidentId\": \"$INC\"}" >"$T/r.json"
[ "$(json_get "$T/r.json" workOrder.existing)" = true ] || fail "incident raised twice: $(cat "$T/r.json")"
wait_until 30 delivered $((N + 7))
sim GET '/counts?keys=1' >"$T/keys.json"
for k in "WO-$X-1.2" "WO-$Y-1.2" "WO-$Y-2.1" "WO-$INC-1.1"; do
  grep -q "\"$k\"" "$T/keys.json" || fail "crewsim lacks $k"
done
[ "$(TOKEN=$DISPATCHER http GET "$H/v1/workorders/WO-$X-1" | json_get - state)" = WORK_ORDER_CANCELLED ] ||
  fail "redirected work order not cancelled"
dcli "$SUPERVISOR" workorder list --crew repair-crew --state cancelled >"$T/cli.txt"
[ "$(wc -l <"$T/cli.txt")" = 2 ] || fail "cancelled list: $(cat "$T/cli.txt")"
log "redirect away and cancellation sent change webhooks (revision 2); one work order per incident; a raise for an open one answers it"

# ---- metrics ---------------------------------------------------------------------------------------
curl -sf "$H/metrics" >"$T/m.txt"
promtool check metrics <"$T/m.txt" >"$T/promtool.txt" 2>&1 || fail "promtool: $(cat "$T/promtool.txt")"
[ ! -s "$T/promtool.txt" ] || fail "promtool lint: $(cat "$T/promtool.txt")"
grep -q '^hotline_connector_dead_letters{connector="crew_repair_crew_south"} 0$' "$T/m.txt" ||
  fail "dead letter gauge: $(grep dead_letters "$T/m.txt")"
log "figures: $(grep -E '^hotline_connector_sent_total' "$T/m.txt" | tr '\n' ' ')"
log "received=$(sim_count received) unique=$(sim_count unique) duplicates=$(sim_count duplicates)"
stop_term dispatch
log "PASS"
