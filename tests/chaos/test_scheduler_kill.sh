#!/usr/bin/env bash
# The shared scheduler under SIGKILL: 100,000 entries come due over 25 s (a firing storm of
# about 4,000 a second, more after each restart) while the service is killed at random (at
# least 5 times while entries are still firing) and restarted. Each entry fires exactly once (one TestEvent per entry in the log, written in the transaction that
# removed the entry) and none before its instant (the event's time is at or after the due
# instant carried in its payload).
source "$(dirname "$0")/../lib.sh"
export TESTSCHED_N=${N:-100000} TESTSCHED_SPREAD_MS=25000
PORTF="$T/s.port"
up() {
  rm -f "$PORTF"
  start sched "$BIN/testsched" --data-dir "$T/s" --http-port 0 --bus 'tcp://127.0.0.1:*' \
    --port-file "$PORTF"
  wait_port_file "$PORTF"
  U="http://127.0.0.1:$(json_get "$PORTF" http)"
}
head_seq() { curl -sf "$U/v1/status" | json_get - headSeq; }
up
started() { [ "$(head_seq)" -ge 1 ]; }
wait_until 60 started # the storm has begun
# Kill at random moments for as long as entries come due; a restarted service is killed again
# whether or not it has finished starting.
kills=0
end=$(( $(date +%s) + TESTSCHED_SPREAD_MS / 1000 - 2 ))
while [ "$(date +%s)" -lt "$end" ]; do
  sleep "$(( RANDOM % 2 )).$(( RANDOM % 10 ))"
  stop9 sched
  kills=$(( kills + 1 ))
  rm -f "$PORTF"
  start sched "$BIN/testsched" --data-dir "$T/s" --http-port 0 --bus 'tcp://127.0.0.1:*' \
    --port-file "$PORTF"
done
wait_port_file "$PORTF"
U="http://127.0.0.1:$(json_get "$PORTF" http)"
log "$kills kills during the storm; $(head_seq) of $TESTSCHED_N fired when they stopped"
[ "$kills" -ge 5 ] || fail "only $kills kills landed during the storm"
all_fired() { [ "$(head_seq)" -ge "$TESTSCHED_N" ]; }
wait_until 120 all_fired
sleep 1 # a double firing would show up now
python3 - "$U" "$TESTSCHED_N" <<'PY' || fail "the scheduler fired an entry twice, never, or early"
import base64, collections, json, sys, urllib.request
url, n = sys.argv[1], int(sys.argv[2])
seen, early, after = collections.Counter(), [], 0
while True:
    page = json.load(urllib.request.urlopen(f"{url}/v1/events?after={after}&limit=1000"))
    if not page["events"]:
        break
    for e in page["events"]:
        k = int(e["test"]["n"])
        seen[k] += 1
        due = int.from_bytes(base64.b64decode(e["test"]["payload"]), "big")
        if int(e["timeMs"]) < due:
            early.append((k, due, e["timeMs"]))
    after = int(page["events"][-1]["seq"])
twice = [k for k, c in seen.items() if c > 1]
missing = n - len(seen)
print(f"{n} entries: {len(seen)} fired, {len(twice)} twice, {missing} never, {len(early)} early")
sys.exit(1 if twice or missing or early or set(seen) != set(range(1, n + 1)) else 0)
PY
log "PASS: $TESTSCHED_N entries through $kills SIGKILLs: each fired once, none early"
stop_term sched
