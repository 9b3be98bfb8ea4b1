#!/usr/bin/env bash
# Appeals of ratings (申诉) end to end on the test clock, through the CLI: three billing tickets
# replied on Friday 27 Nov 2026 are rated at Monday 30 Nov's callbacks (one satisfied, two
# dissatisfied). November's satisfaction is 1 of 3. In December billing appeals both
# dissatisfied ratings; a supervisor upholds one and rejects the other. November's KPI query
# then reads 1 of 2 (the upheld rating left, the rejected one stays), December is untouched,
# and the appeal events are in the ticket's timeline. Units see their own appeals only.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pipeline.sh"
pipeline_up --test-clock

T0=$(ms 2026-11-27T10:00:00+08:00) # a Friday
for s in "${SERVICES[@]}"; do set_clock "$s" "$T0"; done

declare -a IDS
for i in 1 2 3; do
  IDS[$i]=$(hl_as operator submit --category W06 --description "charged twice (case $i)" \
              --phone "1390000100$i" --district Gulou)
done
for i in 1 2 3; do wait_view "${IDS[$i]}" status TICKET_DISPATCHED; done
[ "$(view "${IDS[1]}" unit)" = billing ] || fail "W06 went to $(view "${IDS[1]}" unit)"
for i in 1 2 3; do
  hl_as unit:billing sign "${IDS[$i]}" >/dev/null
  hl_as unit:billing reply "${IDS[$i]}" --result "refund issued" >/dev/null
done
for i in 1 2 3; do wait_view "${IDS[$i]}" status TICKET_REPLIED; done

rate() { # rate ID LEVEL: take ID's call from the queue (due Monday 30 Nov 09:00) and rate it
  RATE_ID=$1
  callback_due "$RATE_ID"
  has_task() { [ "$(hl_as callback-agent@agent-1 --json callback next | json_get - callbackTask.ticketId)" = "$RATE_ID" ]; }
  wait_until 30 has_task || fail "no call for $RATE_ID"
  hl_as callback-agent@agent-1 callback record "$RATE_ID" --rating "$2" >/dev/null
}
rate "${IDS[1]}" satisfied
rate "${IDS[2]}" dissatisfied
rate "${IDS[3]}" very_dissatisfied
log "rated ${IDS[*]} on $(curl_as admin -sf -X POST -d '{"advanceMs": 0}' "$(svc_url callback)/admin/clock" | json_get - nowMs)"

kpi() { # kpi FROM TO KEY: a total of the KPI query (rates as given, e.g. 0.5)
  curl_as supervisor -sf "$(svc_url analytics)/v1/kpis?from=$1&to=$2" >"$T/kpi.json" || return 1
  pyc 'import json,sys
t=json.load(open(sys.argv[1]))["totals"]
v=t["rates"][sys.argv[2]] if sys.argv[2] in t["rates"] else t[sys.argv[2]]
print("%.4f" % v if isinstance(v, float) else v)' "$T/kpi.json" "$3"
}
nov_is() { [ "$(kpi 2026-11-01 2026-11-30 rated)" = "$1" ] && [ "$(kpi 2026-11-01 2026-11-30 satisfactionRate)" = "$2" ]; }
wait_until 30 nov_is 3 0.3333 || fail "November before appeals: $(cat "$T/kpi.json")"
log "November before appeals: rated 3, satisfaction $(kpi 2026-11-01 2026-11-30 satisfactionRate)"

# December: billing appeals both bad ratings (the window: 3 working days after Monday's).
set_clock callback "$(ms 2026-12-01T10:00:00+08:00)"
hl_as unit:billing appeal reasons | grep -q "not-our-remit" || fail "no exclusion list"
hl_as unit:billing appeal file "${IDS[2]}" --reason citizen-refused \
  --statement "the citizen refused the refund by transfer; call log attached" \
  --evidence "https://files.example.org/billing/${IDS[2]}/call-log.pdf"
hl_as unit:billing appeal file "${IDS[3]}" --reason not-our-remit \
  --statement "the charge is the bank's fee, not ours"
# Not the satisfied one (nothing to appeal), not twice, not another unit's.
hl_as unit:billing appeal file "${IDS[1]}" --reason not-our-remit --statement x 2>"$T/err" &&
  fail "appealed a satisfied, resolved rating"
grep -q "nothing to appeal" "$T/err" || fail "wrong refusal: $(cat "$T/err")"
hl_as unit:billing appeal file "${IDS[2]}" --reason not-our-remit --statement x 2>"$T/err" &&
  fail "appealed twice"
grep -q "already appealed" "$T/err" || fail "wrong refusal: $(cat "$T/err")"
hl_as unit:water-supply appeal file "${IDS[3]}" --reason not-our-remit --statement x 2>"$T/err" &&
  fail "water-supply appealed billing's rating"
grep -q "another unit's work" "$T/err" || fail "wrong refusal: $(cat "$T/err")"
code=$(curl_as unit:water-supply -s -o /dev/null -w '%{http_code}' "$(svc_url callback)/v1/appeals?unit=billing")
[ "$code" = 403 ] || fail "water-supply listed billing's appeals: $code"
[ "$(curl_as unit:water-supply -sf "$(svc_url callback)/v1/appeals" | json_get - count)" = 0 ] ||
  fail "water-supply sees appeals that are not its own"
hl_as supervisor appeal list --unit billing | tee "$T/filed.txt"
[ "$(grep -c ' filed ' "$T/filed.txt")" = 2 ] || fail "not two filed appeals listed"

# A supervisor rules on 2 December: upheld, rejected.
set_clock callback "$(ms 2026-12-02T11:00:00+08:00)"
hl_as supervisor appeal uphold "${IDS[2]}" --note "the call log shows the refusal"
hl_as supervisor appeal reject "${IDS[3]}" --note "the fee was billing's own"
hl_as supervisor appeal list --state all | tee "$T/all.txt"
grep -q "${IDS[2]} *upheld" "$T/all.txt" && grep -q "${IDS[3]} *rejected" "$T/all.txt" ||
  fail "the rulings are not listed"

wait_until 30 nov_is 2 0.5000 || fail "November after the rulings: $(cat "$T/kpi.json")"
[ "$(kpi 2026-11-01 2026-11-30 ratingsExcluded)" = 1 ] || fail "not one rating excluded"
# The same through the CLI, for the month and billing alone, broken down by category.
hl_as supervisor kpis --period 2026-11 --unit billing --by category >"$T/cli_kpis.txt"
grep -q "satisfactionRate .*50.0%" "$T/cli_kpis.txt" && grep -q "^category W06" "$T/cli_kpis.txt" ||
  fail "hotline kpis --period 2026-11 --unit billing: $(cat "$T/cli_kpis.txt")"
[ "$(kpi 2026-12-01 2026-12-31 rated)" = 0 ] || fail "December got ratings: $(cat "$T/kpi.json")"
[ "$(kpi 2026-12-01 2026-12-31 ratingsExcluded)" = 0 ] || fail "December got the exclusion"
log "November after the rulings: rated 2, satisfaction 0.5000 (the upheld rating left, the rejected one stays)"

in_timeline() {
  hl_as supervisor show "${IDS[2]}" >"$T/show.txt" && grep -q " kpiEligibilityChanged " "$T/show.txt"
}
wait_until 30 in_timeline || fail "the timeline lacks the eligibility change: $(cat "$T/show.txt")"
grep -E " (callbackRated|appealFiled|appealReviewed|kpiEligibilityChanged) " "$T/show.txt"
grep -q " callbackRated .*rating=RATING_DISSATISFIED" "$T/show.txt" || fail "the raw rating is gone"
hl down --data-dir "$T/hl" >/dev/null
log "PASS: an appeal upheld in December took the rating out of November's satisfaction (1/3 -> 1/2); the rejected one stayed"
