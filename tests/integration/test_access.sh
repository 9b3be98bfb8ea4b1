#!/usr/bin/env bash
# Who may do what, on the five real services under `hotline up --plain-bus`: every HTTP route
# and every bus command of every service, asked with no token, a wrong token, a revoked token
# and a token of each role, answers 401, 403 or goes through exactly as the access table
# written below says (the expectation is this file's, not read from the services; each
# service's own GET /v1/access must list exactly these routes and commands, so a route added
# without an entry here fails). Then unit isolation: unit water-supply cannot read, list, sign
# or reply to billing's ticket, over HTTP or the bus; and a callback agent cannot rate a call
# it did not take from the queue. Callback has a survey gateway configured (nowhere: nothing is
# sent), so that its public answer route is checked for what stands in for a token there: a
# signature (401 without one, whatever token comes with it).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pipeline.sh"
export ACCESS_SURVEY_KEY=access-walk-survey-secret-0123
echo '{"survey": {"url": "http://127.0.0.1:9/survey", "secretEnv": "ACCESS_SURVEY_KEY"}}' >"$T/callback.json"
pipeline_up --plain-bus --test-clock --service-config "callback=$T/callback.json"

# Two tickets: T goes to water-supply, U to billing.
sub() { hl_as operator submit --category "$1" --description "$2" --phone 13800138000 --district Gulou; }
TID=$(sub W01 "no water")
UID_=$(sub W06 "bill too high")
wait_view "$TID" status TICKET_DISPATCHED
wait_view "$UID_" status TICKET_DISPATCHED
[ "$(view "$UID_" unit)" = billing ] || fail "W06 went to $(view "$UID_" unit)"

# Tokens of every role, and a revoked one.
for spec in operator dispatcher unit:water-supply crew:south-1 callback-agent@agent-1 \
            supervisor admin service; do token_for "$spec" >/dev/null; done
REVOKED=$(token_for admin@to-revoke)
hl token revoke to-revoke >/dev/null
revoked_everywhere() {
  for s in "${SERVICES[@]}"; do
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $REVOKED" \
          "$(svc_url "$s")/v1/access")" = 401 ] || return 1
  done
}
wait_until 10 revoked_everywhere
export T BASE TID UID_ REVOKED
for spec in operator dispatcher unit:water-supply crew:south-1 callback-agent@agent-1 \
            supervisor admin service; do
  export "TOKEN_$(printf '%s' "${spec%%@*}" | tr -c 'A-Za-z0-9' '_')=$(token_for "$spec")"
done

python3 - "$BIN/buscmd" <<'PY' || fail "the access walk found answers that break the table"
import json, os, subprocess, sys

BUSCMD = sys.argv[1]
BASE = int(os.environ["BASE"])
TID, UID = os.environ["TID"], os.environ["UID_"]
SERVICES = ["intake", "dispatch", "sla", "callback", "analytics"]
ROLES = ["operator", "dispatcher", "unit", "crew", "callback-agent", "supervisor", "admin",
         "service"]
TOKENS = {r: os.environ["TOKEN_" + r.replace("-", "_").replace(":", "_")] for r in
          ["operator", "dispatcher", "supervisor", "admin", "service"]}
TOKENS["unit"] = os.environ["TOKEN_unit_water_supply"]
TOKENS["crew"] = os.environ["TOKEN_crew_south_1"]
TOKENS["callback-agent"] = os.environ["TOKEN_callback_agent"]
NOBODY = {"none": None, "wrong": "hlt_" + "x" * 43, "revoked": os.environ["REVOKED"]}
ANY = set(ROLES)
PUBLIC = "public"
SIGNED = "signed"  # public in the table, but 401 to every caller without a valid signature

# ---- the access table: (method, path as in the table, example path, body, roles) ----
BUILTIN = [
    ("GET", "/healthz", "/healthz", None, PUBLIC),
    ("GET", "/readyz", "/readyz", None, PUBLIC),
    ("GET", "/metrics", "/metrics", None, PUBLIC),
    ("POST", "/v1/commands", "/v1/commands", None, ANY),  # body and roles per service, below
    ("GET", "/v1/events", "/v1/events?limit=1", None, {"service"}),
    ("GET", "/v1/status", "/v1/status", None, {"admin", "supervisor", "service"}),
    ("GET", "/v1/access", "/v1/access", None, ANY),
    ("POST", "/admin/clock", "/admin/clock", {"advanceMs": 0}, {"admin"}),
]
TICKET_READERS = {"operator", "dispatcher", "supervisor", "admin"}
UNIT_READERS = {"unit", "dispatcher", "supervisor", "admin"}
ROUTES = {
    "intake": [
        ("POST", "/v1/tickets", "/v1/tickets",
         {"categoryCode": "W05", "description": "meter", "contact": {"phone": "13900000000"},
          "location": {"district": "Gulou"}}, {"operator", "service"}),
        ("GET", "/v1/tickets", "/v1/tickets?limit=1", None, TICKET_READERS),
        ("GET", "/v1/tickets/*", "/v1/tickets/" + TID, None, TICKET_READERS),
        ("GET", "/v1/exports/requests.csv", "/v1/exports/requests.csv?from=2026-11-01&to=2026-11-30",
         None, {"dispatcher", "supervisor", "admin"}),
        ("*", "/open311/v2/*", "/open311/v2/services.json", None, PUBLIC),
    ],
    "dispatch": [
        ("POST", "/v1/tickets/*", "/v1/tickets/" + TID + "/sign", {}, {"unit"}),
        ("POST", "/v1/redirects/*", "/v1/redirects/" + TID,
         {"toUnit": "billing", "reason": "walk"}, {"dispatcher"}),
        ("POST", "/v1/returns/*", "/v1/returns/" + TID, {"approve": False, "note": "walk"},
         {"dispatcher"}),
        ("GET", "/v1/returns", "/v1/returns", None, {"dispatcher", "supervisor"}),
        ("POST", "/v1/extensions/*", "/v1/extensions/" + TID, {"approve": False, "note": "no"},
         {"supervisor"}),
        ("GET", "/v1/extensions", "/v1/extensions", None, {"dispatcher", "supervisor"}),
        ("POST", "/v1/terminations/*", "/v1/terminations/" + TID, {"approve": False, "note": "no"},
         {"supervisor"}),
        ("GET", "/v1/terminations", "/v1/terminations", None, {"dispatcher", "supervisor"}),
        ("POST", "/v1/holds/*", "/v1/holds/" + TID, {"resume": True}, {"dispatcher", "supervisor"}),
        ("GET", "/v1/holds", "/v1/holds", None, {"dispatcher", "supervisor"}),
        ("GET", "/v1/assignments/*", "/v1/assignments/" + TID, None, UNIT_READERS),
        ("GET", "/v1/units/*", "/v1/units/water-supply/tickets", None, UNIT_READERS),
        ("GET", "/v1/catalogue", "/v1/catalogue", None, ANY),
        ("GET", "/v1/catalogue/match", "/v1/catalogue/match?categoryCode=W01", None, ANY),
        ("POST", "/v1/catalogue", "/v1/catalogue", {"text": "not a catalogue"},
         {"supervisor", "admin"}),
        ("POST", "/v1/catalogue/diff", "/v1/catalogue/diff", {"text": "not a catalogue"},
         {"dispatcher", "supervisor", "admin"}),
        ("POST", "/v1/incidents", "/v1/incidents",
         {"categoryPrefix": "W09", "area": {"community": "Nowhere"}, "summary": "drain"},
         {"dispatcher", "supervisor"}),
        # update, close, link and unlink: one row; a unit never reaches another's ticket here
        ("POST", "/v1/incidents/*", "/v1/incidents/INC-none/link", {"ticketIds": [TID]},
         {"dispatcher"}),
        ("GET", "/v1/incidents", "/v1/incidents", None, ANY),
        ("GET", "/v1/hotspots", "/v1/hotspots", None, {"dispatcher", "supervisor"}),
        ("POST", "/v1/hotspots/*", "/v1/hotspots/HS-none/dismiss", {"reason": "walk"},
         {"dispatcher", "supervisor"}),
        ("GET", "/v1/workorders/dead", "/v1/workorders/dead", None,
         {"dispatcher", "supervisor", "admin"}),
        ("POST", "/v1/workorders/dead/*", "/v1/workorders/dead/WO-none-1.1/replay", {},
         {"dispatcher", "admin"}),
        ("POST", "/v1/workorders", "/v1/workorders", {"ticketId": TID}, {"dispatcher"}),
        ("POST", "/v1/workorders/*", "/v1/workorders/WO-none-1/status", {"status": "ASSIGNED"},
         {"crew"}),
        ("GET", "/v1/workorders", "/v1/workorders", None, {"dispatcher", "supervisor", "crew"}),
        ("GET", "/v1/workorders/*", "/v1/workorders/WO-none-1", None,
         {"dispatcher", "supervisor", "crew"}),
    ],
    "sla": [
        ("GET", "/v1/clocks/*", "/v1/clocks/" + TID, None, UNIT_READERS),
        ("GET", "/v1/policies/match", "/v1/policies/match?categoryCode=W01", None, ANY),
        ("GET", "/v1/policies", "/v1/policies", None, ANY),
        ("POST", "/v1/policies", "/v1/policies", {"policies": []}, {"supervisor", "admin"}),
        ("GET", "/v1/due", "/v1/due", None, {"dispatcher", "supervisor", "admin"}),
    ],
    "callback": [
        ("POST", "/v1/callbacks/next", "/v1/callbacks/next", {}, {"callback-agent"}),
        # record and promise: one prefix route; recordCallback's own row (agents only) is
        # checked with the commands below
        ("POST", "/v1/callbacks/*", "/v1/callbacks/" + TID + "/promise", {"atMs": "1"},
         {"callback-agent", "operator", "supervisor"}),
        ("GET", "/v1/callbacks", "/v1/callbacks", None,
         {"callback-agent", "supervisor", "admin"}),
        ("GET", "/v1/callbacks/*", "/v1/callbacks/" + TID, None,
         {"callback-agent", "supervisor", "admin"}),
        ("POST", "/v1/appeals/*", "/v1/appeals/" + TID,
         {"reasonCode": "not-our-remit", "statement": "walk"}, {"unit"}),
        ("POST", "/v1/appeal-reviews/*", "/v1/appeal-reviews/" + TID,
         {"uphold": False, "note": "walk"}, {"supervisor", "admin"}),
        ("GET", "/v1/appeals", "/v1/appeals", None, {"unit", "supervisor", "admin"}),
        ("GET", "/v1/appeals/*", "/v1/appeals/" + TID, None, {"unit", "supervisor", "admin"}),
        ("GET", "/v1/appeal-reasons", "/v1/appeal-reasons", None,
         {"unit", "supervisor", "admin"}),
        ("POST", "/v1/surveys/*", "/v1/surveys/sv-none/answer", {"rating": "RATING_SATISFIED"},
         SIGNED),
    ],
    "analytics": [
        ("GET", "/v1/kpis", "/v1/kpis", None, {"supervisor", "dispatcher", "admin"}),
        ("GET", "/v1/reports/monthly", "/v1/reports/monthly?month=2026-11", None,
         {"supervisor", "dispatcher", "admin"}),
        ("GET", "/v1/tickets/*", "/v1/tickets/" + TID + "/timeline", None,
         {"supervisor", "dispatcher", "admin", "operator"}),
    ],
}
COMMANDS = {  # the commands each service takes, and who may run them
    "intake": {"submitTicket": {"operator", "service"}},
    "dispatch": {"signTicket": {"unit"}, "replyTicket": {"unit"},
                 "contactCitizen": {"unit"}, "addTicketNote": {"unit"},
                 "redirectTicket": {"dispatcher"}, "requestReturn": {"unit"},
                 "reviewReturn": {"dispatcher"},
                 "requestExtension": {"unit"}, "reviewExtension": {"supervisor"},
                 "requestTermination": {"unit"}, "reviewTermination": {"supervisor"},
                 "subDispatchTicket": {"unit"}, "holdTicket": {"dispatcher", "supervisor"},
                 "loadCatalogue": {"supervisor", "admin"},
                 "declareIncident": {"dispatcher", "supervisor"},
                 "updateIncident": {"dispatcher"}, "closeIncident": {"dispatcher"},
                 "linkTickets": {"dispatcher"}, "unlinkTicket": {"dispatcher"},
                 "raiseWorkOrder": {"dispatcher"}, "cancelWorkOrder": {"dispatcher"},
                 "updateWorkOrderStatus": {"crew"},
                 "replayDeadLetter": {"dispatcher", "admin"},
                 "acceptHotspot": {"dispatcher", "supervisor"},
                 "dismissHotspot": {"dispatcher", "supervisor"}},
    "sla": {"loadPolicies": {"supervisor", "admin"}},
    "callback": {"nextCallback": {"callback-agent"}, "recordCallback": {"callback-agent"},
                 "fileAppeal": {"unit"}, "reviewAppeal": {"supervisor", "admin"},
                 "promiseCallback": {"operator", "callback-agent", "supervisor"},
                 "answerSurvey": {"service"}},
    "analytics": {},
}
EXAMPLES = {  # a body for every command kind
    "submitTicket": {"ticket": {"categoryCode": "W05", "description": "x",
                                "contact": {"phone": "13900000001"},
                                "location": {"district": "Gulou"}}},
    "signTicket": {"ticketId": TID}, "replyTicket": {"ticketId": TID, "result": "done"},
    "contactCitizen": {"ticketId": TID}, "addTicketNote": {"ticketId": TID, "text": "on site"},
    "redirectTicket": {"ticketId": TID, "toUnit": "billing", "reason": "walk"},
    "requestReturn": {"ticketId": TID, "reason": "walk", "basis": "walk"},
    "reviewReturn": {"ticketId": TID, "approve": False, "note": "walk"},
    "requestExtension": {"ticketId": TID, "workingDays": 1, "reason": "walk"},
    "reviewExtension": {"ticketId": TID, "approve": False, "note": "walk"},
    "requestTermination": {"ticketId": TID, "reason": "walk"},
    "reviewTermination": {"ticketId": TID, "approve": False, "note": "walk"},
    "subDispatchTicket": {"ticketId": TID, "toUnit": "billing"},
    "holdTicket": {"ticketId": TID, "resume": True},
    "loadPolicies": {"json": "{}"},
    "declareIncident": {"categoryPrefix": "W09", "area": {"community": "Bus"}, "summary": "x"},
    "updateIncident": {"incidentId": "INC-none", "summary": "y"},
    "closeIncident": {"incidentId": "INC-none"},
    "loadCatalogue": {"text": "not a catalogue"},
    "linkTickets": {"incidentId": "INC-none", "ticketIds": [TID]},
    "unlinkTicket": {"incidentId": "INC-none", "ticketId": TID},
    "raiseWorkOrder": {"ticketId": TID},
    "cancelWorkOrder": {"workOrderId": "WO-none-1", "reason": "walk"},
    "updateWorkOrderStatus": {"workOrderId": "WO-none-1", "status": "ASSIGNED"},
    "replayDeadLetter": {"key": "WO-none-1.1"},
    "acceptHotspot": {"hotspotId": "HS-none"},
    "dismissHotspot": {"hotspotId": "HS-none", "reason": "walk"},
    "nextCallback": {}, "recordCallback": {"ticketId": TID, "outcome": "CALLBACK_UNREACHABLE"},
    "fileAppeal": {"ticketId": TID, "reasonCode": "not-our-remit", "statement": "walk"},
    "reviewAppeal": {"ticketId": TID, "uphold": False, "note": "walk"},
    "promiseCallback": {"ticketId": TID, "atMs": "1"},  # in the past: refused after the check
    "answerSurvey": {"surveyId": "sv-none", "rating": "RATING_SATISFIED"},
    "testAppend": {"count": "1"},
}

def port(s): return BASE + SERVICES.index(s)

def http(svc, method, path, body, token):
    cmd = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X",
           "GET" if method == "*" else method, "http://127.0.0.1:%d%s" % (port(svc), path)]
    if token:
        cmd[1:1] = ["-H", "Authorization: Bearer " + token]
    if body is not None:
        cmd[1:1] = ["-H", "Content-Type: application/json", "--data-binary", json.dumps(body)]
    return int(subprocess.run(cmd, capture_output=True, text=True).stdout or 0)

errors, checked = [], 0

def expect(what, got, roles, who):
    global checked
    checked += 1
    if roles == PUBLIC:
        ok = got not in (401, 403)
        want = "not 401/403"
    elif roles == SIGNED:
        ok, want = got == 401, "401 (no signature)"
    elif who in NOBODY:
        ok, want = got == 401, "401"
    elif who in roles:
        ok, want = got not in (401, 403), "not 401/403"
    else:
        ok, want = got == 403, "403"
    if not ok:
        errors.append("%s as %s: got %s, want %s" % (what, who, got, want))

# ---- every HTTP route ----
for svc in SERVICES:
    table = BUILTIN + ROUTES[svc]
    listed = json.loads(subprocess.run(
        ["curl", "-sf", "-H", "Authorization: Bearer " + TOKENS["admin"],
         "http://127.0.0.1:%d/v1/access" % port(svc)], capture_output=True, text=True).stdout)
    have = sorted((r["method"], r["path"], tuple(sorted(r["roles"]))) for r in listed["routes"])
    want = sorted((m, p, tuple(sorted(["public"] if r in (PUBLIC, SIGNED) else r)))
                  for m, p, _, _, r in table)
    if have != want:
        errors.append("%s /v1/access lists %s, the table here says %s" % (svc, have, want))
    cmds = {c["command"]: set(c["roles"]) for c in listed["commands"]}
    if cmds != COMMANDS[svc]:
        errors.append("%s takes commands %s, the table here says %s" % (svc, cmds, COMMANDS[svc]))
    for method, pattern, path, body, roles in table:
        if pattern == "/v1/commands":  # the route lets any role in; the command table decides
            name, roles = next(iter(COMMANDS[svc].items()), (None, ANY))
            body = {name: EXAMPLES[name]} if name else {"testAppend": EXAMPLES["testAppend"]}
        for who in list(NOBODY) + ROLES:
            token = NOBODY[who] if who in NOBODY else TOKENS[who]
            expect("%s %s %s" % (svc, method, path), http(svc, method, path, body, token),
                   roles, who)

# ---- every bus command, and feed fetches ----
STATUS = {"UNAUTHENTICATED": 401, "FORBIDDEN": 403}
for svc in SERVICES:
    lines, whats = [], []
    for who in list(NOBODY) + ROLES:
        token = NOBODY[who] if who in NOBODY else TOKENS[who]
        for name, body in EXAMPLES.items():
            req = {"command": {name: body}}
            if token:
                req["token"] = token
            lines.append(json.dumps(req))
            whats.append((who, name))
        req = {"fetch": {"consumer": "access-test", "maxEvents": 1}}
        if token:
            req["token"] = token
        lines.append(json.dumps(req))
        whats.append((who, "fetch"))
    out = subprocess.run([BUSCMD, "tcp://127.0.0.1:%d" % (BASE + 10 + SERVICES.index(svc))],
                         input="\n".join(lines) + "\n", capture_output=True, text=True)
    replies = [json.loads(l) for l in out.stdout.splitlines()]
    if len(replies) != len(lines):
        errors.append("%s bus: %d replies to %d requests: %s" % (svc, len(replies), len(lines),
                                                                out.stderr))
        continue
    for (who, name), rep in zip(whats, replies):
        if name == "fetch":
            status = rep.get("error", {}).get("status", "OK" if "batch" in rep else "?")
            roles = {"service"}
        else:
            status = rep.get("command", {}).get("status", "OK")
            roles = COMMANDS[svc].get(name)
            if roles is None:  # not this service's: NOT_FOUND once the caller is known
                checked += 1
                want = "UNAUTHENTICATED" if who in NOBODY else "NOT_FOUND"
                if status != want:
                    errors.append("%s bus %s as %s: got %s, want %s" % (svc, name, who, status,
                                                                         want))
                continue
        expect("%s bus %s" % (svc, name), STATUS.get(status, 200), roles, who)

print("access walk: %d answers checked, %d wrong" % (checked, len(errors)))
for e in errors:
    print("  " + e)
sys.exit(1 if errors else 0)
PY

# ---- unit isolation: water-supply and billing's ticket ----
D=$(svc_url dispatch)
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
W=(-H "Authorization: Bearer $(token_for unit:water-supply)")
[ "$(code "${W[@]}" "$D/v1/assignments/$UID_")" = 403 ] || fail "water-supply read billing's ticket"
[ "$(code "${W[@]}" "$D/v1/units/billing/tickets")" = 403 ] || fail "water-supply listed billing's queue"
[ "$(code "${W[@]}" "$(svc_url sla)/v1/clocks/$UID_")" = 403 ] || fail "water-supply read billing's clocks"
grep -q "$TID" <<<"$(curl -s "${W[@]}" "$D/v1/units/water-supply/tickets")" || fail "water-supply cannot list its own"
grep -q "$UID_" <<<"$(curl -s "${W[@]}" "$D/v1/units/water-supply/tickets")" && fail "billing's ticket in water-supply's list"
hl_as unit:water-supply sign "$UID_" 2>"$T/sign.err" && fail "water-supply signed billing's ticket"
grep -q "is not with unit water-supply" "$T/sign.err" || fail "sign refusal: $(cat "$T/sign.err")"
grep -q "held by\|billing" "$T/sign.err" && fail "the refusal names the holder: $(cat "$T/sign.err")"
hl_as unit:water-supply reply "$UID_" --result x 2>/dev/null && fail "water-supply replied to billing's ticket"
hl_as unit:water-supply contact "$UID_" 2>/dev/null && fail "water-supply recorded contact on billing's ticket"
hl_as unit:water-supply note "$UID_" --text x 2>/dev/null && fail "water-supply noted billing's ticket"
hl_as unit:water-supply return "$UID_" --reason x --basis y 2>/dev/null &&
  fail "water-supply asked to return billing's ticket"
hl_as unit:water-supply extend "$UID_" --days 1 --reason x 2>/dev/null &&
  fail "water-supply asked to extend billing's ticket"
hl_as unit:water-supply terminate "$UID_" --reason x 2>/dev/null &&
  fail "water-supply asked to terminate billing's ticket"
hl_as unit:water-supply subdispatch "$UID_" --to billing 2>/dev/null &&
  fail "water-supply passed billing's ticket down"
[ "$(code "${W[@]}" "$D/v1/workorders/WO-$UID_-1")" = 403 ] || fail "water-supply read a work order"
hl_as unit:water-supply sign "$UID_" --unit billing 2>"$T/sign2.err" && fail "a unit acted as another by naming it"
grep -q "your token acts for unit water-supply" "$T/sign2.err" || fail "$(cat "$T/sign2.err")"
hl_as unit:billing sign "$UID_" >/dev/null || fail "billing cannot sign its own ticket"
log "unit isolation: water-supply cannot read, list, sign, contact, note, return, extend, terminate, pass down or reply to billing's ticket"

# The holding unit sees its caller; a supervisor sees the ticket with the caller masked.
grep -q 13800138000 <<<"$(curl -s "${W[@]}" "$D/v1/assignments/$TID")" || fail "the holder lacks the caller"
grep -q 13800138000 <<<"$(curl_as supervisor -s "$D/v1/assignments/$TID")" && fail "a supervisor saw the caller"
grep -q 13800138000 <<<"$(curl_as supervisor -s "$(svc_url intake)/v1/tickets/$TID")" && fail "intake showed a supervisor the caller"
grep -q 13800138000 <<<"$(curl_as operator -s "$(svc_url intake)/v1/tickets/$TID")" || fail "the operator lacks the caller"

# A callback agent rates only a call it took from the queue.
# (the walk above may have signed and replied T already, as water-supply)
hl_as unit:water-supply sign "$TID" >/dev/null 2>&1 || true
hl_as unit:water-supply reply "$TID" --result "fixed" >/dev/null 2>&1 || true
wait_view "$TID" status TICKET_REPLIED
has_cb() { [ -n "$(view "$TID" callbackDueMs)" ]; }
wait_until 30 has_cb
hl_as callback-agent@agent-9 callback record "$TID" --rating very_satisfied 2>"$T/rate.err" &&
  fail "an agent rated a call it never took"
grep -q "not claimed by agent agent-9" "$T/rate.err" || fail "rating refusal: $(cat "$T/rate.err")"
log "a made-up rating is refused: $(cat "$T/rate.err")"
