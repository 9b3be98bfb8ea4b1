#!/usr/bin/env bash
# The metrics module's output must pass `promtool check metrics` (Debian package prometheus)
# with no parse error and no lint problem.
#
# promtool exits 1 on a parse error and 3 on lint problems (printed one per line). Every lint
# problem counts as a failure here, as does any other output: metrics_dump builds its registry
# from names we chose to follow the conventions promtool checks (HELP text, _total on counters,
# base units, snake_case, no _count/_sum/_bucket on non-histograms), so a lint line means the
# module wrote something wrong, never noise. A control run first shows this promtool does
# report lint problems and parse errors, so a clean result is not vacuous. Then the same for a
# running service's own families (the skeleton's: HTTP requests by route, durations, build
# info, events appended, feed lag), on a producer and a consumer of the runtime's test pair.
#
# Env: HOTLINE_BIN (directory with metrics_dump), PROMTOOL (default /usr/bin/promtool).
source "$(dirname "$0")/../lib.sh"
PROMTOOL=${PROMTOOL:-/usr/bin/promtool}
tmp=$T

[ -x "$PROMTOOL" ] || fail "promtool not found at $PROMTOOL (install Debian's prometheus package)"

# Control: a counter without _total is a lint problem, an unquoted label value a parse error.
printf '# HELP hotline_bad Bad.\n# TYPE hotline_bad counter\nhotline_bad 1\n' >"$tmp/lint.txt"
if "$PROMTOOL" check metrics <"$tmp/lint.txt" >"$tmp/lint.out" 2>&1; then
    fail "control: promtool accepted a counter without _total"
fi
grep -q '_total' "$tmp/lint.out" || fail "control: promtool did not name the lint problem"
printf '# TYPE hotline_bad_total counter\nhotline_bad_total{a=b} 1\n' >"$tmp/parse.txt"
if "$PROMTOOL" check metrics <"$tmp/parse.txt" >/dev/null 2>&1; then
    fail "control: promtool accepted a parse error"
fi

# The real output. metrics_dump logs the cap warning on stderr; keep it apart from the text.
dump_rc=0
"$HOTLINE_BIN/metrics_dump" >"$tmp/metrics.txt" 2>"$tmp/dump.err" || dump_rc=$?
if [ "$dump_rc" -ne 0 ]; then
    cat "$tmp/dump.err" >&2
    fail "metrics_dump exited with status $dump_rc"
fi
if grep -v 'event=metrics_series_cap' "$tmp/dump.err" | grep -q .; then
    cat "$tmp/dump.err" >&2
    fail "metrics_dump wrote unexpected messages on stderr"
fi

# Make sure the text holds what is meant to be checked (an empty input passes promtool).
for want in \
    '# TYPE hotline_tickets_received_total counter' \
    'hotline_tickets_received_total{unit="south \"B\"",category="noise\\night\nshift"} 1' \
    '# HELP hotline_queue_depth Tickets waiting.\nOne series per queue; path C:\\queue.' \
    'hotline_sample_value{case="v0"} NaN' \
    'hotline_sample_value{case="v1"} +Inf' \
    'hotline_sample_value{case="v2"} -Inf' \
    'hotline_sample_value{case="v8"} 9007199254740992' \
    '# TYPE hotline_commit_duration_seconds histogram' \
    'hotline_commit_duration_seconds_bucket{store="tickets",le="0.0001"} 2' \
    'hotline_commit_duration_seconds_bucket{store="tickets",le="+Inf"} 9' \
    'hotline_commit_duration_seconds_count{store="feed"} 9' \
    'hotline_request_size_bytes_bucket{le="+Inf"} 2' \
    'hotline_feed_lag_records 1234' \
    'hotline_store_commits_total 987654321' \
    'hotline_metrics_series_dropped_total 5' \
    '# TYPE process_cpu_seconds_total counter' \
    '# TYPE process_resident_memory_bytes gauge' \
    '# TYPE process_virtual_memory_bytes gauge' \
    '# TYPE process_start_time_seconds gauge' \
    '# TYPE process_open_fds gauge'; do
    grep -qxF -- "$want" "$tmp/metrics.txt" || fail "metrics_dump output lacks the line: $want"
done
grep -q 'unit="raw'$'\xef\xbf\xbd''"' "$tmp/metrics.txt" ||
    fail "invalid UTF-8 in a label value was not replaced by U+FFFD"
if grep -q 'hotline_unused_ratio' "$tmp/metrics.txt"; then
    fail "a labelled family with no series was rendered"
fi

rc=0
"$PROMTOOL" check metrics <"$tmp/metrics.txt" >"$tmp/promtool.out" 2>&1 || rc=$?
if [ "$rc" -ne 0 ] || [ -s "$tmp/promtool.out" ]; then
    echo "--- promtool (exit $rc) ---" >&2
    cat "$tmp/promtool.out" >&2
    echo "--- metrics_dump output ---" >&2
    cat "$tmp/metrics.txt" >&2
    fail "promtool check metrics reported problems"
fi
echo "PASS: promtool check metrics accepted $(grep -c '^# TYPE' "$tmp/metrics.txt") families" \
    "($(grep -vc '^#' "$tmp/metrics.txt") samples)"

# ---- a running service's families ----
start producer "$BIN/testproducer" --data-dir "$T/p" --bus 'tcp://127.0.0.1:*' --http-port 0 \
    --port-file "$T/p.json"
wait_port_file "$T/p.json"
P="http://127.0.0.1:$(json_get "$T/p.json" http)"
start consumer "$BIN/testconsumer" --data-dir "$T/c" --bus 'tcp://127.0.0.1:*' --http-port 0 \
    --feed "producer=$(json_get "$T/p.json" bus)" --port-file "$T/c.json"
wait_port_file "$T/c.json"
C="http://127.0.0.1:$(json_get "$T/c.json" http)"
http POST "$P/v1/commands" '{"testAppend": {"count": "5"}}' >/dev/null
http POST "$P/v1/commands" '{"nothing": 1}' >/dev/null   # 400
http GET "$P/no/such/path" >/dev/null                        # 404, unmatched
http GET "$P/metrics" >/dev/null
caught_up() {
    curl -sf "$C/metrics" >"$T/c.metrics" &&
        grep -q '^hotline_feed_cursor_seq{producer="producer"} 5$' "$T/c.metrics"
}
wait_until 20 caught_up
for side in producer consumer; do
    url=$P; [ "$side" = consumer ] && url=$C
    curl -sf "$url/metrics" >"$T/$side.txt"
    rc=0
    "$PROMTOOL" check metrics <"$T/$side.txt" >"$T/$side.out" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ] || [ -s "$T/$side.out" ]; then
        cat "$T/$side.out" >&2
        fail "promtool check metrics reported problems on the $side's /metrics (exit $rc)"
    fi
    for want in \
        '# TYPE hotline_http_requests_total counter' \
        '# TYPE hotline_http_request_duration_seconds histogram' \
        'hotline_http_requests_total{method="GET",route="/metrics",status="200"} [1-9][0-9]*' \
        'hotline_http_request_duration_seconds_bucket{method="GET",route="/metrics",le="+Inf"} [1-9][0-9]*' \
        "hotline_build_info{version=\"0.1.0\",service=\"$side\"} 1"; do
        grep -qx -- "$want" "$T/$side.txt" || fail "the $side's /metrics lacks: $want"
    done
done
for want in \
    'hotline_http_requests_total{method="POST",route="/v1/commands",status="200"} 1' \
    'hotline_http_requests_total{method="POST",route="/v1/commands",status="400"} 1' \
    'hotline_http_requests_total{method="GET",route="unmatched",status="404"} 1' \
    '# TYPE hotline_events_appended_total counter' \
    'hotline_events_appended_total{kind="test"} 5'; do
    grep -qxF -- "$want" "$T/producer.txt" || fail "the producer's /metrics lacks: $want"
done
for want in '# TYPE hotline_feed_lag_seconds gauge' \
    'hotline_feed_lag_seconds{producer="producer"} 0'; do
    grep -qxF -- "$want" "$T/consumer.txt" || fail "the consumer's /metrics lacks: $want"
done
echo "PASS: a running producer's and consumer's /metrics are promtool-clean with the new families"
