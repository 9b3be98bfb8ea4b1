#!/usr/bin/env bash
# The five real services under `hotline up`, driven with the CLI: one ticket from submission to
# a satisfied callback and closed; a second rated unsatisfied goes back to its unit for rework
# and closes on the second round. Then `hotline kpis`, every service's /metrics (counts that
# match) and promtool on all five. Callbacks are due the working day after the reply: callback's
# test clock is moved there, so the KPIs span from today to a fortnight on.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pipeline.sh"
pipeline_up --test-clock

# ---- ticket A: the happy path ----
A=$(hl_as operator submit --category W01 --description "no water since 7am" --phone 13812345678 \
      --name "Li Wei" --district Gulou --community Sunshine)
log "submitted $A"
[[ "$A" =~ ^[0-9]{8}-1-[0-9]{6}$ ]] || fail "ticket id '$A' is not date-instance-sequence"
wait_view "$A" status TICKET_DISPATCHED
[ "$(view "$A" unit)" = water-supply ] || fail "W01 routed to $(view "$A" unit), not water-supply"
has_dues() { [ -n "$(view "$A" signDueMs)" ] && [ -n "$(view "$A" replyDueMs)" ]; }
wait_until 30 has_dues
log "dispatched to water-supply, sign due $(view "$A" signDueMs), reply due $(view "$A" replyDueMs)"
hl_as unit:water-supply sign "$A" >/dev/null
wait_view "$A" status TICKET_SIGNED
hl_as unit:water-supply reply "$A" --result "valve reopened, supply back at 10:40" >/dev/null
wait_view "$A" status TICKET_REPLIED
has_callback() { [ -n "$(view "$A" callbackDueMs)" ]; }
wait_until 30 has_callback
callback_due "$A"
task=$(hl_as callback-agent@agent-1 --json callback next)
[ "$(json_get - callbackTask.ticketId <<<"$task")" = "$A" ] || fail "callback next gave: $task"
[ "$(json_get - callbackTask.phone <<<"$task")" = 13812345678 ] || fail "the agent needs the number"
hl_as callback-agent@agent-1 callback record "$A" --rating satisfied --comment "fast" >/dev/null
wait_view "$A" status TICKET_CLOSED
[ "$(view "$A" rating)" = RATING_SATISFIED ] || fail "rating not in the view"
log "$A closed, rated satisfied"

# ---- ticket B: unsatisfied -> rework at the same unit -> closed on round 1 ----
B=$(hl_as operator submit --category W04 --description "leak in the street" --phone 13900001111 \
      --district Cangshan --urgency urgent)
wait_view "$B" status TICKET_DISPATCHED
UNIT=$(view "$B" unit)
[ "$UNIT" = repair-crew-south ] || fail "W04 in Cangshan routed to $UNIT"
hl_as unit:water-supply sign "$B" >/dev/null 2>"$T/wrong_unit.err" && fail "another unit signed $B"
grep -q "is not with unit water-supply" "$T/wrong_unit.err" || fail "wrong-unit refusal unclear: $(cat "$T/wrong_unit.err")"
hl_as "unit:$UNIT" reply "$B" --result "too early" >/dev/null 2>&1 && fail "replied before signing"
hl_as "unit:$UNIT" sign "$B" >/dev/null
hl_as "unit:$UNIT" reply "$B" --result "patched" --unresolved >/dev/null
wait_view "$B" status TICKET_REPLIED
callback_due "$B"
has_task() { [ "$(hl_as callback-agent@agent-2 --json callback next | json_get - callbackTask.ticketId)" = "$B" ]; }
wait_until 30 has_task
hl_as callback-agent@agent-2 callback record "$B" --rating dissatisfied --unresolved >/dev/null
wait_view "$B" status TICKET_REWORK
[ "$(view "$B" reworkRound)" = 1 ] || fail "rework round is $(view "$B" reworkRound)"
[ "$(view "$B" unit)" = "$UNIT" ] || fail "rework went to $(view "$B" unit), not back to $UNIT"
queue=$(curl_as "unit:$UNIT" -sf "$(svc_url dispatch)/v1/units/$UNIT/tickets?state=TICKET_REWORK")
grep -q "$B" <<<"$queue" || fail "$B is not in $UNIT's rework queue: $queue"
log "$B rated dissatisfied -> back at $UNIT for rework (round 1)"
has_new_clock() { [ -n "$(view "$B" replyDueMs)" ]; }
wait_until 30 has_new_clock
hl_as "unit:$UNIT" sign "$B" >/dev/null
hl_as "unit:$UNIT" reply "$B" --result "main replaced" >/dev/null
wait_view "$B" status TICKET_REPLIED
callback_due "$B"
wait_until 30 has_task
hl_as callback-agent@agent-2 callback record "$B" --rating very_satisfied >/dev/null
wait_view "$B" status TICKET_CLOSED

# ---- the figures agree ----
DAY0=$(hl --json kpis | json_get - from)
SPAN=(--from "$DAY0" --to "$(date -d "$DAY0 +14 days" +%F)")
kpis_ready() { [ "$(hl --json kpis "${SPAN[@]}" | json_get - totals.closed)" = 2 ]; }
wait_until 30 kpis_ready
hl --json kpis "${SPAN[@]}" > "$T/kpis.json"
k() { json_get "$T/kpis.json" "totals.$1"; }
log "kpis: $(python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["totals"]; print({k: v for k, v in t.items() if v})' "$T/kpis.json")"
expect() { [ "$(k "$1")" = "$2" ] || fail "kpis $1 = $(k "$1"), expected $2"; }
expect received 2; expect dispatched 2; expect signed 3; expect replied 3; expect rated 3
expect reworked 1; expect closed 2; expect callbacksDone 3; expect signDue 3; expect replyDue 3
expect signStarted 3; expect replyStarted 3
expect satisfied 2; expect signedOnTime 3; expect repliedOnTime 3
hl kpis "${SPAN[@]}" | grep -q "satisfactionRate .*66.7%" ||
  fail "satisfaction rate is not 2/3: $(hl kpis "${SPAN[@]}")"
hl kpis --by unit "${SPAN[@]}" > "$T/by_unit.txt"
grep -q "unit water-supply" "$T/by_unit.txt" || fail "kpis by unit lack water-supply"

m() { events_count "$1" "$2"; }
ev_expect() { [ "$(m "$1" "$2")" = "$3" ] || fail "$1 /metrics $2 = $(m "$1" "$2"), expected $3"; }
ev_expect intake ticket_received "$(k received)"
ev_expect dispatch ticket_dispatched "$(k dispatched)"
ev_expect dispatch ticket_signed "$(k signed)"
ev_expect dispatch ticket_replied "$(k replied)"
ev_expect dispatch ticket_reopened "$(k reworked)"
# sla also runs callback clocks (from each reply), which analytics does not count yet: the sign
# and reply clocks in sla's log match analytics, and all clocks match sla's counter.
curl_as service -sf "$(svc_url sla)/v1/events?limit=1000" >"$T/sla_events.json"
clocks_of() { # clocks_of EVENT_KEY SLA_CLOCK_...: how many such events in sla's log
  pyc 'import json,sys
evs = json.load(open(sys.argv[1]))["events"]
print(sum(1 for e in evs if sys.argv[2] in e and (sys.argv[3] == "*" or e[sys.argv[2]].get("clock") == sys.argv[3])))' \
    "$T/sla_events.json" "$1" "$2"
}
[ "$(( $(clocks_of slaClockStarted SLA_CLOCK_SIGN) + $(clocks_of slaClockStarted SLA_CLOCK_REPLY) ))" = \
  "$(( $(k signStarted) + $(k replyStarted) ))" ] || fail "sla's sign and reply clocks differ from analytics"
[ "$(( $(clocks_of slaClockStopped SLA_CLOCK_SIGN) + $(clocks_of slaClockStopped SLA_CLOCK_REPLY) ))" = \
  "$(( $(k signedOnTime) + $(k signedLate) + $(k repliedOnTime) + $(k repliedLate) ))" ] ||
  fail "sla's sign and reply verdicts differ from analytics"
ev_expect sla sla_clock_started "$(clocks_of slaClockStarted '*')"
ev_expect sla sla_clock_stopped "$(clocks_of slaClockStopped '*')"
ev_expect callback callback_scheduled "$(k callbacksDue)"
ev_expect callback callback_rated "$(k rated)"
ev_expect callback ticket_closed "$(k closed)"
ev_expect callback rework_requested "$(k reworkRequested)"
a_closed=$(curl -sf "$(svc_url analytics)/metrics" | awk '$1 == "hotline_tickets_total{stage=\"closed\"}" {print $2}')
[ "$a_closed" = 2 ] || fail "analytics /metrics closed = $a_closed"
# HTTP requests are counted by route pattern, refusals included: one refused for want of a
# token (401, on the route) and one no route takes (under the fixed label "unmatched").
code=$(curl -s -o /dev/null -w '%{http_code}' "$(svc_url intake)/v1/tickets/$A")
[ "$code" = 401 ] || fail "GET /v1/tickets/$A without a token answered $code, not 401"
code=$(curl -s -o /dev/null -w '%{http_code}' "$(svc_url intake)/no/such/path/$A")
[ "$code" = 404 ] || fail "an unknown path answered $code, not 404"
for s in "${SERVICES[@]}"; do
  curl -sf "$(svc_url "$s")/metrics" > "$T/$s.metrics"
  promtool check metrics < "$T/$s.metrics" > "$T/$s.promtool" 2>&1 ||
    fail "promtool rejects $s /metrics: $(cat "$T/$s.promtool")"
  [ ! -s "$T/$s.promtool" ] || fail "promtool lint on $s /metrics: $(cat "$T/$s.promtool")"
  for want in '# TYPE hotline_http_requests_total counter' \
              '# TYPE hotline_http_request_duration_seconds histogram' \
              '# TYPE hotline_feed_lag_seconds gauge' \
              "hotline_build_info{version=\"0.1.0\",service=\"$s\"} 1"; do
    grep -qxF -- "$want" "$T/$s.metrics" || fail "$s /metrics lacks the line: $want"
  done
  grep -q '^hotline_http_requests_total{method="GET",route="/metrics",status="200"} ' \
    "$T/$s.metrics" || fail "$s /metrics does not count its own scrapes"
  grep -q '^hotline_http_request_duration_seconds_count{method="GET",route="/metrics"} [1-9]' \
    "$T/$s.metrics" || fail "$s /metrics has no duration for its scrapes"
  ! grep -q '^hotline_events_appended{' "$T/$s.metrics" || fail "$s still has the old gauge"
  # Analytics appends no events of its own, so it has no series of this family.
  [ "$s" = analytics ] || grep -qxF '# TYPE hotline_events_appended_total counter' "$T/$s.metrics" ||
    fail "$s /metrics has no hotline_events_appended_total"
done
grep -q '^hotline_http_requests_total{method="GET",route="/v1/tickets/\*",status="401"} 1$' \
  "$T/intake.metrics" || fail "the 401 is not counted on its route: $(grep http_req "$T/intake.metrics")"
grep -q '^hotline_http_requests_total{method="GET",route="unmatched",status="404"} [1-9]' \
  "$T/intake.metrics" || fail "the 404 is not counted as unmatched"
if grep -h '^hotline_http_requests_total' "$T"/*.metrics | grep -q "$A"; then
  fail "a raw path (with a ticket id) became a label value"
fi
log "kpis, /metrics of all five and promtool agree"

# ---- the timeline of B, across all five services, in order ----
hl show "$B" > "$T/show.txt"
for kind in ticketReceived ticketDispatched slaClockStarted ticketSigned ticketReplied \
            callbackScheduled callbackRated reworkRequested ticketReopened ticketClosed; do
  grep -q " $kind " "$T/show.txt" || fail "timeline of $B lacks $kind: $(cat "$T/show.txt")"
done

hl down --data-dir "$T/hl" >/dev/null
wait "${PIDS[up]}" || fail "hotline up exited non-zero after down"
unset 'PIDS[up]'
grep -h 'level=error' "$T"/hl/*.log && fail "errors in the service logs"
log "PASS: submit -> dispatched -> signed -> replied -> callback -> closed; rework; kpis = metrics"
