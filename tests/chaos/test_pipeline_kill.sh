#!/usr/bin/env bash
# 5,000 tickets submitted to intake at full speed while dispatch, sla, callback and analytics
# are each killed with SIGKILL and restarted at random moments. Afterwards every acknowledged
# ticket is dispatched exactly once, has exactly one set of clocks (sign + reply), and
# analytics counts exactly 5,000 received and dispatched. Access checks are on: the load
# client submits as an operator over the bus with its bearer token, and the services follow
# each other's feeds with a service token.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pipeline.sh"
auth_on
mint service "pipeline services" > "$T/auth/service.token"
export HOTLINE_RUNTIME_AUTH_SERVICE_TOKEN_FILE="$T/auth/service.token"
ADMIN=$(mint admin chaos-admin)
SERVICE_TOKEN=$(cat "$T/auth/service.token")
N=${N:-5000}
CHAOS_SECONDS=${CHAOS_SECONDS:-20}

# Who follows whom, as `hotline up` wires it (cli/cli_up.c).
declare -A FOLLOWS=([intake]="dispatch sla callback" [dispatch]="intake callback"
                    [sla]="dispatch" [callback]="dispatch intake"
                    [analytics]="intake dispatch sla callback")
bus() { echo "tcp://127.0.0.1:$(( BASE + 10 + $(svc_index "$1") ))"; }
start_svc() {
  local s=$1 args=()
  for p in ${FOLLOWS[$s]}; do args+=(--feed "$p=$(bus "$p")"); done
  start "$s" "$BIN/hotline-$s" --data-dir "$T/$s" --http-port $(( BASE + $(svc_index "$s") )) \
    --bus "$(bus "$s")" "${args[@]}"
}
ready() { curl -sf "$(svc_url "$1")/readyz" >/dev/null; }
for s in "${SERVICES[@]}"; do start_svc "$s"; done
for s in "${SERVICES[@]}"; do wait_until 30 ready "$s"; done

HOTLINE_TOKEN=$(mint operator chaos-load) start load "$BIN/testclient" --bus "$(bus intake)" --kind ticket --events "$N" --window 64 \
  --timeout-ms 2000 --key chaos --progress "$T/progress"

VICTIMS=(dispatch sla callback analytics)
declare -A KILLS=()
end=$(( $(date +%s) + CHAOS_SECONDS ))
while [ "$(date +%s)" -lt "$end" ]; do
  for s in $(printf '%s\n' "${VICTIMS[@]}" | shuf); do
    sleep "0.$(( RANDOM % 6 + 2 ))"
    log "kill -9 $s (acknowledged so far: $(cat "$T/progress" 2>/dev/null || echo 0))"
    stop9 "$s"
    KILLS[$s]=$(( ${KILLS[$s]:-0} + 1 ))
    start_svc "$s"
  done
done
wait "${PIDS[load]}" || fail "the load client failed"
unset 'PIDS[load]'
log "load: $(tail -n 1 "$T/load.log")"
[ "$(json_get - commands < <(tail -n 1 "$T/load.log"))" = "$N" ] || fail "not every ticket was acknowledged"
for s in "${VICTIMS[@]}"; do
  [ "${KILLS[$s]:-0}" -ge 2 ] || fail "$s was killed only ${KILLS[$s]:-0} times"
done
log "kills: $(for s in "${VICTIMS[@]}"; do printf '%s=%s ' "$s" "${KILLS[$s]}"; done)"

caught_up() {
  [ "$(events_count dispatch ticket_dispatched)" -ge "$N" ] &&
  [ "$(events_count sla sla_clock_started)" -ge $(( 2 * N )) ] &&
  [ "$(curl -sf "$(svc_url analytics)/metrics" | awk '$1 == "hotline_tickets_total{stage=\"dispatched\"}" {print $2}')" -ge "$N" ]
}
wait_until 240 caught_up
sleep 2 # anything applied twice would show up now
[ "$(events_count intake ticket_received)" = "$N" ] || fail "intake recorded $(events_count intake ticket_received)"
[ "$(events_count dispatch ticket_dispatched)" = "$N" ] ||
  fail "dispatch appended $(events_count dispatch ticket_dispatched) TicketDispatched for $N tickets"
[ "$(events_count sla sla_clock_started)" = $(( 2 * N )) ] ||
  fail "sla started $(events_count sla sla_clock_started) clocks for $N tickets"

# Every ticket exactly once in dispatch's log, and exactly one SIGN and one REPLY clock in sla's.
python3 - "$(svc_url dispatch)" "$(svc_url sla)" "$N" "$SERVICE_TOKEN" <<'PY' || fail "per-ticket check failed"
import collections, json, sys, urllib.request
def events(url):
    after = 0
    while True:
        req = urllib.request.Request(f"{url}/v1/events?after={after}&limit=1000",
                                     headers={"Authorization": "Bearer " + sys.argv[4]})
        page = json.load(urllib.request.urlopen(req))
        if not page["events"]:
            return
        for e in page["events"]:
            yield e
        after = int(page["events"][-1]["seq"])
dispatch_url, sla_url, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
dispatched = collections.Counter(e["ticketId"] for e in events(dispatch_url) if "ticketDispatched" in e)
assert len(dispatched) == n and set(dispatched.values()) == {1}, ("dispatch", len(dispatched), dispatched.most_common(3))
clocks = collections.Counter((e["ticketId"], e["slaClockStarted"]["clock"]) for e in events(sla_url) if "slaClockStarted" in e)
assert len(clocks) == 2 * n and set(clocks.values()) == {1}, ("sla", len(clocks), clocks.most_common(3))
assert {t for t, _ in clocks} == set(dispatched), "clocks for tickets never dispatched"
print(f"{n} tickets: each dispatched once, each with one sign and one reply clock")
PY
today=$(TZ=Asia/Shanghai date +%F)
yesterday=$(TZ=Asia/Shanghai date -d yesterday +%F)
curl -sf -H "Authorization: Bearer $ADMIN" "$(svc_url analytics)/v1/kpis?from=$yesterday&to=$today" > "$T/kpis.json"
[ "$(json_get "$T/kpis.json" totals.received)" = "$N" ] || fail "analytics received $(json_get "$T/kpis.json" totals.received)"
[ "$(json_get "$T/kpis.json" totals.dispatched)" = "$N" ] || fail "analytics dispatched $(json_get "$T/kpis.json" totals.dispatched)"
[ "$(json_get "$T/kpis.json" totals.signStarted)" = "$N" ] || fail "analytics sign clocks $(json_get "$T/kpis.json" totals.signStarted)"
for s in "${SERVICES[@]}"; do stop_term "$s"; done
log "PASS: $N tickets through $(( ${KILLS[dispatch]} + ${KILLS[sla]} + ${KILLS[callback]} + ${KILLS[analytics]} )) SIGKILLs: dispatched once each, one set of clocks each, analytics counts $N"
