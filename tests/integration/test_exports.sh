#!/usr/bin/env bash
# Exports on the five real services (`hotline up --test-clock`): six tickets around November
# 2026 on the centre's local days (UTC+8): 31 Oct 23:30 and 1 Dec 00:30 outside, 1 Nov 00:30,
# two on 10 Nov and 30 Nov 23:30 inside; one description holds a comma, quotes, a line break
# and a phone number. Intake's GET /v1/exports/requests.csv for November: text/csv with a file
# name, RFC 4180 exactly (python3's csv module reads it and writes the same bytes back), the 17
# GeoReport bulk columns, the four November requests and no other, every cell what Open311's
# JSON says for that request, the phone masked; the filters. Analytics' GET
# /v1/reports/monthly?month=2026-11: every unit's figures and the totals equal GET
# /v1/kpis?from=2026-11-01&to=2026-11-30&by=unit, in CSV (rates to 4 places, empty without a
# denominator) and JSON. The CLI (`export requests`, `report monthly`) writes the same; 1,200
# requests of one day come whole (written over several loop turns); the refusals name the
# parameter; an operator gets 403.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pipeline.sh"
pipeline_up --test-clock

I=$(svc_url intake)
A=$(svc_url analytics)
at() { local t; t=$(ms "$1"); for s in "${SERVICES[@]}"; do set_clock "$s" "$t"; done; }
sub() { # sub VAR CATEGORY DESCRIPTION PHONE: a new ticket, its id in VAR once dispatched
  local id
  id=$(hl_as operator submit --category "$2" --description "$3" --phone "$4" --district Gulou)
  wait_view "$id" status TICKET_DISPATCHED
  printf -v "$1" '%s' "$id"
}
# settle SECS CMD...: retry CMD (the views and the counts follow the feeds) until it passes;
# fail with what its last try said.
settle() {
  local end=$(( $(date +%s) + $1 )); shift
  until "$@" >"$T/settle.out" 2>&1; do
    [ "$(date +%s)" -lt "$end" ] || fail "$*: $(tail -n 8 "$T/settle.out")"
    sleep 0.2
  done
}

DESC=$'Pipe burst, "big" one\nnear the gate; call me at 138 0013 8000'
at 2026-10-31T23:30:00+08:00
sub T0 W01 "October's, not November's" 13900000000
at 2026-11-01T00:30:00+08:00
sub T1 W01 "$DESC" 13800138000
hl_as unit:water-supply sign "$T1" >/dev/null
at 2026-11-10T10:00:00+08:00
sub T2 W06 "bill too high" 13900000002
sub T3 W05 "meter stuck" 13900000003
hl_as unit:billing sign "$T2" >/dev/null
hl_as unit:billing reply "$T2" --result "refund issued" >/dev/null
wait_view "$T2" status TICKET_REPLIED
at 2026-11-30T23:30:00+08:00
sub T4 W06 "charged twice" 13900000004
at 2026-12-01T00:30:00+08:00
sub T5 W01 "December's" 13900000005
log "tickets: outside $T0 $T5, inside $T1 $T2 $T3 $T4"
[[ "$T1" == 20261101-* && "$T5" == 20261201-* ]] || fail "ids not on local days: $T1 $T5"

# Analytics has every November event: the four tickets and both signs.
counted() {
  curl_as supervisor -sf "$A/v1/kpis?from=2026-11-01&to=2026-11-30" >"$T/k.json" &&
    [ "$(json_get "$T/k.json" totals.received)" = 4 ] &&
    [ "$(json_get "$T/k.json" totals.signedOnTime)" = 2 ] &&
    [ "$(json_get "$T/k.json" totals.replied)" = 1 ]
}
wait_until 30 counted

# ---- intake: the requests of November as CSV ----
curl_as supervisor -sS -D "$T/h.txt" -o "$T/nov.csv" -w '%{http_code}' \
  "$I/v1/exports/requests.csv?from=2026-11-01&to=2026-11-30" >"$T/code"
[ "$(cat "$T/code")" = 200 ] || fail "export answered $(cat "$T/code"): $(head -c 400 "$T/nov.csv")"
grep -qi '^content-type: text/csv; charset=utf-8' "$T/h.txt" || fail "Content-Type: $(cat "$T/h.txt")"
grep -qi '^content-disposition: attachment; filename="requests-2026-11-01-2026-11-30.csv"' \
  "$T/h.txt" || fail "Content-Disposition: $(cat "$T/h.txt")"

# check_export FILE IDS...: RFC 4180 as python writes it, the 17 columns, exactly these
# requests (oldest first), each cell Open311's JSON value, caller data masked.
check_export() {
  local file=$1; shift
  local ids; ids=$(IFS=,; echo "$*")
  curl -sf "$I/open311/v2/requests.json?service_request_id=$ids" >"$T/o311.json"
  pyc 'import csv, io, json, sys
data = open(sys.argv[1], "rb").read()
text = data.decode("utf-8")                       # UTF-8 or it raises
rows = list(csv.reader(io.StringIO(text, newline="")))
out = io.StringIO()
csv.writer(out, lineterminator="\r\n").writerows(rows)
assert out.getvalue() == text, "not RFC 4180 with CRLF as python writes it"
cols = ("service_request_id,status,status_notes,service_name,service_code,description,"
        "agency_responsible,service_notice,requested_datetime,updated_datetime,"
        "expected_datetime,address,address_id,zipcode,lat,long,media_url").split(",")
assert rows[0] == cols, rows[0]
assert all(len(r) == 17 for r in rows), [len(r) for r in rows]
want = sys.argv[3].split(",") if sys.argv[3] else []
got = [r[0] for r in rows[1:]]
assert got == want, "rows %s, expected %s" % (got, want)
items = {i["service_request_id"]: i for i in json.load(open(sys.argv[2]))}
for r in rows[1:]:
    item = items[r[0]]
    for c, v in zip(cols, r):
        j = item.get(c)
        j = "" if j is None else "%.10g" % j if isinstance(j, float) else str(j)
        assert v == j, "%s %s: CSV %r, Open311 %r" % (r[0], c, v, j)
for bad in ("13800138000", "138 0013 8000", "13900000002"):
    assert bad not in text, bad + " in the export"
print(len(rows) - 1)' "$file" "$T/o311.json" "$ids"
}
# The views may still move (an sla or callback event): export and Open311 are asked again
# until they agree.
export_is() {
  check_export "$T/nov.csv" "$T1" "$T2" "$T3" "$T4" && return 0
  curl_as supervisor -sf -o "$T/nov.csv" "$I/v1/exports/requests.csv?from=2026-11-01&to=2026-11-30"
  return 1
}
settle 20 export_is
pyc 'import csv,sys
rows = list(csv.reader(open(sys.argv[1], newline="", encoding="utf-8")))
d = [r for r in rows if r[0] == sys.argv[2]][0][5]
assert d == "Pipe burst, \"big\" one\nnear the gate; call me at 138 **** 8000", repr(d)' \
  "$T/nov.csv" "$T1" || fail "the description of $T1 is not quoted and masked as Open311's"
log "export: 4 November requests of 6, 17 columns, RFC 4180, cells equal Open311's, phones masked"

exported() { # exported QUERY IDS...: the export of QUERY holds exactly IDS
  local q=$1; shift
  curl_as dispatcher -sf -o "$T/f.csv" "$I/v1/exports/requests.csv?$q" || return 1
  check_export "$T/f.csv" "$@" >/dev/null
}
settle 20 exported "from=2026-11-01&to=2026-11-30&service_code=W06" "$T2" "$T4"
settle 20 exported "from=2026-11-10&to=2026-11-10&status=open" "$T2" "$T3"
settle 20 exported "from=2026-11-10&to=2026-11-10&status=closed"
settle 20 exported "from=2026-10-31&to=2026-12-01" "$T0" "$T1" "$T2" "$T3" "$T4" "$T5"

# The CLI: to a file, and to standard output with filters.
hl_as supervisor export requests --from 2026-11-01 --to 2026-11-30 --out "$T/cli.csv" >"$T/out"
grep -q "4 requests received 2026-11-01 to 2026-11-30" "$T/out" || fail "CLI said: $(cat "$T/out")"
settle 20 check_export "$T/cli.csv" "$T1" "$T2" "$T3" "$T4"
hl_as dispatcher export requests --from 2026-11-01 --to 2026-11-30 --service-code W05 >"$T/cli2.csv"
check_export "$T/cli2.csv" "$T3" >/dev/null || fail "CLI to stdout: $(cat "$T/cli2.csv")"

# ---- analytics: the monthly report equals the KPIs of the month by unit ----
# same_as_kpis CSV JSON KPIS: every unit's row and the totals row, number for number.
same_as_kpis() {
  pyc 'import csv, json, sys
rows = list(csv.reader(open(sys.argv[1], newline="", encoding="utf-8")))
k = json.load(open(sys.argv[3]))
rep = json.load(open(sys.argv[2]))
assert rep["month"] == "2026-11" and rep["from"] == "2026-11-01" and rep["to"] == "2026-11-30"
assert rep["groups"] == k["groups"] and rep["totals"] == k["totals"], "JSON report != kpis"
head = rows[0]
assert head[0] == "unit" and len(head) == 61, head
blocks = {g["key"]: g for g in k["groups"]}
blocks["(total)"] = k["totals"]
assert [r[0] for r in rows[1:]] == [g["key"] for g in k["groups"]] + ["(total)"], rows
for r in rows[1:]:
    b = blocks[r[0]]
    for name, cell in zip(head[1:], r[1:]):
        if name in b["rates"]:
            v = b["rates"][name]
            want = "" if v is None else "%.4f" % v
        else:
            want = str(b[name])
        assert cell == want, "%s %s: report %r, kpis %r" % (r[0], name, cell, want)
units = [r[0] for r in rows[1:-1]]
assert "billing" in units and "water-supply" in units, units
print(len(units))' "$T/rep.csv" "$T/rep.json" "$T/kpis.json"
}
report_is() {
  curl_as supervisor -sf -D "$T/rh.txt" -o "$T/rep.csv" "$A/v1/reports/monthly?month=2026-11&format=csv" &&
    curl_as supervisor -sf -o "$T/rep.json" "$A/v1/reports/monthly?month=2026-11" &&
    curl_as supervisor -sf -o "$T/kpis.json" "$A/v1/kpis?from=2026-11-01&to=2026-11-30&by=unit" &&
    same_as_kpis
}
settle 30 report_is
grep -qi '^content-type: text/csv; charset=utf-8' "$T/rh.txt" || fail "report Content-Type"
grep -qi 'filename="hotline-report-2026-11.csv"' "$T/rh.txt" || fail "report file name"
pyc 'import csv, sys
rows = {r[0]: r for r in csv.reader(open(sys.argv[1], newline="", encoding="utf-8"))}
h = rows["unit"]
b = dict(zip(h, rows["billing"]))
assert b["dispatched"] == "2" and b["signedOnTime"] == "1" and b["replied"] == "1", b
assert b["onTimeSignRate"] == "1.0000", b["onTimeSignRate"]
assert b["satisfactionRate"] == "", b["satisfactionRate"]
assert dict(zip(h, rows["(total)"]))["received"] == "4"' "$T/rep.csv" ||
  fail "billing's November row: $(cat "$T/rep.csv")"
log "report: November by unit equals GET /v1/kpis by unit ($(same_as_kpis) units), CSV and JSON"

hl_as supervisor report monthly --month 2026-11 --csv --out "$T/cli_rep.csv" >/dev/null
cmp -s "$T/cli_rep.csv" "$T/rep.csv" || fail "the CLI's CSV differs: $(diff "$T/cli_rep.csv" "$T/rep.csv")"
hl_as dispatcher report monthly --month 2026-11 >"$T/table.txt"
grep -q '^billing ' "$T/table.txt" && grep -q '^all units ' "$T/table.txt" ||
  fail "report table: $(cat "$T/table.txt")"

# ---- a range of more than one step (1,000 index entries a loop turn) ----
at 2026-12-02T10:00:00+08:00
pyc 'import http.client, json, sys, threading
host, port = sys.argv[1].split("//")[1].split(":")
errors = []
def submit(first):
    c = http.client.HTTPConnection(host, int(port), timeout=30)
    for i in range(first, 1200, 8):
        body = json.dumps({"categoryCode": "W09", "description": "drain blocked (%d)" % i,
                           "contact": {"phone": "1390001%04d" % i},
                           "location": {"district": "Gulou"}})
        c.request("POST", "/v1/tickets", body, {"Content-Type": "application/json",
                                                "Authorization": "Bearer " + sys.argv[2]})
        r = c.getresponse(); r.read()
        if r.status != 200: errors.append(r.status)
threads = [threading.Thread(target=submit, args=(k,)) for k in range(8)]
for t in threads: t.start()
for t in threads: t.join()
assert not errors, errors[:5]' "$I" "$(token_for operator)" || fail "1,200 tickets on 2 Dec"
curl_as supervisor -sf -o "$T/dec2.csv" "$I/v1/exports/requests.csv?from=2026-12-02&to=2026-12-02" ||
  fail "the export of 1,200 requests"
pyc 'import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="", encoding="utf-8")))[1:]
ids = [r[0] for r in rows]
assert len(ids) == 1200 and len(set(ids)) == 1200, len(ids)
assert ids == sorted(ids) and all(i.startswith("20261202-1-") for i in ids), ids[:3]' \
  "$T/dec2.csv" || fail "the 1,200 requests of 2 Dec: $(head -c 300 "$T/dec2.csv")"
log "export: 1,200 requests in steps over several loop turns, each once, in order"

# ---- refusals, each naming its parameter ----
refused() { # refused SERVICE PATH FIELD WORDS
  curl_as supervisor -s -o "$T/e.json" -w '%{http_code}' "$(svc_url "$1")$2" >"$T/code"
  [ "$(cat "$T/code")" = 400 ] || fail "$2 answered $(cat "$T/code"): $(cat "$T/e.json")"
  [ "$(json_get "$T/e.json" error.field)" = "$3" ] || fail "$2 names $(json_get "$T/e.json" error.field), not $3"
  grep -q -- "$4" "$T/e.json" || fail "$2: the message lacks '$4': $(cat "$T/e.json")"
}
refused analytics "/v1/reports/monthly?month=2026-13" month "month 13 is outside 01..12"
refused analytics "/v1/reports/monthly" month "month=YYYY-MM"
refused analytics "/v1/reports/monthly?month=November" month "is not a month"
refused analytics "/v1/reports/monthly?month=2026-11&format=xlsx" format "allowed: csv, json"
refused intake "/v1/exports/requests.csv?from=2026-11-01" to "required"
refused intake "/v1/exports/requests.csv?from=2026-11-31&to=2026-12-01" from "day 31"
refused intake "/v1/exports/requests.csv?from=2026-11-30&to=2026-11-01" to "before from"
refused intake "/v1/exports/requests.csv?from=2025-01-01&to=2026-06-30" to "at most 366"
refused intake "/v1/exports/requests.csv?from=2026-11-01&to=2026-11-30&status=pending" status "open or closed"
refused intake "/v1/exports/requests.csv?from=2026-11-01&to=2026-11-30&service_code=water" service_code "e.g. W04"
refused intake "/v1/exports/requests.csv?start_date=2026-11-01" start_date "unknown parameter"
hl_as supervisor export requests --from 2026-01-01 --to 2026-12-31 2>/dev/null >/dev/null ||
  fail "365 days refused"
hl_as supervisor export requests --from 2025-01-01 --to 2026-12-31 2>"$T/err" >/dev/null &&
  fail "731 days accepted"
grep -q "^hotline: to: .*at most 366" "$T/err" || fail "CLI refusal: $(cat "$T/err")"
rc=0; hl_as supervisor report monthly --month 2026-13 2>"$T/err" >/dev/null || rc=$?
[ "$rc" = 1 ] && grep -q "month: .*month 13" "$T/err" || fail "CLI month refusal ($rc): $(cat "$T/err")"
rc=0; hl_as supervisor export requests --from 2026-11-01 2>"$T/err" >/dev/null || rc=$?
[ "$rc" = 2 ] || fail "a missing --to is a usage error, got $rc"
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
[ "$(code -H "Authorization: Bearer $(token_for operator)" \
      "$I/v1/exports/requests.csv?from=2026-11-01&to=2026-11-30")" = 403 ] || fail "an operator exported"
[ "$(code "$A/v1/reports/monthly?month=2026-11")" = 401 ] || fail "the report without a token"
log "PASS: export and monthly report, refusals naming month, format, from, to, status, service_code"
