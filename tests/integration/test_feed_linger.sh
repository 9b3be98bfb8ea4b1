#!/usr/bin/env bash
# feeds[].lingerMs: under a stream of events a lingering consumer commits far fewer times per
# event than one with lingerMs -1 (never; counts, not timings); after an idle spell a lone event is
# applied at once and the fetch after it is not delayed (no linger counted), so the next lone
# event is not delayed either; out-of-range values are refused with a clear error. Both
# consumers apply every event exactly once and in order.
source "$(dirname "$0")/../lib.sh"
LINGER=1000 # the most allowed: under any load, far above what one lone commit takes

start producer "$BIN/testproducer" --data-dir "$T/p" --bus 'tcp://127.0.0.1:*' --http-port 0 \
  --port-file "$T/p.json"
wait_port_file "$T/p.json"
BUS=$(json_get "$T/p.json" bus)

# consumer NAME LINGER_MS: a test consumer following the producer with that linger.
consumer() {
  cat > "$T/$1.config.json" <<JSON
{"runtime": {"feeds": [{"name": "producer", "endpoint": "$BUS", "batchMax": 1000,
  "waitMs": 1000, "lingerMs": $2}]}}
JSON
  start "$1" "$BIN/testconsumer" --config "$T/$1.config.json" --data-dir "$T/$1" \
    --bus 'tcp://127.0.0.1:*' --http-port 0 --port-file "$T/$1.json"
  wait_port_file "$T/$1.json"
}
url() { echo "http://127.0.0.1:$(json_get "$T/$1.json" http)"; }
metric() { # metric NAME SAMPLE: the consumer's sample value (0 when absent)
  curl -sf "$(url "$1")/metrics" | awk -v k="$2" '$1 == k {v = $2} END {print v + 0}'
}
BATCHES='hotline_feed_batches_total{producer="producer"}'
LINGERS='hotline_feed_lingers_total{producer="producer"}'
count() { curl -sf "$(url "$1")/v1/state" | json_get - count; }
reached() { [ "$(count "$1")" -ge "$2" ]; }
exactly_once() {
  local s; s=$(curl -sf "$(url "$1")/v1/state")
  [ "$(echo "$s" | json_get - duplicates)" = 0 ] && [ "$(echo "$s" | json_get - outOfOrder)" = 0 ] ||
    fail "$1 applied an event twice or out of order: $s"
}

# ---- an out-of-range lingerMs is refused at start-up, naming the key ----
cat > "$T/bad.config.json" <<JSON
{"runtime": {"feeds": [{"name": "producer", "endpoint": "$BUS", "lingerMs": 1001}]}}
JSON
if "$BIN/testconsumer" --config "$T/bad.config.json" --data-dir "$T/bad" \
  --bus 'tcp://127.0.0.1:*' --http-port 0 > "$T/bad.log" 2>&1; then
  fail "lingerMs 1001 was accepted"
fi
grep -q 'runtime.feeds\[0\].lingerMs (producer): 1001 is not 1 to 1000 ms, or -1' "$T/bad.log" ||
  fail "no clear error for lingerMs 1001: $(cat "$T/bad.log")"
sed -i 's/1001/-2/' "$T/bad.config.json"
if "$BIN/testconsumer" --config "$T/bad.config.json" --data-dir "$T/bad" \
  --bus 'tcp://127.0.0.1:*' --http-port 0 > "$T/bad.log" 2>&1; then
  fail "lingerMs -2 was accepted"
fi
grep -q 'lingerMs (producer): -2 is not 1 to 1000 ms, or -1' "$T/bad.log" ||
  fail "no clear error for lingerMs -2: $(cat "$T/bad.log")"
# Unset, the key takes the default.
printed=$("$BIN/testconsumer" --print-config)
[[ $printed == *'"lingerMs":20'* ]] || fail "the default lingerMs is not 20: $printed"
log "out-of-range lingerMs refused; default 20"

consumer plain -1
consumer linger "$LINGER"

# ---- a stream: 2,400 events, one per command, at 300 commands/s (8 s): a lingering batch
# ---- holds ~300, below batchMax / 2
N=2400
"$BIN/testclient" --bus "$BUS" --events $N --batch 1 --window 4 --rate 300 --payload 100 \
  --key s > "$T/stream.json" || fail "testclient: $(cat "$T/stream.json")"
wait_until 120 reached plain $N
wait_until 120 reached linger $N
exactly_once plain
exactly_once linger
bp=$(metric plain "$BATCHES"); bl=$(metric linger "$BATCHES")
lp=$(metric plain "$LINGERS"); ll=$(metric linger "$LINGERS")
log "stream of $N events: lingerMs -1: $bp commits ($lp lingers);" \
  "lingerMs $LINGER: $bl commits ($ll lingers)"
[ "$lp" = 0 ] || fail "lingerMs -1 lingered $lp times"
[ "$ll" -gt 0 ] || fail "lingerMs $LINGER never lingered in a stream"
# 8 s of stream at a 1 s linger: a few tens of commits at most; without it, one or a few
# events per commit (hundreds of commits, fewer only if each commit took ~100 ms).
[ "$bl" -le 40 ] || fail "lingerMs $LINGER: $bl commits for $N events (expected a handful)"
[ $(( bl * 4 )) -lt "$bp" ] ||
  fail "lingering did not cut commits: $bl with lingerMs $LINGER against $bp without"

# ---- idle, then a lone event: applied at once, and the next fetch is not delayed ----
sleep $(( LINGER * 3 / 1000 ))
l0=$(metric linger "$LINGERS")
curl -sf "$(url linger)/v1/latency?reset=1" > /dev/null
lone() { # lone N: append event N by itself and wait until the lingering consumer has it
  "$BIN/testclient" --bus "$BUS" --events 1 --batch 1 --offset $(( $1 - 1 )) --key "l$1" \
    > "$T/lone$1.json" || fail "testclient: $(cat "$T/lone$1.json")"
  wait_until 30 reached linger "$1"
}
lone $(( N + 1 ))
sleep 0.3
l1=$(metric linger "$LINGERS")
[ "$l1" = "$l0" ] ||
  fail "a lone event after an idle spell was followed by a linger ($l0 -> $l1 lingers)"
lone $(( N + 2 ))
lat=$(curl -sf "$(url linger)/v1/latency")
exactly_once linger
# Append-to-commit latency of the two lone events; a linger in their way would add 1,000 ms.
max_us=$(pyc 'import sys; print(int(float(sys.argv[1])))' "$(echo "$lat" | json_get - p99Us)")
log "lone events after idle, lingerMs $LINGER: append-to-commit $lat"
[ "$(echo "$lat" | json_get - count)" = 2 ] || fail "expected 2 latency samples: $lat"
[ "$max_us" -lt $(( LINGER * 1000 )) ] ||
  fail "a lone event after idle waited ${max_us} us, as long as the linger ($LINGER ms)"
log "PASS: feed linger: $bl commits against $bp for $N events; lone events not delayed"
