#!/usr/bin/env bash
# Production shape (issue 13): deploy/compose and deploy/k8s are checked by real validators, and
# what they would start is started here and works.
#   1. key material made by deploy/make-secrets.sh with the real CLI (copies of deploy/ in $T)
#   2. Compose: Debian's `docker-compose config` (no Docker engine needed) accepts compose.yaml;
#      controls: an unknown key, a value of the wrong type, no CURVE keys given
#   3. promtool check config on the Prometheus configurations of compose and of Kubernetes
#      (with deploy/monitoring/alerts.yml beside them); control: an unknown field
#   4. Kubernetes: tests/support/k8s-validate renders deploy/k8s/base and overlays/two-intakes
#      (its own renderer of the kustomize subset used: Debian 12 has no kustomize and CI no
#      kubectl) and validates every object against the Kubernetes schemas (npm kubernetes-models:
#      types, enums, required fields, and unknown fields through their TypeScript declarations)
#      and the references between objects (selectors, ports, volumes, ConfigMap and Secret keys,
#      $(VAR) expansions); where kubectl is installed, `kubectl kustomize` must render the same
#      objects field for field (a developer's check; CI has no kubectl); controls, each of which
#      must fail naming the object and field: a StatefulSet with a wrong type, one with an
#      unknown field, a Service selecting no pod, a volume item naming a missing Secret key,
#      an undefined $(VAR), a NetworkPolicy port no pod has, a kustomize feature the renderer
#      does not know
#   5. the five services as compose would start them (entrypoint, command, environment, bind
#      mounts and secrets of `docker-compose config`), moved to 127.0.0.1 ports: every
#      healthcheck passes, a ticket goes intake -> dispatch over the CURVE bus, SIGTERM stops
#      each with exit 0
#   6. the pods of overlays/two-intakes as kubelet would start them (command, args, envFrom and
#      env with $(VAR) expansion and the pod name, Secret and ConfigMap files where the volumes
#      put them): every readiness probe passes, intake-0 and intake-1 are instances 1 and 2 of
#      the ticket ids, a ticket goes intake -> dispatch over CURVE
# Needs: docker-compose, promtool, node + tests/support/k8s-validate/node_modules (scripts/deps.sh).
source "$(dirname "$0")/../lib.sh"
SRC=${HOTLINE_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
V=$SRC/tests/support/k8s-validate
PROMTOOL=${PROMTOOL:-/usr/bin/promtool}
START=$(date +%s)

command -v docker-compose >/dev/null || fail "docker-compose not found (scripts/deps.sh installs Debian's)"
[ -x "$PROMTOOL" ] || fail "promtool not found at $PROMTOOL (Debian's prometheus package)"
command -v node >/dev/null || fail "node not found (scripts/deps.sh installs Debian's nodejs)"
[ "$(cat "$V/node_modules/.lock-sha256" 2>/dev/null)" = "$(sha256sum "$V/package-lock.json" | cut -d' ' -f1)" ] ||
  fail "$V/node_modules is missing or older than package-lock.json: run scripts/deps.sh"
kv() { node "$V/k8s-validate.js" "$@"; }

# ---- 1. secrets ------------------------------------------------------------------------------
mkdir -p "$T/deploy"
cp -r "$SRC/deploy/compose" "$SRC/deploy/k8s" "$SRC/deploy/monitoring" "$SRC/deploy/make-secrets.sh" "$T/deploy/"
rm -rf "$T/deploy/compose/secrets" "$T/deploy/k8s/base/secrets"
HOTLINE_CLI=$BIN/hotline "$T/deploy/make-secrets.sh" "$T/deploy/k8s/base/secrets" >/dev/null ||
  fail "make-secrets.sh for Kubernetes failed"
HOTLINE_CLI=$BIN/hotline "$T/deploy/make-secrets.sh" "$T/deploy/compose/secrets" --compose >/dev/null ||
  fail "make-secrets.sh for compose failed"
for f in tokens/tokens.json tokens/service.token admin.token curve/intake.key curve/analytics.key curve-public.env; do
  [ -s "$T/deploy/k8s/base/secrets/$f" ] || fail "make-secrets.sh made no $f"
done
[ "$(grep -c '^CURVE_PUB_[A-Z]*=.\{40\}$' "$T/deploy/k8s/base/secrets/curve-public.env")" = 6 ] ||
  fail "curve-public.env: $(cat "$T/deploy/k8s/base/secrets/curve-public.env")"
[ "$(grep -c "^CURVE_PUB_[A-Z]*='.\{40\}'$" "$T/deploy/compose/secrets/curve-public.env")" = 6 ] ||
  fail "compose's curve-public.env is not quoted: $(cat "$T/deploy/compose/secrets/curve-public.env")"
log "make-secrets.sh: CURVE keys of the five services and tools, a token registry, the services' and an admin token"

# ---- 2. docker-compose config ---------------------------------------------------------------
C=$T/deploy/compose
compose_config() { # compose_config FILE [ENVFILE]: docker-compose config, output in $T/compose.out
  local args=(-f "$1")
  [ -z "${2:-}" ] || args=(--env-file "$2" "${args[@]}")
  (cd "$C" && docker-compose "${args[@]}" config) >"$T/compose.out" 2>"$T/compose.err"
}
compose_config compose.yaml secrets/curve-public.env ||
  fail "docker-compose config: $(cat "$T/compose.err")"
NSVC=$(node -e 'const Y = require(process.argv[1]), fs = require("fs");
console.log(Object.keys(Y.parse(fs.readFileSync(process.argv[2], "utf8")).services).length)' "$V/node_modules/yaml" "$T/compose.out")
[ "$NSVC" = 7 ] || fail "compose.yaml has $NSVC services, not 7 (five, prometheus, grafana)"
cp "$T/compose.out" "$T/compose.config.yaml"
log "docker-compose config: compose.yaml is valid ($NSVC services: the five, prometheus, grafana)"

# Controls: each must be refused, for the reason planted.
sed 's/^    read_only: true$/    read_only: true\n    restartt: always/; s/^  restart: unless-stopped$/  restart: unless-stopped\n  restartt: always/' \
  "$C/compose.yaml" >"$C/bad-key.yaml"
grep -q restartt "$C/bad-key.yaml" || fail "control not planted: bad-key.yaml"
compose_config bad-key.yaml secrets/curve-public.env && fail "docker-compose config accepted an unknown key"
grep -q "restartt" "$T/compose.err" || fail "the unknown-key control failed for another reason: $(cat "$T/compose.err")"
sed '0,/^      retries: 3$/s//      retries: three/' "$C/compose.yaml" >"$C/bad-type.yaml"
grep -q 'retries: three' "$C/bad-type.yaml" || fail "control not planted: bad-type.yaml"
compose_config bad-type.yaml secrets/curve-public.env && fail "docker-compose config accepted retries: three"
grep -q "retries" "$T/compose.err" || fail "the wrong-type control failed for another reason: $(cat "$T/compose.err")"
compose_config compose.yaml && fail "docker-compose config went through without the CURVE keys"
grep -q "CURVE_PUB_INTAKE" "$T/compose.err" || fail "the no-keys control failed for another reason: $(cat "$T/compose.err")"
log "docker-compose config controls: an unknown key, retries: three and missing CURVE keys are refused"

# ---- 3. promtool check config ----------------------------------------------------------------
promcheck() { # promcheck NAME CONFIG: promtool check config with alerts.yml beside it
  mkdir -p "$T/prom-$1"
  cp "$2" "$T/prom-$1/prometheus.yml"
  cp "$SRC/deploy/monitoring/alerts.yml" "$T/prom-$1/"
  "$PROMTOOL" check config "$T/prom-$1/prometheus.yml" >"$T/prom-$1.out" 2>&1
}
for pair in compose:"$SRC/deploy/compose/prometheus.yml" k8s:"$SRC/deploy/k8s/monitoring/prometheus.yml"; do
  promcheck "${pair%%:*}" "${pair#*:}" || fail "promtool check config ${pair#*:}: $(cat "$T/prom-${pair%%:*}.out")"
  grep -q 'SUCCESS: 1 rule files found' "$T/prom-${pair%%:*}.out" || fail "${pair#*:} does not load alerts.yml"
  for s in intake dispatch sla callback analytics; do
    grep -q "job_name: hotline-$s\$" "${pair#*:}" || fail "${pair#*:} has no job hotline-$s (the rules and the dashboard need it)"
  done
done
sed 's/^    static_configs:$/    static_config:/' "$SRC/deploy/compose/prometheus.yml" >"$T/bad-prom.yml"
promcheck bad "$T/bad-prom.yml" && fail "promtool accepted a configuration with an unknown field"
grep -q 'static_config' "$T/prom-bad.out" || fail "the promtool control failed for another reason: $(cat "$T/prom-bad.out")"
log "promtool check config: compose's and Kubernetes' prometheus.yml pass (jobs hotline-<service>, alerts.yml loaded); an unknown field fails"

# ---- 4. Kubernetes ---------------------------------------------------------------------------
K=$T/deploy/k8s
kv check "$K/base" "$K/overlays/two-intakes" >"$T/k8s.out" 2>&1 || fail "Kubernetes manifests: $(cat "$T/k8s.out")"
for d in base overlays/two-intakes; do
  grep -q "^$K/$d: [0-9]* objects .*: OK\$" "$T/k8s.out" || fail "$d: $(cat "$T/k8s.out")"
done
sed "s|$K/||" "$T/k8s.out"
# The renderer against kustomize itself, where kubectl is installed (a developer's machine: CI's
# Debian 12 has no kubectl, and kustomize is not packaged).
if command -v kubectl >/dev/null; then
  for d in base overlays/two-intakes; do
    kubectl kustomize "$K/$d" >"$T/kubectl.yaml" 2>"$T/kubectl.err" || fail "kubectl kustomize $d: $(cat "$T/kubectl.err")"
    kv compare "$K/$d" "$T/kubectl.yaml" >"$T/compare.out" || fail "the renderer differs from kubectl kustomize: $(cat "$T/compare.out")"
    sed "s|$K/||" "$T/compare.out"
  done
else
  log "kubectl not installed: the renderer is not compared with kubectl kustomize on this machine"
fi

# Controls: copies of the manifests, each with one fault planted; each must fail, naming it.
control() { # control NAME FILE SED_EXPR EXPECTED_OUTPUT
  local name=$1 file=$2 expr=$3
  rm -rf "$T/ctl/$name"
  mkdir -p "$T/ctl/$name"
  cp -r "$K/base" "$T/ctl/$name/base"
  sed -i "$expr" "$T/ctl/$name/base/$file"
  cmp -s "$K/base/$file" "$T/ctl/$name/base/$file" && fail "control $name not planted in $file"
  CONTROLS+=("$T/ctl/$name/base")
  EXPECT+=("$4")
}
CONTROLS=() EXPECT=()
control wrong-type sla.yaml 's/^  replicas: 1$/  replicas: "1"/' \
  'StatefulSet/sla: /spec/replicas: must be integer'
control unknown-field callback.yaml 's/^          livenessProbe:$/          livenesProbe:/' \
  'StatefulSet/callback: /spec/template/spec/containers/0/livenesProbe: unknown field "livenesProbe"'
control service-selects-nothing intake.yaml '/^  type: ClusterIP$/,/^  ports:$/s/component: intake$/component: intak/' \
  'Service/intake: spec.selector: selects no pod template'
control missing-secret-key dispatch.yaml 's/^              - key: dispatch.key$/              - key: dispatch.pem/' \
  'StatefulSet/dispatch: spec.template.spec.volumes[curve].items[dispatch.pem]: Secret "hotline-curve-'
control undefined-variable analytics.yaml 's/"serverKey": "$(CURVE_PUB_SLA)"/"serverKey": "$(CURVE_PUB_SLAA)"/' \
  'StatefulSet/analytics: spec.template.spec.containers[hotline].env[HOTLINE_RUNTIME_FEEDS]: $(CURVE_PUB_SLAA) is not defined'
control networkpolicy-port networkpolicy.yaml 's/^        - port: bus$/        - port: zmq/' \
  'NetworkPolicy/hotline-bus: spec.ingress[0].ports[zmq]: "zmq" is a port of none of the pods it selects'
control unknown-kustomize kustomization.yaml 's/^namespace: hotline$/namespace: hotline\ncommonAnnotations:\n  team: hotline/' \
  '"commonAnnotations" is not supported by this renderer'
kv check "${CONTROLS[@]}" >"$T/controls.out" 2>&1 && fail "the validator passed every control: $(cat "$T/controls.out")"
for i in "${!CONTROLS[@]}"; do
  grep -F -- "${CONTROLS[$i]}: " "$T/controls.out" >"$T/control.out"
  grep -qF -- "${EXPECT[$i]}" "$T/control.out" ||
    fail "control $(basename "$(dirname "${CONTROLS[$i]}")") did not fail with '${EXPECT[$i]}': $(cat "$T/control.out")"
  # nothing but the planted fault: one error line besides the summary
  n=$(wc -l <"$T/control.out")
  [ "$n" -le 2 ] || fail "control $(basename "$(dirname "${CONTROLS[$i]}")") found more than its fault: $(grep -- "^${CONTROLS[$i]}" "$T/controls.out")"
done
log "Kubernetes controls: ${#CONTROLS[@]} planted faults, each refused naming its object and field"

# ---- running what the manifests start ---------------------------------------------------------
BASE=$(reserve_ports 60)
run_plan() { # run_plan PREFIX PLAN: start every planned process, with only its own environment
  local prefix=$1 plan=$2 pod argv envv
  while read -r pod; do
    mapfile -d '' argv <"$plan/$pod/argv"
    mapfile -d '' envv <"$plan/$pod/env"
    start "$prefix-$pod" env -i PATH=/usr/bin:/bin ASAN_OPTIONS="${ASAN_OPTIONS:-}" "${envv[@]}" "${argv[@]}"
  done <"$plan/pods"
}
stop_plan() { # stop_plan PREFIX PLAN: SIGTERM each, as docker stop and kubelet do; exit 0 each
  local pod
  while read -r pod; do stop_term "$1-$pod"; done <"$2/pods"
}
http_status() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
ticket_status() { # ticket_status INTAKE_PORT ID ADMIN_TOKEN
  curl -sf -H "Authorization: Bearer $3" "http://127.0.0.1:$1/v1/tickets/$2" | json_get - status
}
submit() { # submit INTAKE_PORT SERVICE_TOKEN [PHONE]: a ticket's id (one caller's second call
  # is linked to the first ticket, at any intake: give each ticket its own caller)
  HOTLINE_TOKEN=$2 "$BIN/hotline" --port-base "$1" submit --category W01 --description "no water since morning" \
    --phone "${3:-13800138000}" --district Gulou 2>>"$T/submit.err"
}

# ---- 5. compose's services -------------------------------------------------------------------
P=$T/compose-plan
kv compose-plan "$T/compose.config.yaml" "$P" --port-base "$BASE" --root "$T/compose-root" --bin "$BIN" >"$T/plan.out" 2>&1 ||
  fail "compose plan: $(cat "$T/plan.out")"
run_plan compose "$P"
healthy() { local s; mapfile -d '' hc <"$P/$1/health"; "${hc[@]}"; }
for s in $(cat "$P/pods"); do
  [ -s "$P/$s/health" ] || fail "compose service $s has no healthcheck"
  wait_until 60 healthy "$s"
done
ADMIN=$(cat "$C/secrets/admin.token")
ID=$(submit "$BASE" "$(cat "$C/secrets/tokens/service.token")") || fail "submitting to compose's intake failed"
dispatched() { [ "$(ticket_status "$BASE" "$ID" "$ADMIN")" = TICKET_DISPATCHED ]; }
wait_until 30 dispatched
stop_plan compose "$P"
log "compose: the five services started as compose.yaml says (healthchecks pass); ticket $ID went intake -> dispatch over CURVE; SIGTERM stopped each with exit 0"

# ---- 6. Kubernetes pods (overlays/two-intakes) ------------------------------------------------
P=$T/k8s-plan
KB=$(( BASE + 30 ))
kv plan "$K/overlays/two-intakes" "$P" --port-base "$KB" --root "$T/k8s-root" --bin "$BIN" >"$T/plan.out" 2>&1 ||
  fail "Kubernetes plan: $(cat "$T/plan.out")"
[ "$(wc -l <"$P/pods")" = 6 ] || fail "two-intakes should run 6 pods: $(cat "$P/pods")"
run_plan k8s "$P"
ready() { [ "$(http_status "$(cat "$P/$1/ready")")" = 200 ]; }
for pod in $(cat "$P/pods"); do wait_until 60 ready "$pod"; done
ADMIN=$(cat "$K/base/secrets/admin.token")
SVC=$(cat "$K/base/secrets/tokens/service.token")
ID=$(submit "$KB" "$SVC") || fail "submitting to intake-0 failed"
[[ $ID == *-1-* ]] || fail "intake-0's ticket $ID is not of instance 1"
dispatched() { [ "$(ticket_status "$KB" "$ID" "$ADMIN")" = TICKET_DISPATCHED ]; }
wait_until 30 dispatched
I1=$(awk '$1 == 8080 {print $2}' "$P/intake-1/ports")
ID2=$(submit "$(( I1 ))" "$SVC" 13900139000) || fail "submitting to intake-1 failed"
[[ $ID2 == *-2-* ]] || fail "intake-1's ticket $ID2 is not of instance 2"
grep -q 'service=intake-2 event=started' "$T/k8s-intake-1.log" || fail "intake-1 does not run as intake-2"
log "Kubernetes: the 6 pods of overlays/two-intakes started as kubelet would (readiness passes); $ID (intake-0) went intake -> dispatch over CURVE; intake-1 is instance 2 ($ID2)"
# Dispatch follows the feed intake-2 (a cursor per intake instance): ID2 is dispatched too.
dispatched2() { [ "$(ticket_status "$I1" "$ID2" "$ADMIN")" = TICKET_DISPATCHED ]; }
wait_until 30 dispatched2
seen_at_0() { [ "$(ticket_status "$KB" "$ID2" "$ADMIN")" = TICKET_DISPATCHED ]; }
wait_until 30 seen_at_0 # the intakes follow each other: intake-0 answers for intake-1's ticket
log "$ID2 (intake-1) went intake-2 -> dispatch, and intake-0 shows it dispatched too"
stop_plan k8s "$P"
log "PASS in $(( $(date +%s) - START )) s"
