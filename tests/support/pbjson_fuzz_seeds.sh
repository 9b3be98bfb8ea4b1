#!/usr/bin/env bash
# Regenerate the binary seeds of tests/fuzz/corpus/fuzz_protobuf (hotline.BusRequest, BusReply
# and Event frames) from protobuf text format with protoc, plus a few hand-made frames that
# JSON cannot carry exactly. The seeds are committed; rerun this after a schema change.
# Usage: tests/support/pbjson_fuzz_seeds.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
out=tests/fuzz/corpus/fuzz_protobuf
mkdir -p "$out"

encode() { # NAME TYPE PROTO TEXT: one seed from text format
  printf '%s\n' "$4" |
    protoc --proto_path=proto --encode="hotline.$2" "hotline/$3.proto" > "$out/$1.bin"
}

encode bus_request_fetch BusRequest bus \
  'request_id: 7 fetch { consumer: "dispatch" after_seq: 100 max_events: 500 wait_ms: 1000 }'
encode bus_request_command BusRequest bus \
  'request_id: 18446744073709551615 command { idempotency_key: "k-1" actor: "operator:7"
   test_append { count: 10 payload_bytes: 300 first_n: 1 } }'
encode bus_request_empty_command BusRequest bus 'request_id: 1 command { }'
encode event_test Event event \
  'source: "intake" seq: 1 time_ms: -1 test { n: 1 payload: "\000\001\377 binary" }'
encode event_ticket Event event \
  'source: "intake" seq: 42 time_ms: 1763800000000 ticket_id: "20261125-1-000123"
   ticket_received { ticket {
     id: "20261125-1-000123" appeal_type: APPEAL_COMPLAINT category_code: "W0402"
     urgency: URGENCY_VERY_URGENT channel: CHANNEL_PHONE
     contact { name: "王小明" phone: "13812345678" anonymous: false }
     location { district: "浦东新区" address: "世纪大道100号" point { lat: 31.2304 long: 121.4737 } }
     description: "水管爆裂，街道积水\n请尽快处理" media_urls: "https://media.example.cn/a.jpg"
     media_urls: "" confidential: true vulnerable_caller: true received_ms: 1763800000000 } }'
encode event_special_doubles Event event \
  'source: "x" ticket_received { ticket { location { point { lat: inf long: -0.0 } } } }'
# A batch carries packed events as bytes: embed event_test, octal-escaped.
events=$(od -An -v -to1 "$out/event_test.bin" | tr -s ' \n' ' ' | sed 's/ *$//; s/ /\\/g')
encode bus_reply_batch BusReply bus "request_id: 7 batch { head_seq: 10 first_seq: 1 events: \"$events\" events: \"\" }"
encode bus_reply_command BusReply bus \
  'request_id: 8 command { status: 1 message: "description: longer than 4000 characters"
   field: "description" test_append { last_seq: 42 } }'
encode bus_reply_error BusReply bus 'request_id: 9 error { status: 6 message: "internal" }'

# Hand-made: what protobuf-c unpacks but JSON cannot carry exactly.
cp "$out/event_test.bin" "$out/event_unknown_field.bin"
printf '\370\006\001' >> "$out/event_unknown_field.bin"    # field 111, varint 1
printf '\012\003\377\300\257\020\005' > "$out/event_invalid_utf8.bin" # source: ff c0 af, seq 5
printf '\122\004\012\002\040\143' > "$out/event_unknown_enum.bin" # ticket.urgency = 99
head -c 9 "$out/bus_request_command.bin" > "$out/bus_request_truncated.bin"
ls -l "$out"
