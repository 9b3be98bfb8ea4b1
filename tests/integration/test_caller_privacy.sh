#!/usr/bin/env bash
# Caller data stays private (property test): generated phone numbers, in every common written
# form (spaces, dashes, dots, brackets, +86 / 0086), are written into every public text field
# (ticket description and address, Open311 description and address, the unit's contact note,
# progress note, return reason and basis, extension and termination reasons, and reply, the
# callback comment, incidents' notices and the resolution a close gives every linked caller,
# a direct answer at the door) and as callers' phones; then none of them can be read whole in
# Open311 GETs (JSON and XML), analytics timelines, status views shown to non-operators,
# dispatch's lists of returns, extensions, terminations and incidents, any service's log or
# any service's /metrics.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pipeline.sh"
KEY=open311-test-key-1
pipeline_up --open311-key "$KEY" --test-clock
export I=$(svc_url intake) D=$(svc_url dispatch) C=$(svc_url callback) A=$(svc_url analytics)
export KEY T BASE
for spec in operator dispatcher unit:water-supply callback-agent@agent-1 supervisor admin; do
  export "TOKEN_$(printf '%s' "${spec%%@*}" | tr -c 'A-Za-z0-9' '_')=$(token_for "$spec")"
done
python3 - <<'PY' || fail "a phone number leaked whole"
import json, os, random, re, subprocess, time

rnd = random.Random(7)
I, D, C, A = os.environ["I"], os.environ["D"], os.environ["C"], os.environ["A"]
tok = lambda r: os.environ["TOKEN_" + r]

def number():
    if rnd.random() < 0.5:
        d = "1" + rnd.choice("3456789") + "".join(rnd.choice("0123456789") for _ in range(9))
        groups = [d[:3], d[3:7], d[7:]]
    else:
        area = "0" + rnd.choice("123456789") + "".join(rnd.choice("0123456789") for _ in range(rnd.choice([1, 2])))
        sub = "".join(rnd.choice("0123456789") for _ in range(rnd.choice([7, 8])))
        d = area + sub
        groups = [area, sub[:-4], sub[-4:]]
    return d, groups

def written(groups, d):
    prefix = rnd.choice(["", "", "+86 ", "+86", "0086 ", "0086-", "(+86) "])
    sep = rnd.choice(["", " ", "-", "."])
    if d.startswith("0") and not prefix and rnd.random() < 0.3:
        return "(%s) %s" % (groups[0], sep.join(groups[1:]))
    return prefix + sep.join(groups)

def written_field(groups):  # the forms the phone field itself takes: digits, spaces, dashes, +
    return rnd.choice(["", "+86 ", "+86"]) + rnd.choice(["", " ", "-"]).join(groups)

numbers = []
def phone_text(template):
    d, g = number()
    w = written(g, d)
    numbers.append((d, w))
    return template % w

def curl(method, url, token=None, body=None, form=None, ctype="application/json"):
    cmd = ["curl", "-s", "-X", method, url]
    if token:
        cmd += ["-H", "Authorization: Bearer " + token]
    if body is not None:
        cmd += ["-H", "Content-Type: " + ctype, "--data-binary", json.dumps(body)]
    if form:
        for k, v in form.items():
            cmd += ["--data-urlencode", "%s=%s" % (k, v)]
    return subprocess.run(cmd, capture_output=True, text=True).stdout

ids = []
for i in range(12):
    caller_d, caller_g = number()
    caller_w = written_field(caller_g)
    numbers.append((caller_d, caller_w))
    t = {"categoryCode": "W01", "description": phone_text("no water, call me on %s please"),
         "contact": {"phone": caller_w, "name": "Li Wei"},
         "location": {"district": "Gulou", "community": "C%d" % i,
                      "address": phone_text("Building 3, tel %s")}}
    if i == 11:  # answered at the door, with a number in the answer
        t["outcome"] = {"disposition": "DISPOSITION_ANSWERED",
                        "answer": phone_text("told to ring the office at %s")}
    ans = json.loads(curl("POST", I + "/v1/tickets", tok("operator"), t))
    assert "submitTicket" in ans, (t, ans)
    ids.append(ans["submitTicket"]["ticketId"])
# Open311: description and address with numbers, from a city platform.
for i in range(4):
    ph_d, ph_g = number()
    ph_w = written_field(ph_g)
    numbers.append((ph_d, ph_w))
    out = curl("POST", I + "/open311/v2/requests.json", form={
        "api_key": os.environ["KEY"], "service_code": "W02",
        "description": phone_text("low pressure, %s"), "address_string": phone_text("Wusi Rd, %s"),
        "phone": ph_w})
    ids.append(json.loads(out)[0]["service_request_id"])
# An incident notice with a number.
curl("POST", D + "/v1/incidents", tok("dispatcher"),
     {"categoryPrefix": "W09", "area": {"community": "Riverside"},
      "summary": phone_text("drain works, questions to %s")})

def wait(pred, secs=30):
    end = time.time() + secs
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.2)
    raise SystemExit("timed out")

def view(i):
    return json.loads(curl("GET", I + "/v1/tickets/" + i, tok("operator")))
# The unit replies with a number; an agent calls back and comments with one.
for tid in ids[:3]:
    wait(lambda: view(tid).get("status") == "TICKET_DISPATCHED")
    curl("POST", D + "/v1/tickets/%s/sign" % tid, tok("unit_water_supply"), {})
    for action, body in (("contact", {"note": phone_text("reached the neighbour on %s")}),
                         ("notes", {"text": phone_text("crew lead on site, reachable on %s")})):
        ans = curl("POST", D + "/v1/tickets/%s/%s" % (tid, action), tok("unit_water_supply"), body)
        assert '"ticketAction"' in ans, (action, ans)
    curl("POST", D + "/v1/tickets/%s/reply" % tid, tok("unit_water_supply"),
         {"result": phone_text("fixed; the crew lead is on %s"), "resolved": True})
    wait(lambda: view(tid).get("callbackDueMs"))
    # due the working day after the reply: callback's test clock goes there (never back)
    now = json.loads(curl("POST", C + "/admin/clock", tok("admin"), {"advanceMs": 0}))["nowMs"]
    due = int(view(tid)["callbackDueMs"])
    curl("POST", C + "/admin/clock", tok("admin"), {"nowMs": max(now, due)})
    cbs = lambda: json.loads(curl("GET", C + "/v1/callbacks/" + tid, tok("supervisor")))["callbacks"]
    wait(lambda: cbs()[-1].get("due"))
    task = json.loads(curl("POST", C + "/v1/callbacks/next", tok("callback_agent"), {}))
    curl("POST", C + "/v1/callbacks/" + task["callbackTask"]["ticketId"], tok("callback_agent"),
         {"outcome": "CALLBACK_RATED", "rating": "RATING_SATISFIED",
          "comment": phone_text("asked to be called on %s next time")})
# The unit asks to return a fourth ticket, with numbers in its reason and basis.
wait(lambda: view(ids[3]).get("status") == "TICKET_DISPATCHED")
ans = curl("POST", D + "/v1/tickets/%s/return" % ids[3], tok("unit_water_supply"),
           {"reason": phone_text("the owner says call %s"), "basis": phone_text("meter %s")})
assert '"ticketAction"' in ans, ans
# A fifth asks for more time, a sixth to be terminated; a seventh joins an incident that
# closes with a resolution holding a number (the text every linked caller is given).
for i, action, body in ((4, "extension", {"workingDays": 2, "reason": phone_text("waiting on %s")}),
                        (5, "terminate", {"reason": phone_text("caller withdrew, said %s")})):
    wait(lambda: view(ids[i]).get("status") == "TICKET_DISPATCHED")
    ans = curl("POST", D + "/v1/tickets/%s/%s" % (ids[i], action), tok("unit_water_supply"), body)
    assert '"ticketAction"' in ans, (action, ans)
wait(lambda: view(ids[6]).get("status") == "TICKET_DISPATCHED")
inc = json.loads(curl("POST", D + "/v1/incidents", tok("dispatcher"),
                      {"categoryPrefix": "W01", "area": {"district": "Gulou", "community": "C6"},
                       "summary": phone_text("main repair, site office %s")}))["incident"]["incidentId"]
ans = curl("POST", D + "/v1/incidents/%s/link" % inc, tok("dispatcher"), {"ticketIds": [ids[6]]})
assert ids[6] in ans, ans
ans = curl("POST", D + "/v1/incidents/%s/close" % inc, tok("dispatcher"),
           {"resolution": phone_text("main repaired; complaints to %s")})
assert '"incident"' in ans, ans
wait(lambda: view(ids[6]).get("status") == "TICKET_REPLIED")
wait(lambda: all(json.loads(curl("GET", A + "/v1/tickets/%s/timeline" % t, tok("supervisor"))).get("events")
                 for t in ids[:3]))
time.sleep(1)

# Everything public, gathered.
surfaces = {}
surfaces["open311 json"] = curl("GET", I + "/open311/v2/requests.json?extensions=true")
surfaces["open311 xml"] = curl("GET", I + "/open311/v2/requests.xml?extensions=true")
for tid in ids:
    surfaces["open311 " + tid] = curl("GET", I + "/open311/v2/requests/%s.json?extensions=true" % tid)
    surfaces["timeline " + tid] = curl("GET", A + "/v1/tickets/%s/timeline" % tid, tok("supervisor"))
    surfaces["view as supervisor " + tid] = curl("GET", I + "/v1/tickets/" + tid, tok("supervisor"))
    surfaces["assignment as dispatcher " + tid] = curl("GET", D + "/v1/assignments/" + tid, tok("dispatcher"))
surfaces["returns as supervisor"] = curl("GET", D + "/v1/returns", tok("supervisor"))
assert "the owner says" in surfaces["returns as supervisor"], surfaces["returns as supervisor"]
surfaces["callbacks as supervisor"] = curl("GET", C + "/v1/callbacks?state=done", tok("supervisor"))
surfaces["extensions as supervisor"] = curl("GET", D + "/v1/extensions", tok("supervisor"))
surfaces["terminations as supervisor"] = curl("GET", D + "/v1/terminations", tok("supervisor"))
assert "withdrew" in surfaces["terminations as supervisor"], surfaces["terminations as supervisor"]
surfaces["incidents"] = curl("GET", D + "/v1/incidents?all=true", tok("unit_water_supply"))
assert "main repair" in surfaces["incidents"], surfaces["incidents"]
for s in ["intake", "dispatch", "sla", "callback", "analytics"]:
    surfaces["log " + s] = open(os.path.join(os.environ["T"], "hl", s + ".log")).read()
    port = int(os.environ["BASE"]) + ["intake", "dispatch", "sla", "callback", "analytics"].index(s)
    surfaces["metrics " + s] = curl("GET", "http://127.0.0.1:%d/metrics" % port)
assert "no water" in surfaces["open311 json"], \
    "the surfaces hold no text at all: the test would prove nothing"
# Analytics keeps no free text in its timelines (intake owns the ticket as recorded): the reply
# is there, its result text (with the number) is not.
assert "ticketReplied" in surfaces["timeline " + ids[0]] and "fixed" not in surfaces["timeline " + ids[0]], \
    surfaces["timeline " + ids[0]]

def runs(text):  # digits of every run of digits and separators
    return ["".join(c for c in m if c.isdigit()) for m in re.findall(r"[0-9][0-9 ().+-]*", text)]

leaks = []
for name, text in surfaces.items():
    rs = runs(text)
    for d, w in numbers:
        if w in text or any(d in r for r in rs):
            leaks.append("%s shows %s" % (name, w))
print("privacy: %d numbers in %d forms, %d public surfaces, %d leaks" %
      (len(numbers), len(set(w for _, w in numbers)), len(surfaces), len(leaks)))
for l in leaks[:20]:
    print("  " + l)
raise SystemExit(1 if leaks else 0)
PY
log "no phone number whole in Open311, timelines, views, logs or metrics"
