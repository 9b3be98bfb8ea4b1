#!/usr/bin/env bash
# A unit's requests, with the five services.
# Extensions (延期): the holding unit asks for working days before its reply is due; a
# supervisor approves (sla moves the reply deadline, the caller's status view shows the new
# date) or rejects (the deadline stands); a round's extensions add up to at most 10 working
# days; no request after the deadline, none from another unit, none by a dispatcher's ruling;
# bad input is refused naming the field.
# Termination (终止): asked by the holding unit, rejected (goes on) or approved by a supervisor
# (closed, no callback, clocks ended without a verdict).
# Sub-dispatch (下派): the holder passes the ticket to a unit under it in the catalogue, keeps
# reading it; not to a unit that is not under it, not by another unit.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pipeline.sh"
pipeline_up --test-clock
I=$(svc_url intake)
D=$(svc_url dispatch)
S=$(svc_url sla)

TOKEN=$(token_for operator) http POST "$I/v1/tickets" '{"categoryCode": "W06", "description": "bill twice",
  "contact": {"phone": "13922223333"}, "location": {"district": "Gulou"}}' > "$T/sub.json"
ID=$(json_get "$T/sub.json" submitTicket.ticketId)
reply_due() { # the reply clock's due ms at sla
  curl_as admin -sf "$S/v1/clocks/$ID" | python3 -c 'import json,sys
print([c["dueMs"] for c in json.load(sys.stdin)["clocks"] if c["clock"] == "SLA_CLOCK_REPLY"][0])'
}
wait_until 30 reply_due
DUE0=$(reply_due)
# dispatch learns the deadline from sla's feed; wait until the intake view has it too
wait_view "$ID" replyDueMs "$DUE0"
hl_as unit:billing sign "$ID" > /dev/null

ask() { # ask DAYS [UNIT] -> HTTP status in $HTTP_STATUS, answer in $T/ask.json
  TOKEN=$(token_for "unit:${2:-billing}") http POST "$D/v1/tickets/$ID/extension" \
    "{\"workingDays\": $1, \"reason\": \"waiting for the bank's statement\"}" > "$T/ask.json"
}
ask 0; [ "$HTTP_STATUS" = 400 ] && grep -q requestExtension.workingDays "$T/ask.json" || fail "0 days: $HTTP_STATUS $(cat "$T/ask.json")"
ask 11; [ "$HTTP_STATUS" = 400 ] && grep -q '1 to 10 working days' "$T/ask.json" || fail "11 days: $(cat "$T/ask.json")"
ask 3 water-supply; [ "$HTTP_STATUS" = 403 ] || fail "another unit asked: $HTTP_STATUS $(cat "$T/ask.json")"
grep -q billing "$T/ask.json" && fail "the refusal names the holder"

# ---- approved: the deadline moves by 3 working days ----
hl_as unit:billing extend "$ID" --days 3 --reason "waiting for the bank" > /dev/null || fail "extend"
ask 2; [ "$HTTP_STATUS" = 409 ] && grep -q 'already waits' "$T/ask.json" || fail "a second pending request: $(cat "$T/ask.json")"
[ "$(curl_as supervisor -sf "$D/v1/extensions" | json_get - extensions.0.workingDays)" = 3 ] || fail "pending list"
code=$(curl_as dispatcher -s -o /dev/null -w '%{http_code}' -X POST -d '{"approve": true}' "$D/v1/extensions/$ID")
[ "$code" = 403 ] || fail "a dispatcher ruled on an extension: $code"
hl_as supervisor review-extension "$ID" --approve > /dev/null || fail "approve"
moved() { [ "$(reply_due)" != "$DUE0" ]; }
wait_until 30 moved
DUE1=$(reply_due)
DAYS=$(( (DUE1 - DUE0) / 86400000 ))
[ "$DAYS" -ge 3 ] && [ "$DAYS" -le 10 ] || fail "3 working days moved the deadline by $DAYS days ($DUE0 -> $DUE1)"
wait_view "$ID" replyDueMs "$DUE1"
[ "$(events_count sla sla_clock_extended)" = 1 ] || fail "sla_clock_extended events"
log "approved: reply due $DUE0 -> $DUE1 ($DAYS calendar days for 3 working days)"

# ---- rejected: the deadline stands; the round's total is capped ----
ask 8; [ "$HTTP_STATUS" = 409 ] && grep -q '3 working days granted; at most 10' "$T/ask.json" || fail "over the cap: $(cat "$T/ask.json")"
ask 2; [ "$HTTP_STATUS" = 200 ] || fail "ask 2: $(cat "$T/ask.json")"
rc=0; hl_as supervisor review-extension "$ID" --reject 2> "$T/err" || rc=$?
[ $rc = 2 ] || fail "reject without a note: rc $rc"
hl_as supervisor review-extension "$ID" --reject --note "the statement is not needed to answer" > /dev/null || fail "reject"
sleep 2
[ "$(reply_due)" = "$DUE1" ] || fail "a rejected extension moved the deadline"
[ "$(events_count dispatch extension_reviewed)" = 2 ] || fail "extension_reviewed events"

# ---- after the deadline: refused ----
curl_as admin -sf -X POST -d "{\"nowMs\": $((DUE1 + 60000))}" "$D/admin/clock" > /dev/null
ask 1; [ "$HTTP_STATUS" = 409 ] && grep -q 'an extension is asked before the deadline' "$T/ask.json" ||
  fail "after the deadline: $HTTP_STATUS $(cat "$T/ask.json")"
log "extensions: approved moves the deadline, rejected leaves it, capped, refused late and to others"

# ---- termination ----
submit() {
  TOKEN=$(token_for operator) http POST "$I/v1/tickets" "$1" > "$T/sub.json"
  [ "$HTTP_STATUS" = 200 ] || fail "submit: $(cat "$T/sub.json")"
  json_get "$T/sub.json" submitTicket.ticketId
}
X=$(submit '{"categoryCode": "W06", "description": "bill, withdrawn later", "contact": {"phone": "13922224444"},
  "location": {"district": "Gulou"}}')
wait_until 30 curl_as admin -sf "$D/v1/assignments/$X"
code=$(curl_as unit:water-supply -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -X POST -d '{"reason": "x"}' "$D/v1/tickets/$X/terminate")
[ "$code" = 403 ] || fail "another unit asked to terminate: $code"
TOKEN=$(token_for unit:billing) http POST "$D/v1/tickets/$X/terminate" '{}' > "$T/e.json"
[ "$HTTP_STATUS" = 400 ] && grep -q requestTermination.reason "$T/e.json" || fail "no reason: $(cat "$T/e.json")"
hl_as unit:billing terminate "$X" --reason "the caller withdrew: paid at the counter" > /dev/null || fail "terminate"
hl_as supervisor review-termination "$X" --reject --note "call the caller back first" > /dev/null || fail "reject"
[ "$(curl_as admin -sf "$D/v1/assignments/$X" | json_get - status)" = TICKET_DISPATCHED ] || fail "a rejected termination closed it"
hl_as unit:billing terminate "$X" --reason "the caller confirmed: withdrawn" > /dev/null || fail "terminate again"
[ "$(curl_as dispatcher -sf "$D/v1/terminations" | json_get - terminations.0.ticketId)" = "$X" ] || fail "pending list"
hl_as supervisor review-termination "$X" --approve > /dev/null || fail "approve"
[ "$(curl_as admin -sf "$D/v1/assignments/$X" | json_get - status)" = TICKET_CLOSED ] || fail "not closed"
wait_view "$X" status TICKET_CLOSED
ended() { curl_as admin -sf "$S/v1/clocks/$X" | python3 -c 'import json,sys
cs = json.load(sys.stdin)["clocks"]
sys.exit(0 if cs and all(not c["running"] and "onTime" not in c for c in cs) else 1)'; }
wait_until 30 ended
sleep 1
code=$(curl_as admin -s -o /dev/null -w '%{http_code}' "$(svc_url callback)/v1/callbacks/$X")
[ "$code" = 404 ] || fail "a terminated ticket got a callback: $code"
log "termination: rejected goes on; approved closes it, no callback, clocks ended without a verdict"

# ---- sub-dispatch: billing passes a ticket to billing-east, under it in a new edition ----
hl_as supervisor catalogue show | sed 's/^version | .*//' > "$T/cat.txt"
echo "unit | billing-east | Billing office, east counter | billing" >> "$T/cat.txt"
hl_as supervisor catalogue load "$T/cat.txt" > /dev/null || fail "load a catalogue with a parent"
Y=$(submit '{"categoryCode": "W06", "description": "bill at the east counter", "contact": {"phone": "13922225555"},
  "location": {"district": "Gulou"}}')
wait_until 30 curl_as admin -sf "$D/v1/assignments/$Y"
rc=0; hl_as unit:billing subdispatch "$Y" --to water-supply 2> "$T/err" || rc=$?
[ $rc = 1 ] && grep -q "is not under unit billing" "$T/err" || fail "passed to a unit not under it: rc $rc $(cat "$T/err")"
code=$(curl_as unit:water-supply -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -X POST -d '{"toUnit": "billing-east"}' "$D/v1/tickets/$Y/subdispatch")
[ "$code" = 403 ] || fail "another unit passed billing's ticket down: $code"
hl_as unit:billing subdispatch "$Y" --to billing-east --note "east counter handles it" > /dev/null || fail "subdispatch"
[ "$(curl_as unit:billing-east -sf "$D/v1/assignments/$Y" | json_get - unit)" = billing-east ] || fail "not with billing-east"
curl_as unit:billing -sf "$D/v1/assignments/$Y" > /dev/null || fail "the parent cannot read it any more"
hl_as unit:billing note "$Y" --text "asked east to call today" > /dev/null || fail "the parent's note"
hl_as unit:billing-east sign "$Y" > /dev/null || fail "billing-east signs"
wait_view "$Y" unit billing-east
log "sub-dispatch: to a subordinate only, by the holder only; the parent reads and notes"
