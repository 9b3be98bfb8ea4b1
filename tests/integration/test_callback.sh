#!/usr/bin/env bash
# hotline-callback as a real process: configuration errors naming the key, the embedded policy
# default, the agents' HTTP surface (an empty queue is a 404 that says so, bad bodies are 400s
# naming the field, an unknown ticket is a 404), promtool-clean /metrics with the pending gauge,
# and a clean stop. When hotline-intake and hotline-dispatch are built too, one ticket goes from
# submit through sign and reply to the callback: scheduled, not handed out before it is due
# (also after callback is killed -9 and restarted), due once the test clock reaches its
# instant, handed to one agent only (the number whole for that agent, masked in the list),
# unreachable and back only after retryMinutes, rated satisfied, closed; no phone number in the
# log.
source "$(dirname "$0")/../lib.sh"
CB="$BIN/hotline-callback"
[ -x "$CB" ] || fail "$CB is not built"

# (Outputs are captured before matching: with pipefail, grep -q closing a pipe early would
# fail the writer with SIGPIPE.)
expect_exit() { # expect_exit CODE PATTERN CMD...: exit code and a message on stderr
  local code=$1 pattern=$2 rc=0; shift 2
  "$@" >"$T/out" 2>"$T/err" || rc=$?
  [ "$rc" = "$code" ] || fail "$* exited $rc, expected $code: $(cat "$T/err")"
  grep -q -- "$pattern" "$T/err" || fail "$*: stderr lacks '$pattern': $(cat "$T/err")"
}
expect_body() { # expect_body STATUS KEY VALUE FILE: HTTP status and one JSON value
  [ "$HTTP_STATUS" = "$1" ] || fail "expected HTTP $1, got $HTTP_STATUS: $(cat "$4")"
  local got; got=$(json_get "$4" "$2" 2>/dev/null || echo "<absent>")
  [ "$got" = "$3" ] || fail "expected $2 = '$3', got '$got': $(cat "$4")"
}

# ---- configuration ----
echo '{"maxAttempts": 0}' > "$T/zero.json"
expect_exit 2 "maxAttempts: 0 is below the minimum 1" "$CB" --config "$T/zero.json" --data-dir "$T/x"
HOTLINE_MAX_ATTEMPTS=0 expect_exit 2 "maxAttempts.*HOTLINE_MAX_ATTEMPTS" "$CB" --data-dir "$T/x"
echo '{"callHour": 24}' > "$T/hour.json"
expect_exit 2 "callHour: 24 is above the maximum 23" "$CB" --config "$T/hour.json" --data-dir "$T/x"
echo '{"basicallySatisfiedCounts": "yes"}' > "$T/bool.json"
expect_exit 2 "basicallySatisfiedCounts" "$CB" --config "$T/bool.json" --data-dir "$T/x"
"$CB" --print-config > "$T/cfg.json"
[ "$(json_get "$T/cfg.json" basicallySatisfiedCounts)" = true ] ||
  fail "the embedded policy must count 'basically satisfied' as satisfied"
[ "$(json_get "$T/cfg.json" maxAttempts)" = 3 ] || fail "maxAttempts default"
[ "$(json_get "$T/cfg.json" runtime.http.port)" = 8083 ] || fail "HTTP port default"
HOTLINE_BASICALLY_SATISFIED_COUNTS=false "$CB" --print-config > "$T/cfg2.json"
[ "$(json_get "$T/cfg2.json" basicallySatisfiedCounts)" = false ] || fail "policy switch via env"
[ ! -e "$T/x" ] || fail "a refused configuration created the data directory"

# ---- start: buses on ports chosen now, so the services can name each other ----
INTAKE_BUS="tcp://127.0.0.1:$(free_port)"
DISPATCH_BUS="tcp://127.0.0.1:$(free_port)"
CB_BUS="tcp://127.0.0.1:$(free_port)"
E2E=0
[ -x "$BIN/hotline-intake" ] && [ -x "$BIN/hotline-dispatch" ] && E2E=1

# --feed for every feed a binary's configuration has: ours by name, any other at a free port
# nobody listens on (never at a default port another test may be using).
feeds_for() {
  "$1" --print-config | python3 -c '
import json, sys
known = dict(a.split("=", 1) for a in sys.argv[1:])
for f in json.load(sys.stdin)["runtime"].get("feeds", []):
    print("--feed")
    print(f["name"] + "=" + known.get(f["name"], "tcp://127.0.0.1:" + known["unused"]))
' "intake=$INTAKE_BUS" "dispatch=$DISPATCH_BUS" "callback=$CB_BUS" "unused=$(free_port)"
}
mapfile -t CB_FEEDS < <(feeds_for "$CB")
start callback "$CB" --data-dir "$T/cb" --http-port 0 --bus "$CB_BUS" --port-file "$T/cb.port" \
  --test-clock "${CB_FEEDS[@]}"
wait_port_file "$T/cb.port"
C="http://127.0.0.1:$(json_get "$T/cb.port" http)"

# ---- the agents' surface on an empty queue ----
http GET "$C/healthz" >/dev/null; [ "$HTTP_STATUS" = 200 ] || fail "/healthz $HTTP_STATUS"
http POST "$C/v1/callbacks/next" '{"agent": "a1"}' > "$T/r.json"
expect_body 404 error.code NOT_FOUND "$T/r.json"
grep -q "no callbacks waiting" "$T/r.json" || fail "empty queue message: $(cat "$T/r.json")"
http POST "$C/v1/commands" '{"nextCallback": {"agent": "a1"}}' > "$T/r.json"
expect_body 404 error.code NOT_FOUND "$T/r.json"
http POST "$C/v1/callbacks/next" '{}' > "$T/r.json"
expect_body 400 error.field agent "$T/r.json"
http POST "$C/v1/callbacks/next" '{"agent": 5}' > "$T/r.json"
expect_body 400 error.field agent "$T/r.json"
http POST "$C/v1/callbacks/next" 'agent=a1' > "$T/r.json"
[ "$HTTP_STATUS" = 400 ] || fail "a body that is not JSON got $HTTP_STATUS"

rec() { http POST "$C/v1/callbacks/$1" "$2" > "$T/r.json"; }
rec T-1 '{"outcome": "CALLBACK_RATED", "agent": "a1"}'
expect_body 400 error.field rating "$T/r.json"
grep -q "RATING_BASICALLY_SATISFIED" "$T/r.json" || fail "rating values not listed: $(cat "$T/r.json")"
rec T-1 '{"outcome": "CALLBACK_RATED", "rating": "RATING_GREAT", "agent": "a1"}'
expect_body 400 error.field rating "$T/r.json"
rec T-1 '{"rating": "RATING_SATISFIED", "agent": "a1"}'
expect_body 400 error.field outcome "$T/r.json"
rec T-1 '{"outcome": "CALLBACK_RATED", "rating": "RATING_SATISFIED"}'
expect_body 400 error.field agent "$T/r.json"
long=$(printf 'x%.0s' $(seq 1001))
rec T-1 "{\"outcome\": \"CALLBACK_RATED\", \"rating\": \"RATING_SATISFIED\", \"agent\": \"a1\", \"comment\": \"$long\"}"
expect_body 400 error.field comment "$T/r.json"
rec T-1 '{"outcome": "CALLBACK_RATED", "rating": "RATING_SATISFIED", "agent": "a1", "mood": 1}'
expect_body 400 error.field mood "$T/r.json"
rec T-1 '{"ticketId": "T-2", "outcome": "CALLBACK_UNREACHABLE", "agent": "a1"}'
expect_body 400 error.field ticketId "$T/r.json"
rec T-1 '{"outcome": "CALLBACK_RATED", "rating": "RATING_SATISFIED", "agent": "a1"}'
expect_body 404 error.field ticketId "$T/r.json"
http GET "$C/v1/callbacks" > "$T/r.json"
expect_body 200 count 0 "$T/r.json"
http GET "$C/v1/callbacks?state=open" > "$T/r.json"
expect_body 400 error.field state "$T/r.json"
http GET "$C/v1/callbacks?limit=0" > "$T/r.json"
expect_body 400 error.field limit "$T/r.json"
http GET "$C/v1/callbacks/T-1" > "$T/r.json"
expect_body 404 error.field ticketId "$T/r.json"

curl -sf "$C/metrics" > "$T/metrics.txt"
promtool check metrics < "$T/metrics.txt" > "$T/promtool.txt" 2>&1 ||
  fail "promtool rejects /metrics: $(cat "$T/promtool.txt")"
[ ! -s "$T/promtool.txt" ] || fail "promtool lint: $(cat "$T/promtool.txt")"
grep -q '^hotline_callback_pending 0$' "$T/metrics.txt" || fail "pending gauge missing"
grep -q '^hotline_commands_total{status="NOT_FOUND"} 3$' "$T/metrics.txt" ||
  fail "NOT_FOUND answers (two empty queues, one unknown ticket) not counted"

# ---- one ticket through intake and dispatch ----
if [ "$E2E" = 0 ]; then
  log "SKIP end to end: $BIN/hotline-intake or $BIN/hotline-dispatch is not built;" \
      "scheduling and outcomes are covered by tests/unit/test_callback.c"
else
  mapfile -t IN_FEEDS < <(feeds_for "$BIN/hotline-intake")
  mapfile -t DI_FEEDS < <(feeds_for "$BIN/hotline-dispatch")
  start intake "$BIN/hotline-intake" --data-dir "$T/in" --http-port 0 --bus "$INTAKE_BUS" \
    --port-file "$T/in.port" "${IN_FEEDS[@]}"
  start dispatch "$BIN/hotline-dispatch" --data-dir "$T/di" --http-port 0 --bus "$DISPATCH_BUS" \
    --port-file "$T/di.port" "${DI_FEEDS[@]}"
  wait_port_file "$T/in.port"
  wait_port_file "$T/di.port"
  I="http://127.0.0.1:$(json_get "$T/in.port" http)"
  D="http://127.0.0.1:$(json_get "$T/di.port" http)"

  http POST "$I/v1/tickets" '{"categoryCode": "W01", "channel": "CHANNEL_PHONE",
    "description": "no water since 7 this morning",
    "contact": {"name": "Li Lei", "phone": "13812345678"},
    "location": {"district": "Gulou", "address": "12 Wusi Road"}}' > "$T/sub.json"
  [ "$HTTP_STATUS" = 200 ] || fail "intake refused the ticket: $(cat "$T/sub.json")"
  ID=$(json_get "$T/sub.json" submitTicket.ticketId)
  log "submitted $ID"
  wait_until 20 curl -sf "$D/v1/assignments/$ID"
  UNIT=$(curl -sf "$D/v1/assignments/$ID" | json_get - unit)
  http POST "$D/v1/tickets/$ID/sign" "{\"unit\": \"$UNIT\"}" > "$T/r.json"
  [ "$HTTP_STATUS" = 200 ] || fail "sign: $(cat "$T/r.json")"
  http POST "$D/v1/tickets/$ID/reply" \
    "{\"unit\": \"$UNIT\", \"result\": \"valve replaced, supply back\", \"resolved\": true}" > "$T/r.json"
  [ "$HTTP_STATUS" = 200 ] || fail "reply: $(cat "$T/r.json")"

  wait_until 20 curl -sf "$C/v1/callbacks/$ID"
  has_contact() { [ "$(curl -sf "$C/v1/callbacks/$ID" | json_get - callbacks.0.contactKnown)" = true ]; }
  wait_until 20 has_contact
  http GET "$C/v1/callbacks?state=pending" > "$T/list.json"
  expect_body 200 callbacks.0.phone '138****5678' "$T/list.json"
  ! grep -q 13812345678 "$T/list.json" || fail "the list shows a whole phone number"
  expect_body 200 callbacks.0.unit "$UNIT" "$T/list.json"
  expect_body 200 callbacks.0.due false "$T/list.json"
  curl -sf "$C/metrics" > "$T/metrics.txt"
  grep -q '^hotline_callback_pending 1$' "$T/metrics.txt" || fail "pending gauge while waiting"
  grep -q '^hotline_callback_due 0$' "$T/metrics.txt" || fail "due gauge before the instant"

  # Due the working day after the reply: not handed out before, not after a kill -9 either.
  DUE=$(json_get "$T/list.json" callbacks.0.dueMs)
  http POST "$C/v1/callbacks/next" '{"agent": "a1"}' > "$T/r.json"
  expect_body 404 error.code NOT_FOUND "$T/r.json"
  grep -q "1 not yet due" "$T/r.json" || fail "not-yet-due refusal: $(cat "$T/r.json")"
  stop9 callback
  rm -f "$T/cb.port"
  start callback "$CB" --data-dir "$T/cb" --http-port 0 --bus "$CB_BUS" --port-file "$T/cb.port" \
    --test-clock "${CB_FEEDS[@]}"
  wait_port_file "$T/cb.port"
  C="http://127.0.0.1:$(json_get "$T/cb.port" http)"
  http POST "$C/v1/callbacks/next" '{"agent": "a1"}' > "$T/r.json"
  expect_body 404 error.code NOT_FOUND "$T/r.json"
  grep -q "1 not yet due" "$T/r.json" || fail "after kill -9: $(cat "$T/r.json")"
  clock_to() {
    http POST "$C/admin/clock" "{\"nowMs\": $1}" >/dev/null
    [ "$HTTP_STATUS" = 200 ] || fail "the test clock did not move ($HTTP_STATUS)"
  }
  clock_to $(( DUE - 60000 ))
  http POST "$C/v1/callbacks/next" '{"agent": "a1"}' > "$T/r.json"
  expect_body 404 error.code NOT_FOUND "$T/r.json"
  clock_to "$DUE"
  is_due() { [ "$(curl -sf "$C/v1/callbacks?state=due" | json_get - count)" = 1 ]; }
  wait_until 10 is_due

  # Unreachable: back after retryMinutes (120 by default), not before.
  http POST "$C/v1/callbacks/next" '{"agent": "a1"}' > "$T/task.json"
  expect_body 200 callbackTask.ticketId "$ID" "$T/task.json"
  rec "$ID" '{"outcome": "CALLBACK_UNREACHABLE", "agent": "a1"}'
  expect_body 200 recordCallback.status TICKET_REPLIED "$T/r.json"
  RETRY=$(json_get "$T/r.json" recordCallback.nextDueMs)
  [ $(( RETRY - DUE )) -ge 7200000 ] || fail "retry at $RETRY, due was $DUE"
  http POST "$C/v1/callbacks/next" '{"agent": "a1"}' > "$T/r.json"
  expect_body 404 error.code NOT_FOUND "$T/r.json"
  clock_to "$RETRY"
  wait_until 10 is_due

  http POST "$C/v1/callbacks/next" '{"agent": "a1"}' > "$T/task.json"
  expect_body 200 callbackTask.ticketId "$ID" "$T/task.json"
  expect_body 200 callbackTask.phone 13812345678 "$T/task.json"
  expect_body 200 callbackTask.replyText "valve replaced, supply back" "$T/task.json"
  http POST "$C/v1/callbacks/next" '{"agent": "a2"}' > "$T/r.json"
  expect_body 404 error.code NOT_FOUND "$T/r.json"
  rec "$ID" '{"outcome": "CALLBACK_RATED", "rating": "RATING_SATISFIED", "agent": "a2"}'
  expect_body 409 error.field agent "$T/r.json"
  rec "$ID" '{"outcome": "CALLBACK_RATED", "rating": "RATING_SATISFIED", "resolved": true,
    "comment": "water is back", "agent": "a1"}'
  expect_body 200 recordCallback.status TICKET_CLOSED "$T/r.json"
  rec "$ID" '{"outcome": "CALLBACK_RATED", "rating": "RATING_SATISFIED", "agent": "a1"}'
  expect_body 409 error.field ticketId "$T/r.json"

  http GET "$C/v1/events?after=0" > "$T/ev.json"
  python3 - "$T/ev.json" "$ID" <<'PY' || fail "callback's log: $(cat "$T/ev.json")"
import json, sys
evs = [e for e in json.load(open(sys.argv[1]))["events"] if e.get("ticketId") == sys.argv[2]]
kinds = [k for e in evs for k in e if k in
         ("callbackScheduled", "callbackClaimed", "callbackAttempted", "callbackRated",
          "ticketClosed", "reworkRequested")]
assert kinds == ["callbackScheduled", "callbackClaimed", "callbackAttempted", "callbackClaimed",
                 "callbackRated", "ticketClosed"], kinds
assert all(e["callbackClaimed"]["agent"] == "a1" for e in (evs[1], evs[3]))
rated = evs[4]["callbackRated"]
assert rated["satisfied"] and rated["agent"] == "a1" and rated["rating"] == "RATING_SATISFIED"
assert evs[5]["ticketClosed"]["reason"] == "rated satisfied"
PY
  curl -sf "$C/metrics" > "$T/metrics.txt"
  grep -q '^hotline_events_appended_total{kind="ticket_closed"} 1$' "$T/metrics.txt" ||
    fail "events_appended{kind=ticket_closed}"
  grep -q '^hotline_callback_pending 0$' "$T/metrics.txt" || fail "pending gauge after closing"
  stop_term dispatch
  stop_term intake
  log "end to end: $ID submitted, signed, replied, called back, rated satisfied, closed"
fi

stop_term callback
grep -q 'event=stopped' "$T/callback.log" || fail "no orderly stop logged"
! grep -q 13812345678 "$T"/*.log || fail "a whole phone number reached a log"
log "PASS: configuration, agents' HTTP surface, refusals naming the field, metrics, clean stop"
