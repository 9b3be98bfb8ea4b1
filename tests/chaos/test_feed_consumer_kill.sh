#!/usr/bin/env bash
# A producer appends 100,000 events while the consumer is killed with SIGKILL at random
# moments (at least 5 times) and restarted. Afterwards the consumer holds every event exactly
# once and in log order.
source "$(dirname "$0")/../lib.sh"
EVENTS=${EVENTS:-100000}
KILLS=${KILLS:-6}

start producer "$BIN/testproducer" --data-dir "$T/p" --bus 'tcp://127.0.0.1:*' \
  --http-port 0 --port-file "$T/p.json"
wait_port_file "$T/p.json"
BUS=$(json_get "$T/p.json" bus)
PHTTP=$(json_get "$T/p.json" http)

start_consumer() {
  rm -f "$T/c.json"
  start consumer "$BIN/testconsumer" --data-dir "$T/c" --bus 'tcp://127.0.0.1:*' \
    --http-port 0 --feed "producer=$BUS" --port-file "$T/c.json"
  wait_port_file "$T/c.json"
}
start_consumer

start client "$BIN/testclient" --bus "$BUS" --events "$EVENTS" --batch 10 --window 4 --rate 1000 \
  --key chaos --progress "$T/progress"

# Kill at random moments while the client is still producing: $KILLS times, then let it end.
i=0
during=0   # kills that happened while the client was still appending
while [ "$i" -lt "$KILLS" ]; do
  i=$(( i + 1 ))
  sleep "0.$(( RANDOM % 7 + 3 ))"
  applied=$(curl -sf "http://127.0.0.1:$(json_get "$T/c.json" http)/v1/state" | json_get - count || echo '?')
  log "kill -9 consumer (#$i), it had applied $applied"
  kill -0 "${PIDS[client]}" 2>/dev/null && during=$(( during + 1 ))
  stop9 consumer
  start_consumer
done

wait "${PIDS[client]}" || fail "the client failed"
[ "$during" -ge "$KILLS" ] || fail "only $during kills landed while the client was appending"
unset 'PIDS[client]'
log "client: $(tail -n 1 "$T/client.log")"
C="http://127.0.0.1:$(json_get "$T/c.json" http)"
caught_up() { [ "$(curl -sf "$C/v1/state" | json_get - count)" -ge "$EVENTS" ]; }
wait_until 120 caught_up
state=$(curl -sf "$C/v1/state")
log "consumer state: $state"
[ "$(echo "$state" | json_get - count)" = "$EVENTS" ] || fail "count is not $EVENTS"
[ "$(echo "$state" | json_get - duplicates)" = 0 ] || fail "events applied twice"
[ "$(echo "$state" | json_get - outOfOrder)" = 0 ] || fail "events applied out of order"
[ "$(echo "$state" | json_get - maxN)" = "$EVENTS" ] || fail "unexpected event numbers"
[ "$(echo "$state" | json_get - lastSeq)" = "$EVENTS" ] || fail "last seq is not $EVENTS"
head=$(curl -sf "http://127.0.0.1:$PHTTP/v1/status" | json_get - headSeq)
[ "$head" = "$EVENTS" ] || fail "producer head is $head, expected $EVENTS"
stop_term consumer
stop_term producer
log "PASS: $EVENTS events exactly once, in order, across $i consumer kills (SIGKILL)"
