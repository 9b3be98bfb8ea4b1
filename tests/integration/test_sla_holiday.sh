#!/usr/bin/env bash
# With the test clock, the five services: a ticket dispatched on Sat 2026-02-14 (a make-up
# working day, the last before the Spring Festival holiday of 15-23 Feb) gets its 5-working-day
# reply deadline at the end of Sat 2026-02-28 (another make-up day), the holiday skipped. Its
# yellow warning (one working day before, end of Fri 27 Feb) and red breach each fire once, at
# their instants, and not before.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pipeline.sh"
pipeline_up --test-clock

T0=$(ms 2026-02-14T16:00:00+08:00)
for s in "${SERVICES[@]}"; do set_clock "$s" "$T0"; done

ID=$(hl_as operator submit --category W01 --description "no water in building 3" --phone 13700001234 \
       --district Gulou)
wait_view "$ID" status TICKET_DISPATCHED
has_due() { [ -n "$(view "$ID" replyDueMs)" ]; }
wait_until 30 has_due
DUE=$(ms 2026-02-28T23:59:59.999+08:00)
WARN=$(ms 2026-02-27T23:59:59.999+08:00)
[ "$(view "$ID" replyDueMs)" = "$DUE" ] ||
  fail "reply due $(view "$ID" replyDueMs), expected $DUE (end of Sat 2026-02-28)"
curl_as dispatcher -sf "$(svc_url sla)/v1/clocks/$ID" > "$T/clocks.json"
python3 - "$T/clocks.json" "$WARN" <<'PY' || fail "sla clocks: $(cat "$T/clocks.json")"
import json, sys
clocks = {c["clock"]: c for c in json.load(open(sys.argv[1]))["clocks"]}
reply = clocks["SLA_CLOCK_REPLY"]
assert reply["dueLocal"].startswith("2026-02-28 23:59"), reply
assert reply["warnMs"] == sys.argv[2], reply
assert clocks["SLA_CLOCK_SIGN"]["dueLocal"].startswith("2026-02-24 23:59"), clocks  # 1 working day
print("reply clock:", reply["limit"], "due", reply["dueLocal"], "warn", reply["warnLocal"])
PY
log "dispatched $(date -d @$((T0/1000)) -u +%FT%TZ): 5 working days -> due 2026-02-28 23:59 +08:00"
hl_as unit:water-supply sign "$ID" >/dev/null   # the sign clock stops on time; only reply runs

warnings() { events_count sla sla_warning; }
breaches() { events_count sla sla_breached; }
step() { # step MS EXPECT_WARNINGS EXPECT_BREACHES
  set_clock sla "$1"
  counts_are() { [ "$(warnings)" = "$2" ] && [ "$(breaches)" = "$3" ]; }
  wait_until 10 counts_are "$@"
  sleep 1   # and nothing more follows: a second firing would show within the timer's turn
  counts_are "$@" || fail "at $1: warnings $(warnings) breaches $(breaches), expected $2 and $3"
}
step $(( WARN - 60000 )) 0 0
step $(( WARN + 1000 )) 1 0
step $(( DUE - 60000 )) 1 0
step $(( DUE + 1000 )) 1 1
step $(( DUE + 3 * 86400000 )) 1 1
# The events carry their instants: fired when the clock passed them, at or after the instant.
curl_as service -sf "$(svc_url sla)/v1/events?limit=100" > "$T/events.json"
python3 - "$T/events.json" "$WARN" "$DUE" <<'PY' || fail "sla events: $(cat "$T/events.json")"
import json, sys
evs = json.load(open(sys.argv[1]))["events"]
warn, due = int(sys.argv[2]), int(sys.argv[3])
w = [e for e in evs if "slaWarning" in e]
b = [e for e in evs if "slaBreached" in e]
assert len(w) == 1 and len(b) == 1, (w, b)
assert w[0]["slaWarning"]["clock"] == "SLA_CLOCK_REPLY" and int(w[0]["slaWarning"]["dueMs"]) == due
assert warn <= int(w[0]["timeMs"]) < warn + 60000, w
assert due <= int(b[0]["timeMs"]) < due + 60000, b
PY
wait_view "$ID" replyBreached true
hl down --data-dir "$T/hl" >/dev/null
log "PASS: holiday skipped, make-up day counted; warning and breach fired once each at their instants"
