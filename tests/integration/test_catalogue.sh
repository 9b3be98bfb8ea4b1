#!/usr/bin/env bash
# The routing catalogue as data, with the five services:
# - intake refuses a category the centre does not offer, listing the ones it does;
# - `hotline catalogue show` prints the edition in use as a file; a file with an unknown unit
#   or two rules for the same case is refused by `diff` and `load`, naming the line, and
#   changes nothing;
# - a new edition loaded while 300 tickets flow: every ticket dispatched once, each by the
#   edition in force when it was routed (recorded in its route: edition and line), none lost;
# - the rule's assisting unit reads the ticket and adds a note; another unit cannot;
#   an urgent-only rule takes urgent tickets only; a fallback by district;
# - an edition dropping a unit that holds open tickets is refused; the edition survives a
#   SIGKILL of dispatch.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pipeline.sh"
pipeline_up
I=$(svc_url intake)
D=$(svc_url dispatch)

# ---- an unknown category is refused at the door ----
TOKEN=$(token_for operator) http POST "$I/v1/tickets" '{"categoryCode": "W77", "description": "x",
  "contact": {"phone": "13800000077"}, "location": {"district": "Gulou"}}' > "$T/e.json"
[ "$HTTP_STATUS" = 400 ] && [ "$(json_get "$T/e.json" error.field)" = ticket.categoryCode ] &&
  grep -q 'W01, W02' "$T/e.json" || fail "W77 at intake: $HTTP_STATUS $(cat "$T/e.json")"

# ---- show, and bad files refused by line ----
hl_as supervisor catalogue show > "$T/cat0.txt"
grep -q '^fallback | \* | dispatch-desk$' "$T/cat0.txt" || fail "show: $(cat "$T/cat0.txt")"
grep -q '^route | W04 | Gulou | repair-crew-north$' "$T/cat0.txt" || fail "show lacks W04 in Gulou"
LINES=$(wc -l < "$T/cat0.txt")
{ cat "$T/cat0.txt"; echo "route | W10 | * | ghost-unit"; } > "$T/bad-unit.txt"
rc=0; hl_as supervisor catalogue load "$T/bad-unit.txt" 2> "$T/err" || rc=$?
[ $rc = 1 ] && grep -q "line $((LINES + 1)) (lead unit): unit 'ghost-unit' is not declared" "$T/err" ||
  fail "a file with an unknown unit: rc $rc, $(cat "$T/err")"
{ cat "$T/cat0.txt"; echo "route | W04 | gulou | billing"; } > "$T/bad-overlap.txt"
rc=0; hl_as dispatcher catalogue diff "$T/bad-overlap.txt" 2> "$T/err" || rc=$?
[ $rc = 1 ] && grep -q "line $((LINES + 1)): same category, area and urgency as line" "$T/err" ||
  fail "overlapping rules: rc $rc, $(cat "$T/err")"
rc=0; hl_as dispatcher catalogue load "$T/cat0.txt" 2> "$T/err" || rc=$?
[ $rc = 1 ] && grep -q "403" "$T/err" || fail "a dispatcher loaded a catalogue: rc $rc $(cat "$T/err")"
[ "$(curl_as operator -sf "$D/v1/catalogue" | json_get - version)" = 0 ] || fail "a refused file changed the edition"

# ---- the next edition: W04 in Gulou goes to the central crew with drainage assisting, an
# urgent-only rule for mains bursts, and a district desk ----
sed -e 's/^route | W04 | Gulou | repair-crew-north$/route | W04 | Gulou | repair-crew | drainage/' \
    -e 's/^version | .*//' "$T/cat0.txt" > "$T/cat1.txt"
cat >> "$T/cat1.txt" <<'EOF'
version | test edition 1
unit | desk-gulou | Dispatch desk, Gulou
route | W0402 | Gulou | repair-crew-north | | urgent
fallback | Gulou | desk-gulou
EOF
hl_as supervisor catalogue diff "$T/cat1.txt" > "$T/diff.txt"
grep -q '^~ .*W04 in Gulou -> repair-crew + drainage' "$T/diff.txt" &&
  grep -q '^+ line .*W0402 in Gulou, urgent -> repair-crew-north' "$T/diff.txt" ||
  fail "diff: $(cat "$T/diff.txt")"

# Tickets flow while the edition changes: 300 W04 tickets in Gulou from 3 writers.
flow() {
  local w=$1 n tok
  tok=$(token_for operator)
  for n in $(seq 1 100); do
    curl -sf -o /dev/null -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
      -d "{\"categoryCode\": \"W04\", \"description\": \"leak $w-$n\",
           \"contact\": {\"phone\": \"1390$w$(printf %06d "$n")\"},
           \"location\": {\"district\": \"Gulou\", \"street\": \"Street $w$n\"}}" "$I/v1/tickets" ||
      echo "writer $w ticket $n refused" >> "$T/flow.err"
  done
}
token_for operator > /dev/null
flow 1 & F1=$!; flow 2 & F2=$!; flow 3 & F3=$!
sleep 0.5
hl_as supervisor catalogue load "$T/cat1.txt" > "$T/load.txt" || fail "load: $(cat "$T/load.txt")"
grep -q 'catalogue edition 1 in use (test edition 1)' "$T/load.txt" || fail "load said: $(cat "$T/load.txt")"
wait $F1 $F2 $F3
[ ! -s "$T/flow.err" ] || fail "$(cat "$T/flow.err")"
all_dispatched() { [ "$(events_count dispatch ticket_dispatched)" -ge 300 ]; }
wait_until 60 all_dispatched
[ "$(events_count dispatch catalogue_loaded)" = 1 ] || fail "catalogue_loaded events"
# Each ticket went where the edition recorded in its route says.
curl_as service -sf "$D/v1/events?limit=1000" > "$T/events.json"
python3 - "$T/events.json" <<'PY' || fail "routing across the reload"
import json, sys
evs = json.load(open(sys.argv[1]))["events"]
seen, by_edition = set(), {0: 0, 1: 0}
for e in evs:
    d = e.get("ticketDispatched")
    if not d:
        continue
    tid = e["ticketId"]
    assert tid not in seen, "dispatched twice: " + tid
    seen.add(tid)
    v = d.get("catalogueVersion", 0)
    by_edition[v] += 1
    if v == 0:
        assert d["unit"] == "repair-crew-north" and "assistingUnits" not in d, d
    else:
        assert d["unit"] == "repair-crew" and d["assistingUnits"] == ["drainage"], d
        assert d["ruleLine"] > 0 and d["route"].startswith("catalogue 1 line %d: " % d["ruleLine"]), d
print("dispatched %d: %d by edition 0, %d by edition 1" % (len(seen), by_edition[0], by_edition[1]))
assert len(seen) == 300, len(seen)
assert by_edition[1] > 0, "nothing routed by the new edition"
PY

# ---- assisting unit, urgency, district fallback (edition 1) ----
submit() { # submit JSON -> ticket id
  TOKEN=$(token_for operator) http POST "$I/v1/tickets" "$1" > "$T/ans.json"
  [ "$HTTP_STATUS" = 200 ] || fail "submit refused: $(cat "$T/ans.json")"
  json_get "$T/ans.json" submitTicket.ticketId
}
A=$(submit '{"categoryCode": "W04", "description": "leak", "contact": {"phone": "13911112222"},
  "location": {"district": "Gulou", "address": "1 Main St"}}')
wait_until 20 curl_as admin -sf "$D/v1/assignments/$A"
curl_as unit:drainage -sf "$D/v1/assignments/$A" > "$T/a.json" || fail "the assisting unit cannot read $A"
[ "$(json_get "$T/a.json" unit)" = repair-crew ] && [ "$(json_get "$T/a.json" assistingUnits.0)" = drainage ] ||
  fail "assignment: $(cat "$T/a.json")"
grep -q 13911112222 "$T/a.json" && fail "the assisting unit sees the caller's number whole"
code=$(curl_as unit:water-supply -s -o /dev/null -w '%{http_code}' "$D/v1/assignments/$A")
[ "$code" = 403 ] || fail "water-supply read $A: $code"
hl_as unit:drainage note "$A" --text "culvert checked, clear" > /dev/null || fail "the assisting unit's note"
rc=0; hl_as unit:water-supply note "$A" --text "not mine" 2> "$T/err" || rc=$?
[ $rc = 1 ] && grep -q 403 "$T/err" || fail "water-supply added a note: rc $rc $(cat "$T/err")"
U=$(submit '{"categoryCode": "W0402", "urgency": "URGENT", "description": "main burst", "contact": {"phone": "13911113333"},
  "location": {"district": "Gulou"}}')
N=$(submit '{"categoryCode": "W0402", "description": "main seeping", "contact": {"phone": "13911114444"},
  "location": {"district": "Gulou"}}')
G=$(submit '{"categoryCode": "W08", "description": "rude staff", "contact": {"phone": "13911115555"},
  "location": {"district": "Gulou"}}')
unit_of() { curl_as admin -sf "$D/v1/assignments/$1" | json_get - unit; }
wait_until 20 unit_of "$G"
[ "$(unit_of "$U")" = repair-crew-north ] || fail "urgent W0402 went to $(unit_of "$U")"
[ "$(unit_of "$N")" = repair-crew-mains ] || fail "normal W0402 went to $(unit_of "$N")"
[ "$(unit_of "$G")" = customer-service ] || fail "W08 went to $(unit_of "$G")"
[ "$(curl_as operator -sf "$D/v1/catalogue/match?categoryCode=P01&district=Gulou" | json_get - unit)" = desk-gulou ] ||
  fail "no district fallback"

# ---- an edition that drops a unit holding open tickets ----
grep -v 'repair-crew-north' "$T/cat1.txt" > "$T/cat2.txt"
rc=0; hl_as admin catalogue load "$T/cat2.txt" 2> "$T/err" || rc=$?
[ $rc = 1 ] && grep -q "drops unit repair-crew-north, which holds [0-9]* open tickets" "$T/err" ||
  fail "dropping a busy unit: rc $rc $(cat "$T/err")"

# ---- the edition survives a SIGKILL ----
pid=$(json_get "$T/hl/supervisor.json" services.dispatch.pid)
kill -9 "$pid"
back() { [ "$(curl_as operator -sf "$D/v1/catalogue" | json_get - version)" = 1 ]; }
wait_until 60 back
[ "$(curl_as operator -sf "$D/v1/catalogue" | json_get - label)" = "test edition 1" ] || fail "label after restart"
log "catalogue: bad files refused by line; edition 1 loaded under load; assisting, urgency and fallback; survives kill -9"
