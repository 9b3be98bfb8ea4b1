#!/usr/bin/env bash
# Our protobuf on the wire against the reference implementation (protoc): a request encoded by
# protoc is understood by a service, and its reply decodes with protoc, for a command and for a
# feed fetch; a frame that is not protobuf gets a BusError, and the service keeps serving.
source "$(dirname "$0")/../lib.sh"
command -v protoc >/dev/null || fail "protoc (protobuf-compiler) is not installed"
P=(--proto_path="$HOTLINE_SRC/proto")

start producer "$BIN/testproducer" --data-dir "$T/p" --bus 'tcp://127.0.0.1:*' --http-port 0 \
  --port-file "$T/p.json"
wait_port_file "$T/p.json"
BUS=$(json_get "$T/p.json" bus)

encode() { protoc "${P[@]}" --encode="$1" hotline/bus.proto; }
decode() { protoc "${P[@]}" --decode="$1" hotline/bus.proto; }

reply=$(printf 'request_id: 7 command { idempotency_key: "wire-1" test_append { count: 3 payload_bytes: 5 first_n: 1 } }' |
  encode hotline.BusRequest | "$BIN/busraw" "$BUS" | decode hotline.BusReply)
echo "$reply"
grep -q '^request_id: 7$' <<<"$reply" || fail "request id not echoed"
grep -q 'last_seq: 3' <<<"$reply" || fail "command result not decoded by protoc"

reply=$(printf 'request_id: 8 fetch { consumer: "wire" after_seq: 1 max_events: 10 wait_ms: 0 }' |
  encode hotline.BusRequest | "$BIN/busraw" "$BUS" | decode hotline.BusReply)
grep -q 'head_seq: 3' <<<"$reply" || fail "feed batch head not decoded"
[ "$(echo "$reply" | grep -c '^  events: ')" = 2 ] || fail "expected 2 events after seq 1"
# Each event's bytes are a hotline.Event: decode the first with protoc too.
printf 'request_id: 9 fetch { consumer: "wire" after_seq: 2 max_events: 1 }' |
  encode hotline.BusRequest | "$BIN/busraw" "$BUS" > "$T/batch.bin"
python3 - "$T/batch.bin" "$T/event.bin" <<'PY'
import sys
sys.path.insert(0, "/usr/lib/python3/dist-packages")
from google.protobuf.internal import decoder
data = open(sys.argv[1], "rb").read()
# BusReply.batch (field 2) -> FeedBatch.events (field 3): walk the wire format by hand.
def fields(buf):
    pos = 0
    while pos < len(buf):
        tag, pos = decoder._DecodeVarint(buf, pos)
        num, wt = tag >> 3, tag & 7
        if wt == 0:
            val, pos = decoder._DecodeVarint(buf, pos)
        elif wt == 2:
            n, pos = decoder._DecodeVarint(buf, pos)
            val, pos = buf[pos:pos + n], pos + n
        else:
            raise SystemExit("unexpected wire type %d" % wt)
        yield num, val
batch = dict(fields(data))[2]
events = [v for n, v in fields(batch) if n == 3]
open(sys.argv[2], "wb").write(events[0])
PY
ev=$(protoc "${P[@]}" --decode=hotline.Event hotline/event.proto < "$T/event.bin")
echo "$ev"
grep -q 'seq: 3' <<<"$ev" || fail "event seq not decoded"
grep -q 'source: "producer"' <<<"$ev" || fail "event source not decoded"
grep -q 'n: 3' <<<"$ev" || fail "test event body not decoded"

reply=$(printf 'this is not protobuf' | "$BIN/busraw" "$BUS" | decode hotline.BusReply)
grep -q 'status: INVALID' <<<"$reply" || fail "garbage frame not answered with a BusError"
curl -sf "http://127.0.0.1:$(json_get "$T/p.json" http)/healthz" >/dev/null || fail "service died"
malformed=$(curl -sf "http://127.0.0.1:$(json_get "$T/p.json" http)/metrics" | awk '/^hotline_bus_malformed_total/ {print $2}')
[ "$malformed" = 1 ] || fail "malformed frame not counted (got $malformed)"
stop_term producer
echo "PASS: protoc-encoded requests understood, replies and events decoded by protoc"
