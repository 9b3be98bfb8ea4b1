#!/usr/bin/env python3
"""Drive N tickets through their whole life on a running `hotline up --test-clock` (issue 14),
for tests/bench/bench_lifecycle.sh, which starts the services, runs this, then stops them and
reads the stores. Over HTTP keep-alive (http.client), several threads, each person with a token
of their role, as the real workflow does:

  submit        N tickets into intake (wrk + tests/bench/post_ticket.lua, as bench_pipeline.sh)
  sign_reply    each dispatched ticket signed and replied by its unit (dispatch)
  callbacks     callback's test clock moved on to when the callbacks fall due (the working day
                after the reply, 09:00); agents take them (POST /v1/callbacks/next) and record a
                rating (POST /v1/callbacks/{id}): REWORK_PCT % of the tickets (by a hash of the
                id) dissatisfied and unresolved -> dispatch reopens them for rework, the rest
                very satisfied / satisfied -> closed
  rework_*      the reworked tickets signed and replied again, called back, rated satisfied
Between phases it waits until everything is applied (every feed cursor at its producer's log
head, twice in a row). Progress goes to stderr every 10 %; on stdout one JSON line: the mix,
each phase's seconds and requests, and each service's /metrics at the end (log head, events
appended by kind, hotline_store_used_bytes).

Environment: N, BASE (HTTP port base; intake BASE .. analytics BASE+4), LUA (post_ticket.lua),
BIN (hotline binaries), DATA (the data directory of `hotline up`), TOKENS (a directory holding
operator.token, admin.token, service.token, agent-1.token ...), AGENTS (8), THREADS (8),
REWORK_PCT (10).
"""
import collections, http.client, json, os, re, signal, subprocess, sys, threading, time, zlib

N, BASE = int(os.environ["N"]), int(os.environ["BASE"])
LUA, BIN, DATA, TOKDIR = os.environ["LUA"], os.environ["BIN"], os.environ["DATA"], os.environ["TOKENS"]
AGENTS, THREADS = int(os.environ.get("AGENTS", "8")), int(os.environ.get("THREADS", "8"))
REWORK_PCT = float(os.environ.get("REWORK_PCT", "10"))
NAMES = ["intake", "dispatch", "sla", "callback", "analytics"]
PORT = {s: BASE + i for i, s in enumerate(NAMES)}
# Who follows whom, as cli/cli_up.c wires them (as in bench_pipeline.sh).
FOLLOWS = {"intake": ["dispatch", "sla", "callback"], "dispatch": ["intake", "callback", "sla", "analytics"],
           "sla": ["dispatch", "callback"], "callback": ["dispatch", "intake"],
           "analytics": ["intake", "dispatch", "sla", "callback"]}
TOK = {f[:-len(".token")]: open(os.path.join(TOKDIR, f)).read().strip()
       for f in os.listdir(TOKDIR) if f.endswith(".token")}


def note(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Client:
    """One keep-alive connection to a service; the token goes with each request."""
    def __init__(self, svc):
        self.port, self.c, self.requests = PORT[svc], None, 0

    def req(self, method, path, tok, body=None):
        for attempt in range(3):
            try:
                if self.c is None:
                    self.c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
                self.c.request(method, path, None if body is None else json.dumps(body),
                               {"Authorization": "Bearer " + TOK[tok], "Content-Type": "application/json"})
                r = self.c.getresponse()
                data = r.read()
                self.requests += 1
                return r.status, (json.loads(data) if data else {})
            except (http.client.HTTPException, OSError):
                self.c = None
                if attempt == 2:
                    raise


METRIC = re.compile(r'^([a-z_]+)(?:\{([^}]*)\})? (\S+)$')


def scrape(s):
    c = http.client.HTTPConnection("127.0.0.1", PORT[s], timeout=60)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    c.close()
    m = {}
    for line in text.splitlines():
        g = METRIC.match(line)
        if g and g.group(1).startswith(("hotline_event_log_head_seq", "hotline_feed_cursor_seq",
                                        "hotline_store_used_bytes", "hotline_events_appended_total",
                                        "hotline_callback_due", "hotline_callback_pending")):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', g.group(2) or ""))
            m[g.group(1) + ("." + ".".join(labels.values()) if labels else "")] = float(g.group(3))
    return m


def applied():
    """Every feed cursor at its producer's log head, twice in a row with the heads unchanged."""
    prev = None
    deadline = time.time() + 900
    while time.time() < deadline:
        cur = {s: scrape(s) for s in NAMES}
        heads = {s: cur[s].get("hotline_event_log_head_seq", 0) for s in NAMES}
        ok = all(cur[s].get("hotline_feed_cursor_seq." + p, 0) >= heads[p] for s in NAMES for p in FOLLOWS[s])
        if ok and prev == heads:
            return cur
        prev = heads if ok else None
        time.sleep(0.2)
    sys.exit(f"not everything applied after 900 s: {heads}")


def events(svc, after=0):
    """The service's log after seq AFTER, in pages (the service token)."""
    c = Client(svc)
    while True:
        st, page = c.req("GET", f"/v1/events?after={after}&limit=1000", "service")
        assert st == 200, (svc, st, page)
        if not page["events"]:
            return
        yield from page["events"]
        after = int(page["events"][-1]["seq"])


def parallel(n, work):
    errs = []

    def run(i):
        try:
            work(i)
        except BaseException as e:  # noqa: B036 - reported below
            errs.append(repr(e))
    ts = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errs:
        sys.exit("failed: " + "; ".join(errs[:3]))


class Progress:
    def __init__(self, what, total):
        self.what, self.total, self.done, self.next, self.lock = what, total, 0, 0.1, threading.Lock()
        self.t0 = time.monotonic()

    def tick(self):
        with self.lock:
            self.done += 1
            if self.total and self.done >= self.next * self.total:
                note(f"{self.what}: {self.done}/{self.total} ({round(100 * self.done / self.total)} %, "
                     f"{self.done / max(time.monotonic() - self.t0, 1e-3):.0f}/s)")
                while self.next * self.total <= self.done:
                    self.next += 0.1


PHASES, REQUESTS = {}, collections.Counter()


class phase:
    def __init__(self, name):
        self.name = name

    def __enter__(self):
        note(f"phase {self.name}")
        self.t0 = time.monotonic()

    def __exit__(self, *exc):
        PHASES[self.name] = round(time.monotonic() - self.t0, 2)
        note(f"phase {self.name}: {PHASES[self.name]} s")


def token_create(spec, name, file):
    subprocess.run([f"{BIN}/hotline", "--port-base", str(BASE), "--data-dir", DATA, "token", "create",
                    "--role", spec, "--name", name, "--out", file], check=True, stdout=subprocess.DEVNULL)
    TOK[os.path.basename(file)[:-len(".token")]] = open(file).read().strip()


def wait_token(tok, services):
    deadline = time.time() + 30
    for s in services:
        while True:
            st, _ = Client(s).req("GET", "/v1/access", tok)
            if st == 200:
                break
            assert time.time() < deadline, f"{s} does not accept token {tok}"
            time.sleep(0.1)


def submit():
    head0 = scrape("intake").get("hotline_event_log_head_seq", 0)
    out = open(os.path.join(DATA, "..", "wrk.out"), "w+")
    wrk = subprocess.Popen(["wrk", "-t2", "-c64", "-d600s", "-s", LUA, f"http://127.0.0.1:{BASE}/v1/tickets",
                            "--", str(N), TOK["operator"]], stdout=out, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL)
    nxt = 0.1
    while True:
        time.sleep(0.2)
        got = scrape("intake").get("hotline_event_log_head_seq", 0) - head0
        while got >= nxt * N and nxt <= 1.0001:
            note(f"submit: {int(got)}/{N} in intake's log ({round(100 * got / N)} %)")
            nxt += 0.1
        if got >= N:
            break
        if wrk.poll() is not None:
            out.seek(0)
            sys.exit(f"wrk ended before intake held {N} tickets: {out.read()}")
    wrk.send_signal(signal.SIGINT)
    wrk.wait()
    out.seek(0)
    text = out.read()
    if "non-200" in text:
        sys.exit("intake refused tickets: " + [l for l in text.splitlines() if "non-200" in l][0])
    recorded = int(scrape("intake").get("hotline_event_log_head_seq", 0) - head0)
    REQUESTS["intake POST /v1/tickets"] += recorded  # wrk's last requests in flight: a few more than N
    return recorded


def sign_reply(ids, unit_of, label):
    prog = Progress(label, len(ids))

    def work(i):
        c = Client("dispatch")
        for tid in ids[i::THREADS]:
            tok = "unit-" + unit_of[tid]
            st, a = c.req("POST", f"/v1/tickets/{tid}/sign", tok, {})
            assert st == 200, (tid, "sign", st, a)
            st, a = c.req("POST", f"/v1/tickets/{tid}/reply", tok,
                          {"result": "the main is repaired and the supply is back", "resolved": True})
            assert st == 200, (tid, "reply", st, a)
            prog.tick()
    parallel(THREADS, work)
    REQUESTS["dispatch POST sign + reply"] += 2 * len(ids)


def make_due(after, want):
    """Callback's clock on past every callback scheduled after seq AFTER (WANT of them)."""
    due, last = [], after
    for e in events("callback", after):
        last = int(e["seq"])
        if "callbackScheduled" in e:
            due.append(int(e["callbackScheduled"]["dueMs"]))
    assert len(due) == want, f"{len(due)} callbacks scheduled, {want} expected"
    st, a = Client("callback").req("POST", "/admin/clock", "admin", {"advanceMs": 0})
    assert st == 200, (st, a)
    now = int(a["nowMs"])
    if max(due) + 1000 > now:
        st, a = Client("callback").req("POST", "/admin/clock", "admin", {"nowMs": max(due) + 1000})
        assert st == 200, (st, a)
    return last, round(max(max(due) + 1000 - now, 0) / 3600000, 1)


def agents(want, rating_of, label):
    """AGENTS agents take and record calls until WANT are recorded; RATING_OF(tid) -> body."""
    prog = Progress(label, want)
    lock, state, stop = threading.Lock(), collections.Counter(), threading.Event()

    def agent(i):
        c = Client("callback")
        tok = f"agent-{i + 1}"
        try:
            while not stop.is_set():
                st, a = c.req("POST", "/v1/callbacks/next", tok, {})
                if st == 404:
                    with lock:
                        state["empty"] += 1
                    time.sleep(0.05)
                    continue
                assert st == 200, (tok, "next", st, a)
                tid = a["callbackTask"]["ticketId"]
                body = rating_of(tid)
                st, r = c.req("POST", f"/v1/callbacks/{tid}", tok, body)
                assert st == 200, (tok, tid, "record", st, r)
                with lock:
                    state[r.get("recordCallback", {}).get("status", "?")] += 1
                    state["recorded"] += 1
                    if state["recorded"] >= want:
                        stop.set()
                prog.tick()
        finally:
            with lock:
                state["requests"] += c.requests
    deadline = threading.Timer(600, stop.set)
    deadline.start()
    parallel(AGENTS, agent)
    deadline.cancel()
    assert state["recorded"] >= want, f"{label}: {state['recorded']} of {want} callbacks recorded in 600 s"
    REQUESTS["callback POST next + record"] += state["requests"]
    return {k: v for k, v in state.items() if k not in ("requests",)}


def main():
    out = {"bench": "lifecycle", "tickets": N, "rework_pct": REWORK_PCT, "agents": AGENTS, "threads": THREADS}
    with phase("submit"):
        recorded = submit()
    out["tickets_recorded"] = recorded
    with phase("submit_applied"):
        applied()
    with phase("assignments"):
        unit_of = {e["ticketId"]: e["ticketDispatched"].get("unit", "")
                   for e in events("dispatch") if "ticketDispatched" in e}
        units = sorted(set(unit_of.values()))
        for u in units:
            token_create("unit:" + u, u, os.path.join(TOKDIR, f"unit-{u}.token"))
        for u in units:
            wait_token("unit-" + u, ["dispatch"])
        note(f"{len(unit_of)} tickets dispatched to {len(units)} units")
    ids = sorted(unit_of)
    rework = {t for t in ids if zlib.crc32(t.encode()) % 10000 < REWORK_PCT * 100}
    out.update({"dispatched": len(ids), "units": len(units),
                "mix": {"satisfied_first_round": len(ids) - len(rework),
                        "dissatisfied_then_rework_then_satisfied": len(rework),
                        "not_dispatched": recorded - len(ids)}})
    cb_seq = int(scrape("callback").get("hotline_event_log_head_seq", 0))
    with phase("sign_reply"):
        sign_reply(ids, unit_of, "sign + reply")
    with phase("sign_reply_applied"):
        applied()

    def first(tid):
        if tid in rework:
            return {"outcome": "CALLBACK_RATED", "rating": "RATING_DISSATISFIED", "resolved": False,
                    "comment": "still no water"}
        return {"outcome": "CALLBACK_RATED", "resolved": True,
                "rating": "RATING_VERY_SATISFIED" if zlib.crc32(tid.encode()) % 3 else "RATING_SATISFIED"}
    with phase("callbacks"):
        cb_seq, hours = make_due(cb_seq, len(ids))
        note(f"callback's clock moved on {hours} h; {len(ids)} callbacks due")
        out["callback_clock_moved_h"] = hours
        out["callbacks_round0"] = agents(len(ids), first, "callbacks")
    with phase("callbacks_applied"):
        applied()
    rids = sorted(rework)
    if rids:  # REWORK_PCT=0: none
        with phase("rework_sign_reply"):
            sign_reply(rids, unit_of, "rework sign + reply")
        with phase("rework_sign_reply_applied"):
            applied()
        with phase("rework_callbacks"):
            cb_seq, hours = make_due(cb_seq, len(rids))
            note(f"callback's clock moved on {hours} h; {len(rids)} rework callbacks due")
            out["callbacks_round1"] = agents(len(rids), lambda t: {"outcome": "CALLBACK_RATED", "resolved": True,
                                                                    "rating": "RATING_SATISFIED"},
                                             "rework callbacks")
    with phase("all_applied"):
        last = applied()
    out["phases_s"] = PHASES
    out["requests"] = dict(REQUESTS)
    out["metrics"] = {s: {k: v for k, v in last[s].items()
                          if k.startswith(("hotline_event_log_head_seq", "hotline_store_used_bytes",
                                           "hotline_events_appended_total", "hotline_callback_"))}
                      for s in NAMES}
    print(json.dumps(out))


main()
