#!/usr/bin/env bash
# The whole pipeline on one machine (issue 14): the five real services as `hotline up` runs
# them by default (access checks on, CURVE-encrypted bus with the ZAP allow-list, the
# pipeline's service token, full sync), N tickets over HTTP keep-alive at concurrency 64 (wrk,
# 2 threads, tests/bench/post_ticket.lua: distinct callers, so no repeat-caller links) into
# intake with an operator's bearer token; then intake alone (the same configuration file,
# binary, disk, durability mode and load, nothing following it) beside it. Prints JSON lines:
#   fsync              the disk's raw write + fdatasync rate (bench_fsync), before and after
#   pipeline           tickets/s acknowledged at intake (until its log holds all N) and end to
#                      end (until dispatch, sla, callback and analytics have each applied
#                      everything: every feed cursor at its producer's head, twice in a row),
#                      ack latency (wrk), CPU of the services, of wrk and of everything else on
#                      the machine (the machine is shared: others' work shows there), load
#                      before and after, an estimate of the rate were both cores ours, bytes
#                      stored per ticket
#   pipeline_service   per service: CPU seconds (utime + stime of all its threads,
#                      /proc/PID/stat) and per 1,000 tickets, context switches per 1,000
#                      tickets, cores used while busy, when it caught up, commits
#                      (hotline_commits_total) and commits/s over its busy time (start to its
#                      last commit), items per commit (feed batches or commands), mean commit
#                      time and the share of the busy time spent committing
#                      (hotline_commit_seconds), events applied per commit (feed cursors
#                      moved), events appended, bytes written to the disk per ticket
#                      (/proc/PID/io), store bytes (hotline_store_used_bytes: LMDB's
#                      high-water mark; data.mdb as allocated on disk) in total and per ticket
#   store              per service and sub-database after the stop (mdb_stat -efa): entries,
#                      pages x page size, bytes per ticket, and the free pages (first round)
#   intake_alone       and intake_alone_service: the same figures for intake by itself
# Usage: HOTLINE_BIN=build/release/bin tests/bench/bench_pipeline.sh [TICKETS]
#   N (default 200000) tickets; ROUNDS=R (default 1) pipeline + intake-alone pairs;
#   SYNC=SYNC_FULL (default) | SYNC_NOMETASYNC | SYNC_NOSYNC (takes the disk out: CPU alone);
#   PLAIN_BUS=1 runs the pipeline with --plain-bus (the default deployment is CURVE);
#   ALONE=0 skips intake alone; KEEP=DIR copies each round's data directories to DIR;
#   PROFILE=perf|callgrind with PROFILE_DIR=DIR profiles the pipeline's services (below;
#   PROFILE_SERVICES="analytics" limits callgrind to some);
#   ARGS_<service>="..." adds arguments to one service (experiments: ARGS_sla="--sync nosync");
#   HOTLINE_SRC (default: this checkout) holds tests/bench/post_ticket.lua.
# docs/perf-findings.md has the figures of 2026-12-07 and what they say.
source "$(dirname "$0")/../lib.sh"
# pids_of_up, store_stat (shared with bench_lifecycle.sh)
source "$(dirname "$0")/pipeline_lib.sh"
# lib.sh turns access checks off for what a test starts directly; here they stay on (hotline up
# drops the variable for its children anyway, and intake alone must run as it does there).
unset HOTLINE_RUNTIME_AUTH_DISABLED
N=${1:-${N:-200000}}
ROUNDS=${ROUNDS:-1}
SYNC=${SYNC:-SYNC_FULL}
HOTLINE_SRC=${HOTLINE_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
LUA=$HOTLINE_SRC/tests/bench/post_ticket.lua
command -v wrk >/dev/null || fail "wrk is not installed (scripts/deps.sh installs it)"
command -v mdb_stat >/dev/null || fail "mdb_stat is not installed (lmdb-utils)"
case $SYNC in
  SYNC_FULL) SYNC_ARG=full ;;
  SYNC_NOMETASYNC) SYNC_ARG=nometasync ;;
  SYNC_NOSYNC) SYNC_ARG=nosync ;;
  *) fail "SYNC must be SYNC_FULL, SYNC_NOMETASYNC or SYNC_NOSYNC, not $SYNC" ;;
esac
UP_ARGS=(--sync "$SYNC_ARG")
BUS=curve
[ "${PLAIN_BUS:-0}" = 1 ] && { UP_ARGS+=(--plain-bus); BUS=plain; }
BASE=$(reserve_ports 15)
SERVICES=(intake dispatch sla callback analytics)

# monitor MODE LABEL DIR TOKEN SVC=PID...: time N tickets through wrk and watch the services'
# /metrics until everything is applied; prints the JSON lines of the run.
monitor() {
  python3 - "$@" <<'PY'
import atexit, json, os, re, resource, signal, subprocess, sys, time, urllib.request
mode, label, data, token, *svcs = sys.argv[1:]
n, base, lua, sync, bus = (int(os.environ["N"]), int(os.environ["BASE"]), os.environ["LUA"],
                           os.environ["SYNC"], os.environ["BUS"])
names = ["intake", "dispatch", "sla", "callback", "analytics"]
pids = dict(s.split("=") for s in svcs)
# Who follows whom, as cli/cli_up.c wires them.
follows = {"intake": ["dispatch", "sla", "callback"], "dispatch": ["intake", "callback", "sla", "analytics"],
           "sla": ["dispatch", "callback"], "callback": ["dispatch", "intake"],
           "analytics": ["intake", "dispatch", "sla", "callback"]}
running = [s for s in names if s in pids]
tck = os.sysconf("SC_CLK_TCK")
LINE = re.compile(r'^([a-z_]+)(?:\{([^}]*)\})? (\S+)$')
WANT = ("hotline_event_log_head_seq", "hotline_feed_cursor_seq", "hotline_commits_total",
        "hotline_commit_batch_items_sum", "hotline_commit_batch_items_count",
        "hotline_commit_seconds_sum", "hotline_commit_seconds_count",
        "hotline_store_used_bytes", "hotline_events_appended_total")

def scrape(s):
    port = base + names.index(s)
    # A service under callgrind may spend tens of seconds in one batch before it answers.
    wait = 300 if os.environ.get("PROFILE") == "callgrind" else 10
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=wait).read().decode()
    m = {}
    for line in text.splitlines():
        g = LINE.match(line)
        if g and g.group(1) in WANT:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', g.group(2) or ""))
            key = g.group(1) + ("." + ".".join(labels.values()) if labels else "")
            m[key] = float(g.group(3))
    return m

def cpu(pid):  # utime + stime, seconds
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / tck

def switches(pid):  # context switches of all its threads (the ZeroMQ I/O thread included)
    n = 0
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            for line in open(f"/proc/{pid}/task/{t}/status"):
                if "ctxt_switches" in line:
                    n += int(line.split()[1])
        except OSError:
            pass
    return n

def written(pid):  # bytes the process caused to be written to storage (its LMDB pages)
    f = dict(l.split(": ") for l in open(f"/proc/{pid}/io").read().splitlines())
    return int(f["write_bytes"])

def machine():  # busy and total jiffies of the whole machine
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return (sum(f) - f[3] - f[4]) / tck, sum(f) / tck

def load():
    return open("/proc/loadavg").read().split()[0:3]

def mdb_bytes(s):
    try:
        st = os.stat(f"{data}/{s}/data.mdb")
        return st.st_size, st.st_blocks * 512
    except OSError:
        return 0, 0

wrk_out = os.environ["T"] + "/wrk.out"
r0 = resource.getrusage(resource.RUSAGE_SELF)
mon0 = r0.ru_utime + r0.ru_stime
before = {s: scrape(s) for s in running}
cpu0 = {s: cpu(pids[s]) for s in running}
sw0 = {s: switches(pids[s]) for s in running}
io0 = {s: written(pids[s]) for s in running}
load0, (busy0, all0) = load(), machine()
t0 = time.monotonic()
wrk = subprocess.Popen(["wrk", "-t2", "-c64", "-d600s", "-s", lua,
                        f"http://127.0.0.1:{base}/v1/tickets", "--", str(n), token],
                       stdout=open(wrk_out, "w"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
# However this ends (a service gone, a scrape refused), wrk must not go on for its 600 s.
atexit.register(lambda: wrk.poll() is None and wrk.kill())
signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so atexit runs when we are killed
t_ack = None
caught = {s: None for s in running}      # since when its cursors are at the producers' heads
last_commit = {s: 0.0 for s in running}  # when its commit count last moved
commits_seen = {s: before[s].get("hotline_commits_total", 0) for s in running}
prev_heads, last = None, None
deadline = t0 + 1800
while True:
    time.sleep(0.2)
    now = time.monotonic() - t0
    cur = {s: scrape(s) for s in running}
    heads = {s: cur[s].get("hotline_event_log_head_seq", 0) for s in running}
    if t_ack is None and heads["intake"] - before["intake"].get("hotline_event_log_head_seq", 0) >= n:
        # Every ticket is in intake's log (acknowledged once committed): stop wrk, which
        # then prints its latency figures (its threads stop sending at their share).
        t_ack = now
        wrk_cpu = cpu(wrk.pid)
        wrk.send_signal(signal.SIGINT)
        wrk.wait()
    if t_ack is None and wrk.poll() is not None:
        sys.exit(f"{label}: wrk ended before intake held {n} tickets: {open(wrk_out).read()}")
    for s in running:
        c = cur[s].get("hotline_commits_total", 0)
        if c != commits_seen[s]:
            commits_seen[s], last_commit[s] = c, now
        ok = all(cur[s].get("hotline_feed_cursor_seq." + p, 0) >= heads[p]
                 for p in follows[s] if p in running)
        if ok and caught[s] is None:
            caught[s] = now
        elif not ok:
            caught[s] = None
    all_ok = t_ack is not None and heads["intake"] >= n and all(caught[s] is not None for s in running)
    if all_ok and prev_heads == heads:
        last = cur
        break
    prev_heads = heads if all_ok else None
    if time.monotonic() > deadline:
        sys.exit(f"{label}: not caught up after 1800 s: heads {heads} caught {caught}")
cpu1 = {s: cpu(pids[s]) for s in running}
sw1 = {s: switches(pids[s]) for s in running}
io1 = {s: written(pids[s]) for s in running}
load1, (busy1, all1) = load(), machine()
out = open(wrk_out).read()
w = json.loads(out.strip().splitlines()[-1])
if "non-200" in out:
    sys.exit(f"{label}: intake refused tickets: " + [l for l in out.splitlines() if "non-200" in l][0])
recorded = int(last["intake"]["hotline_event_log_head_seq"] - before["intake"].get("hotline_event_log_head_seq", 0))
consumers = [s for s in running if s != "intake"]
e2e = max([caught[s] for s in consumers] + [t_ack])
svc_rows, total_used, total_disk = {}, 0, 0
for s in running:
    b, a = before[s], last[s]
    d = lambda k: a.get(k, 0) - b.get(k, 0)
    commits = d("hotline_commits_total")
    applied = sum(d("hotline_feed_cursor_seq." + p) for p in follows[s] if p in running)
    busy = max(last_commit[s], 0.25)
    size, disk = mdb_bytes(s)
    used = a.get("hotline_store_used_bytes", 0)
    total_used += used
    total_disk += disk
    svc_rows[s] = {
        "cpu_s": round(cpu1[s] - cpu0[s], 2),
        "cpu_s_per_1000_tickets": round((cpu1[s] - cpu0[s]) * 1000 / recorded, 4),
        "context_switches_per_1000_tickets": round((sw1[s] - sw0[s]) * 1000 / recorded),
        "cores_used_while_busy": round((cpu1[s] - cpu0[s]) / busy, 2),
        "caught_up_s": round(caught[s], 2), "busy_s": round(busy, 2),
        "commits": int(commits), "commits_per_s": round(commits / busy),
        "items_per_commit": round(d("hotline_commit_batch_items_sum") / max(d("hotline_commit_batch_items_count"), 1), 1),
        "commit_ms_mean": round(1000 * d("hotline_commit_seconds_sum") / max(d("hotline_commit_seconds_count"), 1), 2),
        "share_of_busy_in_commit": round(d("hotline_commit_seconds_sum") / busy, 2),
        "events_applied": int(applied), "events_applied_per_commit": round(applied / max(commits, 1), 1),
        "events_appended": int(d("hotline_event_log_head_seq")),
        "disk_written_bytes_per_ticket": round((io1[s] - io0[s]) / recorded),
        "store_used_bytes": int(used), "data_mdb_file_bytes": size, "data_mdb_disk_bytes": disk,
        "used_bytes_per_ticket": round(used / recorded), "disk_bytes_per_ticket": round(disk / recorded),
    }
row = {"bench": mode, "label": label, "sync": sync, "bus": bus if mode == "pipeline" else "none (no feeds)",
       "auth": "bearer token (operator)", "tickets": n, "tickets_recorded": recorded,
       "tickets_per_s_ack": round(recorded / t_ack), "ack_s": round(t_ack, 2),
       "wrk_per_s": round(w["per_s"]), "ack_p50_ms": w["p50_ms"], "ack_p99_ms": w["p99_ms"],
       "ack_p999_ms": w["p999_ms"], "wrk_errors": w["errors"]}
if mode == "pipeline":
    row.update({"end_to_end_s": round(e2e, 2), "tickets_per_s_end_to_end": round(recorded / e2e),
                "all_applied_incl_intake_views_s": round(max(caught.values()), 2)})
services_cpu = sum(cpu1[s] - cpu0[s] for s in running)
mon = resource.getrusage(resource.RUSAGE_SELF)
mon_cpu = mon.ru_utime + mon.ru_stime - mon0
row.update({"store_used_bytes_per_ticket": round(total_used / recorded),
            "disk_bytes_per_ticket": round(total_disk / recorded),
            "services_cpu_s": round(services_cpu, 2), "wrk_cpu_s": round(wrk_cpu, 2),
            "monitor_cpu_s": round(mon_cpu, 2),
            "machine_busy_cpu_s": round(busy1 - busy0, 2), "machine_cpu_s": round(all1 - all0, 2),
            "others_cpu_s": round(busy1 - busy0 - services_cpu - wrk_cpu - mon_cpu, 2),
            # What this run's CPU says the machine would do if it were ours alone (an
            # estimate, an upper bound: CPU the only limit, the two cores kept busy, and no
            # service past one core, its loop being one thread).
            "est_tickets_per_s_if_2_cores_ours": round(min(
                2 * recorded / (services_cpu + wrk_cpu),
                recorded / max(cpu1[s] - cpu0[s] for s in running))),
            "load_before": " ".join(load0), "load_after": " ".join(load1)})
print(json.dumps(row))
for s in running:
    print(json.dumps({"bench": mode + "_service", "label": label, "service": s, **svc_rows[s]}))
PY
}

export N BASE LUA SYNC BUS T

# PROFILE=perf: sample every service (cpu-clock, user and kernel) while the tickets go through;
# PROFILE=callgrind: run each service under callgrind (instructions: repeatable under load),
# counting only from just before the load to when everything is applied. Both write to
# PROFILE_DIR (required) and print each service's top functions there (<service>.top.txt).
export PROFILE=${PROFILE:-}
# PROFILE_SERVICES="analytics" (callgrind only): profile only these services, the others run
# at full speed (default: all five).
PROFILE_SERVICES=${PROFILE_SERVICES:-${SERVICES[*]}}
profiled() { [[ " $PROFILE_SERVICES " == *" $1 "* ]]; }
if [ -n "$PROFILE" ]; then
  [ -n "${PROFILE_DIR:-}" ] || fail "PROFILE needs PROFILE_DIR (where the profiles go)"
  mkdir -p "$PROFILE_DIR"
  PROFILE_DIR=$(cd "$PROFILE_DIR" && pwd)
fi
# ARGS_<service>="..." (experiments only, e.g. ARGS_dispatch="--sync nosync"): arguments added
# after the ones `hotline up` gives that service (the last of a repeated option wins).
WRAP=0
[ "$PROFILE" = callgrind ] && WRAP=1
for s in "${SERVICES[@]}"; do v=ARGS_$s; [ -z "${!v:-}" ] || WRAP=1; done
if [ "$WRAP" = 1 ]; then
  mkdir -p "$T/wrap"
  for s in "${SERVICES[@]}"; do
    v=ARGS_$s
    run="\"$BIN/hotline-$s\" \"\$@\" ${!v:-}"
    [ "$PROFILE" != callgrind ] || ! profiled "$s" ||
      run="valgrind --tool=callgrind --callgrind-out-file=$PROFILE_DIR/callgrind.$s.out $run"
    printf '#!/bin/sh\nexec %s\n' "$run" > "$T/wrap/hotline-$s"
    chmod +x "$T/wrap/hotline-$s"
    [ -z "${!v:-}" ] || echo "{\"bench\": \"note\", \"experiment\": \"$s runs with extra arguments: ${!v}\"}"
  done
  export HOTLINE_BIN_DIR=$T/wrap
fi
profile_begin() { # profile_begin SVC=PID...
  local pids=() a
  for a in "$@"; do pids+=("${a#*=}"); done
  case $PROFILE in
    perf) perf record -e cpu-clock -F 999 -o "$PROFILE_DIR/perf.data" \
            -p "$(IFS=,; echo "${pids[*]}")" > "$PROFILE_DIR/perf.record.log" 2>&1 &
          PERF_PID=$!; sleep 1 ;;
    callgrind) for a in "$@"; do
                 ! profiled "${a%%=*}" || callgrind_control -z "${a#*=}" >/dev/null
               done ;;
  esac
}
profile_end() { # profile_end SVC=PID...
  local a s
  case $PROFILE in
    perf) kill -INT "$PERF_PID"; wait "$PERF_PID" || true
          perf script -i "$PROFILE_DIR/perf.data" -F pid,tid,ip,sym,dso 2>/dev/null |
            perf_tops "$@" ;;
    callgrind) for a in "$@"; do
                 ! profiled "${a%%=*}" || callgrind_control -d "${a#*=}" >/dev/null
               done ;;
  esac
}
perf_tops() { # perf script lines on stdin; SVC=PID...: per service (its threads included:
  # the ZeroMQ I/O thread), the share of samples in the kernel and in each library, and the
  # top symbols, in PROFILE_DIR/<service>.top.txt; one JSON line each on stdout
  python3 -c '
import collections, json, re, sys
pids = dict((a.split("=")[1], a.split("=")[0]) for a in sys.argv[2:])
out = sys.argv[1]
by = collections.defaultdict(lambda: {"n": 0, "dso": collections.Counter(), "sym": collections.Counter(),
                                      "thread": collections.Counter()})
for line in sys.stdin:
    m = re.match(r"\s*(\d+)/(\d+)\s+[0-9a-f]+\s+(.*) \((.*)\)\s*$", line)
    if not m or m.group(1) not in pids:
        continue
    s = by[pids[m.group(1)]]
    dso = m.group(4).rsplit("/", 1)[-1]
    s["n"] += 1
    s["dso"][dso] += 1
    s["sym"][m.group(3) + " [" + dso + "]"] += 1
    s["thread"]["main" if m.group(1) == m.group(2) else "other (ZeroMQ I/O)"] += 1
for svc, s in by.items():
    pct = lambda c: {k: round(100 * v / s["n"], 1) for k, v in c.most_common(12)}
    with open(f"{out}/{svc}.top.txt", "w") as f:
        f.write(f"{svc}: {s[chr(110)]} samples (cpu-clock, 999 Hz)\n")
        for k, v in s["sym"].most_common(60):
            f.write(f"{100 * v / s[chr(110)]:6.2f}%  {k}\n")
    print(json.dumps({"bench": "perf_profile", "service": svc, "samples": s["n"],
                      "kernel_pct": round(100 * s["dso"]["[kernel.kallsyms]"] / s["n"], 1),
                      "threads_pct": pct(s["thread"]), "dso_pct": pct(s["dso"])}))
' "$PROFILE_DIR" "$@"
}
callgrind_tops() { # after the services stopped: their dumps, annotated
  local s
  [ "$PROFILE" = callgrind ] || return 0
  for s in $PROFILE_SERVICES; do
    callgrind_annotate --inclusive=no "$PROFILE_DIR/callgrind.$s.out.1" \
      > "$PROFILE_DIR/$s.top.txt" 2>/dev/null || true
    callgrind_annotate --inclusive=yes "$PROFILE_DIR/callgrind.$s.out.1" \
      > "$PROFILE_DIR/$s.inclusive.txt" 2>/dev/null || true
  done
}
fsync_rate() { "$BIN/bench_fsync" "$T" 2 | sed "s/}\$/, \"when\": \"$1\", \"load\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"}/"; }

fsync_rate before
for round in $(seq 1 "$ROUNDS"); do
  dir=$T/r$round
  rm -f "$T/up.log"
  start up "$BIN/hotline" --port-base "$BASE" up --data-dir "$dir" "${UP_ARGS[@]}"
  wait_until 90 grep -q 'hotline: running' "$T/up.log"
  grep -q 'NOT READY' "$T/up.log" && fail "a service did not become ready: $(cat "$T/up.log")"
  "$BIN/hotline" --port-base "$BASE" --data-dir "$dir" token create --role operator \
    --name bench --out "$dir/operator.token" >/dev/null
  TOKEN=$(cat "$dir/operator.token")
  for i in 0 1 2 3 4; do wait_token "http://127.0.0.1:$(( BASE + i ))" "$TOKEN"; done
  mapfile -t SVC_PIDS < <(pids_of_up "${PIDS[up]}")
  [ "${#SVC_PIDS[@]}" = 5 ] || fail "expected 5 services under hotline up, found: ${SVC_PIDS[*]}"
  profile_begin "${SVC_PIDS[@]}"
  monitor pipeline "round$round" "$dir" "$TOKEN" "${SVC_PIDS[@]}" | tee "$T/run.json"
  profile_end "${SVC_PIDS[@]}"
  recorded=$(head -n 1 "$T/run.json" | json_get - tickets_recorded)
  stop_term up
  callgrind_tops
  [ "$round" != 1 ] || store_stat "round$round" "$dir" "$recorded" "${SERVICES[@]}"
  [ -z "${KEEP:-}" ] || { mkdir -p "$KEEP"; cp -a "$dir" "$KEEP/pipeline-r$round"; }

  [ "${ALONE:-1}" = 0 ] && { rm -rf "$dir"; continue; }
  # Intake alone: the pipeline's own configuration file for intake (access checks, CURVE
  # keys, the feeds it would follow: nobody answers on them now), a fresh store.
  rm -f "$T/alone.json"
  start intake "$BIN/hotline-intake" --config "$dir/intake.config.json" --data-dir "$T/alone$round/intake" \
    --http-port "$BASE" --bus "tcp://127.0.0.1:$(( BASE + 10 ))" --sync "$SYNC_ARG" \
    --port-file "$T/alone.json"
  wait_port_file "$T/alone.json"
  wait_token "http://127.0.0.1:$BASE" "$TOKEN"
  monitor intake_alone "round$round" "$T/alone$round" "$TOKEN" "intake=${PIDS[intake]}" |
    tee "$T/alone_run.json"
  recorded=$(head -n 1 "$T/alone_run.json" | json_get - tickets_recorded)
  stop_term intake
  [ "$round" != 1 ] || store_stat "alone_round$round" "$T/alone$round" "$recorded" intake
  [ -z "${KEEP:-}" ] || cp -a "$T/alone$round" "$KEEP/intake-alone-r$round"
  rm -rf "$dir" "$T/alone$round"
done
fsync_rate after
