#!/usr/bin/env bash
# deploy/monitoring (issue 12, "It must show" 4): the alert rules and the dashboard hold up
# against promtool, the real services and a real Prometheus.
#   1. promtool: `check rules` and `check config` pass, `test rules` passes, every alert has a
#      unit test where it fires and one where it stays quiet, and a broken rule fails them
#      (controls: a rule file with a typo, an alert whose threshold changed)
#   2. the dashboard: valid JSON whose panels all take the Prometheus datasource variable,
#      with the panels the issue asks for, and queries that promtool parses
#   3. the metric-name checker (deploy/monitoring/check_metric_names.py) finds the names in
#      PromQL and nothing else (functions, label names, by (...) lists, durations, strings,
#      Grafana variables are not names)
#   4. the real pipeline (`hotline up`, dispatch with a crew whose system is not there, so a
#      work order dead-letters), a few tickets and a refused request: every metric name that
#      the dashboard's queries and the alert rules use is in the five services' /metrics; a
#      bogus name, in the dashboard or in the rules, and a histogram's bare name are refused
#   5. Prometheus (Debian's prometheus) scrapes the five with prometheus.yml (its ports
#      moved to this pipeline's) and evaluates alerts.yml: every hotline-* target is up, the
#      dead-letter alert is active for the crew's connector and no other alert is, and every
#      dashboard query runs, each panel showing data
#
# Env: HOTLINE_BIN, HOTLINE_SRC (default: this checkout), PROMTOOL, PROMETHEUS.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pipeline.sh"
SRC=${HOTLINE_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
MON=$SRC/deploy/monitoring
PROMTOOL=${PROMTOOL:-/usr/bin/promtool}
PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}
DASH=$MON/hotline-dashboard.json
RULES=$MON/alerts.yml
check() { python3 "$MON/check_metric_names.py" "$@"; }

[ -x "$PROMTOOL" ] || fail "promtool not found at $PROMTOOL (install Debian's prometheus package)"
[ -x "$PROMETHEUS" ] || fail "prometheus not found at $PROMETHEUS (Debian's prometheus package)"

# ---- 1. promtool ------------------------------------------------------------------------------
# promtool prints SUCCESS or FAILED per file; any non-zero exit is a failure.
pt() { # pt OUTFILE ARGS...: promtool, output kept, exit status returned
  local out=$1 rc=0; shift
  "$PROMTOOL" "$@" >"$out" 2>&1 || rc=$?
  return $rc
}
pt "$T/check.out" check rules "$RULES" || { cat "$T/check.out"; fail "promtool check rules failed"; }
NRULES=$(sed -n 's/^ *SUCCESS: \([0-9]*\) rules found$/\1/p' "$T/check.out")
[ -n "$NRULES" ] && [ "$NRULES" -ge 6 ] || fail "promtool check rules: $(cat "$T/check.out")"
pt "$T/config.out" check config "$MON/prometheus.yml" ||
  { cat "$T/config.out"; fail "promtool check config failed"; }
grep -q 'SUCCESS: 1 rule files found' "$T/config.out" ||
  fail "prometheus.yml does not load alerts.yml: $(cat "$T/config.out")"
(cd "$MON" && pt "$T/test.out" test rules alerts_test.yml) ||
  { cat "$T/test.out"; fail "promtool test rules failed"; }
grep -q '^  SUCCESS' "$T/test.out" || fail "promtool test rules: $(cat "$T/test.out")"
log "promtool: check rules ($NRULES rules), check config and test rules pass"

# Every alert has a test where it fires and one where it does not.
pyc 'import re, sys
alerts = re.findall(r"^\s*- alert:\s*(\S+)", open(sys.argv[1]).read(), re.M)
fires, quiet = set(), set()
for case in open(sys.argv[2]).read().split("- eval_time:")[1:]:
    name = re.search(r"alertname:\s*(\S+)", case).group(1)
    (quiet if re.search(r"exp_alerts:\s*\[\]", case) else fires).add(name)
bad = ["%s (%s)" % (a, ", ".join(w for w, s in (("no firing case", fires), ("no quiet case", quiet))
                                 if a not in s)) for a in alerts if a not in fires or a not in quiet]
if len(alerts) < 6 or bad:
    sys.exit("alerts %s; tests missing for: %s" % (alerts, bad))
print(len(alerts))' "$RULES" "$MON/alerts_test.yml" >"$T/nalerts" || fail "alerts without unit tests"
[ "$(cat "$T/nalerts")" = "$NRULES" ] || fail "$(cat "$T/nalerts") alerts, $NRULES rules"

# Controls: promtool refuses a rule with a typo, and the unit tests catch a changed threshold.
mkdir -p "$T/ctl"
sed 's/== 0$/== 0 +/' "$RULES" >"$T/ctl/alerts.yml"
cmp -s "$RULES" "$T/ctl/alerts.yml" && fail "control: the typo was not made"
pt "$T/ctl.out" check rules "$T/ctl/alerts.yml" && fail "control: promtool accepted a broken rule"
sed 's/\[30m\])) > 10$/[30m])) > 100/' "$RULES" >"$T/ctl/alerts.yml"
cmp -s "$RULES" "$T/ctl/alerts.yml" && fail "control: the breach floor was not changed"
cp "$MON/alerts_test.yml" "$T/ctl/"
pt "$T/ctl.out" check rules "$T/ctl/alerts.yml" || fail "control: $(cat "$T/ctl.out")"
(cd "$T/ctl" && pt "$T/ctl.out" test rules alerts_test.yml) &&
  fail "control: the unit tests passed with the breach floor at 100"
grep -q 'HotlineSlaBreachSurge' "$T/ctl.out" || fail "control: $(cat "$T/ctl.out")"
log "controls: a broken rule and a changed threshold fail promtool"

# ---- 2. the dashboard -------------------------------------------------------------------------
pyc 'import json, sys
d = json.load(open(sys.argv[1]))
var = {v["name"]: v for v in d["templating"]["list"]}
ds = var.get("datasource")
assert ds and ds["type"] == "datasource" and ds["query"] == "prometheus", "no datasource variable"
panels = [p for p in d["panels"] if p["type"] != "row"]
ids = [p["id"] for p in d["panels"]]
assert len(ids) == len(set(ids)), "panel ids repeat"
for p in panels:
    where = "panel %r" % p["title"]
    assert p.get("targets"), where + " has no query"
    for o in [p] + p["targets"]:
        assert o.get("datasource") == {"type": "prometheus", "uid": "${datasource}"}, \
            where + " does not use the datasource variable"
    g = p["gridPos"]
    assert g["w"] > 0 and g["h"] > 0 and g["x"] + g["w"] <= 24, where + " gridPos"
titles = " | ".join(p["title"] for p in panels).lower()
for want in ["intake rate", "feed lag per consumer", "commit latency", "store use", "sla breaches",
             "satisfaction", "services up", "http error rate", "dead letters", "callback queue"]:
    assert want in titles, "no panel for " + want
print(len(panels))' "$DASH" >"$T/npanels" || fail "the dashboard's model is not what Grafana imports"
check --dashboard "$DASH" --as-rules >"$T/dq.json" || fail "the dashboard's queries do not read"
pt "$T/dq.out" check rules "$T/dq.json" ||
  { cat "$T/dq.out"; fail "promtool does not parse the dashboard's queries"; }
log "dashboard: $(cat "$T/npanels") panels on \${datasource}, every query parsed by promtool"

# ---- 3. the checker's parser ------------------------------------------------------------------
names_are() { # names_are "EXPECTED NAMES" EXPR
  local got
  got=$(check --expr "$2" | tr '\n' ' ')
  [ "$got" = "$1 " ] || fail "names of: $2: got '$got', expected '$1'"
}
names_are "hotline_commit_seconds_bucket" \
  'histogram_quantile(0.99, sum by (job, le) (rate(hotline_commit_seconds_bucket{job=~"$job"}[$__rate_interval])))'
names_are "a_total b" \
  'sum without (le, instance) (increase(a_total{x="y, z (w)"}[1h30m] offset -1d)) > bool 0 and on(job) group_left(version) b'
names_are "c d_bytes e" 'topk(5, c) / ignoring(q) d_bytes @ start() or label_replace(e, "a", "$1", "b", "(.*)") * 1e+3 # f'
names_are "g j" 'count_values("h", g) + vector(0) + inf + ${job} + [[i]] + avg_over_time(j{k="l"}[5m:1m]) * 0 unless nan'
names_are "my_metric" '{__name__="my_metric", job="x"}'
NEXPR=$(check --rules "$RULES" --count-exprs)
[ "$NEXPR" = "$NRULES" ] || fail "the checker read $NEXPR expressions in alerts.yml, promtool $NRULES rules"
log "the checker finds metric names only, and reads all $NEXPR rules"

# ---- 4. the real pipeline's metric names ------------------------------------------------------
NOBODY=$(free_port)   # the crew system's address: nothing listens there
printf 'crew-webhook-secret-0123456789\n' >"$T/crew.key"
chmod 600 "$T/crew.key"
cat >"$T/dispatch.json" <<EOF
{"crews": [{"unit": "repair-crew-north", "url": "http://127.0.0.1:$NOBODY/orders",
            "secretFile": "$T/crew.key", "maxAttempts": 1, "timeoutMs": 2000}]}
EOF
pipeline_up --service-config "dispatch=$T/dispatch.json"
for i in 1 2 3; do
  hl_as operator submit --category W04 --description "water from the pavement $i" \
    --phone "1370000000$i" --district Gulou >/dev/null 2>"$T/submit.err" ||
    fail "submit: $(cat "$T/submit.err")"
done
curl -s -o /dev/null "$(svc_url intake)/v1/tickets" # no token: a refusal for the refusal counts
metric_of() { # metric_of SERVICE LINE-PREFIX: the value of the first sample line starting so
  curl -sf "$(svc_url "$1")/metrics" | awk -v p="$2" 'index($0, p) == 1 {print $NF; exit}'
}
dead_letter() { [ "$(metric_of dispatch 'hotline_connector_dead_letters{connector="crew_repair_crew_north"}')" = 3 ]; }
wait_until 30 dead_letter
analytics_saw() { [ "$(metric_of analytics 'hotline_tickets_total{stage="dispatched"}')" = 3 ]; }
wait_until 30 analytics_saw
EXPORTED=()
for s in "${SERVICES[@]}"; do
  curl -sf "$(svc_url "$s")/metrics" >"$T/$s.metrics" || fail "no /metrics from $s"
  EXPORTED+=(--exported "$T/$s.metrics")
done
check --dashboard "$DASH" --rules "$RULES" "${EXPORTED[@]}" >"$T/names.out" ||
  { cat "$T/names.out"; fail "the dashboard or the alerts use metrics no service exports"; }
log "$(cat "$T/names.out")"

# Controls: a bogus name in the dashboard or in the rules, and a histogram's bare name, fail.
pyc 'import json, sys
d = json.load(open(sys.argv[1]))
p = [p for p in d["panels"] if p["type"] != "row"][3]
p["targets"].append(dict(p["targets"][0], refId="Z",
                         expr="sum(rate(hotline_tickets_recieved_total[5m]))"))
json.dump(d, open(sys.argv[2], "w"))' "$DASH" "$T/ctl/dash.json"
rc=0
check --dashboard "$T/ctl/dash.json" --rules "$RULES" "${EXPORTED[@]}" >"$T/ctl.out" || rc=$?
[ "$rc" = 1 ] || fail "control: the checker passed a bogus metric in the dashboard (exit $rc)"
grep -q '^not exported: hotline_tickets_recieved_total, used by panel' "$T/ctl.out" ||
  fail "control: the checker did not name the bogus metric: $(cat "$T/ctl.out")"
[ "$(grep -c '^not exported' "$T/ctl.out")" = 1 ] || fail "control: $(cat "$T/ctl.out")"
sed 's/hotline_store_map_limit_bytes{/hotline_store_map_size_bytes{/' "$RULES" >"$T/ctl/alerts.yml"
cmp -s "$RULES" "$T/ctl/alerts.yml" && fail "control: the rule was not changed"
rc=0
check --dashboard "$DASH" --rules "$T/ctl/alerts.yml" "${EXPORTED[@]}" >"$T/ctl.out" || rc=$?
[ "$rc" = 1 ] && grep -q '^not exported: hotline_store_map_size_bytes, used by rule HotlineStoreNearlyFull' \
  "$T/ctl.out" || fail "control: a bogus metric in the rules passed (exit $rc): $(cat "$T/ctl.out")"
printf -- '- alert: X\n  expr: rate(hotline_commit_seconds[5m]) > 0\n' >"$T/ctl/hist.yml"
rc=0
check --rules "$T/ctl/hist.yml" "${EXPORTED[@]}" >"$T/ctl.out" || rc=$?
[ "$rc" = 1 ] && grep -q 'hotline_commit_seconds (a histogram' "$T/ctl.out" ||
  fail "control: a histogram's bare name passed (exit $rc): $(cat "$T/ctl.out")"
log "controls: a bogus name in the dashboard or the rules, and a histogram's bare name, are refused"

# ---- 5. Prometheus: prometheus.yml and alerts.yml on the live pipeline ------------------------
PROM_PORT=$(free_port)
P="http://127.0.0.1:$PROM_PORT"
pyc 'import re, sys
src, rules, base, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
text = open(src).read()
n = [0]
def port(m):
    n[0] += 1
    return "127.0.0.1:%d" % (base + int(m.group(1)) - 8080)
text = re.sub(r"127\.0\.0\.1:(808[0-4])", port, text)
text = re.sub(r"(scrape|evaluation)_interval: 15s", r"\1_interval: 1s", text)
text = text.replace("  - alerts.yml", "  - " + rules)
assert n[0] == 5 and text.count(": 1s") == 2 and rules in text, "prometheus.yml changed shape"
open(out, "w").write(text)' "$MON/prometheus.yml" "$RULES" "$BASE" "$T/prometheus.yml"
start prometheus "$PROMETHEUS" --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/tsdb" \
  --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn
promq() { # promq EXPR: the API's answer to an instant query
  curl -sf --get --data-urlencode "query=$1" "$P/api/v1/query"
}
all_up() { # five hotline-* targets, all up, and enough samples for a rate over 1m
  [ "$(promq 'count(up{job=~"hotline-.+"} == 1)' | json_get - data.result.0.value.1)" = 5 ] &&
    [ "$(promq 'count(rate(hotline_commits_total[1m]))' | json_get - data.result.0.value.1)" = 5 ]
}
wait_until 60 all_up
alerts_now() {
  curl -sf "$P/api/v1/alerts" | pyc 'import json, sys
a = json.loads(sys.argv[1])["data"]["alerts"]
print(" ".join(sorted("%s/%s/%s" % (x["labels"]["alertname"], x["labels"].get("connector", "-"),
                                    x["state"]) for x in a)))' "$(cat)"
}
dead_letter_alert() { alerts_now | grep -q 'HotlineWebhookDeadLetters/crew_repair_crew_north/'; }
wait_until 30 dead_letter_alert
ACTIVE=$(alerts_now)
[ "$(wc -w <<<"$ACTIVE")" = 1 ] || fail "alerts active besides the dead letter: $ACTIVE"
log "Prometheus scrapes the five with prometheus.yml; active alerts: $ACTIVE"

check --dashboard "$DASH" --queries >"$T/queries.jsonl"
: >"$T/panel-results"
while IFS= read -r line; do
  panel=$(json_get - panel <<<"$line")
  expr=$(json_get - expr <<<"$line")
  promq "$expr" >"$T/answer.json" || fail "Prometheus refused the query of $panel: $expr"
  n=$(pyc 'import json, sys
a = json.load(open(sys.argv[1]))
assert a["status"] == "success", a
r = a["data"]["result"]
print(len(r) if isinstance(r, list) else 1)' "$T/answer.json") || fail "the query of $panel: $(cat "$T/answer.json")"
  printf '%s\t%s\n' "${panel% target *}" "$n" >>"$T/panel-results"
done <"$T/queries.jsonl"
EMPTY=$(pyc 'import sys
seen = {}
for line in open(sys.argv[1]):
    panel, n = line.rstrip("\n").split("\t")
    seen[panel] = seen.get(panel, 0) + int(n)
print("; ".join(p for p, n in seen.items() if n == 0))
print(len(seen), file=open(sys.argv[2], "w"))' "$T/panel-results" "$T/npanels-run")
[ -z "$EMPTY" ] || fail "panels with no data on the live pipeline: $EMPTY"
log "$(wc -l <"$T/queries.jsonl") dashboard queries run on Prometheus; all $(cat "$T/npanels-run") panels show data"
echo "PASS: deploy/monitoring: rules, unit tests, dashboard and metric names check out"
