#!/usr/bin/env bash
# test_httpd: common/http/httpd through a real process (tests/support/httpd_echo) on 127.0.0.1,
# driven with curl and raw bash /dev/tcp sockets: keep-alive, pipelining in request order,
# chunked upload, body limit, idle and request timeouts, 404/405/400, connection limit and a
# clean SIGTERM exit. Every wait has a deadline.
set -euo pipefail

BIN=${HOTLINE_BIN:?set HOTLINE_BIN to the build bin directory}
TMP=$(mktemp -d)
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    for f in "$TMP"/*.log; do
        [ -f "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }
    done
    exit 1
}
pass() { echo "ok - $*"; }

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# start NAME ARGS...: start httpd_echo, wait (bounded) for its port file; sets PORT and PID.
start() {
    local name=$1; shift
    rm -f "$TMP/$name.port"
    "$BIN/httpd_echo" "$TMP/$name.port" "$@" 2>"$TMP/$name.log" &
    PID=$!
    PIDS+=("$PID")
    local deadline=$(( $(now_ms) + 10000 ))
    while [ ! -s "$TMP/$name.port" ]; do
        kill -0 "$PID" 2>/dev/null || fail "$name exited at start"
        [ "$(now_ms)" -lt "$deadline" ] || fail "$name did not write its port"
        sleep 0.05
    done
    PORT=$(cat "$TMP/$name.port")
}

# stop PID: SIGTERM and expect exit status 0 (LeakSanitizer would make it non-zero).
stop() {
    local pid=$1 rc=0
    kill -TERM "$pid"
    wait "$pid" || rc=$?
    [ "$rc" -eq 0 ] || fail "server $pid exited with status $rc on SIGTERM"
}

start main --idle-ms 500 --request-ms 500 --max-body 1048576
MAIN_PID=$PID
URL="http://127.0.0.1:$PORT"

# --- basic answer
[ "$(curl -sS --max-time 5 "$URL/hello")" = "hello" ] || fail "GET /hello"
pass "GET /hello"

# --- keep-alive: two URLs in one curl share the connection
out=$(curl -sv --max-time 5 "$URL/hello" "$URL/hello" 2>&1)
grep -qi "Re-using existing connection" <<<"$out" || fail "no connection reuse: $out"
[ "$(grep -c '^hello' <<<"$out")" -eq 2 ] || fail "two answers expected: $out"
pass "keep-alive reuse"

# --- pipelining: three requests in one write, the slow one first; answers in order
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
{
    printf 'GET /slow?ms=300 HTTP/1.1\r\nHost: t\r\n\r\n'
    printf 'GET /hello HTTP/1.1\r\nHost: t\r\n\r\n'
    printf 'POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nConnection: close\r\n\r\nthird'
} >"$TMP/pipelined.req"
# cat sends the small file in one write(2): the server receives all three requests at once.
cat "$TMP/pipelined.req" >&3
out=$(timeout 10 cat <&3 | tr -d '\r') || fail "pipelined read timed out"
exec 3<&-
[ "$(grep -c '^HTTP/1.1 200 OK$' <<<"$out")" -eq 3 ] || fail "three 200s expected: $out"
order=$(grep -E '^(slow 300|hello|third)$' <<<"$out" | paste -sd, -)
[ "$order" = "slow 300,hello,third" ] || fail "pipelined answers out of order: $order"
pass "pipelining keeps request order ($order)"

# --- chunked upload echoed back byte for byte
head -c 300000 /dev/urandom >"$TMP/up.bin"
curl -sS --max-time 10 -v -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/x-test' \
    --data-binary @"$TMP/up.bin" -o "$TMP/down.bin" "$URL/echo" 2>"$TMP/chunked.trace" \
    || fail "chunked upload failed"
grep -qi '^> Transfer-Encoding: chunked' "$TMP/chunked.trace" || fail "curl did not send chunked"
grep -qi '^< Content-Type: application/x-test' "$TMP/chunked.trace" \
    || fail "content type not echoed"
cmp -s "$TMP/up.bin" "$TMP/down.bin" || fail "chunked body not echoed intact"
pass "chunked upload (300000 bytes)"

# --- Expect: 100-continue
out=$(curl -sv --max-time 5 -H 'Expect: 100-continue' --data-binary 'abc' "$URL/echo" 2>&1)
grep -q '< HTTP/1.1 100 Continue' <<<"$out" || fail "no 100 Continue: $out"
grep -q '^abc' <<<"$out" || fail "body after 100 Continue not echoed: $out"
pass "Expect: 100-continue"

# --- 10 MB body refused with 413: declared length (curl sends Expect), no Expect, chunked
head -c 10485760 /dev/zero >"$TMP/big.bin"
for variant in expect no-expect chunked; do
    args=()
    case $variant in
        no-expect) args=(-H 'Expect:') ;;
        chunked) args=(-H 'Transfer-Encoding: chunked' -H 'Expect:') ;;
    esac
    code=$(curl -s --max-time 10 "${args[@]}" -o "$TMP/413.json" -w '%{http_code}' \
        --data-binary @"$TMP/big.bin" "$URL/echo" || true)
    [ "$code" = 413 ] || fail "10 MB body ($variant): status $code, expected 413"
    grep -q '"status":413' "$TMP/413.json" || fail "413 body ($variant): $(cat "$TMP/413.json")"
done
pass "10 MB body refused with 413 (declared, without Expect, chunked)"

# --- a silent client is closed after the idle timeout, without an answer
exec 4<>"/dev/tcp/127.0.0.1/$PORT"
t0=$(now_ms)
out=$(timeout 5 cat <&4) || fail "silent connection not closed within 5 s"
ms=$(( $(now_ms) - t0 ))
exec 4<&-
[ -z "$out" ] || fail "silent client got bytes: $out"
(( ms >= 300 && ms < 3000 )) || fail "idle close after $ms ms, expected about 500"
pass "idle client closed after $ms ms"

# --- a partial request gets 408 after the request timeout
exec 5<>"/dev/tcp/127.0.0.1/$PORT"
printf 'GET /hello HTTP/1.1\r\nHost:' >&5
t0=$(now_ms)
out=$(timeout 5 cat <&5 | tr -d '\r') || fail "partial request not timed out within 5 s"
ms=$(( $(now_ms) - t0 ))
exec 5<&-
grep -q '^HTTP/1.1 408 ' <<<"$out" || fail "no 408: $out"
grep -q '"status":408' <<<"$out" || fail "408 body: $out"
(( ms >= 300 && ms < 3000 )) || fail "408 after $ms ms, expected about 500"
pass "partial request answered 408 after $ms ms"

# --- 404 and 405
body=$(curl -s --max-time 5 -o - -w '\n%{http_code}' "$URL/x")
[ "$body" = $'{"error":{"status":404,"message":"no such path: /x"}}\n404' ] || fail "404: $body"
code=$(curl -s --max-time 5 -X POST -D "$TMP/405.h" -o "$TMP/405.json" -w '%{http_code}' \
    "$URL/hello")
[ "$code" = 405 ] || fail "POST /hello: $code"
grep -qi '^Allow: GET, HEAD' "$TMP/405.h" || fail "405 without Allow: $(cat "$TMP/405.h")"
grep -q '"status":405' "$TMP/405.json" || fail "405 body"
pass "404 and 405 with Allow"

# --- garbage gets 400 and the connection is closed
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
printf 'GARBAGE\r\n\r\n' >&3
out=$(timeout 5 cat <&3 | tr -d '\r') || fail "no close after garbage"
exec 3<&-
grep -q '^HTTP/1.1 400 ' <<<"$out" || fail "garbage: $out"
grep -q '^Connection: close' <<<"$out" || fail "400 without Connection: close: $out"
pass "garbage answered 400 and closed"

# --- HTTP/1.0 closes after the answer
out=$(curl -sv --max-time 5 --http1.0 "$URL/hello" 2>&1)
grep -qi '< Connection: close' <<<"$out" || fail "HTTP/1.0 answer without Connection: close"
pass "HTTP/1.0"

stop "$MAIN_PID"
pass "SIGTERM: clean exit"

# --- connection limit: the second connection gets 503
start limit --max-conns 1 --idle-ms 10000
LIMIT_PID=$PID
exec 6<>"/dev/tcp/127.0.0.1/$PORT"
code=$(curl -s --max-time 5 -o "$TMP/503.json" -w '%{http_code}' \
    "http://127.0.0.1:$PORT/hello" || true)
[ "$code" = 503 ] || fail "second connection: $code, expected 503"
grep -q '"status":503' "$TMP/503.json" || fail "503 body"
exec 6<&-
deadline=$(( $(now_ms) + 5000 ))
until [ "$(curl -s --max-time 5 "http://127.0.0.1:$PORT/hello" || true)" = "hello" ]; do
    [ "$(now_ms)" -lt "$deadline" ] || fail "no room after the first connection closed"
    sleep 0.05
done
pass "connection limit: 503, then room again"

# --- SIGTERM with a request still waiting: it is answered 503 and the exit is clean
exec 7<>"/dev/tcp/127.0.0.1/$PORT"
printf 'GET /slow?ms=30000 HTTP/1.1\r\nHost: t\r\n\r\n' >&7
deadline=$(( $(now_ms) + 5000 ))
until grep -q 'event=slow_request' "$TMP/limit.log" 2>/dev/null; do
    [ "$(now_ms)" -lt "$deadline" ] || fail "the slow request did not reach its handler"
    sleep 0.05
done
kill -TERM "$LIMIT_PID"
out=$(timeout 5 cat <&7 | tr -d '\r') || true
exec 7<&-
rc=0
wait "$LIMIT_PID" || rc=$?
[ "$rc" -eq 0 ] || fail "exit status $rc after SIGTERM with a waiting request"
grep -q '^HTTP/1.1 503 ' <<<"$out" || fail "waiting request not answered on shutdown: $out"
pass "SIGTERM with a waiting request: answered 503, clean exit"

echo "all httpd integration checks passed"
