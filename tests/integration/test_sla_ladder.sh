#!/usr/bin/env bash
# The escalation ladder end to end, on the test clock, through the CLI: a W04 leak routed to the
# crew repair-crew (configured with a webhook to the crew-system simulator) and a W01 ticket of
# water-supply (no webhook), both signed, never replied. Moving sla's clock day by day gives each
# reply clock its reminder, yellow card, overdue, red card and supervision notice, each once, on
# its working day; `hotline show` lists every card; the crew system got each of its ticket's
# cards once, signed, and the other unit's none. A third ticket, put on hold by a dispatcher
# (hotline hold), climbs nothing while held, cannot be replied, and on `hotline resume` its
# deadline and every step move by the working days the hold took.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pipeline.sh"

KEY=ladder-webhook-secret-0123456789
printf '%s\n' "$KEY" >"$T/crew.key"
chmod 600 "$T/crew.key"
SIM=$(free_port)
cat >"$T/dispatch.json" <<EOF
{"crews": [{"unit": "repair-crew", "url": "http://127.0.0.1:$SIM/orders",
            "secretFile": "$T/crew.key", "timeoutMs": 2000}]}
EOF
# The services' test clock is weeks from the wall clock: the simulator takes any timestamp
# within 100 days.
CREWSIM_KEY=$KEY start crewsim "$BIN/crewsim" --port "$SIM" --skew-ms 8640000000
pipeline_up --test-clock --service-config "dispatch=$T/dispatch.json"

T0=$(ms 2026-11-25T10:00:00+08:00) # a Wednesday
for s in "${SERVICES[@]}"; do set_clock "$s" "$T0"; done

CREW_ID=$(hl_as operator submit --category W04 --description "water out of the pavement" \
            --phone 13700001111 --district Taijiang --street "Dongjie Rd")
UNIT_ID=$(hl_as operator submit --category W01 --description "no water since noon" \
            --phone 13700002222 --district Gulou)
wait_view "$CREW_ID" status TICKET_DISPATCHED
wait_view "$UNIT_ID" status TICKET_DISPATCHED
[ "$(view "$CREW_ID" unit)" = repair-crew ] || fail "W04 in Taijiang went to $(view "$CREW_ID" unit)"
hl_as unit:repair-crew sign "$CREW_ID" >/dev/null
hl_as unit:water-supply sign "$UNIT_ID" >/dev/null
has_due() { [ -n "$(view "$1" replyDueMs)" ]; }
wait_until 30 has_due "$CREW_ID"
wait_until 30 has_due "$UNIT_ID"

# The held ticket: on hold from the day it was signed.
HELD_ID=$(hl_as operator submit --category W06 --description "bill twice this month" \
            --phone 13700003333 --district Gulou)
wait_view "$HELD_ID" status TICKET_DISPATCHED
HELD_UNIT=$(view "$HELD_ID" unit)
hl_as "unit:$HELD_UNIT" sign "$HELD_ID" >/dev/null
hl_as dispatcher hold "$HELD_ID" --reason "waiting for the bank's statement" >/dev/null ||
  fail "hotline hold refused"
hl_as "unit:$HELD_UNIT" reply "$HELD_ID" --result "refunded" 2>"$T/held.err" &&
  fail "a ticket on hold was replied"
grep -q "is on hold" "$T/held.err" || fail "the refusal does not say why: $(cat "$T/held.err")"
curl_as supervisor -sf "$(svc_url dispatch)/v1/holds" | grep -q "\"$HELD_ID\"" ||
  fail "GET /v1/holds lacks $HELD_ID"
paused() { curl_as dispatcher -sf "$(svc_url sla)/v1/clocks/$HELD_ID" | grep -q '"paused": *true'; }
wait_until 20 paused || fail "sla's clock of $HELD_ID is not paused: $(curl_as dispatcher -s \
"$(svc_url sla)/v1/clocks/$HELD_ID")"
# Nor can it join an incident while held (its clocks are paused; resume it first).
hl_as dispatcher --json incident declare --category W06 --district Gulou --street "Bank Rd" \
  --summary "billing run repeated" >"$T/inc.json" || fail "incident declare: $(cat "$T/inc.json")"
INC=$(grep -o 'INC-[0-9-]*' "$T/inc.json" | head -1)
[ -n "$INC" ] || fail "no incident declared: $(cat "$T/inc.json")"
hl_as dispatcher incident link "$INC" "$HELD_ID" 2>"$T/link.err" && fail "a held ticket was linked"
grep -q "is on hold" "$T/link.err" || fail "the link refusal does not say why: $(cat "$T/link.err")"
hl_as dispatcher incident close "$INC" --resolution "not an incident after all" >/dev/null ||
  fail "incident close" # (its own clock stops before any step: the counts below are the tickets')
log "$HELD_ID on hold: reply and incident link refused, listed in /v1/holds, its clocks paused"

# The plan, as sla shows it.
curl_as dispatcher -sf "$(svc_url sla)/v1/clocks/$CREW_ID" >"$T/clocks.json"
python3 - "$T/clocks.json" <<'PY' || fail "sla's plan: $(cat "$T/clocks.json")"
import json, sys
reply = [c for c in json.load(open(sys.argv[1]))["clocks"] if c["clock"] == "SLA_CLOCK_REPLY"][0]
plan = [(s["label"], s["atLocal"][:16], s["given"]) for s in reply["ladder"]]
want = [("reminder", "2026-11-27 23:59", False), ("yellow card", "2026-12-01 23:59", False),
        ("overdue", "2026-12-02 23:59", False), ("red card", "2026-12-03 23:59", False),
        ("supervision notice", "2026-12-04 23:59", False)]
assert plan == want, plan
PY
log "reply ladder: reminder 27 Nov, yellow 1 Dec, due 2 Dec, red 3 Dec, supervision 4 Dec"

escalated() { events_count sla sla_escalated; }
steps_are() { # steps_are REMINDERS_AND_LATER YELLOW OVERDUE (both tickets' reply clocks)
  [ "$(escalated)" = "$1" ] && [ "$(events_count sla sla_warning)" = "$2" ] &&
    [ "$(events_count sla sla_breached)" = "$3" ]
}
day() { # day ISO ESCALATED WARNINGS BREACHES: move sla's clock there; exactly these, and no more
  set_clock sla "$(ms "$1")"
  wait_until 10 steps_are "${@:2}"
  sleep 1
  steps_are "${@:2}" || fail "at $1: escalated $(escalated) warnings $(events_count sla \
sla_warning) breaches $(events_count sla sla_breached), expected $2 $3 $4"
}
# Both tickets were signed on time: their sign clocks stopped before any step. Two reply clocks.
day 2026-11-27T23:00:00+08:00 0 0 0
day 2026-11-28T00:00:01+08:00 2 0 0   # reminders
day 2026-12-01T12:00:00+08:00 2 0 0
day 2026-12-02T00:00:01+08:00 2 2 0   # yellow cards
day 2026-12-03T00:00:01+08:00 2 2 2   # overdue
day 2026-12-04T00:00:01+08:00 4 2 2   # red cards
day 2026-12-05T00:00:01+08:00 6 2 2   # supervision notices
day 2026-12-20T00:00:00+08:00 6 2 2   # and nothing after; nothing for the held ticket
log "each step fired once per clock, on its day; none for the ticket on hold"

# Resumed on Thu 3 Dec 10:00 (dispatch's clock): held from Wed 25 Nov, 6 working days (25, 26,
# 27, 30 Nov, 1 and 2 Dec), so the reply is due Thu 10 Dec instead of Wed 2 Dec.
set_clock dispatch "$(ms 2026-12-03T10:00:00+08:00)"
hl_as supervisor resume "$HELD_ID" --reason "statement received" >/dev/null || fail "hotline resume refused"
resumed() { ! paused; }
wait_until 20 resumed
curl_as dispatcher -sf "$(svc_url sla)/v1/clocks/$HELD_ID" >"$T/held.json"
python3 - "$T/held.json" <<'PY' || fail "the held ticket's plan: $(cat "$T/held.json")"
import json, sys
reply = [c for c in json.load(open(sys.argv[1]))["clocks"] if c["clock"] == "SLA_CLOCK_REPLY"][0]
plan = [(s["label"], s["atLocal"][:16]) for s in reply["ladder"]]
assert plan == [("reminder", "2026-12-07 23:59"), ("yellow card", "2026-12-09 23:59"),
                ("overdue", "2026-12-10 23:59"), ("red card", "2026-12-11 23:59"),
                ("supervision notice", "2026-12-14 23:59")], plan
PY
# sla's own clock stands at 20 Dec: the moved steps are all past, and fire now, once each.
day 2026-12-20T00:00:01+08:00 9 3 3
log "resumed: due 10 Dec (moved 6 working days); its five steps fired once each after the hold"

# Every card in `hotline show`, once each, in order.
shows_all() {
  hl_as dispatcher show "$CREW_ID" >"$T/show.txt" &&
    grep -q "supervision notice" "$T/show.txt"
}
wait_until 30 shows_all || fail "hotline show lacks the cards: $(cat "$T/show.txt")"
python3 - "$T/show.txt" <<'PY' || fail "hotline show: $(cat "$T/show.txt")"
import sys
lines = open(sys.argv[1]).read().splitlines()
cards = ["reminder", "yellow card", "overdue", "red card", "supervision notice"]
found = [c for l in lines for c in cards if f" sla       {c} " in l]
assert found == cards, found
PY
log "hotline show lists reminder, yellow card, overdue, red card, supervision notice"
sed -n '/Timeline/,$p' "$T/show.txt" | grep -E "reminder|card|overdue|supervision"

# The crew system got its ticket's five cards, once each, signed; none of the other ticket's.
sim() { curl -sf "http://127.0.0.1:$SIM$1"; }
cards_in() { [ "$(sim '/counts?keys=1' | python3 -c 'import json,sys
print(sum(1 for k in json.load(sys.stdin)["keys"] if ".sla." in k))')" = 5 ]; }
wait_until 30 cards_in || fail "crewsim: $(sim '/counts?keys=1')"
sim '/counts?keys=1' >"$T/keys.json"
python3 - "$T/keys.json" "$CREW_ID" "$UNIT_ID" <<'PY' || fail "crewsim keys: $(cat "$T/keys.json")"
import json, sys
d, crew, unit = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
keys = [k for k in d["keys"] if ".sla." in k]
want = [f"{crew}.sla.REPLY.0.{s}" for s in ("REMINDER", "YELLOW_CARD", "OVERDUE", "RED_CARD", "SUPERVISION")]
assert keys == want, keys
assert not any(unit in k for k in d["keys"]), d["keys"]
assert d["rejected"] == 0 and d["duplicates"] == 0, d
PY
log "crewsim: 5 cards for $CREW_ID, in order, 0 rejected, 0 duplicates; none for $UNIT_ID"
# The policy table through the CLI: explained, then a new edition for the clocks from now on.
hl_as dispatcher policies match --category W0801 --urgency urgent --appeal complaint >"$T/match.txt"
grep -q '^water-service-complaint: sign 1 working day, reply 15 working days' "$T/match.txt" &&
  grep -q '^  \* water-service-complaint' "$T/match.txt" &&
  grep -q 'water-very-urgent *names another urgency' "$T/match.txt" ||
  fail "hotline policies match: $(cat "$T/match.txt")"
cat >"$T/edition.json" <<'EOF'
{"policies": [{"name": "quick", "sign": {"value": 1, "unit": "DURATION_WORKING_DAYS"},
               "reply": {"value": 2, "unit": "DURATION_WORKING_DAYS"}}]}
EOF
hl_as dispatcher policies load "$T/edition.json" 2>"$T/load.err" && fail "a dispatcher loaded policies"
hl_as supervisor policies load "$T/edition.json" | grep -q '^edition 1 in use: 1 policies' ||
  fail "hotline policies load"
hl policies show | grep -q '^edition 1' || fail "hotline policies show: $(hl policies show)"
NEW_ID=$(hl_as operator submit --category W06 --description "meter reading too high" \
           --phone 13700004444 --district Gulou)
new_clock() { curl_as dispatcher -sf "$(svc_url sla)/v1/clocks/$NEW_ID" >"$T/new.json"; }
wait_until 30 new_clock
python3 - "$T/new.json" <<'PY' || fail "the new ticket's clocks: $(cat "$T/new.json")"
import json, sys
reply = [c for c in json.load(open(sys.argv[1]))["clocks"] if c["clock"] == "SLA_CLOCK_REPLY"][0]
assert reply["policy"] == "quick" and reply["policyVersion"] == 1 and reply["limit"] == "2 working days", reply
PY
log "hotline policies: match explained; edition 1 loaded by a supervisor (not a dispatcher), stamped on the next clock"
hl down --data-dir "$T/hl" >/dev/null
log "PASS: the ladder end to end, each card once, in hotline show and at the crew"
