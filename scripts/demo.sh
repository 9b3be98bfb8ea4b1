#!/usr/bin/env bash
# The quick start: install what is missing, build, start the five services on loopback with
# their embedded defaults (`hotline up`), and walk a few demo tickets through the whole path:
# recorded -> dispatched by the catalogue -> signed -> replied -> called back -> rated -> closed,
# one of them via an unsatisfied rating and a rework round; the burst main's ticket goes to a
# crew, so dispatch sends the crew system (a simulator) a work order and the crew reports. Callbacks fall due the working day
# after the reply, so the services run with --test-clock and the demo moves callback's clock on
# to that morning (the others keep real time). Then it keeps the pipeline running in the
# foreground until Ctrl-C.
#   scripts/demo.sh             demo, then keep running
#   scripts/demo.sh --once      demo, then stop
# HOTLINE_PORT_BASE (default 8080) moves the ports; HOTLINE_DATA_DIR the data (var/demo).
set -euo pipefail
cd "$(dirname "$0")/.."
ONCE=${1:-}
scripts/deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc)" >/dev/null
BIN=$PWD/build/release/bin
export HOTLINE_PORT_BASE=${HOTLINE_PORT_BASE:-8080}
DATA=${HOTLINE_DATA_DIR:-$PWD/var/demo}
hl() { "$BIN/hotline" --data-dir "$DATA" "$@"; }
mkdir -p "$DATA"
# An Open311 api_key for this demo, kept in the data directory (intake only gets its hash).
[ -s "$DATA/open311.key" ] || head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$DATA/open311.key"
KEY=$(cat "$DATA/open311.key")

# The crew system of the mains burst crew: the simulator (tests/support/crewsim) on port
# base + 20, with the webhook secret in a file dispatch reads (mode 0600, never in the
# configuration); dispatch gets the crew endpoint through hotline up --service-config.
[ -s "$DATA/crew.key" ] || head -c 24 /dev/urandom | base64 > "$DATA/crew.key"
chmod 600 "$DATA/crew.key"
SIM_PORT=$(( HOTLINE_PORT_BASE + 20 ))
SIM="http://127.0.0.1:$SIM_PORT"
CREWSIM_KEY=$(cat "$DATA/crew.key") "$BIN/crewsim" --port "$SIM_PORT" >"$DATA/crewsim.out" 2>"$DATA/crewsim.log" &
SIM_PID=$!
cat >"$DATA/dispatch-crews.json" <<JSON
{"crews": [{"unit": "repair-crew-mains", "url": "$SIM/orders", "secretFile": "$DATA/crew.key"}]}
JSON

"$BIN/hotline" up --data-dir "$DATA" --open311-key "$KEY" --test-clock \
  --service-config "dispatch=$DATA/dispatch-crews.json" &
UP=$!
trap 'kill -TERM $UP $SIM_PID 2>/dev/null; wait $UP $SIM_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  curl -sf "http://127.0.0.1:$HOTLINE_PORT_BASE/readyz" >/dev/null &&
    curl -sf "http://127.0.0.1:$(( HOTLINE_PORT_BASE + 4 ))/readyz" >/dev/null && break
  kill -0 $UP 2>/dev/null || { echo "hotline up failed; see $DATA/*.log"; exit 1; }
  sleep 0.2
done
sleep 0.5

# Everyone acts with their own token (`hotline up` made the admin's, in $DATA/admin.token):
# an operator records, each unit acts only on its own tickets, agents call back.
as() { # as ROLE[@NAME] ARGS...: the CLI with that role's token (made once, kept in $DATA/demo)
  local spec=$1 role name file; shift
  role=${spec%%@*}; name=${spec#*@}; [ "$name" = "$spec" ] && name="demo $role"
  file="$DATA/demo/$(printf '%s' "$spec" | tr -c 'A-Za-z0-9._-' '_').token"
  mkdir -p "$DATA/demo"
  if [ ! -s "$file" ]; then
    hl token create --role "$role" --name "$name" --out "$file" >/dev/null
    sleep 0.2 # the services pick the registry change up at once (inotify); be generous
  fi
  HOTLINE_TOKEN=$(cat "$file") hl "$@"
}

status() { hl --json show "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["view"].get("status",""))'; }
unit() { hl --json show "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["view"].get("unit",""))'; }
wait_status() {
  for _ in $(seq 1 100); do [ "$(status "$1")" = "$2" ] && return 0; sleep 0.1; done
  echo "ticket $1 did not reach $2 (it is $(status "$1"))"; exit 1
}
next_task() { # the agent's next callback, waiting for the ticket's to be scheduled
  for _ in $(seq 1 100); do
    as "callback-agent@$1" --json callback next 2>/dev/null | grep -q "\"$2\"" && return 0
    sleep 0.1
  done
  echo "no callback for $2"; exit 1
}

CB_URL="http://127.0.0.1:$(( HOTLINE_PORT_BASE + 3 ))"
admin_curl() { curl -sf -H "Authorization: Bearer $(cat "$DATA/admin.token")" "$@"; }
field() { python3 -c 'import json,sys; print(json.load(sys.stdin).get(sys.argv[1], ""))' "$1"; }
callback_clock() { admin_curl -X POST -d '{"advanceMs": 0}' "$CB_URL/admin/clock" | field nowMs; }
callback_morning() { # callback's clock on to when ticket $1's callback is due (never back)
  local due=""
  for _ in $(seq 1 100); do
    due=$(admin_curl "$CB_URL/v1/callbacks/$1" | python3 -c 'import json,sys
print(next((c["dueMs"] for c in json.load(sys.stdin)["callbacks"] if c["state"] == "pending"), ""))' 2>/dev/null) &&
      [ -n "$due" ] && break
    sleep 0.1
  done
  [ -n "$due" ] || { echo "no callback scheduled for $1"; exit 1; }
  [ "$due" -le "$(callback_clock)" ] ||
    admin_curl -X POST -d "{\"nowMs\": $due}" "$CB_URL/admin/clock" >/dev/null
}

echo
echo "== three citizens call"
A=$(as operator@desk-1 submit --category W01 --description "No water since 7am in building 3" \
      --phone 13812345678 --name "Li Wei" --district Gulou --community Sunshine)
B=$(as operator@desk-1 submit --category W0402 --description "Water gushing from the street at Wuyi Road" \
      --phone 13900001111 --district Taijiang --address "Wuyi Road 88" --urgency very_urgent)
C=$(as operator@desk-1 submit --category W06 --description "Bill twice the usual amount" \
      --phone 13700002222 --name "Chen Jing" --district Cangshan)
for id in "$A" "$B" "$C"; do wait_status "$id" TICKET_DISPATCHED; done
echo "   $A  W01 no water        -> $(unit "$A")"
echo "   $B  W0402 main burst    -> $(unit "$B")"
echo "   $C  W06 billing         -> $(unit "$C")"

echo "== $B went to a crew: dispatch raised a work order and sent it to the crew system (a signed"
echo "   webhook, retried until it is taken; the phone in the text is masked)"
for _ in $(seq 1 100); do
  [ "$(curl -sf "$SIM/counts" | field unique)" -ge 1 ] 2>/dev/null && break
  sleep 0.1
done
echo "   crew system: $(curl -sf "$SIM/counts")"
as dispatcher@disp-1 workorder show "WO-$B-1" | sed 's/^/   /'
echo "== the crew reports from the street with its crew token"
as "crew:$(unit "$B")@crew-mains" workorder status "WO-$B-1" --status on_site \
  --note "Valve closed, digging" --photo "https://photos.example/$B/1.jpg" | sed 's/^/   /'

echo "== each unit signs for its own ticket (the crew also calls back and notes its progress) and"
echo "   replies; another unit is refused"
if as "unit:$(unit "$C")" sign "$A" 2>"$DATA/demo/refused.txt"; then
  echo "unit $(unit "$C") could sign $A: access is broken"; exit 1
fi
echo "   $(unit "$C") tried $A: $(sed 's/^hotline: //' "$DATA/demo/refused.txt")"
as "unit:$(unit "$A")" sign "$A"
as "unit:$(unit "$A")" reply "$A" --result "Valve reopened at Sunshine; supply back at 10:40"
as "unit:$(unit "$B")" sign "$B"
as "unit:$(unit "$B")" contact "$B" --note "Called the reporter: the road is closed off"
as "unit:$(unit "$B")" note "$B" --text "Crew on site, main isolated at the valve"
as "crew:$(unit "$B")@crew-mains" workorder status "WO-$B-1" --status done \
  --note "Main repaired" >/dev/null
as "unit:$(unit "$B")" reply "$B" --result "Main isolated and repaired; road reopened"
as "unit:$(unit "$C")" sign "$C"
as "unit:$(unit "$C")" reply "$C" --result "Meter read again; bill corrected" --unresolved

echo "== the working day after the replies, 09:00 (callback's clock moved there): agents call back"
for id in "$A" "$B" "$C"; do callback_morning "$id"; done
next_task agent-1 "$A"; as callback-agent@agent-1 callback record "$A" --rating very_satisfied
next_task agent-1 "$B"; as callback-agent@agent-1 callback record "$B" --rating satisfied
next_task agent-2 "$C"; as callback-agent@agent-2 callback record "$C" --rating dissatisfied \
  --unresolved --comment "still charged for last month"
wait_status "$C" TICKET_REWORK
echo "== $C was rated unsatisfied: back at $(unit "$C") for rework"
as "unit:$(unit "$C")" sign "$C"
as "unit:$(unit "$C")" reply "$C" --result "Last month refunded to the account"
callback_morning "$C"
next_task agent-2 "$C"; as callback-agent@agent-2 callback record "$C" --rating satisfied
for id in "$A" "$B" "$C"; do wait_status "$id" TICKET_CLOSED; done

echo "== a city platform files one through Open311 GeoReport v2"
curl -s -X POST "http://127.0.0.1:$HOTLINE_PORT_BASE/open311/v2/requests.json" \
  --data-urlencode "api_key=$KEY" --data-urlencode "service_code=W02" \
  --data-urlencode "address_string=Wusi Road 100, Gulou" \
  --data-urlencode "description=Very low water pressure on the 6th floor" \
  --data-urlencode "phone=13500004444"
echo

echo
hl show "$C"
echo
# From today to callback's day: its events carry the time of its (moved) clock.
TODAY=$(hl --json kpis | field from)
OFFSET_S=$(( $(hl --json kpis | field utcOffsetMinutes) * 60 ))
hl kpis --from "$TODAY" --to "$(date -u -d "@$(( $(callback_clock) / 1000 + OFFSET_S ))" +%F)"
cat <<TXT

All three tickets are closed and rated. The pipeline is running on 127.0.0.1 (with
--test-clock: callback's clock stands at the callbacks' morning, so a new reply's callback is
due at once; an admin token moves a clock with POST /admin/clock):
  intake :$HOTLINE_PORT_BASE  dispatch :$((HOTLINE_PORT_BASE+1))  sla :$((HOTLINE_PORT_BASE+2))  callback :$((HOTLINE_PORT_BASE+3))  analytics :$((HOTLINE_PORT_BASE+4))
  crew system (simulator) :$SIM_PORT   work orders: hotline workorder list, hotline workorders dead
  data and logs: $DATA
Everyone acts with a token of their role: hotline commands here use the admin token in
$DATA/admin.token (--data-dir $DATA); make others with
  hotline --data-dir $DATA token create --role operator --name desk-2   (or unit:<id>, callback-agent, ...)
and use one with HOTLINE_TOKEN=... hotline ...; without a token the services answer 401.
Try next (the CLI is $BIN/hotline):
  HOTLINE_TOKEN=\$(cat $DATA/demo/operator_desk-1.token) hotline --data-dir $DATA submit --category W03 --description "Tap water smells of chlorine" --phone 13600003333 --district Gulou --urgency very_urgent
  hotline --data-dir $DATA list
  hotline --data-dir $DATA show $A
  hotline --data-dir $DATA kpis --by unit
  hotline --data-dir $DATA token list
  curl -s -H "Authorization: Bearer \$(cat $DATA/admin.token)" http://127.0.0.1:$((HOTLINE_PORT_BASE+1))/v1/catalogue
  curl -s http://127.0.0.1:$((HOTLINE_PORT_BASE+1))/v1/catalogue      (401: no token)
  curl -s http://127.0.0.1:$HOTLINE_PORT_BASE/metrics
  curl -s http://127.0.0.1:$HOTLINE_PORT_BASE/open311/v2/services.json
  curl -s 'http://127.0.0.1:$HOTLINE_PORT_BASE/open311/v2/requests.json?extensions=true'
  Open311 api_key for POST requests: $KEY
  kill -9 one of the services: \`hotline up\` restarts it, nothing is lost
TXT
if [ "$ONCE" = "--once" ]; then
  exit 0
fi
echo "Ctrl-C stops the pipeline."
trap - EXIT
wait $UP
