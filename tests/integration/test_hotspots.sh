#!/usr/bin/env bash
# Hotspots on the real pipeline (issue 12, must-show 3), replayed on the test clock: four
# hours of background traffic (3,000 tickets a day spread over every offered category, 12
# districts, 8 streets each) with three bursts over it, each a fault on one street reported by
# many callers, some of whom call again:
#   A  W04 leaks on Wuyi Rd (Gulou), 120 reports in 40 min
#   B  W01 no water on Bayiqi Rd (Taijiang), 90 reports in 30 min
#   C  W02 pressure on Pushang Rd (Cangshan), 70 reports in 25 min, each with a point
# A quarter of each burst's reports are callers calling again (linked to their own ticket,
# not new tickets); the surge reports counted are the new tickets. The first minCount (8) of a
# burst come before its hotspot and are linked by rule when the incident is declared.
# Dispatch runs hotspots.mode "auto". The reports are submitted minute by minute: every
# service's clock is moved to the minute first, and after each minute the feeds are let catch
# up (analytics reads intake, dispatch reads analytics, intake reads dispatch), as minutes of
# real time would. Printed: surge reports, how many were linked at the door (the answer names
# an incident), the share of links to the right incident, hotspots raised by background.
# Must show: >= 80% linked at the door, >= 99% of links right, 0 background hotspots.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pipeline.sh"
echo '{"hotspots": {"mode": "auto"}}' > "$T/dispatch.json"
pipeline_up --test-clock --sync nosync --service-config "dispatch=$T/dispatch.json"
export OPERATOR_TOKEN=$(token_for operator) ADMIN_TOKEN=$(token_for admin)
export SERVICE_TOKEN=$(token_for service) DISPATCHER_TOKEN=$(token_for dispatcher)
export START_MS=$(ms 2026-11-27T08:00:00+08:00)
URLS=""
for s in "${SERVICES[@]}"; do URLS="$URLS $s=$(svc_url "$s")"; done
export URLS

python3 - > "$T/figures.txt" <<'PY' || { cat "$T/figures.txt"; fail "the scenario failed"; }
import http.client, json, os, random, sys, time, urllib.parse
urls = dict(x.split("=", 1) for x in os.environ["URLS"].split())
conns = {}
def call(svc, method, path, body=None, token="OPERATOR_TOKEN"):
    if svc not in conns:
        u = urllib.parse.urlparse(urls[svc])
        conns[svc] = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    c = conns[svc]
    c.request(method, path, json.dumps(body) if body is not None else None,
              {"Authorization": "Bearer " + os.environ[token], "Content-Type": "application/json"})
    r = c.getresponse(); data = r.read()
    if r.status != 200:
        sys.exit("%s %s %s: %d %s" % (svc, method, path, r.status, data[:300]))
    return json.loads(data) if data else {}

def status(svc): return call(svc, "GET", "/v1/status", token="ADMIN_TOKEN")
def cursor(consumer, producer):
    return {f["producer"]: f["cursor"] for f in status(consumer)["feeds"]}[producer]
def caught_up(consumer, producer):
    head = status(producer)["headSeq"]; deadline = time.time() + 20
    while cursor(consumer, producer) < head:
        if time.time() > deadline: sys.exit("%s did not catch up with %s" % (consumer, producer))
        time.sleep(0.005)
def settle(): # one pass around the loop a new report's hotspot takes
    caught_up("analytics", "intake"); caught_up("dispatch", "analytics")
    caught_up("dispatch", "intake"); caught_up("intake", "dispatch")

start = int(os.environ["START_MS"]); MIN = 60000
rng = random.Random(12)
codes = sorted(s["service_code"] for s in
               call("intake", "GET", "/open311/v2/services.json"))
districts = ["Gulou", "Taijiang", "Cangshan", "Jinan", "Mawei", "Changle", "Minhou",
             "Lianjiang", "Luoyuan", "Minqing", "Yongtai", "Pingtan"]
def code_for(prefix): return [c for c in codes if c.startswith(prefix)][0]
BURSTS = {  # name: prefix, district, street, first minute, reports, minutes, point
    "A": ("W04", "Gulou", "Wuyi Rd", 40, 120, 40, None),
    "B": ("W01", "Taijiang", "Bayiqi Rd", 100, 90, 30, None),
    "C": ("W02", "Cangshan", "Pushang Rd", 170, 70, 25, (26.0412, 119.2853)),
}
MINUTES = 240
plan = {m: [] for m in range(MINUTES)}
n_background = MINUTES * 3000 // 1440
for i in range(n_background):  # background: anywhere but the bursts' streets
    plan[rng.randrange(MINUTES)].append(("bg", i, {
        "categoryCode": rng.choice(codes), "description": "background report",
        "contact": {"phone": "137%08d" % i},
        "location": {"district": rng.choice(districts), "street": "Street %d" % rng.randrange(8),
                     "community": "c%d" % rng.randrange(20)}}))
for name, (prefix, district, street, first, n, span, point) in BURSTS.items():
    callers = max(1, n * 3 // 4)  # a quarter of the reports are callers calling again
    for i in range(n):
        who = i if i < callers else rng.randrange(callers)
        loc = {"district": district, "street": street, "community": "%s-%d" % (street, who % 5)}
        if point:
            loc["point"] = {"lat": point[0] + rng.uniform(-0.001, 0.001),
                            "long": point[1] + rng.uniform(-0.001, 0.001)}
        plan[first + i * span // n].append((name, i, {
            "categoryCode": code_for(prefix), "description": "burst %s report" % name,
            "contact": {"phone": "139%s%07d" % ("ABC".index(name), who)}, "location": loc}))

answers = []  # (group, answer)
t0 = time.time()
for m in range(MINUTES):
    now = start + m * MIN
    for svc in urls:
        call(svc, "POST", "/admin/clock", {"nowMs": now}, token="ADMIN_TOKEN")
    if not plan[m]:
        continue
    for group, i, ticket in plan[m]:
        a = call("intake", "POST", "/v1/tickets", ticket)["submitTicket"]
        answers.append((group, a))
    settle()

incidents = {i["incidentId"]: i for i in
             call("dispatch", "GET", "/v1/incidents?all=true", token="DISPATCHER_TOKEN")["incidents"]}
def burst_of(incident_id):  # which burst an incident is about, by its prefix and street
    inc = incidents.get(incident_id, {})
    for name, b in BURSTS.items():
        if inc.get("categoryPrefix") == b[0] and inc.get("area", {}).get("street") == b[2]:
            return name
    return None
surge = [(g, a) for g, a in answers if g != "bg" and not a.get("linked")]
repeats = sum(1 for g, a in answers if g != "bg" and a.get("linked"))
at_door = [(g, a) for g, a in surge if a.get("incidentId")]
links = [(g, a) for g, a in answers if a.get("incidentId") and not a.get("linked")]
right = [(g, a) for g, a in links if burst_of(a["incidentId"]) == g]
events = call("analytics", "GET", "/v1/events?limit=1000", token="SERVICE_TOKEN")["events"]
hotspots = [e["hotspotDetected"] for e in events if "hotspotDetected" in e]
def from_burst(h):
    return any(h["categoryPrefix"] == b[0] and
               (h.get("street") == b[2] or (h.get("view") == "grid" and b[6]))
               for b in BURSTS.values())
background_hotspots = [h for h in hotspots if not from_burst(h)]
pct = lambda a, b: 100.0 * a / b if b else 0.0
print("background reports: %d; burst reports: %d new tickets + %d repeat calls"
      % (sum(1 for g, _ in answers if g == "bg"), len(surge), repeats))
for name in BURSTS:
    mine = [a for g, a in surge if g == name]
    print("burst %s: %d reports, %d linked at the door" %
          (name, len(mine), sum(1 for a in mine if a.get("incidentId"))))
print("surge reports linked at the door: %d of %d (%.1f%%)" % (len(at_door), len(surge),
      pct(len(at_door), len(surge))))
print("links to the right incident: %d of %d (%.1f%%)" % (len(right), len(links),
      pct(len(right), len(links))))
print("hotspots: %d raised, %d by background traffic" % (len(hotspots), len(background_hotspots)))
print("incidents declared: %d; replay took %.1f s" % (len(incidents), time.time() - t0))
ok = pct(len(at_door), len(surge)) >= 80 and pct(len(right), len(links)) >= 99 and \
     not background_hotspots and all(burst_of(i) for i in incidents)
sys.exit(0 if ok else 1)
PY
cat "$T/figures.txt"
[ "$(events_count analytics hotspot_detected)" -ge 3 ] ||
  fail "analytics' /metrics counts $(events_count analytics hotspot_detected) hotspot_detected"
# The CLI: every hotspot with its state and the incident it became or joined.
hl_as dispatcher hotspot list --all >"$T/hotspots.txt"
cat "$T/hotspots.txt"
[ "$(grep -c ' -> INC-' "$T/hotspots.txt")" -ge 3 ] || fail "hotspot list: $(cat "$T/hotspots.txt")"
hl_as dispatcher hotspot dismiss HS-none --reason "test" 2>"$T/hs.err" && fail "dismissed a hotspot that is not there"
[ -s "$T/hs.err" ] || fail "no message for an unknown hotspot"
hl down --data-dir "$T/hl" >/dev/null
log "PASS: bursts became incidents that new reports joined at the door; background raised none"
