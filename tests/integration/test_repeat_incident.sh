#!/usr/bin/env bash
# The surge levers at the door, with the five services:
# - the same number calling 20 times about no water within an hour yields one dispatched
#   ticket and 19 linked contacts, each answered with the open ticket's status;
# - once an incident is declared for a community, new no-water tickets there are linked to it
#   at the door and answered with its ETA (and not dispatched one by one); other categories
#   and other communities are not; after it closes, tickets are dispatched again.
# - outcomes at the door: answered directly, referred, not accepted: closed, never dispatched.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pipeline.sh"
pipeline_up
I=$(svc_url intake)
D=$(svc_url dispatch)

submit() { # submit JSON-TICKET -> answer file $T/ans.json
  TOKEN=$(token_for operator) http POST "$I/v1/tickets" "$1" > "$T/ans.json"
  [ "$HTTP_STATUS" = 200 ] || fail "submit refused: $(cat "$T/ans.json")"
}
ans() { json_get "$T/ans.json" "submitTicket.$1" 2>/dev/null || echo ""; }
call='{"categoryCode": "W01", "description": "no water again", "contact": {"phone": "+86 138 0013 8000"},
       "location": {"district": "Gulou", "community": "Sunshine"}}'

# ---- repeat caller ----
submit "$call"
FIRST=$(ans ticketId)
[ "$(ans linked)" = "" ] || fail "the first call was linked"
wait_view "$FIRST" status TICKET_DISPATCHED
for i in $(seq 2 20); do
  submit "$call"
  [ "$(ans ticketId)" = "$FIRST" ] || fail "call $i got ticket $(ans ticketId), not $FIRST"
  [ "$(ans linked)" = true ] || fail "call $i not linked: $(cat "$T/ans.json")"
  [ "$(ans status)" = TICKET_DISPATCHED ] || fail "call $i not told the status: $(cat "$T/ans.json")"
  [ "$(ans repeatCount)" = $(( i - 1 )) ] || fail "call $i: repeat count $(ans repeatCount)"
  grep -q "already reported" "$T/ans.json" || fail "call $i: no message for the caller"
done
log "20 calls -> $FIRST; the last was told: $(ans message)"
[ "$(view "$FIRST" repeatCount)" = 19 ] || fail "view repeat count $(view "$FIRST" repeatCount)"
settle() { [ "$(events_count intake repeat_contact)" = 19 ]; }
wait_until 10 settle
sleep 1
[ "$(events_count dispatch ticket_dispatched)" = 1 ] ||
  fail "dispatch dispatched $(events_count dispatch ticket_dispatched) tickets for one caller"
# Another caller about the same matter is a new ticket; the same caller about billing too.
submit '{"categoryCode": "W01", "description": "no water", "contact": {"phone": "13900000001"},
         "location": {"district": "Gulou", "community": "Sunshine"}}'
[ "$(ans ticketId)" != "$FIRST" ] || fail "another caller was linked"
submit '{"categoryCode": "W06", "description": "bill", "contact": {"phone": "13800138000"},
         "location": {"district": "Gulou", "community": "Sunshine"}}'
[ "$(ans ticketId)" != "$FIRST" ] || fail "another matter was linked"

# ---- a known incident ----
ETA=$(( $(date +%s) * 1000 + 3 * 3600 * 1000 ))
TOKEN=$(token_for dispatcher) http POST "$D/v1/incidents" "{\"categoryPrefix\": \"W01\", \"area\": {\"community\": \"Riverside\"},
  \"etaMs\": \"$ETA\", \"summary\": \"Main repair on Riverside Road\"}" > "$T/inc.json"
[ "$HTTP_STATUS" = 200 ] || fail "declare: $(cat "$T/inc.json")"
INC=$(json_get "$T/inc.json" incident.incidentId)
log "declared $INC"
TOKEN=$(token_for dispatcher) http POST "$D/v1/incidents" '{"categoryPrefix": "W01", "summary": "x"}' > "$T/e.json"
[ "$HTTP_STATUS" = 400 ] && [ "$(json_get "$T/e.json" error.field)" = declareIncident.area ] ||
  fail "an incident without an area was accepted: $(cat "$T/e.json")"
intake_knows() { # intake has applied dispatch's feed up to the declaration
  local head; head=$(curl_as admin -sf "$D/v1/status" | json_get - headSeq)
  curl_as admin -sf "$I/v1/status" | python3 -c 'import json,sys
f={x["producer"]: x for x in json.load(sys.stdin)["feeds"]}
sys.exit(0 if f["dispatch"]["cursor"] >= int(sys.argv[1]) else 1)' "$head"
}
wait_until 20 intake_knows
for n in 1 2 3; do
  submit "{\"categoryCode\": \"W01\", \"description\": \"no water $n\", \"contact\": {\"phone\": \"1370000000$n\"},
           \"location\": {\"district\": \"Taijiang\", \"community\": \"riverside\"}}"
  [ "$(ans incidentId)" = "$INC" ] || fail "ticket $n not joined to $INC: $(cat "$T/ans.json")"
  [ "$(ans etaMs)" = "$ETA" ] || fail "ticket $n not told the ETA: $(cat "$T/ans.json")"
  [ "$(ans status)" = TICKET_LINKED ] || fail "status $(ans status)"
  grep -q "Expected fixed by" "$T/ans.json" || fail "no ETA sentence: $(cat "$T/ans.json")"
  LINKED=$(ans ticketId)
done
log "linked at the door: $(ans message)"
submit '{"categoryCode": "W06", "description": "bill", "contact": {"phone": "13700000009"},
         "location": {"community": "Riverside"}}'
[ -z "$(ans incidentId)" ] || fail "a billing ticket joined the water incident"
submit '{"categoryCode": "W01", "description": "no water", "contact": {"phone": "13700000008"},
         "location": {"community": "Hillside"}}'
[ -z "$(ans incidentId)" ] || fail "a ticket in another community joined the incident"
OTHER=$(ans ticketId)
linked_at_dispatch() { curl_as dispatcher -sf "$D/v1/assignments/$LINKED" > "$T/a.json" && [ "$(json_get "$T/a.json" status)" = TICKET_LINKED ]; }
wait_until 20 linked_at_dispatch
wait_view "$OTHER" status TICKET_DISPATCHED
sleep 1
curl_as service -sf "$D/v1/events?limit=1000" | python3 -c 'import json,sys
evs=json.load(sys.stdin)["events"]
ids=[e["ticketId"] for e in evs if "ticketDispatched" in e]
assert sys.argv[1] not in ids, "a linked ticket was dispatched on its own"' "$LINKED" ||
  fail "linked tickets must not be dispatched one by one"
TOKEN=$(token_for dispatcher) http POST "$D/v1/incidents/$INC/close" '{"resolution": "main repaired"}' > /dev/null
[ "$HTTP_STATUS" = 200 ] || fail "close: $HTTP_STATUS"
wait_until 20 intake_knows
submit '{"categoryCode": "W01", "description": "no water", "contact": {"phone": "13700000007"},
         "location": {"community": "Riverside"}}'
[ -z "$(ans incidentId)" ] || fail "a closed incident still links tickets"

# ---- outcomes at the door ----
submit '{"categoryCode": "W06", "description": "when is the bill due?", "contact": {"phone": "13600000001"},
         "location": {"district": "Gulou"}, "outcome": {"disposition": "DISPOSITION_ANSWERED",
         "answer": "the 15th of each month"}}'
[ "$(ans status)" = TICKET_ANSWERED ] || fail "answered: $(cat "$T/ans.json")"
ANSWERED=$(ans ticketId)
submit '{"categoryCode": "W04", "description": "smell of gas", "contact": {"phone": "13600000002"},
         "location": {"district": "Gulou"}, "outcome": {"disposition": "DISPOSITION_REFERRED",
         "referredTo": "EMERGENCY_119_FIRE"}}'
[ "$(ans status)" = TICKET_REFERRED ] || fail "referred: $(cat "$T/ans.json")"
TOKEN=$(token_for operator) http POST "$I/v1/tickets" '{"categoryCode": "W06", "description": "x", "contact": {"phone": "13600000003"},
  "location": {"district": "Gulou"}, "outcome": {"disposition": "DISPOSITION_NOT_ACCEPTED"}}' > "$T/e.json"
[ "$HTTP_STATUS" = 400 ] && [ "$(json_get "$T/e.json" error.field)" = ticket.outcome.notAcceptedReason ] ||
  fail "not accepted without a reason: $(cat "$T/e.json")"
sleep 1
curl_as dispatcher -sf "$D/v1/assignments/$ANSWERED" >/dev/null && fail "an answered ticket reached dispatch"
# analytics counts what happened at the door
k() { curl_as supervisor -sf "$(svc_url analytics)/v1/kpis" | json_get - "totals.$1"; }
counted() { [ "$(k repeatCalls)" = 19 ] && [ "$(k answeredDirectly)" = 1 ] && [ "$(k referred)" = 1 ] &&
            [ "$(k incidentLinked)" = 3 ]; }
wait_until 20 counted
hl down --data-dir "$T/hl" >/dev/null
log "PASS: repeat callers linked, incidents joined at the door with their ETA, outcomes closed at intake"
