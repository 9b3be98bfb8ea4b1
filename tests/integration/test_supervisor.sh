#!/usr/bin/env bash
# The supervisor of `hotline up` under a crash loop: sla is killed with SIGKILL five times in a
# row, each time right after it came back (the last time without waiting for it to be ready),
# so its restart pause grows 0.5 s, 1 s, 2 s, 4 s, 8 s; once it has stayed up long enough, a
# sixth kill gets a 0.5 s pause again.
# Meanwhile the other four answer /readyz 200 at every poll and keep their pids,
# `hotline status` names sla as down (exit 3) while it is, and `hotline up` itself runs on.
# Then the command line: global options after the command, and --help for every command.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pipeline.sh"
# The shipped pauses (0.5 s doubling to 30 s), but a service counts as stable after 8 s of
# uptime instead of 60 s, so that the reset fits in the test.
export HOTLINE_RESTART_BACKOFF_MS=500,30000,8000
pipeline_up
SUP="$T/hl/supervisor.json"
# sup SERVICE KEY: a number in supervisor.json. awk, not python: on a loaded machine python
# takes a second to start, longer than the pauses measured here. The file is jansson's
# JSON_INDENT(2): one key a line, each service's object opened by a line "NAME": {.
sup() {
  awk -v svc="\"$1\": {" -v key="\"$2\":" '
    index($0, svc) { inside = 1; next }
    inside && $1 == key { v = $2; sub(/,$/, "", v); print v; found = 1; exit }
    inside && /}/ { exit }
    END { if (!found) exit 1 }' "$SUP"
}
OTHERS=(intake dispatch callback analytics)

# ---- the other four, polled the whole time ----
watch_others() { # one curl a round for the four (a process each is slow on a busy machine)
  local s args=() out
  for s in "${OTHERS[@]}"; do args+=(-o /dev/null "$(svc_url "$s")/readyz"); done
  while :; do
    out=$(curl -s --max-time 2 -w '%{http_code} %{url_effective}\n' "${args[@]}" || true)
    [ "$(grep -c '^200 ' <<<"$out")" = 4 ] || echo "$(date +%T.%N): $(grep -v '^200 ' <<<"$out")" >> "$T/others.bad"
    echo >> "$T/others.polls"
    sleep 0.2 # the poll interval
  done
}
declare -A PID_BEFORE=()
for s in "${OTHERS[@]}"; do PID_BEFORE[$s]=$(sup "$s" pid); done
start watcher watch_others

# ---- the crash loop ----
ms() { echo $(( $(date +%s%N) / 1000000 )); }
sla_ready() { curl -sf -o /dev/null --max-time 2 "$(svc_url sla)/readyz"; }
restarted() { local p; p=$(sup sla pid); [ "$p" != 0 ] && [ "$p" != "$1" ]; }
status_now() { local rc=0; hl status > "$T/status.out" 2> "$T/status.err" || rc=$?; echo $rc; }
status_shows_next_start() {
  [ "$(status_now)" = 3 ] && grep -Eq '^sla +down .*killed by signal 9.*next start at' "$T/status.out"
}
PAUSES=()     # kill -> the supervisor started it again, as the test saw it (ms)
SUP_PAUSES=() # its death -> its restart, as the supervisor recorded them (ms)
kill_sla() { # kill_sla EXPECTED_PAUSE_MS
  local expect=$1 pid t0 t1 rc
  pid=$(sup sla pid)
  [ "$pid" -gt 0 ] || fail "sla is not running: $(cat "$SUP")"
  t0=$(ms)
  kill -9 "$pid"
  # A pause of 2 s or more leaves time for the CLI (slow under ASAN on a busy machine) to
  # see it down, and the supervisor's account: how it died, when it starts again.
  if [ "$expect" -ge 2000 ]; then
    wait_until 2 status_shows_next_start
    grep -q 'sla is down' "$T/status.err" || fail "hotline status does not name sla: $(cat "$T/status.err")"
  fi
  wait_until $(( expect / 1000 + 20 )) restarted "$pid"
  t1=$(ms)
  PAUSES+=($(( t1 - t0 )))
  SUP_PAUSES+=($(( $(sup sla startedMs) - $(sup sla lastExitMs) )))
  log "sla (pid $pid) killed: started again after ${PAUSES[-1]} ms (the supervisor paused ${SUP_PAUSES[-1]} ms, expected $expect)"
  [ "${SUP_PAUSES[-1]}" -ge "$expect" ] && [ "${SUP_PAUSES[-1]}" -le $(( expect + 1500 )) ] ||
    fail "sla restarted after ${SUP_PAUSES[-1]} ms, expected a pause of $expect ms"
  [ "${PAUSES[-1]}" -ge "$expect" ] || fail "sla was back ${PAUSES[-1]} ms after the kill, before its $expect ms pause"
}

for expect in 500 1000 2000 4000; do
  wait_until 30 sla_ready
  kill_sla "$expect"
done
kill_sla 8000 # at once, without waiting for it to be ready
kill -0 "${PIDS[up]}" || fail "hotline up stopped during the crash loop"
for i in 1 2 3 4; do
  [ "${SUP_PAUSES[$i]}" -gt $(( SUP_PAUSES[i - 1] * 3 / 2 )) ] || fail "the pauses do not grow: ${SUP_PAUSES[*]}"
done
log "backoff: the supervisor paused ${SUP_PAUSES[*]} ms; kill -> started again ${PAUSES[*]} ms"

# Up for 8 s: the next pause starts from 0.5 s again.
wait_until 30 sla_ready
settled() { [ "$(sup sla nextDelayMs)" = 500 ]; }
wait_until 20 settled
kill_sla 500
[ "${SUP_PAUSES[5]}" -lt 1000 ] || fail "after 8 s up, sla still waited ${SUP_PAUSES[5]} ms"
wait_until 30 sla_ready
[ "$(sup sla restarts)" = 6 ] || fail "supervisor.json counts $(sup sla restarts) restarts of sla, not 6"

# ---- the others never noticed ----
stop9 watcher
polls=$(wc -l < "$T/others.polls")
[ ! -s "$T/others.bad" ] || fail "the other services were not ready the whole time: $(cat "$T/others.bad")"
[ "$polls" -ge 30 ] || fail "only $polls polls of the other four"
for s in "${OTHERS[@]}"; do
  [ "$(sup "$s" pid)" = "${PID_BEFORE[$s]}" ] || fail "$s was restarted: pid ${PID_BEFORE[$s]} -> $(sup "$s" pid)"
  [ "$(sup "$s" restarts)" = 0 ] || fail "$s has $(sup "$s" restarts) restarts"
done
log "the other four answered /readyz 200 at all $polls polls, same pids"
grep -Eq 'sla \(pid [0-9]+\) was killed by signal 9 \(Killed\) after [0-9.]+ s up; restarting it in 8\.0 s' "$T/up.log" ||
  fail "hotline up did not say what died and when it restarts: $(cat "$T/up.log")"
grep -q 'sla has stayed up 8 s' "$T/up.log" || fail "no word of the pause starting small again"
[ "$(status_now)" = 0 ] || fail "hotline status is not 0 with all five ready: $(cat "$T/status.out" "$T/status.err")"
[ "$(grep -Ec '^[a-z]+ +ready ' "$T/status.out")" = 5 ] || fail "status: $(cat "$T/status.out")"
grep -Eq '^sla +ready +[0-9]+ +6 +up ' "$T/status.out" || fail "status lacks sla's restarts: $(cat "$T/status.out")"

# ---- global options after the command; --help for each command ----
A=$(hl_as operator submit --category W01 --description "no water" --phone 13812345678 --district Gulou)
[ "$(hl show "$A" --json | json_get - view.ticket.id)" = "$A" ] || fail "show ID --json"
[ "$(hl --json show "$A" | json_get - view.ticket.id)" = "$A" ] || fail "--json show ID"
[ "$("$BIN/hotline" status --json --port-base "$BASE" --data-dir "$T/hl" | json_get - ready)" = true ] ||
  fail "status with every option after it"
[ "$("$BIN/hotline" list --data-dir "$T/hl" --limit 5 --port-base "$BASE" --json | json_get - tickets.0.ticketId)" = "$A" ] ||
  fail "list with --data-dir and --port-base after it"
# Only an operator may submit, not the admin whose token hl sends by default: so the
# operator's --token-file after the command is the one sent.
rc=0; hl submit --category W01 --description "no water" --phone 13812345678 --district Gulou \
  2> "$T/denied.err" || rc=$?
[ $rc = 1 ] || fail "the admin token submitted (rc $rc): $(cat "$T/denied.err")"
B=$(hl submit --category W01 --description "no water" --phone 13812345678 --district Gulou \
      --token-file "$T/tokens/operator") || fail "submit with --token-file after it"
[ "$(hl show "$B" --json | json_get - view.ticket.id)" = "$B" ] || fail "ticket $B not found"
rc=0; "$BIN/hotline" list --port-base 0 2> "$T/bad.err" || rc=$?
[ $rc = 2 ] && grep -q -- "--port-base: '0' must be a port" "$T/bad.err" || fail "list --port-base 0: rc $rc, $(cat "$T/bad.err")"
rc=0; hl status --bogus 2> "$T/bad.err" || rc=$?
[ $rc = 2 ] && grep -q "hotline status: '--bogus' is not one of its options" "$T/bad.err" ||
  fail "status --bogus: rc $rc, $(cat "$T/bad.err")"
for cmd in up down status submit show list sign reply "callback next" "callback record" kpis \
           "token create" "token list" "token revoke" keys callback token; do
  # shellcheck disable=SC2086 # the command's words
  out=$("$BIN/hotline" $cmd --help) || fail "hotline $cmd --help exited non-zero"
  grep -q "^usage: hotline $cmd" <<<"$out" || fail "hotline $cmd --help: $out"
done
log "global options after the command, and --help after each of 17 commands"

hl down >/dev/null
wait "${PIDS[up]}" || fail "hotline up exited non-zero after down"
unset 'PIDS[up]'
[ ! -e "$SUP" ] || fail "supervisor.json left behind after down"
log "PASS: six SIGKILLs of sla, pauses ${SUP_PAUSES[*]} ms, the other four ready throughout"
