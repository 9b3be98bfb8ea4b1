#!/usr/bin/env bash
# A second unsatisfied result goes to supervision (docs/domain.md): a ticket rated dissatisfied,
# reworked, and rated dissatisfied again gets a SupervisionRequested from callback, which
# appears in its timeline (`hotline show`), dispatch marks it supervised (督办) and sla sends the
# rework round's supervision notice at once; the rework round goes on. A first unsatisfied
# result alone raises none.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pipeline.sh"
pipeline_up --test-clock

T1=$(hl_as operator submit --category W06 --description "charged twice for November" \
       --phone 13900002222 --district Gulou)
wait_view "$T1" status TICKET_DISPATCHED
UNIT=$(view "$T1" unit)
round() { # round ROUND RATING: sign, reply, callback rated RATING
  hl_as "unit:$UNIT" sign "$T1" >/dev/null
  hl_as "unit:$UNIT" reply "$T1" --result "refund issued (round $1)" >/dev/null
  wait_view "$T1" status TICKET_REPLIED
  callback_due "$T1"
  has_task() { [ "$(hl_as callback-agent@agent-1 --json callback next | json_get - callbackTask.ticketId)" = "$T1" ]; }
  wait_until 30 has_task
  hl_as callback-agent@agent-1 callback record "$T1" --rating "$2" --unresolved >/dev/null
  wait_view "$T1" status TICKET_REWORK
}
round 0 dissatisfied
[ "$(events_count callback supervision_requested)" = 0 ] || fail "supervision after one unsatisfied result"
has_new_clock() { [ "$(view "$T1" reworkRound)" = 1 ] && [ -n "$(view "$T1" replyDueMs)" ]; }
wait_until 30 has_new_clock
round 1 very_dissatisfied
log "$T1 rated dissatisfied twice (rounds 0 and 1)"
supervised() {
  curl_as dispatcher -sf "$(svc_url dispatch)/v1/assignments/$T1" | grep -q '"supervised": *true'
}
wait_until 30 supervised || fail "dispatch did not mark $T1 supervised"
[ "$(events_count callback supervision_requested)" = 1 ] || fail "not one SupervisionRequested"
in_timeline() { hl_as dispatcher show "$T1" >"$T/show.txt" && grep -q " supervisionRequested " "$T/show.txt"; }
wait_until 30 in_timeline || fail "the timeline lacks the supervision: $(cat "$T/show.txt")"
grep " supervisionRequested " "$T/show.txt"
# sla gives the rework round's reply clock its supervision notice at once (not a working day
# after a red card): in the timeline as the ladder's "supervision notice", round 2.
notice() { hl_as dispatcher show "$T1" >"$T/show.txt" && grep -q " supervision notice .*round=2" "$T/show.txt"; }
wait_until 30 notice || fail "no supervision notice from sla: $(cat "$T/show.txt")"
grep " supervision notice " "$T/show.txt"
[ "$(view "$T1" reworkRound)" = 2 ] || fail "the rework round did not go on: round $(view "$T1" reworkRound)"
hl down --data-dir "$T/hl" >/dev/null
log "PASS: the second unsatisfied result went to supervision: event in the timeline, dispatch marks it supervised, rework round 2 goes on"
