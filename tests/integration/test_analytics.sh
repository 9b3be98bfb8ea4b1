#!/usr/bin/env bash
# analytics on its real binary: the KPI API on an empty store (zeros, every rate null), input
# errors naming the parameter, the timeline's 404 and 400, /metrics through promtool with the
# business counters present; then, when the intake and dispatch binaries are built, one ticket
# submitted to intake and seen counted (received, dispatched), in its timeline, and in
# /metrics, also after a restart. Its feeds point at unused ports unless a real producer runs.
source "$(dirname "$0")/../lib.sh"
AN="$BIN/hotline-analytics"
[ -x "$AN" ] || fail "$AN is not built"

# Feeds with no producer behind them: ZeroMQ just keeps trying, nothing arrives.
idle_feeds=()
for p in intake dispatch sla callback; do idle_feeds+=(--feed "$p=tcp://127.0.0.1:$(free_port)"); done

start_analytics() { # start_analytics FEED_ARGS...
  rm -f "$T/an.json"
  start analytics "$AN" --data-dir "$T/an" --http-port 0 --bus 'tcp://127.0.0.1:*' \
    --port-file "$T/an.json" "$@"
  wait_port_file "$T/an.json"
  A="http://127.0.0.1:$(json_get "$T/an.json" http)"
}
start_analytics "${idle_feeds[@]}"

# ---- the KPI API on an empty store ----
http GET "$A/v1/kpis" >"$T/k.json"
[ "$HTTP_STATUS" = 200 ] || fail "GET /v1/kpis answered $HTTP_STATUS: $(cat "$T/k.json")"
python3 - "$T/k.json" <<'PY' || fail "empty KPIs are not all zero with null rates: $(cat "$T/k.json")"
import json, sys, datetime
d = json.load(open(sys.argv[1]))
now = datetime.datetime.now(datetime.timezone.utc)
today = (now + datetime.timedelta(minutes=d["utcOffsetMinutes"])).date()
assert d["utcOffsetMinutes"] == 480, d
assert d["from"] == d["to"] and abs((datetime.date.fromisoformat(d["from"]) - today).days) <= 1, d
t = d["totals"]
counts = {k: v for k, v in t.items() if k != "rates"}
assert len(counts) >= 18 and all(v == 0 for v in counts.values()), counts
for k in ("received", "dispatched", "signed", "replied", "closed", "signDue", "signedOnTime",
          "replyDue", "repliedOnTime", "callbacksDue", "callbacksDone", "rated", "satisfied",
          "resolved", "reworked", "warnings", "breached", "unreachable"):
    assert k in counts, k
assert set(t["rates"]) == {"onTimeSignRate", "onTimeReplyRate", "responseRate",
                           "onTimeCallbackRate", "callbackRate",
                           "satisfactionRate", "resolutionRate", "reworkRate",
                           "directAnswerRate", "repeatCallRate", "returnRate",
                           "onTimeClosureRate"}, t["rates"]
assert all(v is None for v in t["rates"].values()), t["rates"]
assert d["groups"] == [], d["groups"]
PY
http GET "$A/v1/kpis?from=2026-01-01&to=2026-12-31&by=category" >"$T/k.json"
[ "$HTTP_STATUS" = 200 ] || fail "a 365-day period by category answered $HTTP_STATUS"
[ "$(json_get "$T/k.json" by)" = category ] || fail "by is not echoed"
[ "$(json_get "$T/k.json" totals.rates.callbackRate)" = None ] || fail "callbackRate not null"

expect_400() { # expect_400 QUERY FIELD TEXT
  http GET "$A/v1/kpis?$1" >"$T/e.json"
  [ "$HTTP_STATUS" = 400 ] || fail "?$1 answered $HTTP_STATUS, expected 400: $(cat "$T/e.json")"
  [ "$(json_get "$T/e.json" error.field)" = "$2" ] ||
    fail "?$1: the error names $(json_get "$T/e.json" error.field), not $2"
  [[ "$(json_get "$T/e.json" error.message)" == *"$3"* ]] ||
    fail "?$1: the message lacks '$3': $(cat "$T/e.json")"
}
expect_400 "from=2026-13-01" from "month 13"
expect_400 "to=2026-02-30" to "day 30"
expect_400 "from=yesterday" from "YYYY-MM-DD"
expect_400 "by=planet" by "allowed: unit, category, district"
expect_400 "from=2020-01-01&to=2026-06-30" to "at most 1830"
expect_400 "period=2026-W54" period "ISO weeks"
expect_400 "unit=billing&district=Gulou" district "one of unit, category, district at a time"
expect_400 "period=2026-11&to=2026-11-30" period "not both"
expect_400 "from=2026-11-25&to=2026-11-01" to "before from"
expect_400 "form=2026-11-25" form "unknown parameter"

# ---- the timeline ----
http GET "$A/v1/tickets/20261125-1-000001/timeline" >"$T/e.json"
[ "$HTTP_STATUS" = 404 ] || fail "timeline of an unknown ticket answered $HTTP_STATUS"
[ "$(json_get "$T/e.json" error.field)" = ticketId ] || fail "the 404 does not name ticketId"
http GET "$A/v1/tickets/bad%20id/timeline" >"$T/e.json"
[ "$HTTP_STATUS" = 400 ] || fail "a bad ticket id answered $HTTP_STATUS"
[ "$(json_get "$T/e.json" error.field)" = ticketId ] || fail "the 400 does not name ticketId"
http GET "$A/v1/tickets/20261125-1-000001/whatever" >/dev/null
[ "$HTTP_STATUS" = 404 ] || fail "an unknown sub-resource answered $HTTP_STATUS"

# ---- /metrics ----
check_metrics() { # check_metrics FILE: promtool-clean, business counters present
  curl -sf "$A/metrics" >"$1" || fail "GET /metrics failed"
  promtool check metrics <"$1" >"$T/promtool.txt" 2>&1 ||
    fail "promtool rejects /metrics: $(cat "$T/promtool.txt")"
  [ ! -s "$T/promtool.txt" ] || fail "promtool lint on /metrics: $(cat "$T/promtool.txt")"
  for want in '# TYPE hotline_tickets_total counter' '# TYPE hotline_sla_clocks_total counter' \
      '# TYPE hotline_callbacks_total counter' '# TYPE hotline_ratings_total counter' \
      'hotline_sla_clocks_total{clock="reply",outcome="breached"} ' \
      'hotline_ratings_total{rating="basically_satisfied"} ' \
      'hotline_callbacks_total{outcome="unreachable"} '; do
    grep -qF -- "$want" "$1" || fail "/metrics lacks: $want"
  done
}
check_metrics "$T/m.txt"
grep -qx 'hotline_tickets_total{stage="received"} 0' "$T/m.txt" || fail "received is not 0"

# ---- a real ticket, when the upstream services are built ----
if [ ! -x "$BIN/hotline-intake" ] || [ ! -x "$BIN/hotline-dispatch" ]; then
  stop_term analytics
  log "SKIP upstream part: $BIN/hotline-intake or hotline-dispatch is not built (the" \
      "five-service end-to-end test covers it)"
  log "PASS: KPI API on an empty store, parameter errors, timeline 404/400, promtool-clean metrics"
  exit 0
fi
stop_term analytics
start intake "$BIN/hotline-intake" --data-dir "$T/in" --http-port 0 --bus 'tcp://127.0.0.1:*' \
  --port-file "$T/in.json" --feed "dispatch=tcp://127.0.0.1:$(free_port)" \
  --feed "sla=tcp://127.0.0.1:$(free_port)" --feed "callback=tcp://127.0.0.1:$(free_port)"
wait_port_file "$T/in.json"
IN_HTTP="http://127.0.0.1:$(json_get "$T/in.json" http)"
IN_BUS=$(json_get "$T/in.json" bus)
start dispatch "$BIN/hotline-dispatch" --data-dir "$T/di" --http-port 0 \
  --bus 'tcp://127.0.0.1:*' --port-file "$T/di.json" --feed "intake=$IN_BUS" \
  --feed "callback=tcp://127.0.0.1:$(free_port)"
wait_port_file "$T/di.json"
DI_BUS=$(json_get "$T/di.json" bus)
feeds=(--feed "intake=$IN_BUS" --feed "dispatch=$DI_BUS"
       --feed "sla=tcp://127.0.0.1:$(free_port)" --feed "callback=tcp://127.0.0.1:$(free_port)")
start_analytics "${feeds[@]}"

http POST "$IN_HTTP/v1/commands" '{"submitTicket": {"ticket": {"appealType": "APPEAL_HELP",
  "categoryCode": "W01", "urgency": "URGENCY_NORMAL", "channel": "CHANNEL_PHONE",
  "contact": {"name": "Li Ming", "phone": "13812345678"},
  "location": {"district": "North", "address": "1 Main Street"},
  "description": "No water since this morning"}}}' >"$T/sub.json"
[ "$HTTP_STATUS" = 200 ] || fail "intake refused the ticket ($HTTP_STATUS): $(cat "$T/sub.json")"
ID=$(json_get "$T/sub.json" submitTicket.ticketId)
log "submitted $ID"

PERIOD=$(python3 -c 'import datetime as d; t=(d.datetime.now(d.timezone.utc)+d.timedelta(hours=8)).date()
print(f"from={t-d.timedelta(days=1)}&to={t+d.timedelta(days=1)}")')
counted() {
  curl -sf "$A/v1/kpis?$PERIOD&by=category" >"$T/k.json" &&
    [ "$(json_get "$T/k.json" totals.received)" = 1 ] &&
    [ "$(json_get "$T/k.json" totals.dispatched)" = 1 ]
}
wait_until 30 counted
[ "$(json_get "$T/k.json" groups.0.key)" = W01 ] || fail "no W01 group: $(cat "$T/k.json")"
[ "$(json_get "$T/k.json" groups.0.received)" = 1 ] || fail "W01 did not count the ticket"
curl -sf "$A/v1/kpis?$PERIOD&by=unit" >"$T/u.json"
[ "$(json_get "$T/u.json" groups.0.dispatched)" = 1 ] || fail "no unit counted the dispatch"

http GET "$A/v1/tickets/$ID/timeline" >"$T/tl.json"
[ "$HTTP_STATUS" = 200 ] || fail "timeline of $ID answered $HTTP_STATUS"
python3 - "$T/tl.json" "$ID" <<'PY' || fail "timeline wrong: $(cat "$T/tl.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["ticketId"] == sys.argv[2]
ev = d["events"]
assert [e["source"] for e in ev[:2]] == ["intake", "dispatch"], ev
assert "ticketReceived" in ev[0] and "ticketDispatched" in ev[1], ev
times = [int(e["timeMs"]) for e in ev]
assert times == sorted(times), times
text = json.dumps(d)
assert "13812345678" not in text and "Li Ming" not in text, "personal data not masked"
PY

check_metrics "$T/m.txt"
grep -qx 'hotline_tickets_total{stage="received"} 1' "$T/m.txt" || fail "metrics: received != 1"
grep -qx 'hotline_tickets_total{stage="dispatched"} 1' "$T/m.txt" || fail "metrics: dispatched != 1"

# Counts survive a restart, and the replayed feeds (the cursor is stored) add nothing.
stop_term analytics
start_analytics "${feeds[@]}"
curl -sf "$A/metrics" >"$T/m2.txt"
grep -qx 'hotline_tickets_total{stage="received"} 1' "$T/m2.txt" ||
  fail "after a restart: $(grep 'stage="received"' "$T/m2.txt")"
counted || fail "after a restart the KPIs changed: $(cat "$T/k.json")"
# A rebuild from the kept events (rebuildOnStart for one start): progress and rate in the log,
# the same figures after it, and the metrics' totals (which only go up) unchanged.
cp "$T/k.json" "$T/k_before.json"
stop_term analytics
HOTLINE_REBUILD_ON_START=true start_analytics "${feeds[@]}"
grep -q 'event=analytics_rebuild_done .*events_per_second=' "$T/analytics.log" ||
  fail "no rebuild line in the log: $(grep rebuild "$T/analytics.log")"
grep 'event=analytics_rebuild_' "$T/analytics.log" | tail -2
counted || fail "after a rebuild: $(cat "$T/k.json")"
cmp -s <(json_get "$T/k.json" totals) <(json_get "$T/k_before.json" totals) ||
  fail "the rebuild changed the figures: $(cat "$T/k.json") vs $(cat "$T/k_before.json")"
curl -sf "$A/metrics" >"$T/m3.txt"
grep -qx 'hotline_tickets_total{stage="received"} 1' "$T/m3.txt" ||
  fail "the rebuild moved the metrics: $(grep 'stage="received"' "$T/m3.txt")"
stop_term analytics
log "PASS: KPI API, parameter errors, timeline, promtool-clean metrics, a real ticket counted" \
    "once via intake and dispatch, counts kept across a restart and a rebuild"
