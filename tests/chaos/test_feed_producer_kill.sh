#!/usr/bin/env bash
# A client appends 100,000 events while the producer is killed with SIGKILL at random moments
# (at least 5 times) and restarted on the same endpoint. Every event it acknowledged is still
# there afterwards, exactly once (resends carry the same idempotency key), and the consumer
# following it ends with every event exactly once and in order.
source "$(dirname "$0")/../lib.sh"
EVENTS=${EVENTS:-100000}
KILLS=${KILLS:-6}
PORT=$(free_port)
BUS="tcp://127.0.0.1:$PORT"

start_producer() {
  rm -f "$T/p.json"
  start producer "$BIN/testproducer" --data-dir "$T/p" --bus "$BUS" --http-port 0 \
    --port-file "$T/p.json"
  wait_port_file "$T/p.json"
}
start_producer
start consumer "$BIN/testconsumer" --data-dir "$T/c" --bus 'tcp://127.0.0.1:*' \
  --http-port 0 --feed "producer=$BUS" --port-file "$T/c.json"
wait_port_file "$T/c.json"

start client "$BIN/testclient" --bus "$BUS" --events "$EVENTS" --batch 10 --window 4 --rate 1000 \
  --timeout-ms 1000 --key pk --progress "$T/progress"

# Kill at random moments while the client is still producing: $KILLS times, then let it end.
i=0
during=0   # kills that happened while the client was still appending
while [ "$i" -lt "$KILLS" ]; do
  i=$(( i + 1 ))
  sleep "0.$(( RANDOM % 7 + 3 ))"
  acked=$(cat "$T/progress" 2>/dev/null || echo 0)
  log "kill -9 producer (#$i), client had $acked events acknowledged"
  kill -0 "${PIDS[client]}" 2>/dev/null && during=$(( during + 1 ))
  stop9 producer
  start_producer
  head=$(curl -sf "http://127.0.0.1:$(json_get "$T/p.json" http)/v1/status" | json_get - headSeq)
  # Everything acknowledged before the kill must have survived it.
  [ "$head" -ge "$acked" ] || fail "producer restarted with head $head < $acked acknowledged"
done

wait "${PIDS[client]}" || fail "the client failed"
[ "$during" -ge "$KILLS" ] || fail "only $during kills landed while the client was appending"
unset 'PIDS[client]'
log "client: $(tail -n 1 "$T/client.log")"
head=$(curl -sf "http://127.0.0.1:$(json_get "$T/p.json" http)/v1/status" | json_get - headSeq)
[ "$head" = "$EVENTS" ] || fail "producer head is $head: expected exactly $EVENTS (no loss, no double append)"
C="http://127.0.0.1:$(json_get "$T/c.json" http)"
caught_up() { [ "$(curl -sf "$C/v1/state" | json_get - count)" -ge "$EVENTS" ]; }
wait_until 120 caught_up
state=$(curl -sf "$C/v1/state")
log "consumer state: $state"
[ "$(echo "$state" | json_get - count)" = "$EVENTS" ] || fail "consumer count is not $EVENTS"
[ "$(echo "$state" | json_get - duplicates)" = 0 ] || fail "events applied twice"
[ "$(echo "$state" | json_get - outOfOrder)" = 0 ] || fail "events applied out of order"
stop_term consumer
stop_term producer
log "PASS: $EVENTS acknowledged events kept exactly once across $i producer kills (SIGKILL)"
