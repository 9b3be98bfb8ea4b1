#!/usr/bin/env bash
# hotline_feed_lag_seconds: 0 for a consumer that has applied the producer's head, however old
# the events; for a consumer that cannot apply (its store is at its size limit), the age of the
# oldest event it has not applied, by its own clock. The producer's test clock stands two hours
# back, so its events are two hours old when they arrive and the figure is known in advance.
source "$(dirname "$0")/../lib.sh"

start producer "$BIN/testproducer" --data-dir "$T/p" --bus 'tcp://127.0.0.1:*' --http-port 0 \
  --test-clock --port-file "$T/p.json"
wait_port_file "$T/p.json"
P="http://127.0.0.1:$(json_get "$T/p.json" http)"
BUS=$(json_get "$T/p.json" bus)
back_ms=$(( $(date +%s%3N) - 2 * 3600 * 1000 ))
http POST "$P/admin/clock" "{\"nowMs\": $back_ms}" >/dev/null
[ "$HTTP_STATUS" = 200 ] || fail "the producer's clock did not move ($HTTP_STATUS)"

metric() { # metric URL NAME{LABELS}: the sample's value, or nothing
  curl -sf "$1/metrics" | awk -v k="$2" '$1 == k {print $2}'
}
LAG_S='hotline_feed_lag_seconds{producer="producer"}'
LAG_N='hotline_feed_lag_events{producer="producer"}'

# ---- caught up: 0, although every event is two hours old ----
http POST "$P/v1/commands" '{"testAppend": {"count": "20"}}' >/dev/null
[ "$HTTP_STATUS" = 200 ] || fail "append $HTTP_STATUS"
start fast "$BIN/testconsumer" --data-dir "$T/fast" --bus 'tcp://127.0.0.1:*' --http-port 0 \
  --feed "producer=$BUS" --port-file "$T/fast.json"
wait_port_file "$T/fast.json"
F="http://127.0.0.1:$(json_get "$T/fast.json" http)"
caught_up() { [ "$(metric "$F" 'hotline_feed_cursor_seq{producer="producer"}')" = 20 ]; }
wait_until 20 caught_up
[ "$(metric "$F" "$LAG_N")" = 0 ] || fail "caught up, yet $LAG_N = $(metric "$F" "$LAG_N")"
[ "$(metric "$F" "$LAG_S")" = 0 ] || fail "caught up, yet $LAG_S = $(metric "$F" "$LAG_S")"
log "caught up: lag 0 events, 0 s"

# ---- stuck: a consumer whose store cannot grow stops applying; its lag is the age of the ----
# ---- first event it could not apply: two hours and the few seconds the test took         ----
http POST "$P/v1/commands" '{"testAppend": {"count": "60000", "firstN": "21"}}' >/dev/null
[ "$HTTP_STATUS" = 200 ] || fail "append $HTTP_STATUS"
HOTLINE_RUNTIME_STORE_MAP_SIZE_MB=1 HOTLINE_RUNTIME_STORE_MAX_MAP_SIZE_MB=1 \
  start stuck "$BIN/testconsumer" --data-dir "$T/stuck" --bus 'tcp://127.0.0.1:*' \
  --http-port 0 --feed "producer=$BUS" --port-file "$T/stuck.json"
wait_port_file "$T/stuck.json"
S="http://127.0.0.1:$(json_get "$T/stuck.json" http)"
stuck() {
  curl -sf "$S/metrics" >"$T/stuck.metrics" &&
    grep -q '^hotline_store_full 1$' "$T/stuck.metrics" &&
    grep -q "^hotline_feed_lag_events{producer=\"producer\"} [1-9]" "$T/stuck.metrics"
}
wait_until 60 stuck
lag=$(metric "$S" "$LAG_S")
python3 -c 'import sys; lag = float(sys.argv[1]); sys.exit(0 if 7200 <= lag < 7260 else 1)' \
  "$lag" || fail "stuck two hours behind, yet $LAG_S = $lag"
log "stuck at cursor $(metric "$S" 'hotline_feed_cursor_seq{producer="producer"}'):" \
  "lag $(metric "$S" "$LAG_N") events, $lag s"
log "PASS: feed lag in seconds, caught up and stuck"
