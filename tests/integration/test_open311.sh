#!/usr/bin/env bash
# Open311 GeoReport v2 on intake (docs/open311.md), with curl only, against hotline-intake alone:
# every endpoint in JSON and XML (XML checked well-formed), every error of the standard (403
# without or with a wrong api_key, 400 without a location, 404 for an unknown service code
# or request, several errors at once), string ids, the default window (with the test clock),
# filters and pages, extensions, the updates extension, and batch mode: a second intake with
# open311.batchBacklogMark 1 answers every POST with a token, which resolves to a ticket,
# also across a kill -9. When hotline-dispatch is built, it is started too and
# agency_responsible must fill in.
source "$(dirname "$0")/../lib.sh"

KEY="open311-test-key-$RANDOM$RANDOM"
HASH=$(printf %s "$KEY" | sha256sum | cut -d' ' -f1)
DEAD=$(free_port)     # feeds nobody serves: intake runs alone
IBUS=$(free_port)     # intake A's bus, for dispatch to follow
DBUS=$(free_port)     # dispatch's bus, for intake A to follow

cat > "$T/direct.json" <<EOF
{"open311": {"apiKeysSha256": ["$HASH"], "jurisdictionId": "hotline.test",
             "contact": "Open311 desk, ops@hotline.test"}}
EOF
cat > "$T/batch.json" <<EOF
{"open311": {"apiKeysSha256": ["$HASH"], "batchBacklogMark": 1}}
EOF

start_intake() { # NAME CONFIG BUS-PORT DISPATCH-PORT
  rm -f "$T/$1.port"
  start "$1" "$BIN/hotline-intake" --config "$2" --data-dir "$T/$1" --http-port 0 \
    --bus "tcp://127.0.0.1:$3" --port-file "$T/$1.port" --test-clock \
    --feed "dispatch=tcp://127.0.0.1:$4" --feed "sla=tcp://127.0.0.1:$DEAD" \
    --feed "callback=tcp://127.0.0.1:$DEAD"
  wait_port_file "$T/$1.port"
}
base() { echo "http://127.0.0.1:$(json_get "$T/$1.port" http)"; }

# req METHOD URL [CURL-ARGS...]: body in $T/body, HTTP status in $S, Content-Type in $CT.
req() {
  local method=$1 url=$2; shift 2
  local out
  out=$(curl -sS -X "$method" -o "$T/body" -w '%{http_code} %{content_type}' "$@" "$url")
  S=${out%% *}
  CT=${out#* }
}
get() { req GET "$@"; }
post() { local url=$1; shift; req POST "$url" "$@"; } # post URL -d k=v ...
expect() { # expect STATUS WHAT
  [ "$S" = "$1" ] || fail "$2: HTTP $S, expected $1: $(head -c 600 "$T/body")"
}
# jv EXPR: a Python expression over the JSON body d; prints it (booleans lower case).
jv() {
  pyc 'import json,sys
d=json.load(open(sys.argv[1]))
v=eval(sys.argv[2])
print(str(v).lower() if isinstance(v,bool) else v)' "$T/body" "$1"
}
# xv EXPR: a Python expression over the XML body's root element r (ElementTree); checks
# well-formedness with minidom first.
xv() {
  pyc 'import sys,xml.dom.minidom,xml.etree.ElementTree as ET
xml.dom.minidom.parse(sys.argv[1])
r=ET.parse(sys.argv[1]).getroot()
print(eval(sys.argv[2]))' "$T/body" "$1"
}
json_ok() {
  [[ "$CT" == application/json* ]] || fail "$1: Content-Type $CT"
  pyc 'import json,sys; json.load(open(sys.argv[1]))' "$T/body" || fail "$1: not JSON"
}
xml_ok() {
  [[ "$CT" == text/xml* ]] || fail "$1: Content-Type $CT"
  head -c 38 "$T/body" | grep -qF '<?xml version="1.0" encoding="utf-8"?>' ||
    fail "$1: no XML declaration"
  pyc 'import sys,xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' "$T/body" ||
    fail "$1: XML not well-formed: $(head -c 400 "$T/body")"
}
# An Open311 error answer: STATUS CODE WORDS (in a description), in the current format.
expect_error() {
  local status=$1 code=$2 words=$3 what=$4
  expect "$status" "$what"
  if [[ "$CT" == text/xml* ]]; then
    xml_ok "$what"
    [ "$(xv 'r.tag')" = errors ] || fail "$what: root is not <errors>"
    xv '"\n".join(e.findtext("code")+" "+e.findtext("description") for e in r.findall("error"))' \
      > "$T/errs"
  else
    json_ok "$what"
    [ "$(jv 'isinstance(d, list) and len(d) > 0')" = true ] || fail "$what: not an array"
    jv '"\n".join(str(e["code"])+" "+e["description"] for e in d)' > "$T/errs"
  fi
  grep -q "^$code .*$words" "$T/errs" || fail "$what: no error $code about \"$words\": $(cat "$T/errs")"
}

start_intake direct "$T/direct.json" "$IBUS" "$DBUS"
I=$(base direct)
B="$I/open311/v2"
log "intake on $I"

# ---- discovery ----
get "$B/discovery.json"; expect 200 discovery; json_ok discovery
[ "$(jv 'd["endpoints"][0]["specification"]')" = "http://wiki.open311.org/GeoReport_v2" ] ||
  fail "discovery specification"
[ "$(jv 'd["endpoints"][0]["url"]')" = "$B" ] || fail "discovery url $(jv 'd["endpoints"][0]["url"]')"
[ "$(jv 'sorted(d["endpoints"][0]["formats"])')" = "['application/json', 'text/xml']" ] ||
  fail "discovery formats"
[ "$(jv 'd["endpoints"][0]["type"]')" = production ] || fail "discovery type"
[ "$(jv 'd["contact"]')" = "Open311 desk, ops@hotline.test" ] || fail "discovery contact"
for k in changeset key_service; do [ -n "$(jv "d['$k']")" ] || fail "discovery $k"; done
get "$B/discovery.xml"; expect 200 discovery.xml; xml_ok discovery.xml
[ "$(xv 'r.tag + " " + str(len(r.findall("endpoints/endpoint/formats/format")))')" = "discovery 2" ] ||
  fail "discovery.xml shape"

# ---- services ----
get "$B/services.json"; expect 200 services; json_ok services
[ "$(jv 'len(d)')" = 10 ] || fail "services: $(jv 'len(d)') services, expected the 10 water ones"
[ "$(jv 'all(isinstance(s["service_code"], str) for s in d)')" = true ] || fail "codes not strings"
[ "$(jv '[s["metadata"] for s in d if s["service_code"] == "W04"][0]')" = true ] ||
  fail "W04 metadata"
[ "$(jv '[s["metadata"] for s in d if s["service_code"] == "W02"][0]')" = false ] ||
  fail "W02 metadata"
[ "$(jv 'set(s["type"] for s in d) == {"realtime"} and set(s["group"] for s in d) == {"water"}')" = true ] ||
  fail "services type / group"
get "$B/services.xml"; expect 200 services.xml; xml_ok services.xml
[ "$(xv 'len(r.findall("service"))')" = 10 ] || fail "services.xml count"
[ "$(xv 'r.find("service/service_code").text')" = W01 ] || fail "services.xml first code"
get "$B/services/W04.json"; expect 200 "services/W04"; json_ok "services/W04"
[ "$(jv 'd["service_code"]')" = W04 ] || fail "definition code"
[ "$(jv 'd["attributes"][0]["code"] + " " + d["attributes"][0]["datatype"]')" = \
  "side_of_meter singlevaluelist" ] || fail "W04 attribute"
[ "$(jv 'd["attributes"][0]["required"] and d["attributes"][0]["variable"]')" = true ] ||
  fail "W04 attribute required"
[ "$(jv '[v["key"] for v in d["attributes"][0]["values"]]')" = "['before', 'after']" ] ||
  fail "W04 values"
[ "$(jv 'sorted(d["attributes"][0].keys())')" = \
  "['code', 'datatype', 'datatype_description', 'description', 'order', 'required', 'values', 'variable']" ] ||
  fail "W04 attribute keys: $(jv 'sorted(d["attributes"][0].keys())')"
get "$B/services/W01.xml"; expect 200 "services/W01.xml"; xml_ok "services/W01.xml"
[ "$(xv 'r.tag + " " + r.find("attributes/attribute/code").text + " " + str(len(r.findall("attributes/attribute/values/value")))')" = \
  "service_definition cause 4" ] || fail "W01.xml shape"
get "$B/services/X99.json"; expect_error 404 404 "X99" "unknown service code"
get "$B/services/X99.xml"; expect_error 404 404 "X99" "unknown service code (xml)"

# ---- POST requests: errors ----
R="$B/requests.json"
F=(--data-urlencode "lat=26.08" --data-urlencode "long=119.30")
post "$R" -d service_code=W02 "${F[@]}"
expect_error 403 403 "api_key" "POST without a key"
post "$R" -d api_key=not-the-key -d service_code=W02 "${F[@]}"
expect_error 403 403 "api_key: not accepted" "POST with a wrong key"
post "$B/requests.xml" -d api_key=wrong -d service_code=W02 "${F[@]}"
expect_error 403 403 "api_key" "POST with a wrong key (xml)"
post "$R" -d "api_key=$KEY" -d service_code=W02 -d description=dry
expect_error 400 400 "location is required" "POST without a location"
post "$B/requests.xml" -d "api_key=$KEY" -d service_code=W02
expect_error 400 400 "location is required" "POST without a location (xml)"
post "$R" -d "api_key=$KEY" -d service_code=X99 -d address_string=somewhere
expect_error 400 404 "X99" "POST with an unknown service code"
post "$R" -d "api_key=$KEY" -d service_code=X99
expect_error 400 404 "service_code" "two errors at once"
grep -q "^400 .*location" "$T/errs" || fail "two errors at once: the location error is missing"
post "$R" -d "api_key=$KEY" -d service_code=W04 -d address_string=a
expect_error 400 400 "attribute\[side_of_meter\]: required" "W04 without its required attribute"
post "$R" -d "api_key=$KEY" -d service_code=W04 -d address_string=a \
  --data-urlencode "attribute[side_of_meter]=sideways"
expect_error 400 400 "not one of its keys: before, after" "W04 with a wrong value"
post "$R" -d "api_key=$KEY" -d service_code=W02 -d address_string=a \
  --data-urlencode "attribute[colour]=red"
expect_error 400 400 "attribute\[colour\]" "an unknown attribute"
post "$R" -d "api_key=$KEY" -d service_code=W02 -d address_string=a -d lat=26.1
expect_error 400 400 "long: give lat and long together" "lat without long"
post "$R" -d "api_key=$KEY" -d service_code=W02 -d address_string=a -d jurisdiction_id=elsewhere
expect_error 400 400 "jurisdiction_id" "another jurisdiction"
post "$R" -d "api_key=$KEY" -d service_code=W02 -d address_string=a --data-urlencode phone="call me"
expect_error 400 400 "phone: not a phone number" "intake's own rule, named by parameter"
post "$R" -d "api_key=$KEY" -d service_code=W02 -d address_string=a \
  --data-urlencode "description=$(head -c 4001 /dev/zero | tr '\0' x)"
expect_error 400 400 "description: longer than 4000" "a description over 4000 characters"
post "$R" -H 'Content-Type: application/json' --data '{"service_code": "W02"}'
expect_error 400 400 "Content-Type" "a JSON body"
post "$R" --data "api_key=$KEY&service_code=W02&address_string=100%"
expect_error 400 400 "address_string: the value has a '%'" "a broken percent escape"

# ---- POST requests: accepted ----
post "$R" -d "api_key=$KEY" -d service_code=W04 --data-urlencode "attribute[side_of_meter]=before" \
  -d lat=26.0812 -d long=119.2961 --data-urlencode "address_string=12 Gulou Road" \
  --data-urlencode "description=Pipe burst in front of no. 12, call 13912345678" \
  -d phone=13912345678 -d first_name=Chen -d last_name=Jing -d email=chen.jing@example.cn \
  -d account_id=acct-77 -d device_id=dev-1 --data-urlencode "media_url=https://img.example/burst.jpg" \
  -d jurisdiction_id=hotline.test -d zzz_unknown=1
expect 200 "a full POST"; json_ok "a full POST"
[ "$(jv 'len(d) == 1 and isinstance(d[0]["service_request_id"], str)')" = true ] ||
  fail "POST answer shape: $(cat "$T/body")"
[ "$(jv '"token" in d[0]')" = false ] || fail "a direct POST answered with a token"
[ "$(jv 'd[0]["account_id"]')" = acct-77 ] || fail "account_id not echoed"
[ -n "$(jv 'd[0]["service_notice"]')" ] || fail "no service_notice"
ID1=$(jv 'd[0]["service_request_id"]')
log "POST -> $ID1"
[[ "$ID1" =~ ^[0-9]{8}-1-[0-9]{6}$ ]] || fail "id $ID1 is not a Hotline ticket id"
# The same caller about the same matter again: linked to the open ticket, same id.
post "$R" -d "api_key=$KEY" -d service_code=W04 --data-urlencode "attribute[side_of_meter]=before" \
  --data-urlencode "address_string=12 Gulou Road" -d description=still -d phone=13912345678
expect 200 "a repeat POST"
[ "$(jv 'd[0]["service_request_id"]')" = "$ID1" ] || fail "a repeat call got a new id: $(cat "$T/body")"
# XML, anonymous, by address_id only, with the optional attribute.
post "$B/requests.xml" -d "api_key=$KEY" -d service_code=W01 -d address_id=ADDR-0042 \
  --data-urlencode "attribute[cause]=sudden" -d phone= -d email= -d description= -d lat=
expect 200 "POST requests.xml"; xml_ok "POST requests.xml"
ID2=$(xv 'r.find("request/service_request_id").text')
[ "$(xv 'r.tag + " " + r.find("request").tag')" = "service_requests request" ] || fail "POST xml shape"
[ -n "$ID2" ] && [ "$ID2" != "$ID1" ] || fail "POST xml id $ID2"
# Idempotency-Key: a retried POST gets the first answer.
post "$R" -H "Idempotency-Key: open311-retry-1" -d "api_key=$KEY" -d service_code=W05 -d address_string=a
ID3=$(jv 'd[0]["service_request_id"]')
post "$R" -H "Idempotency-Key: open311-retry-1" -d "api_key=$KEY" -d service_code=W05 -d address_string=a
[ "$(jv 'd[0]["service_request_id"]')" = "$ID3" ] || fail "a retried POST made a second ticket"

# ---- GET requests/{id} ----
get "$B/requests/$ID1.json"; expect 200 "requests/{id}"; json_ok "requests/{id}"
[ "$(jv 'len(d)')" = 1 ] || fail "requests/{id} is not an array of one"
[ "$(jv 'd[0]["service_request_id"] == "'"$ID1"'" and d[0]["service_code"] == "W04"')" = true ] ||
  fail "requests/{id} ids"
[ "$(jv 'd[0]["status"]')" = open ] || fail "status $(jv 'd[0]["status"]')"
[ "$(jv 'd[0]["service_name"]')" = "Leak or burst pipe" ] || fail "service_name"
[ "$(jv 'd[0]["address"]')" = "12 Gulou Road" ] || fail "address"
[ "$(jv 'd[0]["lat"]')" = 26.0812 ] && [ "$(jv 'd[0]["long"]')" = 119.2961 ] || fail "lat/long"
[ "$(jv 'd[0]["media_url"]')" = "https://img.example/burst.jpg" ] || fail "media_url"
[[ "$(jv 'd[0]["requested_datetime"]')" =~ ^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\+08:00$ ]] ||
  fail "requested_datetime $(jv 'd[0]["requested_datetime"]')"
[ -n "$(jv 'd[0]["updated_datetime"]')" ] && [ -n "$(jv 'd[0]["status_notes"]')" ] || fail "notes/updated"
[ "$(jv '"expected_datetime" in d[0]')" = false ] || fail "expected_datetime without an SLA"
# Public: never the caller's name, phone or e-mail (the phone in the description is masked).
for secret in 13912345678 Chen Jing chen.jing@example.cn; do
  grep -q "$secret" "$T/body" && fail "requests/{id} shows $secret: $(cat "$T/body")"
done
grep -q "139\*\*\*\*5678" "$T/body" || fail "the description lost its (masked) text"
get "$B/requests/$ID1.xml"; expect 200 "requests/{id}.xml"; xml_ok "requests/{id}.xml"
[ "$(xv 'r.find("request/service_request_id").text + " " + r.find("request/status").text')" = \
  "$ID1 open" ] || fail "requests/{id}.xml shape"
get "$B/requests/$ID1.json?extensions=true"; expect 200 "extensions"
[ "$(jv 'd[0]["extended_attributes"]["channel"]')" = open311 ] || fail "extended channel"
[ "$(jv 'd[0]["extended_attributes"]["repeat_count"]')" = 1 ] || fail "extended repeat_count"
[ "$(jv 'd[0]["notes"][0]["type"]')" = received ] || fail "notes"
grep -q "1 more time" <(jv 'd[0]["status_notes"]') || fail "status_notes lacks the repeat call"
get "$B/requests/$ID1.xml?extensions=true"; xml_ok "extensions xml"
[ "$(xv 'r.find("request/extended_attributes/channel").text + " " + r.find("request/notes/note/type").text')" = \
  "open311 received" ] || fail "extensions xml shape"
get "$B/requests/20200101-1-999999.json"; expect_error 404 404 "no request" "unknown request"
get "$B/requests/20200101-1-999999.xml"; expect_error 404 404 "no request" "unknown request (xml)"

# ---- GET requests: window, filters, pages ----
NOW=$(pyc 'import time; print(int(time.time()*1000))')
OLD=$(( NOW - 100 * 86400000 ))
http POST "$I/admin/clock" "{\"nowMs\": $OLD}" > /dev/null; [ "$HTTP_STATUS" = 200 ] || fail "clock"
post "$R" -d "api_key=$KEY" -d service_code=W09 -d address_string=old -d description=long+ago
expect 200 "an old POST"; OLD_ID=$(jv 'd[0]["service_request_id"]')
http POST "$I/admin/clock" "{\"nowMs\": $NOW}" > /dev/null
for i in 1 2 3 4 5; do
  post "$R" -d "api_key=$KEY" -d service_code=W09 -d "address_string=drain $i"
  expect 200 "W09 POST $i"; W09[$i]=$(jv 'd[0]["service_request_id"]')
done
get "$B/requests.json"; expect 200 "requests"; json_ok requests
[ "$(jv 'isinstance(d, list) and all(isinstance(x["service_request_id"], str) for x in d)')" = true ] ||
  fail "requests: not an array of string ids"
[ "$(jv 'len(d)')" = 8 ] || fail "default window: $(jv 'len(d)') requests, expected 8 (not the 100-day-old one)"
grep -q "$OLD_ID" "$T/body" && fail "the default window shows a 100-day-old request"
[ "$(jv 'd[0]["service_request_id"]')" = "${W09[5]}" ] || fail "requests not newest first"
START=$(pyc "import datetime as t; print((t.datetime.now(t.timezone.utc)-t.timedelta(days=101)).strftime('%Y-%m-%dT%H:%M:%SZ'))")
get "$B/requests.json?start_date=$START&service_code=W09"; expect 200 "start_date"
[ "$(jv '[x["service_request_id"] for x in d]')" = "['$OLD_ID']" ] || fail "start_date window: $(cat "$T/body")"
get "$B/requests.json?start_date=2025-01-01T00:00:00Z&end_date=2025-06-01T00:00:00Z"
expect_error 400 400 "at most 90 days" "a window over 90 days"
get "$B/requests.json?start_date=yesterday"; expect_error 400 400 "start_date" "a bad date"
get "$B/requests.json?service_code=W09&page_size=2"; [ "$(jv '[x["service_request_id"] for x in d]')" = \
  "['${W09[5]}', '${W09[4]}']" ] || fail "page 1: $(cat "$T/body")"
get "$B/requests.json?service_code=W09&page_size=2&page=2"; [ "$(jv '[x["service_request_id"] for x in d]')" = \
  "['${W09[3]}', '${W09[2]}']" ] || fail "page 2"
get "$B/requests.json?service_code=W09&page_size=2&page=3"; [ "$(jv 'len(d)')" = 1 ] || fail "page 3"
get "$B/requests.json?service_code=W09&page_size=2&page=4"; [ "$(jv 'len(d)')" = 0 ] || fail "page 4"
get "$B/requests.json?page_size=1001"; expect_error 400 400 "page_size" "page_size over 1000"
get "$B/requests.json?service_code=W04,W05"; [ "$(jv 'sorted(x["service_code"] for x in d)')" = \
  "['W04', 'W05']" ] || fail "service_code list: $(cat "$T/body")"
get "$B/requests.json?status=closed"; [ "$(jv 'len(d)')" = 0 ] || fail "status=closed"
get "$B/requests.json?status=open,closed&service_code=W09"; [ "$(jv 'len(d)')" = 5 ] || fail "status list"
get "$B/requests.json?status=pending"; expect_error 400 400 "status" "an unknown status"
get "$B/requests.json?service_request_id=$ID2,$OLD_ID,nope&status=closed"
[ "$(jv '[x["service_request_id"] for x in d]')" = "['$ID2', '$OLD_ID']" ] ||
  fail "service_request_id list does not override the rest: $(cat "$T/body")"
get "$B/requests.xml?service_code=W09&page_size=3&extensions=true"; expect 200 "requests.xml"
xml_ok requests.xml
[ "$(xv 'r.tag + " " + str(len(r.findall("request"))) + " " + r.find("request/extended_attributes/channel").text')" = \
  "service_requests 3 open311" ] || fail "requests.xml shape"
get "$B/requests.json?jurisdiction_id=elsewhere"; expect_error 400 400 "jurisdiction_id" "GET, another jurisdiction"
get "$B/requests.json?jurisdiction_id=hotline.test"; expect 200 "GET, our jurisdiction"

# ---- GET servicerequestupdates ----
get "$B/servicerequestupdates.json"; expect 200 updates; json_ok updates
[ "$(jv 'len(d)')" = 8 ] || fail "updates: $(jv 'len(d)'), expected the 8 requests of the last day"
[ "$(jv 'sorted(d[0].keys())')" = "['description', 'service_request_id', 'status', 'update_id', 'updated_datetime']" ] ||
  fail "update keys $(jv 'sorted(d[0].keys())')"
[ "$(jv 'len(set(u["update_id"] for u in d)) == len(d) and {u["status"] for u in d} == {"open"}')" = true ] ||
  fail "update ids / statuses"
get "$B/servicerequestupdates.json?start_date=2025-01-01T00:00:00Z&end_date=2025-01-02T00:00:00Z"
[ "$(jv 'len(d)')" = 0 ] || fail "updates outside the window"
get "$B/servicerequestupdates.xml"; expect 200 updates.xml; xml_ok updates.xml
[ "$(xv 'r.tag + " " + str(len(r.findall("request_update")))')" = "service_request_updates 8" ] ||
  fail "updates.xml shape"
get "$B/servicerequestupdates.json?end_date=never"; expect_error 400 400 "end_date" "updates, a bad date"

# ---- the router ----
req DELETE "$B/requests.json"; expect_error 405 405 "DELETE" "DELETE requests"
post "$B/services.json" -d x=1; expect_error 405 405 "POST" "POST services"
get "$B/potholes.json"; expect_error 404 404 "potholes" "an unknown resource"
get "$B/services"; expect_error 404 404 ".json or .xml" "no format"
get "$B/services.csv"; expect_error 404 404 "csv" "an unknown format"
get "$B/tokens/0123456789abcdef0123456789abcdef.json"; expect_error 404 404 "token" "unknown token"
get "$B/tokens/nope.xml"; expect_error 404 404 "token" "malformed token"

# ---- batch mode: tokens ----
start_intake batch "$T/batch.json" "$(free_port)" "$DEAD"
BB="$(base batch)/open311/v2"
post "$BB/requests.json" -d "api_key=$KEY" -d service_code=W03 -d address_string="3 Quality Lane" \
  -d description=brown+water
expect 200 "batch POST"; json_ok "batch POST"
TOKEN=$(jv 'd[0]["token"]')
[[ "$TOKEN" =~ ^[0-9a-f]{32}$ ]] || fail "token $TOKEN"
[ "$(jv '"service_request_id" in d[0]')" = false ] || fail "a token answer also has an id"
resolved() { get "$BB/tokens/$1.json" && [ "$S" = 200 ] && [ "$(jv '"service_request_id" in d[0]')" = true ]; }
wait_until 20 resolved "$TOKEN"
[ "$(jv 'd[0]["token"]')" = "$TOKEN" ] || fail "tokens/{token} token"
TID=$(jv 'd[0]["service_request_id"]')
get "$BB/requests/$TID.json"; expect 200 "the token's ticket"
[ "$(jv 'd[0]["service_code"]')" = W03 ] || fail "the token's ticket is not the request"
post "$BB/requests.xml" -d "api_key=$KEY" -d service_code=W06 -d address_id=B-1
expect 200 "batch POST xml"; xml_ok "batch POST xml"
TOKEN2=$(xv 'r.find("request/token").text')
[ "$(xv 'r.find("request/service_request_id")')" = None ] || fail "xml token answer has an id"
wait_until 20 resolved "$TOKEN2"
get "$BB/tokens/$TOKEN2.xml"; xml_ok "tokens xml"
[ "$(xv 'r.find("request/token").text')" = "$TOKEN2" ] && \
  [ -n "$(xv 'r.find("request/service_request_id").text')" ] || fail "tokens xml shape"
# Batch mode still checks everything first: no token for a request intake would refuse.
post "$BB/requests.json" -d "api_key=$KEY" -d service_code=W03 -d address_string=a --data-urlencode phone="call me"
expect_error 400 400 "phone" "batch POST intake refuses"
post "$BB/requests.json" -d service_code=W03 -d address_string=a
expect_error 403 403 "api_key" "batch POST without a key"
# Acknowledged means durable: kill -9 right after the answer; the token still resolves.
for i in 1 2 3 4 5 6 7 8; do
  post "$BB/requests.json" -d "api_key=$KEY" -d service_code=W02 -d "address_string=kill $i"
  expect 200 "batch POST $i"; TOKENS[$i]=$(jv 'd[0]["token"]')
done
stop9 batch
start_intake batch "$T/batch.json" "$(free_port)" "$DEAD"
BB="$(base batch)/open311/v2"
for i in 1 2 3 4 5 6 7 8; do wait_until 20 resolved "${TOKENS[$i]}"; done
get "$BB/requests.json?service_code=W02"; [ "$(jv 'len(d)')" = 8 ] ||
  fail "after kill -9: $(jv 'len(d)') W02 tickets for 8 tokens"
curl -sS "$(base batch)/metrics" > "$T/metrics"
grep -q '^hotline_open311_inbox 0' "$T/metrics" || fail "inbox not empty: $(grep open311_inbox "$T/metrics")"
curl -sS "$I/metrics" > "$T/metrics"
grep -q 'hotline_open311_requests_total{endpoint="post_requests"}' "$T/metrics" ||
  fail "no request metrics"

# ---- with dispatch (optional): agency_responsible and the open stage in words ----
if [ -x "$BIN/hotline-dispatch" ]; then
  start dispatch "$BIN/hotline-dispatch" --data-dir "$T/dispatch" --http-port 0 \
    --bus "tcp://127.0.0.1:$DBUS" --port-file "$T/dispatch.port" \
    --feed "intake=tcp://127.0.0.1:$IBUS" --feed "callback=tcp://127.0.0.1:$DEAD"
  wait_port_file "$T/dispatch.port"
  agency() { get "$B/requests/$ID2.json" && [ -n "$(jv 'd[0].get("agency_responsible", "")')" ]; }
  wait_until 30 agency
  log "dispatch routed $ID2 to $(jv 'd[0]["agency_responsible"]'): $(jv 'd[0]["status_notes"]')"
  grep -q "Dispatched to" <(jv 'd[0]["status_notes"]') || fail "status_notes after dispatch"
  stop_term dispatch
fi

stop_term batch
stop_term direct
log "open311: every endpoint, both formats, errors, window, pages, extensions, updates, tokens"
