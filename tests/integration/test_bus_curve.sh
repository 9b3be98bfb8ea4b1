#!/usr/bin/env bash
# CURVE on the bus, as `hotline up` configures it by default: the services follow each other's
# feeds over CURVE; a client with a foreign key pair (not on the allow-list) or with no CURVE at
# all gets no event and can run no command, even with a valid token; the local tools key
# (on the allow-list, role service) fetches events and runs commands.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pipeline.sh"
pipeline_up
ID=$(hl_as operator submit --category W01 --description "no water" --phone 13800138000 --district Gulou)
wait_view "$ID" status TICKET_DISPATCHED   # dispatch read intake's feed over CURVE
log "$ID went intake -> dispatch over CURVE"
INTAKE_BUS="tcp://127.0.0.1:$(( BASE + 10 ))"
SERVER_KEY=$(cat "$T/hl/keys/intake.pub")
OP=$(token_for operator)
ask() { # ask KEYFILE: a fetch and a submit (with a valid operator token), one reply line each
  printf '%s\n' '{"fetch": {"consumer": "curve-test", "maxEvents": 10}}' \
    "{\"token\": \"$OP\", \"command\": {\"submitTicket\": {\"ticket\": {\"categoryCode\": \"W05\", \"description\": \"meter\", \"contact\": {\"phone\": \"13900000000\"}, \"location\": {\"district\": \"Gulou\"}}}}}" |
  HOTLINE_CURVE_SECRET_KEY_FILE="$1" HOTLINE_CURVE_SERVER_KEY="$SERVER_KEY" \
    "$BIN/buscmd" "$INTAKE_BUS" 1500
}

# A foreign key pair: refused by the ZAP handler; nothing comes back.
hl keys --dir "$T/foreign" foreign >/dev/null
ask "$T/foreign/foreign.key" > "$T/foreign.out"
[ "$(grep -c '"timeout": *true' "$T/foreign.out")" = 2 ] ||
  fail "a foreign key got answers: $(cat "$T/foreign.out")"
refused=$(curl -s "$(svc_url intake)/metrics" |
          awk '$1 == "hotline_auth_refusals_total{reason=\"curve_key\"}" {print $2}')
[ "${refused:-0}" -ge 1 ] || fail "the refused key was not counted"
grep -q 'event=bus_client_refused' "$T/hl/intake.log" || fail "the refused key was not logged"
log "foreign key: no event, no command ($refused handshakes refused)"

# No CURVE at all, with a valid service token: the handshake cannot even start.
printf '%s\n' "{\"token\": \"$(token_for service)\", \"fetch\": {\"consumer\": \"c\"}}" |
  "$BIN/buscmd" "$INTAKE_BUS" 1500 > "$T/plain.out"
grep -q '"timeout": *true' "$T/plain.out" || fail "a plain client got an answer: $(cat "$T/plain.out")"
log "plain client on a CURVE bus: nothing"

# The tools key on the allow-list: events and commands.
ask "$T/hl/keys/tools.key" > "$T/tools.out"
python3 - "$T/tools.out" "$ID" <<'PY' || fail "the tools key: $(cat "$T/tools.out")"
import base64, json, sys
fetch, cmd = [json.loads(l) for l in open(sys.argv[1])]
events = [base64.b64decode(e) for e in fetch["batch"]["events"]]  # packed hotline.Event
ids = [sys.argv[2]] if any(sys.argv[2].encode() in e for e in events) else []
assert ids, events
assert cmd["command"].get("status", "OK") == "OK" and cmd["command"]["submitTicket"]["ticketId"], cmd
print("tools key: %d events fetched, ticket %s submitted" % (len(events), cmd["command"]["submitTicket"]["ticketId"]))
PY
hl down --data-dir "$T/hl" >/dev/null
wait "${PIDS[up]}" || fail "hotline up exited non-zero after down"
unset 'PIDS[up]'
