#!/usr/bin/env bash
# Retention: the producer trims its log only below its consumers' cursors and past the
# retention window. A consumer that is down holds the log for itself and, when it returns,
# finds every event it missed (no gap). Time is moved with the test clock.
source "$(dirname "$0")/../lib.sh"
export HOTLINE_RUNTIME_EVENT_LOG_TRIM_INTERVAL_MS=200
export HOTLINE_RUNTIME_EVENT_LOG_RETENTION_HOURS=1

start producer "$BIN/testproducer" --data-dir "$T/p" --bus 'tcp://127.0.0.1:*' --http-port 0 \
  --port-file "$T/p.json" --test-clock
wait_port_file "$T/p.json"
BUS=$(json_get "$T/p.json" bus)
P="http://127.0.0.1:$(json_get "$T/p.json" http)"
start_consumer() {
  rm -f "$T/c.json"
  start consumer "$BIN/testconsumer" --data-dir "$T/c" --bus 'tcp://127.0.0.1:*' \
    --http-port 0 --feed "producer=$BUS" --port-file "$T/c.json"
  wait_port_file "$T/c.json"
  C="http://127.0.0.1:$(json_get "$T/c.json" http)"
}
first() { curl -sf "$P/v1/status" | json_get - firstSeq; }
count() { curl -sf "$C/v1/state" | json_get - count; }

start_consumer
"$BIN/testclient" --bus "$BUS" --events 1000 --batch 100 --key r1 >/dev/null
has() { [ "$(count)" -ge "$1" ]; }
wait_until 30 has 1000
# Young events stay even though the consumer has them all.
sleep 0.6
[ "$(first)" = 1 ] || fail "events younger than the retention window were trimmed"
http POST "$P/admin/clock" '{"advanceMs": 7200000}' >/dev/null
[ "$HTTP_STATUS" = 200 ] || fail "test clock refused"
trimmed_to() { [ "$(first)" = "$1" ]; }
wait_until 10 trimmed_to 1000   # the last event stays: it carries the head
log "old events consumed by everyone trimmed: firstSeq=$(first)"

# The consumer goes away; what it has not seen must stay, however old.
stop_term consumer
"$BIN/testclient" --bus "$BUS" --events 1000 --batch 100 --key r2 --offset 1000 >/dev/null
http POST "$P/admin/clock" '{"advanceMs": 7200000}' >/dev/null
sleep 1   # five maintenance passes
# It had applied 1..1000: 1000 may go now, 1001 onwards must stay.
[ "$(first)" = 1001 ] || fail "the log was trimmed past a stopped consumer's cursor (firstSeq $(first))"
start_consumer
wait_until 30 has 2000
state=$(curl -sf "$C/v1/state")
[ "$(echo "$state" | json_get - duplicates)" = 0 ] || fail "duplicates"
[ "$(echo "$state" | json_get - outOfOrder)" = 0 ] || fail "gap or disorder after the consumer returned"
gaps=$(curl -sf "$C/metrics" | awk '/^hotline_feed_gaps_total/ {print $2}')
[ "${gaps:-0}" = 0 ] || fail "the consumer saw a gap"
# Once it has caught up, everything old goes but the last event: 1999 trimmed in all.
trimmed_all() { [ "$(curl -sf "$P/metrics" | awk '/^hotline_event_log_trimmed_total/ {print $2}')" = 1999 ]; }
wait_until 10 trimmed_all
stop_term consumer
stop_term producer
log "PASS: trimming waits for every consumer and for the retention window"
