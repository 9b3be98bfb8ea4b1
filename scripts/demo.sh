#!/usr/bin/env bash
# The quick start: install what is missing, build, start the runtime on loopback and show it
# working. Until the five services land (issue 3) the demo runs the runtime's own pair of
# processes: a producer with a durable event log and a consumer following its feed.
#   scripts/demo.sh            run the demo, keep the pair running until Ctrl-C
#   scripts/demo.sh --once     run the demo and stop
set -euo pipefail
cd "$(dirname "$0")/.."
ONCE=${1:-}
scripts/deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc)" >/dev/null
BIN=$PWD/build/release/bin
DATA=${HOTLINE_DATA_DIR:-$PWD/var/demo}
mkdir -p "$DATA"
PIDS=()
trap 'kill ${PIDS[*]} 2>/dev/null; wait 2>/dev/null' EXIT
port() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

rm -f "$DATA"/*.json
"$BIN/testproducer" --data-dir "$DATA/producer" --port-file "$DATA/producer.json" \
  --log-level warn & PIDS+=($!)
until [ -s "$DATA/producer.json" ]; do sleep 0.1; done
BUS=$(port "$DATA/producer.json" bus)
PHTTP=$(port "$DATA/producer.json" http)
"$BIN/testconsumer" --data-dir "$DATA/consumer" --feed "producer=$BUS" \
  --port-file "$DATA/consumer.json" --log-level warn & PIDS+=($!)
until [ -s "$DATA/consumer.json" ]; do sleep 0.1; done
CHTTP=$(port "$DATA/consumer.json" http)

before=$(curl -s "http://127.0.0.1:$PHTTP/v1/status" | port /dev/stdin headSeq)
echo "== appending 50,000 durable events to the producer (group commit, full fsync)"
"$BIN/testclient" --bus "$BUS" --events 50000 --batch 100 --window 8 --key "demo-$(date +%s)" \
  --offset "$before"
echo "== the consumer follows the producer's feed and applies each event exactly once"
for _ in $(seq 1 100); do
  n=$(curl -s "http://127.0.0.1:$CHTTP/v1/state" | port /dev/stdin count)
  [ "$n" -ge $(( before + 50000 )) ] && break
  sleep 0.1
done
curl -s "http://127.0.0.1:$CHTTP/v1/state"
echo "== a command over HTTP (JSON mapped onto protobuf), then the same key again:"
curl -s -X POST -H 'Idempotency-Key: demo-http-1' "http://127.0.0.1:$PHTTP/v1/commands" \
  -d '{"testAppend": {"count": "1"}}'
curl -s -X POST -H 'Idempotency-Key: demo-http-1' "http://127.0.0.1:$PHTTP/v1/commands" \
  -d '{"testAppend": {"count": "1"}}'
echo "== a bad command gets an error naming the field:"
curl -s -X POST "http://127.0.0.1:$PHTTP/v1/commands" -d '{"testAppend": {"count": "lots"}}'
echo "== metrics (excerpt):"
curl -s "http://127.0.0.1:$CHTTP/metrics" | grep -E '^hotline_(feed_cursor|feed_lag|commits_total)'
cat <<TXT

Data is under $DATA. Try:
  curl -s http://127.0.0.1:$PHTTP/v1/status
  curl -s 'http://127.0.0.1:$PHTTP/v1/events?after=0&limit=3'
  curl -s http://127.0.0.1:$CHTTP/metrics
  kill -9 \$(pgrep testconsumer) and run this script again: nothing is lost or applied twice.
TXT
if [ "$ONCE" != "--once" ]; then
  echo "Running; Ctrl-C stops both processes."
  wait
fi
