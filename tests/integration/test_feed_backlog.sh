#!/usr/bin/env bash
# With the consumer down, 1,000,000 events are produced: the producer's anonymous resident
# memory stays flat (the backlog is on disk, in its LMDB log, not in memory). The consumer,
# started afterwards, catches up on all of them exactly once.
source "$(dirname "$0")/../lib.sh"
EVENTS=${EVENTS:-1000000}
STEP=$(( EVENTS / 10 ))
MAX_GROWTH_KB=${MAX_GROWTH_KB:-16384}

start producer "$BIN/testproducer" --data-dir "$T/p" --bus 'tcp://127.0.0.1:*' \
  --http-port 0 --port-file "$T/p.json"
wait_port_file "$T/p.json"
BUS=$(json_get "$T/p.json" bus)
PID=${PIDS[producer]}

# The first tenth warms up allocator pools and LMDB's map; growth is measured after it.
"$BIN/testclient" --bus "$BUS" --events "$STEP" --batch 1000 --window 4 --key warm >/dev/null
base=$(rss_anon_kb "$PID")
samples="$base"
for i in $(seq 1 9); do
  "$BIN/testclient" --bus "$BUS" --events "$STEP" --batch 1000 --window 4 --key "b$i" \
    --offset $(( i * STEP )) >/dev/null
  samples="$samples $(rss_anon_kb "$PID")"
done
peak=$(echo "$samples" | tr ' ' '\n' | sort -n | tail -n 1)
head=$(curl -sf "http://127.0.0.1:$(json_get "$T/p.json" http)/v1/status" | json_get - headSeq)
log "producer RssAnon (kB) after each 10% of $EVENTS events: $samples"
[ "$head" = "$EVENTS" ] || fail "producer head $head, expected $EVENTS"
[ $(( peak - base )) -le "$MAX_GROWTH_KB" ] ||
  fail "producer memory grew by $(( peak - base )) kB with the backlog (limit $MAX_GROWTH_KB kB)"

t0=$(date +%s.%N)
start consumer "$BIN/testconsumer" --data-dir "$T/c" --bus 'tcp://127.0.0.1:*' \
  --http-port 0 --feed "producer=$BUS" --port-file "$T/c.json"
wait_port_file "$T/c.json"
C="http://127.0.0.1:$(json_get "$T/c.json" http)"
caught_up() { [ "$(curl -sf "$C/v1/state" | json_get - count)" -ge "$EVENTS" ]; }
wait_until 280 caught_up
t1=$(date +%s.%N)
state=$(curl -sf "$C/v1/state")
[ "$(echo "$state" | json_get - duplicates)" = 0 ] || fail "duplicates after catch-up"
[ "$(echo "$state" | json_get - outOfOrder)" = 0 ] || fail "out of order after catch-up"
[ "$(echo "$state" | json_get - maxN)" = "$EVENTS" ] || fail "unexpected event numbers"
log "consumer caught up on $EVENTS events in $(python3 -c "print(round($t1-$t0,1))") s (this build)"
stop_term consumer
stop_term producer
log "PASS: backlog of $EVENTS on disk, producer memory growth $(( peak - base )) kB"
