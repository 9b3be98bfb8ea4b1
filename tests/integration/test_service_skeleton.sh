#!/usr/bin/env bash
# The shared service skeleton, on the test pair: help and errors for bad arguments and bad
# configuration (naming the key), --print-config, the built-in routes, /metrics accepted by
# promtool, SIGTERM answered with a clean exit after a last commit.
source "$(dirname "$0")/../lib.sh"
PROD="$BIN/testproducer"

# (Outputs are captured before matching: with pipefail, grep -q closing a pipe early would
# fail the writer with SIGPIPE.)
[[ "$("$PROD" --help)" == *"--data-dir DIR"* ]] || fail "--help does not list the options"
[[ "$("$PROD" --version)" == *hotline* ]] || fail "--version"
expect_exit() { # expect_exit CODE PATTERN CMD...: exit code and a message on stderr
  local code=$1 pattern=$2 rc=0; shift 2
  "$@" >"$T/out" 2>"$T/err" || rc=$?
  [ "$rc" = "$code" ] || fail "$* exited $rc, expected $code: $(cat "$T/err")"
  grep -q -- "$pattern" "$T/err" || fail "$*: stderr lacks '$pattern': $(cat "$T/err")"
}
expect_exit 2 "unexpected argument 'stray'" "$PROD" stray
expect_exit 2 "not a port number" "$PROD" --http-port 99999
expect_exit 2 "is not NAME=ENDPOINT" "$PROD" --feed nonsense
echo '{"runtime": {"http": {"port": "eighty"}}}' > "$T/bad.json"
expect_exit 2 "runtime.http.port" "$PROD" --config "$T/bad.json"
echo '{"runtime": {"htpp": {}}}' > "$T/typo.json"
expect_exit 2 'did you mean' "$PROD" --config "$T/typo.json"
expect_exit 2 "$T/missing.json" "$PROD" --config "$T/missing.json"
expect_exit 2 "runtime.logLevel" "$PROD" --log-level loud
HOTLINE_RUNTIME_HTTP_PORT=abc expect_exit 2 "HOTLINE_RUNTIME_HTTP_PORT" "$PROD"
HOTLINE_RUNTIME_STORE_SYNC=SYNC_NOSYNC "$PROD" --print-config --data-dir /x >"$T/cfg.json"
[ "$(json_get "$T/cfg.json" runtime.store.sync)" = SYNC_NOSYNC ] || fail "env override not applied"
[ "$(json_get "$T/cfg.json" runtime.dataDir)" = /x ] || fail "command line not applied"
# --print-config shows the effective values, also of keys no layer set.
for kv in runtime.http.maxConnections=4096 runtime.http.maxConnectionsPerAddress=512 \
          runtime.http.listen=127.0.0.1 runtime.store.maxMapSizeMb=65536 \
          runtime.eventLog.retentionHours=168 runtime.maxBatch=10000 runtime.auth.reloadMs=1000 \
          runtime.logLevel=info runtime.name=producer; do
  [ "$(json_get "$T/cfg.json" "${kv%%=*}")" = "${kv#*=}" ] ||
    fail "--print-config ${kv%%=*} = $(json_get "$T/cfg.json" "${kv%%=*}"), not ${kv#*=}"
done
HOTLINE_RUNTIME_HTTP_MAX_CONNECTIONS=100 "$PROD" --print-config >"$T/cfg100.json"
[ "$(json_get "$T/cfg100.json" runtime.http.maxConnectionsPerAddress)" = 12 ] ||
  fail "maxConnectionsPerAddress does not follow maxConnections"

start producer "$PROD" --data-dir "$T/p" --bus 'tcp://127.0.0.1:*' --http-port 0 \
  --port-file "$T/p.json"
wait_port_file "$T/p.json"
P="http://127.0.0.1:$(json_get "$T/p.json" http)"
BUS=$(json_get "$T/p.json" bus)
start consumer "$BIN/testconsumer" --data-dir "$T/c" --bus 'tcp://127.0.0.1:*' --http-port 0 \
  --feed "producer=$BUS" --port-file "$T/c.json"
wait_port_file "$T/c.json"
C="http://127.0.0.1:$(json_get "$T/c.json" http)"

[[ "$(http GET "$P/healthz")" == *'"ok"'* ]] || fail "/healthz"
http GET "$P/readyz" >/dev/null; [ "$HTTP_STATUS" = 200 ] || fail "/readyz $HTTP_STATUS"
http POST "$P/admin/clock" '{"advanceMs": 1}' >/dev/null
[ "$HTTP_STATUS" = 403 ] || fail "the real clock moved ($HTTP_STATUS)"
http POST "$P/v1/commands" '{"testAppend": {"count": "50"}}' >/dev/null
[ "$HTTP_STATUS" = 200 ] || fail "command $HTTP_STATUS"
http POST "$P/v1/commands" '{"testAppend": {"count": "50"}, "actor": 7}' >"$T/e.json"
[ "$HTTP_STATUS" = 400 ] || fail "wrong type accepted"
[ "$(json_get "$T/e.json" error.field)" = actor ] || fail "error does not name the field"
http GET "$P/v1/events?after=abc" >/dev/null; [ "$HTTP_STATUS" = 400 ] || fail "bad ?after"
http GET "$P/v1/events?after=10&limit=5" >"$T/ev.json"
[ "$(json_get "$T/ev.json" events.0.seq)" = 11 ] || fail "/v1/events paging"
caught_up() { [ "$(curl -sf "$C/v1/state" | json_get - count)" = 50 ]; }
wait_until 20 caught_up

for url in "$P" "$C"; do
  curl -sf "$url/metrics" > "$T/metrics.txt"
  promtool check metrics < "$T/metrics.txt" > "$T/promtool.txt" 2>&1 ||
    fail "promtool rejects $url/metrics: $(cat "$T/promtool.txt")"
  [ ! -s "$T/promtool.txt" ] || fail "promtool lint on $url/metrics: $(cat "$T/promtool.txt")"
done
grep -q '^hotline_feed_cursor_seq{producer="producer"} 50$' "$T/metrics.txt" ||
  fail "consumer cursor metric missing"
curl -sf "$P/metrics" > "$T/pm.txt"
grep -q '^hotline_commands_total{status="OK"} 1$' "$T/pm.txt" || fail "commands counter"
grep -q '^hotline_commands_total{status="INVALID"} 1$' "$T/pm.txt" || fail "refusals counter"

stop_term consumer
stop_term producer
grep -q 'event=stopped' "$T/producer.log" || fail "no orderly stop logged"
log "PASS: arguments, configuration errors, built-in routes, promtool-clean metrics, clean stop"
