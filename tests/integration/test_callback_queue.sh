#!/usr/bin/env bash
# The callback queue's order and limits on the real pipeline (issue 11), through the CLI and
# HTTP with the roles' tokens:
# - priority: of three callbacks due at once, the vulnerable caller's (submitted last) is handed
#   out first, with its priority in GET /v1/callbacks?state=due and in the NextCallback answer;
# - a promised callback: an operator agrees a time with the citizen before the unit replies
#   (`hotline callback promise --at "YYYY-MM-DD HH:MM"`); once replied the callback waits for
#   that time (not handed out a minute before, even though the policy's time has passed) and is
#   handed out at it, with the promise;
# - the anti-fatigue cap (the default: 3 reached calls per caller in 30 days): a caller's 4th
#   callback is skipped: CallbackSkipped, the ticket closed in intake's view, in the done list
#   with skippedTotal, and hotline_callback_skipped_total 1.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pipeline.sh"
pipeline_up --test-clock
C=$(svc_url callback)

submit() { # submit CATEGORY PHONE [--vulnerable] -> the ticket id
  hl_as operator submit --category "$1" --description "callback queue test" --phone "$2" \
    --district Gulou "${@:3}"
}
reply() { # sign and reply as the ticket's unit, and wait until callback has its task
  local id=$1 unit
  wait_view "$id" status TICKET_DISPATCHED
  unit=$(view "$id" unit)
  hl_as "unit:$unit" sign "$id" >/dev/null
  hl_as "unit:$unit" reply "$id" --result "done, see you" >/dev/null
  has_task() { curl_as admin -sf "$C/v1/callbacks/$id" >/dev/null; }
  wait_until 30 has_task
}
task() { # task ID KEY: a field of the ticket's latest callback task
  pyc 'import json,sys
t=json.loads(sys.argv[1])["callbacks"][-1]
v=t.get(sys.argv[2], "")
print(str(v).lower() if isinstance(v, bool) else v)' "$(curl_as admin -sf "$C/v1/callbacks/$1")" "$2"
}
next_as() { # next_as AGENT: the NextCallback answer (JSON), "" when none is handed out
  local out
  if out=$(hl_as "callback-agent@$1" --json callback next 2>/dev/null); then printf '%s' "$out"; fi
}
rate() { # rate AGENT ID: the agent rates the call it holds
  hl_as "callback-agent@$1" callback record "$2" --rating satisfied >/dev/null ||
    fail "$1 could not rate $2"
}
clock_now() { curl_as admin -sf -X POST -d '{"advanceMs": 0}' "$C/admin/clock" | json_get - nowMs; }
clock_to() { curl_as admin -sf -X POST -d "{\"nowMs\": $1}" "$C/admin/clock" >/dev/null; }

# ---- priority: the vulnerable caller first ----
O1=$(submit W01 13800000101)
O2=$(submit W05 13800000102)
V=$(submit W06 13800000103 --vulnerable)
for id in "$O1" "$O2" "$V"; do reply "$id"; done
for id in "$O1" "$O2" "$V"; do callback_due "$id"; done
queue() { # the due queue in hand-out order: ID:PRIORITY ...
  pyc 'import json,sys
print(" ".join(c["ticketId"] + ":" + c["priority"] for c in json.loads(sys.argv[1])["callbacks"]))' \
    "$(curl_as supervisor -sf "$C/v1/callbacks?state=due")"
}
vulnerable_first() { [ "$(queue)" = "$V:vulnerable $O1:ordinary $O2:ordinary" ]; }
wait_until 30 vulnerable_first || fail "the queue: $(queue)"
SAID=$(hl_as callback-agent@agent-1 callback next) || fail "agent-1 was handed nothing"
grep -q "^$V  call .*13800000103  (vulnerable, due " <<<"$SAID" || fail "agent-1 was not handed $V first: $SAID"
A1=$(next_as agent-1) # the same call again (agent-1 holds it), as JSON
[ "$(json_get - callbackTask.ticketId <<<"$A1")" = "$V" ] || fail "agent-1's claim: $A1"
[ "$(json_get - callbackTask.priority <<<"$A1")" = CALLBACK_PRIORITY_VULNERABLE ] ||
  fail "NextCallback lacks the priority: $A1"
[ "$(json_get - callbackTask.ticketId <<<"$(next_as agent-2)")" = "$O1" ] || fail "agent-2 was not handed $O1"
[ "$(json_get - callbackTask.ticketId <<<"$(next_as agent-3)")" = "$O2" ] || fail "agent-3 was not handed $O2"
rate agent-1 "$V"; rate agent-2 "$O1"; rate agent-3 "$O2"
log "priority: $V (vulnerable, submitted last) handed out before $O1 and $O2"

# ---- a promised callback, agreed before the unit replied ----
P=$(submit W08 13700000104)
wait_view "$P" status TICKET_DISPATCHED
AT=$(( ( $(clock_now) / 60000 + 6 * 60 ) * 60000 )) # six hours ahead on callback's clock
AT_LOCAL=$(python3 -c 'import datetime,sys; print((datetime.datetime(1970,1,1) + datetime.timedelta(milliseconds=int(sys.argv[1]) + 8*3600000)).strftime("%Y-%m-%d %H:%M"))' "$AT")
SAID=$(hl_as operator callback promise "$P" --at "$AT_LOCAL" --note "after work, ask for Mrs Li") ||
  fail "the operator could not promise a callback"
grep -q "kept until the unit replies" <<<"$SAID" || fail "promise before the reply: $SAID"
log "$SAID"
hl_as operator callback promise "$P" --at "2020-01-01 10:00" 2>"$T/past.err" && fail "a promise in the past was taken"
grep -q "atMs: .* is in the past" "$T/past.err" || fail "past refusal: $(cat "$T/past.err")"
hl_as callback-agent@agent-1 callback promise "$P" --at "$AT_LOCAL" --note "after work, ask for Mrs Li" >/dev/null ||
  fail "an agent could not promise"
hl_as dispatcher callback promise "$P" --at "$AT_LOCAL" 2>/dev/null && fail "a dispatcher promised a callback"
reply "$P"
[ "$(task "$P" dueMs)" = "$AT" ] || fail "$P is due at $(task "$P" dueMs), promised $AT"
[ "$(task "$P" promisedMs)" = "$AT" ] || fail "$P lacks its promise"
[ -z "$(next_as agent-1)" ] || fail "a callback was handed out before its promised time"
clock_to $(( AT - 60000 ))
[ -z "$(next_as agent-1)" ] || fail "$P was handed out a minute before its promised time"
[ "$(task "$P" due)" = false ] || fail "$P is in the queue before its time"
clock_to "$AT"
promised_due() { [ "$(task "$P" due)" = true ]; }
wait_until 10 promised_due
SAID=$(hl_as callback-agent@agent-1 callback next) || fail "$P not handed out at its time"
grep -q "^  promised for $AT_LOCAL +08:00: after work, ask for Mrs Li$" <<<"$SAID" ||
  fail "the agent is not shown the promise: $SAID"
A1=$(next_as agent-1)
[ "$(json_get - callbackTask.ticketId <<<"$A1")" = "$P" ] || fail "$P not handed out at its time: $A1"
[ "$(json_get - callbackTask.promiseNote <<<"$A1")" = "after work, ask for Mrs Li" ] ||
  fail "the agent lacks the promise's note: $A1"
rate agent-1 "$P"
log "promise: $P handed out at $AT_LOCAL, not a minute before"

# ---- the anti-fatigue cap: the 4th callback of one caller is skipped ----
CAT=(W01 W05 W06 W08) # other categories: not linked as repeat calls
for i in 0 1 2; do
  id=$(submit "${CAT[$i]}" 13900000105)
  reply "$id"
  callback_due "$id"
  [ "$(json_get - callbackTask.ticketId <<<"$(next_as agent-4)")" = "$id" ] || fail "$id not handed out"
  rate agent-4 "$id"
  wait_view "$id" status TICKET_CLOSED
done
C4=$(submit W08 13900000105)
reply "$C4"
skipped() { [ "$(task "$C4" state)" = skipped ]; }
wait_until 30 skipped
grep -q "^callback skipped: the caller was reached 3 times in the last 30 days" <<<"$(task "$C4" note)" ||
  fail "skip note: $(task "$C4" note)"
wait_view "$C4" status TICKET_CLOSED
[ -z "$(next_as agent-4)" ] || fail "the skipped callback was handed out"
curl_as supervisor -sf "$C/v1/callbacks?state=done" > "$T/done.json"
[ "$(json_get "$T/done.json" skippedTotal)" = 1 ] || fail "done list: $(cat "$T/done.json")"
[ "$(json_get "$T/done.json" callbacks.0.ticketId)" = "$C4" ] || fail "done list: $(cat "$T/done.json")"
grep -q '^hotline_callback_skipped_total 1$' <<<"$(curl -sf "$C/metrics")" || fail "skipped counter"
[ "$(events_count callback callback_skipped)" = 1 ] || fail "not one CallbackSkipped"
curl -sf "$C/metrics" | promtool check metrics >"$T/promtool.txt" 2>&1 ||
  fail "promtool: $(cat "$T/promtool.txt")"
log "cap: $C4, the caller's 4th callback in 30 days, skipped and closed; counted"

hl down --data-dir "$T/hl" >/dev/null
log "PASS: vulnerable first, promised callback at its time, 4th callback of a caller skipped and counted"
