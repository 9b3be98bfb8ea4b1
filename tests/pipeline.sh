# Helpers for tests of the whole pipeline; source after tests/lib.sh.
#   pipeline_up [ARGS]      `hotline up` on a free port base (BASE), data in $T/hl
#   hl ARGS...              the CLI pointed at it
#   view ID KEY             a field of the ticket's status view (intake), "" when absent
#   wait_view ID KEY VALUE  wait until the view's KEY is VALUE
#   svc_url NAME            http://127.0.0.1:<port> of a service
#   events_count NAME KIND  hotline_events_appended_total{kind=KIND} on NAME's /metrics (0 if none)
#   token_for ROLE[@NAME]   a bearer token of that role (made once, cached; the services
#                           accept it before this returns): operator, unit:water-supply,
#                           callback-agent@agent-1, service, admin, ...
#   hl_as ROLE[@NAME] ARGS  the CLI with that role's token (hl alone uses the admin token)
#   curl_as ROLE[@NAME] ARGS  curl with that role's token
#   ms ISO_TIME             UTC ms of 2026-11-27T10:00:00+08:00
#   set_clock SERVICE MS    move a service's test clock (pipeline_up --test-clock) to MS
#   callback_due ID         move callback's test clock (pipeline_up --test-clock) on to the
#                           instant ID's pending callback is due (never back) and wait until
#                           it is in the agents' queue: callback hands out no task before then
SERVICES=(intake dispatch sla callback analytics)

BASE=$(reserve_ports 15)
hl() { "$BIN/hotline" --port-base "$BASE" --data-dir "$T/hl" "$@"; }

pipeline_up() {
  start up "$BIN/hotline" --port-base "$BASE" up --data-dir "$T/hl" "$@"
  wait_until 90 grep -q 'hotline: running' "$T/up.log"
  grep -q 'NOT READY' "$T/up.log" && fail "a service did not become ready: $(cat "$T/up.log")"
  return 0
}

svc_index() { local i; for i in "${!SERVICES[@]}"; do [ "${SERVICES[$i]}" = "$1" ] && echo "$i"; done; }
svc_url() { echo "http://127.0.0.1:$(( BASE + $(svc_index "$1") ))"; }

view() {
  pyc 'import json,sys
d=json.loads(sys.argv[2])
for k in sys.argv[1].split("."):
    d=d.get(k, "") if isinstance(d, dict) else ""
print(str(d).lower() if isinstance(d,bool) else d)' "$2" "$(curl_as operator -sf "$(svc_url intake)/v1/tickets/$1")"
}

wait_view() {
  local id=$1 key=$2 want=$3
  view_is() { [ "$(view "$id" "$key")" = "$want" ]; }
  wait_until "${4:-30}" view_is
}

events_count() {
  local n
  n=$(curl -sf "$(svc_url "$1")/metrics" | awk -v k="hotline_events_appended_total{kind=\"$2\"}" '$1 == k {print $2}')
  echo "${n:-0}"
}

token_for() {
  local spec=$1 role name file
  role=${spec%%@*}
  name=${spec#*@}
  [ "$name" = "$spec" ] && name="test $role"
  file="$T/tokens/$(printf '%s' "$spec" | tr -c 'A-Za-z0-9._-' '_')"
  if [ ! -s "$file" ]; then
    mkdir -p "$T/tokens"
    hl token create --role "$role" --name "$name" --out "$file" >/dev/null
    local t s
    t=$(cat "$file")
    accepted() { # every service knows it (each reloads the registry on its own)
      for s in "${SERVICES[@]}"; do
        curl -sf -o /dev/null -H "Authorization: Bearer $t" "$(svc_url "$s")/v1/access" || return 1
      done
    }
    wait_until 10 accepted
  fi
  cat "$file"
}

hl_as() { local spec=$1; shift; HOTLINE_TOKEN=$(token_for "$spec") hl "$@"; }
curl_as() { local spec=$1; shift; curl -H "Authorization: Bearer $(token_for "$spec")" "$@"; }

ms() { # ms ISO-8601-TIME: UTC ms
  pyc 'import datetime,sys; print(int(datetime.datetime.fromisoformat(sys.argv[1]).timestamp()*1000))' "$1"
}

set_clock() {
  TOKEN=$(token_for admin) http POST "$(svc_url "$1")/admin/clock" "{\"nowMs\": $2}" >/dev/null
  [ "$HTTP_STATUS" = 200 ] || fail "cannot move $1's clock ($HTTP_STATUS)"
}

callback_due() {
  local id=$1 url due now
  url=$(svc_url callback)
  pending_due() { # the pending task's dueMs, and whether it is due
    pyc 'import json,sys
c=[c for c in json.loads(sys.argv[1])["callbacks"] if c["state"] == "pending"][0]
print(c["dueMs"], str(c["due"]).lower())' "$(curl_as admin -sf "$url/v1/callbacks/$id")"
  }
  wait_until 30 pending_due
  due=$(pending_due | cut -d' ' -f1)
  now=$(curl_as admin -sf -X POST -d '{"advanceMs": 0}' "$url/admin/clock" | json_get - nowMs)
  [ "$due" -le "$now" ] ||
    curl_as admin -sf -X POST -d "{\"nowMs\": $due}" "$url/admin/clock" >/dev/null
  is_due() { [ "$(pending_due | cut -d' ' -f2)" = true ]; }
  wait_until 10 is_due
}
