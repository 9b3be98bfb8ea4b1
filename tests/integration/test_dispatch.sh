#!/usr/bin/env bash
# hotline-dispatch as a real process, on its own HTTP surface: a bad catalogue stops start-up
# with a message naming the key; the catalogue and route lookup; refusals (unknown ticket,
# ticket id in body and path disagreeing, empty reply, unknown action / unit / state, a
# command dispatch does not take) with status and field; /metrics clean under promtool; a
# clean stop. Then, when hotline-intake is built, the real flow: a ticket submitted to intake
# is dispatched by the catalogue, signed and replied over HTTP (with an idempotent retry),
# shows in the unit's queue and gauges, and intake reads dispatch's events back.
# The full state machine (rework, close, replays) is in unit.test_dispatch.
source "$(dirname "$0")/../lib.sh"
D="$BIN/hotline-dispatch"
[ -x "$D" ] || fail "$D is not built"

expect_exit() { # expect_exit CODE PATTERN CMD...: exit code and a message on stderr
  local code=$1 pattern=$2 rc=0; shift 2
  "$@" >"$T/out" 2>"$T/err" || rc=$?
  [ "$rc" = "$code" ] || fail "$* exited $rc, expected $code: $(cat "$T/err")"
  grep -qF -- "$pattern" "$T/err" || fail "$*: stderr lacks '$pattern': $(cat "$T/err")"
}
expect_status() { # expect_status CODE FIELD TEXT FILE: HTTP status, error field, message text
  local code=$1 field=$2 text=$3 file=$4 got
  [ "$HTTP_STATUS" = "$code" ] || fail "HTTP $HTTP_STATUS, expected $code: $(cat "$file")"
  got=$(python3 -c 'import json,sys
d=json.load(open(sys.argv[1])); e=d.get("error", d)
print(e.get("field","")); print(e.get("message",""))' "$file")
  [ "$(head -n1 <<<"$got")" = "$field" ] || fail "field is not $field: $(cat "$file")"
  [[ "$(tail -n1 <<<"$got")" == *"$text"* ]] || fail "message lacks '$text': $(cat "$file")"
}
closed_port() { echo "tcp://127.0.0.1:$(free_port)"; } # nothing listens there

# ---- configuration errors name the key ---------------------------------------------------
# Exit code 2, as for every configuration error: the catalogue is checked before anything
# opens (service_desc_t.check_config).
RUN=("$D" --data-dir "$T/bad" --http-port 0 --bus 'tcp://127.0.0.1:*'
     --feed "intake=$(closed_port)" --feed "callback=$(closed_port)")
cat >"$T/bad_unit.json" <<'EOF'
{"routes": [{"categoryPrefix": "W01", "unit": "water-supply"},
            {"categoryPrefix": "W02", "unit": "no-such-crew"}]}
EOF
expect_exit 2 "routes[1].unit: unit 'no-such-crew' is not in units" "${RUN[@]}" \
  --config "$T/bad_unit.json"
echo '{"routes": [{"categoryPrefix": "w04", "unit": "repair-crew"}]}' >"$T/bad_prefix.json"
expect_exit 2 "routes[0].categoryPrefix" "${RUN[@]}" --config "$T/bad_prefix.json"
echo '{"routes": [], "units": [], "fallbackUnit": ""}' >"$T/no_fallback.json"
expect_exit 2 "fallbackUnit: a unit id is required" "${RUN[@]}" --config "$T/no_fallback.json"
HOTLINE_FALLBACK_UNIT=nobody expect_exit 2 "fallbackUnit: unit 'nobody' is not in units" \
  "${RUN[@]}"
echo '{"routes": [{"categoryPrefix": "W01"}]}' >"$T/typo.json" # accepted by the schema...
expect_exit 2 "routes[0].unit: a unit id is required" "${RUN[@]}" --config "$T/typo.json"
echo '{"runtime": {"maxBatch": 200000}}' >"$T/zero.json" # ...and the bounds table (exit 2)
expect_exit 2 "runtime.maxBatch: 200000 is above the maximum 100000" "${RUN[@]}" --config "$T/zero.json"
# The centre's zone (the date in incident ids): the key and bounds intake and sla have.
HOTLINE_CALENDAR_UTC_OFFSET_MINUTES=9999 expect_exit 2 "calendar.utcOffsetMinutes" "${RUN[@]}"
echo '{"calendar": {"utcOffset": "+8"}}' >"$T/bad_zone.json"
expect_exit 2 "calendar.utcOffset" "${RUN[@]}" --config "$T/bad_zone.json"
"$D" --print-config >"$T/cfg.json"
[ "$(json_get "$T/cfg.json" calendar.utcOffsetMinutes)" = 480 ] || fail "default zone"
[ "$(json_get "$T/cfg.json" fallbackUnit)" = dispatch-desk ] || fail "default fallback"
[ "$(json_get "$T/cfg.json" runtime.http.port)" = 8081 ] || fail "default HTTP port"
[ "$(json_get "$T/cfg.json" runtime.feeds.0.name)" = intake ] || fail "default feeds"

# ---- dispatch alone ----------------------------------------------------------------------
start dispatch "${RUN[@]}" --data-dir "$T/d" --port-file "$T/d.json"
wait_port_file "$T/d.json"
H="http://127.0.0.1:$(json_get "$T/d.json" http)"

http GET "$H/v1/catalogue" >"$T/cat.json"
[ "$HTTP_STATUS" = 200 ] || fail "/v1/catalogue $HTTP_STATUS"
[ "$(json_get "$T/cat.json" fallbackUnit)" = dispatch-desk ] || fail "catalogue fallback"
[ "$(json_get "$T/cat.json" routes.4.district)" = Gulou ] || fail "catalogue routes"
[ "$(json_get "$T/cat.json" units.3.id)" = repair-crew-north ] || fail "catalogue units"
grep -q runtime "$T/cat.json" && fail "the catalogue shows the runtime configuration"
match() { http GET "$H/v1/catalogue/match?categoryCode=$1&district=$2" | json_get - unit; }
[ "$(match W0401 Gulou)" = repair-crew-north ] || fail "W0401 in Gulou"
[ "$(match W0401 Taijiang)" = repair-crew ] || fail "W0401 elsewhere"
[ "$(match W0402 Gulou)" = repair-crew-mains ] || fail "W0402 in Gulou (longest prefix)"
[ "$(match P01 Gulou)" = dispatch-desk ] || fail "no route -> fallback"

ID=20251125-1-000404
http POST "$H/v1/tickets/$ID/sign" '{"unit": "repair-crew"}' >"$T/e.json"
expect_status 404 signTicket.ticketId "ticket $ID is not at dispatch" "$T/e.json"
http POST "$H/v1/commands" "{\"signTicket\": {\"ticketId\": \"$ID\", \"unit\": \"x\"}}" \
  >"$T/e.json"
expect_status 404 signTicket.ticketId "$ID" "$T/e.json"
http POST "$H/v1/tickets/$ID/sign" '{"unit": "billing", "ticketId": "20251125-1-000001"}' \
  >"$T/e.json"
expect_status 400 ticketId "the path names $ID" "$T/e.json"
http POST "$H/v1/tickets/$ID/reply" '{"unit": "billing", "result": "  "}' >"$T/e.json"
expect_status 400 replyTicket.result "required" "$T/e.json"
http POST "$H/v1/tickets/$ID/sign" '{"unit": 7}' >"$T/e.json"
expect_status 400 unit "expected a string" "$T/e.json"
http POST "$H/v1/tickets/$ID/escalate" '{}' >"$T/e.json"
expect_status 404 "" "ACTION one of sign, contact, notes, return, extension, terminate, subdispatch, reply" "$T/e.json"
http POST "$H/v1/commands" '{"submitTicket": {"ticket": {"categoryCode": "W01"}}}' >"$T/e.json"
expect_status 404 body "takes no submit_ticket command" "$T/e.json"
http GET "$H/v1/assignments/$ID" >"$T/e.json"
expect_status 404 ticketId "ticket $ID is not at dispatch" "$T/e.json"
http GET "$H/v1/units/nobody/tickets" >"$T/e.json"
expect_status 404 unit "not in the catalogue" "$T/e.json"
http GET "$H/v1/units/billing/tickets?state=LOST" >"$T/e.json"
expect_status 400 state "must be one of" "$T/e.json"
http GET "$H/v1/units/billing/tickets?limit=5000" >"$T/e.json"
expect_status 400 limit "from 1 to 1000" "$T/e.json"
http GET "$H/v1/units/billing/tickets" >"$T/q.json"
[ "$HTTP_STATUS" = 200 ] || fail "empty queue $HTTP_STATUS"
[ "$(json_get "$T/q.json" counts.DISPATCHED)" = 0 ] || fail "empty queue counts"
[ "$(json_get "$T/q.json" name)" = "Billing office" ] || fail "unit name"

check_metrics() { # check_metrics FILE: promtool finds neither a parse error nor a lint problem
  curl -sf "$H/metrics" >"$1"
  promtool check metrics <"$1" >"$T/promtool.txt" 2>&1 ||
    fail "promtool rejects /metrics: $(cat "$T/promtool.txt")"
  [ ! -s "$T/promtool.txt" ] || fail "promtool lint on /metrics: $(cat "$T/promtool.txt")"
}
check_metrics "$T/m.txt"
grep -q '^hotline_commands_total{status="NOT_FOUND"} 3$' "$T/m.txt" ||
  fail "refusals not counted: $(grep commands_total "$T/m.txt")"
http GET "$H/v1/events" >"$T/ev.json"
[ "$(json_get "$T/ev.json" headSeq)" = 0 ] || fail "a refused command appended an event"
stop_term dispatch

# ---- with intake: the real flow ----------------------------------------------------------
if [ ! -x "$BIN/hotline-intake" ]; then
  log "hotline-intake is not built: the dispatched-ticket flow ran only in unit.test_dispatch"
  log "PASS: catalogue errors, catalogue, refusals, metrics (dispatch alone)"
  exit 0
fi
DBUS="tcp://127.0.0.1:$(free_port)" # fixed, so that intake can follow dispatch's feed
start intake "$BIN/hotline-intake" --data-dir "$T/i" --http-port 0 --bus 'tcp://127.0.0.1:*' \
  --feed "dispatch=$DBUS" --feed "sla=$(closed_port)" --feed "callback=$(closed_port)" \
  --port-file "$T/i.json"
wait_port_file "$T/i.json"
I="http://127.0.0.1:$(json_get "$T/i.json" http)"
# The same data directory as before: a restart keeps what was stored.
start dispatch "$D" --data-dir "$T/d" --http-port 0 --bus "$DBUS" \
  --feed "intake=$(json_get "$T/i.json" bus)" --feed "callback=$(closed_port)" \
  --port-file "$T/d2.json"
wait_port_file "$T/d2.json"
H="http://127.0.0.1:$(json_get "$T/d2.json" http)"

http POST "$I/v1/tickets" '{"categoryCode": "W04", "urgency": "URGENT",
  "description": "Water running out of the pavement", "contact": {"phone": "13800001111"},
  "location": {"district": "Gulou", "address": "12 Dongjie Rd"}}' >"$T/sub.json"
[ "$HTTP_STATUS" = 200 ] || fail "intake refused the ticket: $(cat "$T/sub.json")"
ID=$(json_get "$T/sub.json" submitTicket.ticketId 2>/dev/null || json_get "$T/sub.json" ticketId)
[ -n "$ID" ] || fail "no ticket id from intake: $(cat "$T/sub.json")"
dispatched() { curl -sf "$H/v1/assignments/$ID" >"$T/a.json"; }
wait_until 20 dispatched
[ "$(json_get "$T/a.json" unit)" = repair-crew-north ] || fail "routed to: $(cat "$T/a.json")"
[ "$(json_get "$T/a.json" status)" = TICKET_DISPATCHED ] || fail "status: $(cat "$T/a.json")"
[ "$(json_get "$T/a.json" urgency)" = URGENCY_URGENT ] || fail "urgency: $(cat "$T/a.json")"
[ "$(json_get "$T/a.json" route)" = "catalogue 0: W04 in Gulou -> repair-crew-north" ] || fail "route text"

http POST "$H/v1/tickets/$ID/reply" '{"unit": "repair-crew-north", "result": "fixed"}' \
  >"$T/e.json"
expect_status 409 replyTicket.ticketId "sign for it first" "$T/e.json"
http POST "$H/v1/tickets/$ID/contact" '{"unit": "repair-crew-north"}' >"$T/e.json"
expect_status 409 contactCitizen.ticketId "sign for it first" "$T/e.json"
http POST "$H/v1/tickets/$ID/sign" '{"unit": "repair-crew"}' >"$T/e.json"
expect_status 403 signTicket.unit "is not with unit" "$T/e.json"
http POST "$H/v1/tickets/$ID/sign" '{"unit": "repair-crew-north"}' >"$T/s.json"
[ "$HTTP_STATUS" = 200 ] || fail "sign: $HTTP_STATUS $(cat "$T/s.json")"
[ "$(json_get "$T/s.json" ticketAction.status)" = TICKET_SIGNED ] || fail "sign answer"
http POST "$H/v1/tickets/$ID/sign" '{"unit": "repair-crew-north"}' >"$T/e.json"
expect_status 409 signTicket.ticketId "already SIGNED" "$T/e.json"

# Between signing and replying: the first contact with the citizen (it stops the response
# clock; a later one is recorded but moves nothing) and progress notes.
http POST "$H/v1/tickets/$ID/contact" '{"unit": "repair-crew-north", "note": "called back"}' \
  >"$T/c.json"
[ "$HTTP_STATUS" = 200 ] || fail "contact: $HTTP_STATUS $(cat "$T/c.json")"
curl -sf "$H/v1/assignments/$ID" >"$T/a.json"
FIRST=$(json_get "$T/a.json" contactedMs) || fail "no contactedMs: $(cat "$T/a.json")"
sleep 0.01
http POST "$H/v1/tickets/$ID/contact" '{"unit": "repair-crew-north"}' >"$T/c.json"
[ "$HTTP_STATUS" = 200 ] || fail "second contact: $HTTP_STATUS $(cat "$T/c.json")"
curl -sf "$H/v1/assignments/$ID" >"$T/a.json"
[ "$(json_get "$T/a.json" contactedMs)" = "$FIRST" ] || fail "the first contact moved"
http POST "$H/v1/tickets/$ID/notes" '{"unit": "repair-crew-north", "text": " "}' >"$T/e.json"
expect_status 400 addTicketNote.text "required" "$T/e.json"
LONG=$(python3 -c 'print("x" * 2001)')
http POST "$H/v1/tickets/$ID/notes" '{"unit": "repair-crew-north", "text": "'"$LONG"'"}' \
  >"$T/e.json"
expect_status 400 text "longer than 2000 characters" "$T/e.json"
http POST "$H/v1/tickets/$ID/notes" '{"unit": "billing", "text": "not ours"}' >"$T/e.json"
expect_status 403 addTicketNote.unit "is not with unit" "$T/e.json"
http POST "$H/v1/tickets/$ID/notes" '{"unit": "repair-crew-north", "text": "crew on site"}' \
  >"$T/n.json"
[ "$HTTP_STATUS" = 200 ] || fail "note: $HTTP_STATUS $(cat "$T/n.json")"
curl -sf "$H/v1/assignments/$ID" >"$T/a.json"
[ "$(json_get "$T/a.json" notes)" = 1 ] || fail "notes: $(cat "$T/a.json")"

reply_with_key() { # an HTTP reply carrying an Idempotency-Key
  curl -sS -o "$T/r.json" -w '%{http_code}' -H 'Idempotency-Key: reply-1' \
    -H 'Content-Type: application/json' -X POST "$H/v1/tickets/$ID/reply" \
    --data-binary '{"unit": "repair-crew-north", "result": "Valve replaced", "resolved": true}'
}
[ "$(reply_with_key)" = 200 ] || fail "reply: $(cat "$T/r.json")"
[ "$(json_get "$T/r.json" ticketAction.status)" = TICKET_REPLIED ] || fail "reply answer"
[ "$(reply_with_key)" = 200 ] || fail "a retried reply did not get the first answer"
http POST "$H/v1/tickets/$ID/reply" '{"unit": "repair-crew-north", "result": "again"}' \
  >"$T/e.json"
expect_status 409 replyTicket.ticketId "already REPLIED" "$T/e.json"

http GET "$H/v1/units/repair-crew-north/tickets?state=REPLIED" >"$T/q.json"
[ "$(json_get "$T/q.json" tickets.0.ticketId)" = "$ID" ] || fail "queue: $(cat "$T/q.json")"
[ "$(json_get "$T/q.json" tickets.0.result)" = "Valve replaced" ] || fail "queue record"
[ "$(json_get "$T/q.json" counts.REPLIED)" = 1 ] || fail "queue counts"
http GET "$H/v1/events" >"$T/ev.json"
python3 - "$T/ev.json" "$ID" <<'EOF' || fail "dispatch's events: $(cat "$T/ev.json")"
import json, sys
evs = json.load(open(sys.argv[1]))["events"]
body = ("ticketDispatched", "ticketSigned", "ticketReplied", "ticketReopened",
        "citizenContacted", "ticketNoted")
kinds = [next((k for k in e if k in body), None) for e in evs]
assert kinds == ["ticketDispatched", "ticketSigned", "citizenContacted", "citizenContacted",
                 "ticketNoted", "ticketReplied"], kinds
assert all(e["ticketId"] == sys.argv[2] for e in evs)
assert evs[0]["ticketDispatched"]["unit"] == "repair-crew-north"
assert evs[2]["citizenContacted"] == {"unit": "repair-crew-north", "note": "called back",
                                      "first": True}, evs[2]
assert "first" not in evs[3]["citizenContacted"], evs[3]
assert evs[4]["ticketNoted"]["text"] == "crew on site", evs[4]
assert evs[5]["ticketReplied"]["result"] == "Valve replaced", evs[5]
EOF
# Two more tickets for the same crew (two callers: one caller twice would be a repeat call,
# linked to the first ticket): the queue lists open states in turn and pages.
submit() {
  http POST "$I/v1/tickets" '{"categoryCode": "W04", "description": "Leak by the gate",
    "contact": {"phone": "'"$1"'"}, "location": {"district": "gulou"}}' >"$T/sub.json"
  [ "$HTTP_STATUS" = 200 ] || fail "intake refused the ticket: $(cat "$T/sub.json")"
  json_get "$T/sub.json" submitTicket.ticketId 2>/dev/null || json_get "$T/sub.json" ticketId
}
ID2=$(submit 13800002222)
ID3=$(submit 13800003333)
queued() {
  http GET "$H/v1/units/repair-crew-north/tickets?limit=2" >"$T/q.json"
  [ "$(json_get "$T/q.json" counts.DISPATCHED)" = 2 ]
}
wait_until 20 queued
[ "$(json_get "$T/q.json" tickets.0.ticketId)" = "$ID2" ] || fail "queue order: $(cat "$T/q.json")"
[ "$(json_get "$T/q.json" tickets.1.ticketId)" = "$ID3" ] || fail "queue order: $(cat "$T/q.json")"
[ "$(json_get "$T/q.json" more)" = true ] || fail "the REPLIED ticket is left: more"
http GET "$H/v1/units/repair-crew-north/tickets?state=dispatched&limit=1" >"$T/q.json"
[ "$(json_get "$T/q.json" next)" = "$ID2" ] || fail "paging: $(cat "$T/q.json")"
http GET "$H/v1/units/repair-crew-north/tickets?state=dispatched&limit=1&after=$ID2" >"$T/q.json"
[ "$(json_get "$T/q.json" tickets.0.ticketId)" = "$ID3" ] || fail "page 2: $(cat "$T/q.json")"
[ "$(json_get "$T/q.json" more)" = false ] || fail "page 2 is the last: $(cat "$T/q.json")"

check_metrics "$T/m.txt"
grep -q '^hotline_dispatch_open_tickets{unit="repair-crew-north",state="REPLIED"} 1$' \
  "$T/m.txt" || fail "open tickets gauge: $(grep open_tickets "$T/m.txt")"
grep -q '^hotline_dispatch_open_tickets{unit="repair-crew-north",state="DISPATCHED"} 2$' \
  "$T/m.txt" || fail "open tickets gauge: $(grep open_tickets "$T/m.txt")"
grep -q '^hotline_events_appended_total{kind="ticket_replied"} 1$' "$T/m.txt" ||
  fail "events_appended: $(grep events_appended "$T/m.txt")"
# A dispatcher redirects a ticket not yet signed for (改派), optionally designated (指定).
redirect() { http POST "$H/v1/redirects/$1" "$2" >"$T/e.json"; }
redirect "$ID3" '{"toUnit": "nowhere", "reason": "x"}'
expect_status 400 redirectTicket.toUnit "not in the catalogue" "$T/e.json"
redirect "$ID3" '{"toUnit": "repair-crew-south"}'
expect_status 400 redirectTicket.reason "required" "$T/e.json"
redirect "$ID3" '{"toUnit": "repair-crew-north", "reason": "x"}'
expect_status 409 redirectTicket.toUnit "already with unit repair-crew-north" "$T/e.json"
redirect "$ID" '{"toUnit": "repair-crew-south", "reason": "x"}'
expect_status 409 redirectTicket.ticketId "only a ticket waiting to be signed for" "$T/e.json"
http POST "$H/v1/tickets/$ID2/sign" '{"unit": "repair-crew-north"}' >/dev/null
redirect "$ID2" '{"toUnit": "repair-crew-south", "reason": "x"}'
expect_status 409 redirectTicket.ticketId "asks to return it" "$T/e.json"
redirect "$ID3" '{"toUnit": "repair-crew-south", "reason": "south of the river", "designated": true}'
[ "$HTTP_STATUS" = 200 ] || fail "redirect: $HTTP_STATUS $(cat "$T/e.json")"
curl -sf "$H/v1/assignments/$ID3" >"$T/a.json"
[ "$(json_get "$T/a.json" unit)" = repair-crew-south ] || fail "redirected to: $(cat "$T/a.json")"
[ "$(json_get "$T/a.json" designated)" = true ] || fail "designated: $(cat "$T/a.json")"
[ "$(json_get "$T/a.json" status)" = TICKET_DISPATCHED ] || fail "status: $(cat "$T/a.json")"
http GET "$H/v1/units/repair-crew-south/tickets" >"$T/q.json"
[ "$(json_get "$T/q.json" tickets.0.ticketId)" = "$ID3" ] || fail "south's queue: $(cat "$T/q.json")"
http GET "$H/v1/units/repair-crew-north/tickets?state=dispatched" >"$T/q.json"
grep -q "$ID3" "$T/q.json" && fail "north still lists $ID3: $(cat "$T/q.json")"
http GET "$H/v1/events" >"$T/ev.json"
python3 - "$T/ev.json" "$ID3" <<'EOF' || fail "the redirect event: $(cat "$T/ev.json")"
import json, sys
evs = [e for e in json.load(open(sys.argv[1]))["events"] if "ticketRedirected" in e]
assert len(evs) == 1 and evs[0]["ticketId"] == sys.argv[2], evs
r = evs[0]["ticketRedirected"]
assert (r["fromUnit"], r["toUnit"], r["reason"], r["designated"]) == \
    ("repair-crew-north", "repair-crew-south", "south of the river", True), r
EOF
intake_unit() { [ "$(curl -sf "$I/v1/tickets/$ID3" | json_get - unit)" = repair-crew-south ]; }
wait_until 20 intake_unit
# A unit asks to return a ticket (退单) within the window; a dispatcher rules.
ret() { http POST "$H/v1/tickets/$1/return" "$2" >"$T/e.json"; }
ret "$ID2" '{"unit": "repair-crew-north", "reason": "private pipe"}'
expect_status 400 requestReturn.basis "required" "$T/e.json"
ret "$ID3" '{"unit": "repair-crew-south", "reason": "x", "basis": "y"}'
expect_status 409 requestReturn.ticketId "designated to unit repair-crew-south" "$T/e.json"
ret "$ID" '{"unit": "repair-crew-north", "reason": "x", "basis": "y"}'
expect_status 409 requestReturn.ticketId "before the reply" "$T/e.json"
ret "$ID2" '{"unit": "repair-crew-north", "reason": "the leak is after the meter", "basis": "owner side of the meter (rule 4.2)"}'
[ "$HTTP_STATUS" = 200 ] || fail "return: $HTTP_STATUS $(cat "$T/e.json")"
ret "$ID2" '{"unit": "repair-crew-north", "reason": "x", "basis": "y"}'
expect_status 409 requestReturn.ticketId "already waits" "$T/e.json"
http GET "$H/v1/returns" >"$T/r.json"
[ "$(json_get "$T/r.json" returns.0.ticketId)" = "$ID2" ] || fail "returns: $(cat "$T/r.json")"
[ "$(json_get "$T/r.json" returns.0.unit)" = repair-crew-north ] || fail "returns: $(cat "$T/r.json")"
[ "$(json_get "$T/r.json" returns.0.basis)" = "owner side of the meter (rule 4.2)" ] ||
  fail "returns: $(cat "$T/r.json")"
review() { http POST "$H/v1/returns/$1" "$2" >"$T/e.json"; }
review "$ID2" '{"approve": true}'
expect_status 400 reviewReturn.toUnit "required" "$T/e.json"
review "$ID2" '{"approve": true, "toUnit": "repair-crew-north"}'
expect_status 409 reviewReturn.toUnit "approve it to another unit" "$T/e.json"
review "$ID2" '{"approve": false}'
expect_status 400 reviewReturn.note "required" "$T/e.json"
review "$ID2" '{"approve": true, "toUnit": "meter-service", "note": "after the meter"}'
[ "$HTTP_STATUS" = 200 ] || fail "review: $HTTP_STATUS $(cat "$T/e.json")"
curl -sf "$H/v1/assignments/$ID2" >"$T/a.json"
[ "$(json_get "$T/a.json" unit)" = meter-service ] || fail "returned to: $(cat "$T/a.json")"
[ "$(json_get "$T/a.json" status)" = TICKET_DISPATCHED ] || fail "status: $(cat "$T/a.json")"
[ "$(json_get "$T/a.json" designated)" = true ] || fail "designated: $(cat "$T/a.json")"
review "$ID2" '{"approve": false, "note": "x"}'
expect_status 404 reviewReturn.ticketId "no pending return" "$T/e.json"
http GET "$H/v1/returns" >"$T/r.json"
[ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["returns"]))' "$T/r.json")" = 0 ] ||
  fail "returns after the ruling: $(cat "$T/r.json")"
ret "$ID2" '{"unit": "meter-service", "reason": "x", "basis": "y"}'
expect_status 409 requestReturn.ticketId "designated" "$T/e.json"
http GET "$H/v1/events" >"$T/ev.json"
python3 - "$T/ev.json" "$ID2" <<'EOF' || fail "the return events: $(cat "$T/ev.json")"
import json, sys
evs = [e for e in json.load(open(sys.argv[1]))["events"] if e["ticketId"] == sys.argv[2]]
req = [e["returnRequested"] for e in evs if "returnRequested" in e]
rev = [e["returnReviewed"] for e in evs if "returnReviewed" in e]
assert len(req) == 1 and req[0]["unit"] == "repair-crew-north" and int(req[0]["windowEndsMs"]) > 0, req
assert len(rev) == 1 and rev[0]["approved"] and rev[0]["toUnit"] == "meter-service", rev
EOF
intake_unit2() { [ "$(curl -sf "$I/v1/tickets/$ID2" | json_get - unit)" = meter-service ]; }
wait_until 20 intake_unit2
intake_has_read() { # intake follows dispatch: its cursor reaches dispatch's five events
  curl -sf "$I/v1/status" | python3 -c 'import json,sys
f=[x for x in json.load(sys.stdin)["feeds"] if x["producer"]=="dispatch"]
sys.exit(0 if f and f[0]["cursor"]>=5 else 1)'
}
wait_until 20 intake_has_read
stop_term dispatch
stop_term intake
log "PASS: catalogue errors, catalogue, refusals, metrics; intake -> dispatch -> sign -> reply"
