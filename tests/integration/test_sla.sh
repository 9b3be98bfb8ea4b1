#!/usr/bin/env bash
# hotline-sla as a real process: its embedded policy table and errors in a bad one (exit 2,
# naming the key), the HTTP routes (policies, match, clocks, due) with input errors naming the
# parameter, /metrics accepted by promtool, a clean stop. Then, when hotline-intake and
# hotline-dispatch are built beside it, one ticket through intake -> dispatch -> sla: clocks
# started by the dispatch, the sign clock stopped on time by a unit's sign, sla killed -9 and
# restarted, the reply clock warned and breached (once) when the test clock is moved past it. The clock logic itself is covered
# in-process by tests/unit/test_sla.c and test_sla_policy.c.
source "$(dirname "$0")/../lib.sh"
SLA="$BIN/hotline-sla"
[ -x "$SLA" ] || fail "$SLA not built"

expect_exit() { # expect_exit CODE PATTERN CMD...: exit code and a message on stderr
  local code=$1 pattern=$2 rc=0; shift 2
  "$@" >"$T/out" 2>"$T/err" || rc=$?
  [ "$rc" = "$code" ] || fail "$* exited $rc, expected $code: $(cat "$T/err")"
  grep -qF -- "$pattern" "$T/err" || fail "$*: stderr lacks '$pattern': $(cat "$T/err")"
}

# ---- configuration ----
"$SLA" --print-config --data-dir "$T/x" >"$T/cfg.json"
[ "$(json_get "$T/cfg.json" policies.0.name)" = default ] || fail "no default policy"
[ "$(json_get "$T/cfg.json" policies.0.reply.value)" = 5 ] || fail "default reply is not 5"
[ "$(json_get "$T/cfg.json" runtime.feeds.0.name)" = dispatch ] || fail "does not follow dispatch"
[ "$(json_get "$T/cfg.json" runtime.http.port)" = 8082 ] || fail "default HTTP port"

LIM='{"value": 1, "unit": "DURATION_HOURS"}'
cat >"$T/zero.json" <<EOF
{"policies": [
  {"name": "default", "sign": $LIM, "reply": $LIM},
  {"name": "water", "categoryPrefix": "W", "sign": $LIM, "reply": $LIM},
  {"name": "power", "categoryPrefix": "P", "sign": $LIM,
   "reply": {"value": 0, "unit": "DURATION_HOURS"}}]}
EOF
expect_exit 2 "policies[2].reply.value: must be at least 1" \
  "$SLA" --config "$T/zero.json" --data-dir "$T/bad1" --http-port 0 --bus 'tcp://127.0.0.1:*'
echo "{\"policies\": [{\"name\": \"w\", \"categoryPrefix\": \"W\", \"sign\": $LIM, \"reply\": $LIM}]}" \
  >"$T/nocatch.json"
expect_exit 2 "policies: no catch-all policy" \
  "$SLA" --config "$T/nocatch.json" --data-dir "$T/bad2" --http-port 0 --bus 'tcp://127.0.0.1:*'
HOTLINE_POLICIES="[{\"name\": \"d\", \"sign\": $LIM, \"reply\": {\"value\": 2, \"unit\": \"YEARS\"}}]" \
  expect_exit 2 "HOTLINE_POLICIES" "$SLA" --data-dir "$T/bad3" --http-port 0 --bus 'tcp://127.0.0.1:*'
HOTLINE_CALENDAR_UTC_OFFSET_MINUTES=9999 \
  expect_exit 2 "calendar.utcOffsetMinutes" "$SLA" --data-dir "$T/bad4" --http-port 0
echo "{\"calendar\": {\"dir\": \"$T/no-such-dir\"}}" >"$T/cal.json"
expect_exit 2 "calendar.dir" "$SLA" --config "$T/cal.json" --data-dir "$T/bad5" --http-port 0
for d in bad1 bad2 bad3 bad4 bad5; do
  [ ! -e "$T/$d" ] || fail "a refused configuration still created its data directory $d"
done
log "configuration: defaults, bad policy tables and bounds refused with exit 2 naming the key"

# ---- the service on its own ----
DISPATCH_PORT=$(free_port) # where dispatch will listen, if it is started below
SLA_BUS="tcp://127.0.0.1:$(free_port)" # fixed: intake follows it across a restart of sla
start_sla() {
  rm -f "$T/sla.json"
  start sla "$SLA" --data-dir "$T/sla" --http-port 0 --bus "$SLA_BUS" --test-clock \
    --feed "dispatch=tcp://127.0.0.1:$DISPATCH_PORT" --port-file "$T/sla.json"
  wait_port_file "$T/sla.json"
  S="http://127.0.0.1:$(json_get "$T/sla.json" http)"
}
start_sla

http GET "$S/v1/policies" >"$T/pol.json"
[ "$HTTP_STATUS" = 200 ] || fail "/v1/policies $HTTP_STATUS"
[ "$(json_get "$T/pol.json" policies.3.name)" = water-very-urgent ] || fail "policy table"
[ "$(json_get "$T/pol.json" policies.3.signText)" = "20 minutes" ] || fail "policy text"
[ "$(json_get "$T/pol.json" policies.1.replyText)" = "15 working days" ] || fail "W08 reply"
http GET "$S/v1/policies/match?categoryCode=W0402&urgency=very_urgent" >"$T/m.json"
[ "$(json_get "$T/m.json" policy.name)" = water-very-urgent ] || fail "match very urgent"
http GET "$S/v1/policies/match?categoryCode=W0801&urgency=URGENCY_URGENT" >"$T/m.json"
[ "$(json_get "$T/m.json" policy.name)" = water-service-complaint ] || fail "match W08"
http GET "$S/v1/policies/match?categoryCode=P01" >"$T/m.json"
[ "$(json_get "$T/m.json" policy.name)" = default ] || fail "match catch-all"
# The match explained, by all four keys.
http GET "$S/v1/policies/match?categoryCode=W0801&urgency=urgent&appealType=complaint&channel=wechat" >"$T/m.json"
[ "$(json_get "$T/m.json" policy.name)" = water-service-complaint ] || fail "match by 4 keys"
[ "$(json_get "$T/m.json" explain.rows.3.why)" = "names another urgency" ] ||
  fail "the explanation: $(cat "$T/m.json")"
http GET "$S/v1/policies/match?channel=pigeon" >"$T/e.json"
[ "$HTTP_STATUS" = 400 ] && [ "$(json_get "$T/e.json" error.field)" = channel ] ||
  fail "bad channel not refused naming it ($HTTP_STATUS)"
http GET "$S/v1/policies/match?urgency=loud" >"$T/e.json"
[ "$HTTP_STATUS" = 400 ] && [ "$(json_get "$T/e.json" error.field)" = urgency ] ||
  fail "bad urgency not refused naming it ($HTTP_STATUS)"

http GET "$S/v1/clocks/20261125-1-000001" >"$T/e.json"
[ "$HTTP_STATUS" = 404 ] || fail "unknown ticket answered $HTTP_STATUS"
http GET "$S/v1/clocks/" >"$T/e.json"
[ "$HTTP_STATUS" = 400 ] && [ "$(json_get "$T/e.json" error.field)" = ticketId ] ||
  fail "missing ticket id not refused ($HTTP_STATUS)"
http GET "$S/v1/clocks/$(printf 'x%.0s' $(seq 200))" >"$T/e.json"
[ "$HTTP_STATUS" = 400 ] || fail "over-long ticket id answered $HTTP_STATUS"
http GET "$S/v1/due?before=soon" >"$T/e.json"
[ "$HTTP_STATUS" = 400 ] && [ "$(json_get "$T/e.json" error.field)" = before ] ||
  fail "bad ?before not refused naming it ($HTTP_STATUS)"
http GET "$S/v1/due?limit=0" >"$T/e.json"
[ "$HTTP_STATUS" = 400 ] && [ "$(json_get "$T/e.json" error.field)" = limit ] ||
  fail "?limit=0 not refused ($HTTP_STATUS)"
http GET "$S/v1/due" >"$T/due.json"
[ "$HTTP_STATUS" = 200 ] && [ "$(json_get "$T/due.json" more)" = false ] || fail "/v1/due"
http POST "$S/v1/commands" '{"testAppend": {"count": "1"}}' >/dev/null
[ "$HTTP_STATUS" = 404 ] || fail "sla took a command it has no handler for ($HTTP_STATUS)"
http POST "$S/admin/clock" '{"advanceMs": 1000}' >/dev/null
[ "$HTTP_STATUS" = 200 ] || fail "--test-clock not honoured ($HTTP_STATUS)"

check_metrics() {
  curl -sf "$S/metrics" >"$T/metrics.txt"
  promtool check metrics <"$T/metrics.txt" >"$T/promtool.txt" 2>&1 ||
    fail "promtool rejects /metrics: $(cat "$T/promtool.txt")"
  [ ! -s "$T/promtool.txt" ] || fail "promtool lint: $(cat "$T/promtool.txt")"
}
check_metrics
grep -q '^hotline_sla_running_clocks{clock="sign"} 0$' "$T/metrics.txt" || fail "running gauge"
grep -q '^hotline_sla_pending_timers 0$' "$T/metrics.txt" || fail "pending gauge"
log "HTTP: policies, match, clocks, due and their errors; promtool-clean metrics"

# ---- one ticket through intake and dispatch, when they are built ----
covered="standalone only"
if [ -x "$BIN/hotline-intake" ] && [ -x "$BIN/hotline-dispatch" ]; then
  INTAKE_PORT=$(free_port)
  DEAD=$(free_port) # callback is not started: its feed simply stays empty
  start_dispatch() {
    rm -f "$T/dispatch.json"
    start dispatch "$BIN/hotline-dispatch" --data-dir "$T/dispatch" --http-port 0 \
      --bus "tcp://127.0.0.1:$DISPATCH_PORT" --feed "intake=tcp://127.0.0.1:$INTAKE_PORT" \
      --feed "callback=tcp://127.0.0.1:$DEAD" --feed "sla=$SLA_BUS" --port-file "$T/dispatch.json"
  }
  start_dispatch
  start intake "$BIN/hotline-intake" --data-dir "$T/intake" --http-port 0 \
    --bus "tcp://127.0.0.1:$INTAKE_PORT" --feed "dispatch=tcp://127.0.0.1:$DISPATCH_PORT" \
    --feed "sla=$SLA_BUS" --feed "callback=tcp://127.0.0.1:$DEAD" --port-file "$T/intake.json"
  wait_port_file "$T/dispatch.json"
  wait_port_file "$T/intake.json"
  D="http://127.0.0.1:$(json_get "$T/dispatch.json" http)"
  I="http://127.0.0.1:$(json_get "$T/intake.json" http)"
  http POST "$I/v1/tickets" '{"appealType": "APPEAL_REPORT", "categoryCode": "W0402",
    "urgency": "URGENCY_VERY_URGENT", "channel": "CHANNEL_PHONE",
    "contact": {"name": "Li Wei", "phone": "13800138000"},
    "location": {"district": "north", "street": "Main St", "address": "1 Main St"},
    "description": "street main burst, water on the road"}' >"$T/submit.json"
  [ "$HTTP_STATUS" = 200 ] || fail "intake refused the ticket ($HTTP_STATUS): $(cat "$T/submit.json")"
  ID=$(python3 -c 'import json,sys
def find(d):
    if isinstance(d, dict):
        if isinstance(d.get("ticketId"), str): return d["ticketId"]
        for v in d.values():
            r = find(v)
            if r: return r
    return None
print(find(json.load(open(sys.argv[1]))) or "")' "$T/submit.json")
  [ -n "$ID" ] || fail "no ticketId in intake's answer: $(cat "$T/submit.json")"
  wait_until 30 curl -sf "$S/v1/clocks/$ID"
  curl -sf "$S/v1/clocks/$ID" >"$T/clocks.json"
  [ "$(json_get "$T/clocks.json" clocks.0.clock)" = SLA_CLOCK_SIGN ] || fail "no sign clock"
  [ "$(json_get "$T/clocks.json" clocks.0.policy)" = water-very-urgent ] || fail "policy"
  [ "$(json_get "$T/clocks.json" clocks.1.limit)" = "24 hours" ] || fail "reply limit"
  UNIT=$(json_get "$T/clocks.json" clocks.0.unit)
  http POST "$D/v1/tickets/$ID/sign" "{\"unit\": \"$UNIT\"}" >"$T/sign.json"
  [ "$HTTP_STATUS" = 200 ] || fail "dispatch refused the sign ($HTTP_STATUS): $(cat "$T/sign.json")"
  sign_stopped() {
    curl -sf "$S/v1/clocks/$ID" >"$T/c2.json" &&
      [ "$(json_get "$T/c2.json" clocks.0.running)" = false ]
  }
  wait_until 30 sign_stopped
  [ "$(json_get "$T/c2.json" clocks.0.onTime)" = true ] || fail "sign within minutes not on time"
  # A crash: the pending warning and breach are in LMDB, and the feed resumes at its cursor.
  stop9 sla
  start_sla
  # A day and a bit later on sla's clock: the reply clock is warned, then breached.
  http POST "$S/admin/clock" '{"advanceMs": 90000000}' >/dev/null
  reply_breached() {
    curl -sf "$S/v1/clocks/$ID" >"$T/c3.json" &&
      [ "$(json_get "$T/c3.json" clocks.1.breached)" = true ]
  }
  wait_until 30 reply_breached
  [ "$(json_get "$T/c3.json" clocks.1.warned)" = true ] || fail "reply breached without warning"
  curl -sf "$S/v1/events?limit=100" >"$T/events.json"
  python3 - "$T/events.json" "$ID" <<'PY' || fail "sla's log is not as expected: $(cat "$T/events.json")"
import json, sys
evs = [e for e in json.load(open(sys.argv[1]))["events"] if e.get("ticketId") == sys.argv[2]]
kinds = [k for e in evs for k in e if k.startswith("sla")]
want = {"slaClockStarted": 2, "slaClockStopped": 1, "slaWarning": 1, "slaBreached": 1}
got = {k: kinds.count(k) for k in want}
assert got == want, got
PY
  check_metrics
  grep -q '^hotline_sla_running_clocks{clock="reply"} 1$' "$T/metrics.txt" || fail "reply gauge"
  grep -q '^hotline_events_appended_total{kind="sla_breached"} 1$' "$T/metrics.txt" || fail "breach count"

  # sla behind dispatch: a ticket signed and replied in time while sla was down, sla restarted
  # with dispatch down and its clock moved past every step: no card is given before sla has
  # read dispatch's backlog, and the verdicts are on time. (A restart first: sla's test clock,
  # moved a day on above, is back on the real one.)
  stop9 sla
  start_sla
  http POST "$I/v1/tickets" '{"categoryCode": "W0402", "urgency": "URGENCY_VERY_URGENT",
    "contact": {"phone": "13800138001"}, "location": {"district": "north", "street": "Main St"},
    "description": "another burst"}' >"$T/submit2.json"
  ID2=$(json_get "$T/submit2.json" submitTicket.ticketId)
  wait_until 30 curl -sf "$S/v1/clocks/$ID2"
  stop9 sla
  http POST "$D/v1/tickets/$ID2/sign" "{\"unit\": \"$UNIT\"}" >/dev/null
  [ "$HTTP_STATUS" = 200 ] || fail "sign of $ID2 refused ($HTTP_STATUS)"
  http POST "$D/v1/tickets/$ID2/reply" "{\"unit\": \"$UNIT\", \"result\": \"valve closed\"}" >/dev/null
  [ "$HTTP_STATUS" = 200 ] || fail "reply of $ID2 refused ($HTTP_STATUS)"
  stop_term dispatch
  start_sla
  http POST "$S/admin/clock" '{"advanceMs": 108000000}' >/dev/null # 30 hours on
  sleep 2
  start_dispatch
  wait_port_file "$T/dispatch.json"
  D="http://127.0.0.1:$(json_get "$T/dispatch.json" http)"
  both_stopped() {
    curl -sf "$S/v1/clocks/$ID2" >"$T/c4.json" &&
      [ "$(json_get "$T/c4.json" clocks.0.running)/$(json_get "$T/c4.json" clocks.1.running)" = false/false ]
  }
  wait_until 30 both_stopped
  sleep 2 # a held step would fire within a second of its next look
  curl -sf "$S/v1/events?limit=1000" >"$T/events2.json"
  python3 - "$T/events2.json" "$ID2" <<'PY' || fail "cards while sla was behind: $(cat "$T/events2.json")"
import json, sys
evs = [e for e in json.load(open(sys.argv[1]))["events"] if e.get("ticketId") == sys.argv[2]]
cards = [e for e in evs for k in ("slaWarning", "slaBreached", "slaEscalated")
         if k in e and e[k].get("clock") in ("SLA_CLOCK_SIGN", "SLA_CLOCK_REPLY")]
assert not cards, cards
stops = [e["slaClockStopped"] for e in evs if "slaClockStopped" in e]
assert len(stops) == 2 and all(s.get("onTime") for s in stops), stops
PY
  held=$(curl -sf "$S/metrics" | awk '$1 == "hotline_sla_steps_held_total" {print $2}')
  [ "${held:-0}" -gt 0 ] || fail "no step was held back (hotline_sla_steps_held_total ${held:-absent})"
  log "sla restarted behind dispatch: $held step(s) held until the backlog was read; no card, both on time"
  stop_term intake
  stop_term dispatch
  covered="standalone + one ticket through intake and dispatch"
else
  log "NOT COVERED HERE: a ticket fed from dispatch ($BIN/hotline-intake or hotline-dispatch" \
      "is not built); the clock logic is covered by unit tests test_sla, test_sla_policy and" \
      "the lead's end-to-end test"
fi

# ---- a new edition of the policy table, without a restart ----
http POST "$S/v1/policies" "{\"policies\": [{\"name\": \"d\", \"sign\": $LIM,
  \"reply\": {\"value\": 3, \"unit\": \"DURATION_WORKING_DAYS\"}},
  {\"name\": \"w\", \"categoryPrefix\": \"W\", \"sign\": $LIM,
   \"reply\": {\"value\": 0, \"unit\": \"DURATION_HOURS\"}}]}" >"$T/e.json"
[ "$HTTP_STATUS" = 400 ] || fail "a bad edition was taken ($HTTP_STATUS): $(cat "$T/e.json")"
grep -q 'policies\[1\].reply.value: must be at least 1' "$T/e.json" ||
  fail "the refusal does not name the key: $(cat "$T/e.json")"
http POST "$S/v1/policies" "{\"ladder\": {\"reminderPercent\": 100}, \"policies\": [
  {\"name\": \"d\", \"sign\": $LIM, \"reply\": {\"value\": 3, \"unit\": \"DURATION_WORKING_DAYS\"}},
  {\"name\": \"w\", \"categoryPrefix\": \"W\", \"sign\": $LIM, \"reply\": $LIM}]}" >"$T/ok.json"
[ "$HTTP_STATUS" = 200 ] || fail "the edition was refused ($HTTP_STATUS): $(cat "$T/ok.json")"
[ "$(json_get "$T/ok.json" policies.version)" = 1 ] || fail "not version 1: $(cat "$T/ok.json")"
http GET "$S/v1/policies" >"$T/pol.json"
[ "$(json_get "$T/pol.json" version)/$(json_get "$T/pol.json" policies.1.name)" = 1/w ] ||
  fail "GET /v1/policies does not show edition 1: $(cat "$T/pol.json")"
http GET "$S/v1/policies/match?categoryCode=W0402&urgency=very_urgent" >"$T/m.json"
[ "$(json_get "$T/m.json" policy.name)" = w ] || fail "the match still uses the old table"
stop9 sla
start_sla
http GET "$S/v1/policies" >"$T/pol.json"
[ "$(json_get "$T/pol.json" version)" = 1 ] || fail "edition 1 lost across kill -9"
log "policy edition 1 loaded over HTTP (a bad one refused naming the key), in use after kill -9"

stop_term sla
grep -q 'event=stopped' "$T/sla.log" || fail "no orderly stop logged"
log "PASS: hotline-sla ($covered)"
