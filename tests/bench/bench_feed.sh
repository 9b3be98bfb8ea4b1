#!/usr/bin/env bash
# Feed benchmarks with real processes over TCP on loopback (durable, full sync):
#  1. throughput: the client appends as fast as it is answered, the consumer follows;
#     events/s end to end and append-to-consumer-commit latency p50 / p99;
#  2. latency at a steady moderate rate (1,000 appends/s, one event each);
#  3. catch-up: 1,000,000 events produced while the consumer is down, then its rate;
#  4. the throughput run again on a fresh pair whose bus is CURVE-encrypted (ZAP allow-list),
#     beside the plain one of 1.
# Usage: HOTLINE_BIN=build/release/bin tests/bench/bench_feed.sh
source "$(dirname "$0")/../lib.sh"
N=${N:-200000}
BACKLOG=${BACKLOG:-1000000}

start producer "$BIN/testproducer" --data-dir "$T/p" --bus 'tcp://127.0.0.1:*' \
  --http-port 0 --port-file "$T/p.json" --log-level warn
wait_port_file "$T/p.json"
BUS=$(json_get "$T/p.json" bus)
start_consumer() {
  rm -f "$T/c.json"
  start consumer "$BIN/testconsumer" --data-dir "$T/c" --bus 'tcp://127.0.0.1:*' \
    --http-port 0 --feed "producer=$BUS" --port-file "$T/c.json" --log-level warn
  wait_port_file "$T/c.json"
  C="http://127.0.0.1:$(json_get "$T/c.json" http)"
}
start_consumer
count() { curl -sf "$C/v1/state" | json_get - count; }
reached() { [ "$(count)" -ge "$1" ]; }

# 1. throughput
t0=$(date +%s.%N)
"$BIN/testclient" --bus "$BUS" --events "$N" --batch 100 --window 16 --payload 200 --key t1 \
  > "$T/t1.json"
wait_until 300 reached "$N"
t1=$(date +%s.%N)
lat=$(curl -sf "$C/v1/latency?reset=1")
echo "{\"bench\": \"feed_throughput\", \"events\": $N, \"events_per_s\": $(python3 -c "print(round($N/($t1-$t0)))"), \"append_to_consumer_commit_p50_us\": $(echo "$lat" | json_get - p50Us), \"p99_us\": $(echo "$lat" | json_get - p99Us), \"producer_side\": $(cat "$T/t1.json")}"

# 2. latency at 1,000 appends/s
"$BIN/testclient" --bus "$BUS" --events 10000 --batch 1 --window 4 --rate 1000 --payload 200 \
  --offset "$N" --key t2 > "$T/t2.json"
wait_until 60 reached $(( N + 10000 ))
lat=$(curl -sf "$C/v1/latency?reset=1")
echo "{\"bench\": \"feed_latency_at_1000_per_s\", \"append_to_consumer_commit_p50_us\": $(echo "$lat" | json_get - p50Us), \"p99_us\": $(echo "$lat" | json_get - p99Us), \"command_ack\": $(cat "$T/t2.json")}"

# 3. catch-up after a backlog on disk
stop_term consumer
"$BIN/testclient" --bus "$BUS" --events "$BACKLOG" --batch 1000 --window 4 --payload 200 \
  --offset $(( N + 10000 )) --key t3 > "$T/t3.json"
t0=$(date +%s.%N)
start_consumer
total=$(( N + 10000 + BACKLOG ))
wait_until 600 reached "$total"
t1=$(date +%s.%N)
echo "{\"bench\": \"feed_catch_up\", \"backlog_events\": $BACKLOG, \"seconds\": $(python3 -c "print(round($t1-$t0,2))"), \"events_per_s\": $(python3 -c "print(round($BACKLOG/($t1-$t0)))")}"
stop_term consumer
stop_term producer

# 4. throughput with CURVE on the producer's bus (and the client's and consumer's keys on its
#    allow-list)
"$BIN/hotline" keys --dir "$T/keys" producer consumer client >/dev/null
pub() { cat "$T/keys/$1.pub"; }
cat > "$T/pc.json" <<JSON
{"runtime": {"auth": {"disabled": true, "curve": {"secretKeyFile": "$T/keys/producer.key",
  "clients": [{"name": "consumer", "publicKey": "$(pub consumer)"},
              {"name": "client", "publicKey": "$(pub client)"}]}}}}
JSON
rm -f "$T/p.json"
start producer "$BIN/testproducer" --config "$T/pc.json" --data-dir "$T/p2" \
  --bus 'tcp://127.0.0.1:*' --http-port 0 --port-file "$T/p.json" --log-level warn
wait_port_file "$T/p.json"
BUS=$(json_get "$T/p.json" bus)
cat > "$T/cc.json" <<JSON
{"runtime": {"auth": {"disabled": true, "curve": {"secretKeyFile": "$T/keys/consumer.key"}},
  "feeds": [{"name": "producer", "endpoint": "$BUS", "serverKey": "$(pub producer)"}]}}
JSON
rm -f "$T/c.json"
start consumer "$BIN/testconsumer" --config "$T/cc.json" --data-dir "$T/c2" \
  --bus 'tcp://127.0.0.1:*' --http-port 0 --port-file "$T/c.json" --log-level warn
wait_port_file "$T/c.json"
C="http://127.0.0.1:$(json_get "$T/c.json" http)"
t0=$(date +%s.%N)
HOTLINE_CURVE_SECRET_KEY_FILE="$T/keys/client.key" HOTLINE_CURVE_SERVER_KEY="$(pub producer)" \
  "$BIN/testclient" --bus "$BUS" --events "$N" --batch 100 --window 16 --payload 200 --key t4 \
  > "$T/t4.json"
wait_until 300 reached "$N"
t1=$(date +%s.%N)
lat=$(curl -sf "$C/v1/latency?reset=1")
echo "{\"bench\": \"feed_throughput_curve\", \"events\": $N, \"events_per_s\": $(python3 -c "print(round($N/($t1-$t0)))"), \"append_to_consumer_commit_p50_us\": $(echo "$lat" | json_get - p50Us), \"p99_us\": $(echo "$lat" | json_get - p99Us), \"producer_side\": $(cat "$T/t4.json")}"
stop_term consumer
stop_term producer
