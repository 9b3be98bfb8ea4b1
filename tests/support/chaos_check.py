#!/usr/bin/env python3
"""chaos_check: the chaos suite's independent checker (issue 13).

Its own process, Python standard library only. It reads nothing but what an outsider can read:
the load client's record of what intake acknowledged (testclient --acked: one "KEY TICKET_ID"
line per acknowledged command) and the services' HTTP APIs (GET /v1/events of intake(s),
dispatch, sla and callback with a service token; analytics' GET /v1/kpis, /metrics and
GET /v1/tickets/{id}/timeline with an admin token). It checks, and prints a JSON summary:

  intake     every acknowledged ticket has exactly one TicketReceived over all intake logs
             (--intake is repeatable: each instance has its own log; ticket ids are unique
             across instances, so they are counted by id over all of them); no TicketReceived
             of a ticket never acknowledged (a retry with the same idempotency key that made a
             second ticket shows up here)
  dispatch   every acknowledged ticket is dispatched exactly once (TicketDispatched); none
             dispatched that was never acknowledged
  sla        every dispatched ticket has exactly one SIGN and one REPLY clock (SlaClockStarted),
             no clock is started twice, none for a ticket never dispatched; each ladder step
             (reminder = SlaEscalated REMINDER, yellow card = SlaWarning, overdue = SlaBreached,
             red card, supervision notice = SlaEscalated) at most once per (ticket, clock,
             round), only steps the clock's plan has (its SlaClockStarted), in ladder order,
             never before its planned instant, with the planned atMs, none after the clock
             stopped; with --sla-now MS every planned step at or before MS of a clock still
             running fired exactly once
  callback   at most one CallbackScheduled per (ticket, round), exactly one per TicketReplied
  analytics  GET /v1/kpis over every day the events touch counts received == acknowledged,
             dispatched, signed, replied == dispatch's events, signStarted, replyStarted ==
             the clocks, sign/reply warnings and breaches == sla's steps; /metrics hotline_tickets_total agrees; the timelines of a
             sample of tickets hold each of the ticket's events of every log exactly once

A violation that waiting cannot mend (a loss, a duplicate, an early or unplanned step) fails at
once; figures that may still be catching up (analytics, steps not yet fired) are read again,
only the new events of each log, until they agree or --settle seconds pass. Exit 0: every
invariant held; 1: a violation (the summary's "violations" says which, with examples); 2: bad
arguments or an API that would not answer.

--dump DIR writes what was read (acked, <service>.ndjson, kpis.json, metrics.txt,
timelines.json) and --replay DIR checks such a directory instead of the services: the suite's
controls doctor a real dump and must see the checker fail.
"""
import argparse
import collections
import datetime
import json
import os
import queue
import random
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

STEPS = ["SLA_STEP_REMINDER", "SLA_STEP_YELLOW_CARD", "SLA_STEP_OVERDUE", "SLA_STEP_RED_CARD",
         "SLA_STEP_SUPERVISION"]
PLAN_FIELDS = ["reminderMs", "warnMs", "dueMs", "redMs", "supervisionMs"]
SHORT = ["reminder", "yellow", "overdue", "red", "supervision"]
ENVELOPE = ("source", "seq", "timeMs", "ticketId")
SIGN, REPLY = "SLA_CLOCK_SIGN", "SLA_CLOCK_REPLY"

# Violations waiting cannot mend.
SAFETY = {"acked_twice", "ack_key_twice", "lost", "received_twice", "received_unacked",
          "dispatched_twice", "dispatched_unacked", "clock_twice",
          "step_twice", "step_unplanned", "step_order", "step_early", "step_at",
          "step_after_stop", "callback_twice", "log_gap"}


class Fatal(Exception):
    pass


def kind_of(e):
    return next((k for k in e if k not in ENVELOPE), "")


class Source:
    """One service's event log, read incrementally (after=cursor) over HTTP or from a dump."""

    def __init__(self, name, url=None, token=None, path=None, dump=None):
        self.name, self.url, self.token, self.path = name, url, token, path
        self.after, self.events, self.dump = 0, 0, dump
        self.min_ms, self.max_ms = None, None

    def _get(self, after):
        q = urllib.parse.urlencode({"after": after, "limit": 1000})
        req = urllib.request.Request(f"{self.url}/v1/events?{q}",
                                     headers={"Authorization": "Bearer " + self.token})
        for attempt in range(30):
            try:
                with urllib.request.urlopen(req, timeout=60) as r:
                    return r.read()
            except (urllib.error.URLError, OSError) as e:
                if attempt == 29:
                    raise Fatal(f"{self.name}: GET /v1/events at {self.url} failed: {e}")
                time.sleep(1)

    def new_events(self):
        """Yields the events appended since the last call, in log order."""
        if self.path is not None:
            if self.after == 0:
                self.after = 1
                with open(self.path) as f:
                    for line in f:
                        if line.strip():
                            yield self._seen(json.loads(line))
            return
        # One page is fetched ahead while the last one is parsed (the service's loop builds the
        # JSON, this process parses it: both work at once).
        pages = queue.Queue(maxsize=2)

        def fetch(after):
            try:
                while True:
                    body = self._get(after)
                    page = json.loads(body)["events"]
                    pages.put(page)
                    if not page:
                        return
                    after = int(page[-1]["seq"])
            except Exception as e:  # handed to the reader
                pages.put(e)

        threading.Thread(target=fetch, args=(self.after,), daemon=True).start()
        while True:
            page = pages.get()
            if isinstance(page, Exception):
                raise page if isinstance(page, Fatal) else Fatal(f"{self.name}: {page!r}")
            if not page:
                return
            for e in page:
                seq = int(e["seq"])
                if seq != self.after + 1 and self.after != 0:
                    raise Fatal(f"{self.name}: the log jumps from seq {self.after} to {seq}: "
                                "trimmed or lost events (start the services with a long "
                                "runtime.eventLog.retentionHours for the check)")
                if self.after == 0 and seq != 1:
                    raise Fatal(f"{self.name}: the log starts at seq {seq}, not 1: trimmed "
                                "(a long runtime.eventLog.retentionHours keeps it for the check)")
                self.after = seq
                yield self._seen(e)

    def _seen(self, e):
        self.events += 1
        t = int(e.get("timeMs", 0))
        if t:
            self.min_ms = t if self.min_ms is None else min(self.min_ms, t)
            self.max_ms = t if self.max_ms is None else max(self.max_ms, t)
        if self.dump:
            self.dump.write(json.dumps(e, separators=(",", ":")) + "\n")
        return e


class Checker:
    def __init__(self, args):
        self.a = args
        self.v = collections.defaultdict(list)  # kind -> examples
        self.nv = collections.Counter()
        self.acked = {}                          # ticket id -> key
        self.received = collections.Counter()    # ticket id -> TicketReceived count
        self.received_in = collections.defaultdict(list)
        self.dispatched = collections.Counter()
        self.replied = collections.Counter()     # (ticket, round) -> TicketReplied
        self.scheduled = collections.Counter()   # (ticket, round) -> CallbackScheduled
        self.signed = 0
        # (ticket, clock, round) -> [plan (5 instants, 0 = none), fired mask, last step index,
        #                            stopped at (timeMs) or 0, paused]
        self.clocks = {}
        self.steps = collections.Counter()       # (clock, step) -> fired
        self.kinds = {}                          # source -> Counter of event kinds
        self.per_ticket = collections.defaultdict(set) if args.sample else None
        self.sample = set()
        self.figures = {}

    def violate(self, kind, *example):
        self.nv[kind] += 1
        if len(self.v[kind]) < 5:
            self.v[kind].append(list(example))

    # ---- inputs ----
    def read_acked(self, paths):
        keys = set()
        lines = 0
        for p in paths:
            with open(p) as f:
                for line in f:
                    parts = line.split()
                    if len(parts) != 2:
                        continue  # a line cut by a kill of the client: never acknowledged whole
                    lines += 1
                    key, tid = parts
                    if key in keys:
                        self.violate("ack_key_twice", key)
                    keys.add(key)
                    if tid == "-":
                        continue
                    if tid in self.acked:
                        self.violate("acked_twice", tid, self.acked[tid], key)
                    self.acked[tid] = key
        self.figures["ackLines"] = lines

    def note_ticket_event(self, e, tid):
        if tid in self.sample:
            self.per_ticket[tid].add((e["source"], e["seq"]))

    def apply_intake(self, src, e):
        if "ticketReceived" in e:
            tid = e.get("ticketId") or e["ticketReceived"]["ticket"]["id"]
            self.received[tid] += 1
            self.received_in[tid].append(src)
            if self.received[tid] > 1:
                self.violate("received_twice", tid, self.received_in[tid])
            if tid not in self.acked:
                self.violate("received_unacked", tid, src)

    def apply_dispatch(self, e):
        tid = e.get("ticketId", "")
        if "ticketDispatched" in e:
            self.dispatched[tid] += 1
            if self.dispatched[tid] > 1:
                self.violate("dispatched_twice", tid, e["seq"])
            if tid not in self.acked:
                self.violate("dispatched_unacked", tid, e["seq"])
        elif "ticketReplied" in e:
            self.replied[(tid, int(e["ticketReplied"].get("round", 0)))] += 1
        elif "ticketSigned" in e:
            self.signed += 1

    def apply_sla(self, e):
        tid, t = e.get("ticketId", ""), int(e["timeMs"])
        if "slaClockStarted" in e:
            s = e["slaClockStarted"]
            key = (tid, s["clock"], int(s.get("round", 0)))
            if key in self.clocks:
                self.violate("clock_twice", *key)
                return
            self.clocks[key] = [tuple(int(s.get(f, 0)) for f in PLAN_FIELDS), 0, -1, 0, False]
            return
        for kind in ("slaEscalated", "slaWarning", "slaBreached", "slaClockStopped",
                     "slaClockPaused", "slaClockResumed", "slaClockExtended"):
            if kind in e:
                break
        else:
            return
        b = e[kind]
        key = (tid, b.get("clock", ""), int(b.get("round", 0)))
        c = self.clocks.get(key)
        if kind == "slaClockStopped":
            if c:
                c[3] = t
            return
        if kind in ("slaClockPaused", "slaClockResumed", "slaClockExtended"):
            if c:  # the plan moves (extension, resume): the exact-once promise still holds,
                c[4] = True  # but instants are no longer the start's
            return
        i = (STEPS.index(b["step"]) if kind == "slaEscalated"
             else 1 if kind == "slaWarning" else 2)
        self.steps[(key[1], SHORT[i])] += 1
        if c is None:
            self.violate("step_unplanned", *key, SHORT[i], "no clock started")
            return
        plan, mask, last, stopped, moved = c
        if mask & (1 << i):
            self.violate("step_twice", *key, SHORT[i], e["seq"])
            return
        c[1] = mask | (1 << i)
        if not plan[i]:
            self.violate("step_unplanned", *key, SHORT[i])
        elif not moved:
            if t < plan[i]:
                self.violate("step_early", *key, SHORT[i], t, plan[i])
            if "atMs" in b and int(b["atMs"]) != plan[i]:
                self.violate("step_at", *key, SHORT[i], int(b["atMs"]), plan[i])
        if i < last:
            self.violate("step_order", *key, SHORT[last], "then", SHORT[i])
        c[2] = max(last, i)
        if stopped:
            self.violate("step_after_stop", *key, SHORT[i], e["seq"])

    def apply_callback(self, e):
        if "callbackScheduled" in e:
            key = (e.get("ticketId", ""), int(e["callbackScheduled"].get("round", 0)))
            self.scheduled[key] += 1
            if self.scheduled[key] > 1:
                self.violate("callback_twice", *key)

    def read_logs(self, sources):
        for name, srcs in sources:
            for s in srcs:
                kinds = self.kinds.setdefault(s.name, collections.Counter())
                for e in s.new_events():
                    kinds[kind_of(e)] += 1
                    tid = e.get("ticketId", "")
                    if tid and self.per_ticket is not None:
                        self.note_ticket_event(e, tid)
                    if name == "intake":
                        self.apply_intake(s.name, e)
                    elif name == "dispatch":
                        self.apply_dispatch(e)
                    elif name == "sla":
                        self.apply_sla(e)
                    elif name == "callback":
                        self.apply_callback(e)

    # ---- what must hold once everything has caught up ----
    def liveness(self, kpis, metrics, timelines):
        live = collections.defaultdict(list)
        nlive = collections.Counter()

        def miss(kind, *ex):
            nlive[kind] += 1
            if len(live[kind]) < 5:
                live[kind].append(list(ex))

        for tid, key in self.acked.items():
            if self.received[tid] == 0:
                self.violate("lost", tid, key, "acknowledged, not in any intake log")
            if self.dispatched[tid] == 0:
                miss("not_dispatched", tid)
        for key in self.clocks:
            if key[0] not in self.dispatched:  # read again: dispatch may have moved on
                miss("clock_undispatched", *key)
        for tid in self.dispatched:
            for clock in (SIGN, REPLY):
                if (tid, clock, 0) not in self.clocks:
                    miss("clock_missing", tid, clock)
        now = self.a.sla_now
        if now:
            for key, (plan, mask, _, stopped, moved) in self.clocks.items():
                if stopped or moved:
                    continue
                for i, at in enumerate(plan):
                    if at and at <= now and not mask & (1 << i):
                        miss("step_missing", *key, SHORT[i], at)
        for key, n in self.replied.items():
            if self.scheduled[key] == 0:
                miss("callback_missing", *key)
        # analytics
        if kpis is not None:
            tot = kpis["totals"]
            want = {
                "received": len(self.acked),
                "dispatched": sum(1 for n in self.dispatched.values() if n),
                "signStarted": sum(1 for k in self.clocks if k[1] == SIGN),
                "replyStarted": sum(1 for k in self.clocks if k[1] == REPLY),
                "signWarnings": self.steps[(SIGN, "yellow")],
                "replyWarnings": self.steps[(REPLY, "yellow")],
                "signBreached": self.steps[(SIGN, "overdue")],
                "replyBreached": self.steps[(REPLY, "overdue")],
                "signed": self.signed,
                "replied": sum(self.replied.values()),
            }
            for k, w in want.items():
                if int(tot.get(k, 0)) != w:
                    miss("analytics_kpis", k, int(tot.get(k, 0)), "expected", w)
            self.figures["analyticsTotals"] = {k: int(tot.get(k, 0)) for k in want}
        if metrics is not None:
            for stage, w in (("received", len(self.acked)),
                             ("dispatched", sum(1 for n in self.dispatched.values() if n))):
                got = metrics.get(f'hotline_tickets_total{{stage="{stage}"}}')
                if got is None or int(float(got)) != w:
                    miss("analytics_metrics", stage, got, "expected", w)
        if timelines is not None:
            for tid, tl in timelines.items():
                got = collections.Counter((e["source"], e["seq"]) for e in tl)
                twice = [k for k, n in got.items() if n > 1]
                if twice:
                    self.violate("timeline_twice", tid, twice[:3])
                logs = self.per_ticket.get(tid, set())
                if set(got) != logs:
                    miss("timeline_differs", tid, sorted(logs - set(got))[:3],
                         sorted(set(got) - logs)[:3])
        return live, nlive

    def fetch_analytics(self, sources):
        if self.a.replay:
            d = self.a.replay
            kpis = json.load(open(os.path.join(d, "kpis.json")))
            metrics = parse_metrics(open(os.path.join(d, "metrics.txt")).read())
            tl = os.path.join(d, "timelines.json")
            timelines = json.load(open(tl)) if self.a.sample and os.path.exists(tl) else None
            return kpis, metrics, timelines
        if not self.a.analytics:
            return None, None, None
        lo = min((s.min_ms for _, ss in sources for s in ss if s.min_ms), default=None)
        hi = max((s.max_ms for _, ss in sources for s in ss if s.max_ms), default=None)
        if lo is None:
            lo = hi = int(time.time() * 1000)
        off = datetime.timedelta(minutes=self.a.utc_offset_minutes)
        day = lambda ms: (datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc) + off).date()
        frm, to = day(lo) - datetime.timedelta(days=1), day(hi) + datetime.timedelta(days=1)
        self.figures["kpiRange"] = [str(frm), str(to)]
        kpis = json.loads(http_get(f"{self.a.analytics}/v1/kpis?from={frm}&to={to}", self.a.admin_token))
        metrics = parse_metrics(http_get(f"{self.a.analytics}/metrics", None).decode())
        timelines = {}
        for tid in sorted(self.sample):
            body = http_get(f"{self.a.analytics}/v1/tickets/{tid}/timeline", self.a.admin_token,
                            missing_ok=True)
            timelines[tid] = json.loads(body)["events"] if body else []
        return kpis, metrics, timelines


def http_get(url, token, missing_ok=False):
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + token} if token else {})
    for attempt in range(30):
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.read()
        except urllib.error.HTTPError as e:
            if e.code == 404 and missing_ok:
                return None
            if attempt == 29 or e.code in (400, 401, 403):
                raise Fatal(f"GET {url}: HTTP {e.code}: {e.read()[:300]!r}")
        except (urllib.error.URLError, OSError) as e:
            if attempt == 29:
                raise Fatal(f"GET {url}: {e}")
        time.sleep(1)


def parse_metrics(text):
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            k, _, v = line.rpartition(" ")
            out[k] = v
    return out


def token(value):
    if value and os.path.exists(value):
        return open(value).read().strip()
    return value


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--intake", action="append", default=[], help="intake base URL (repeatable)")
    ap.add_argument("--dispatch")
    ap.add_argument("--sla")
    ap.add_argument("--callback")
    ap.add_argument("--analytics")
    ap.add_argument("--service-token", help="token or file: reads the event logs")
    ap.add_argument("--admin-token", help="token or file: analytics' KPIs and timelines")
    ap.add_argument("--acked", action="append", default=[], help="the load client's ack file(s)")
    ap.add_argument("--sla-now", type=int, default=0,
                    help="UTC ms: every planned step at or before it must have fired")
    ap.add_argument("--settle", type=float, default=60, help="seconds to wait for catch-up")
    ap.add_argument("--sample", type=int, default=200, help="timelines to compare")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--utc-offset-minutes", type=int, default=480)
    ap.add_argument("--dump", help="write what was read to this directory")
    ap.add_argument("--replay", help="check a dump directory instead of the services")
    ap.add_argument("--summary", help="also write the JSON summary to this file")
    a = ap.parse_args()
    a.service_token, a.admin_token = token(a.service_token), token(a.admin_token)
    t0 = time.time()
    if a.replay:
        a.acked = [os.path.join(a.replay, "acked")]
        meta = json.load(open(os.path.join(a.replay, "meta.json")))
        a.sla_now = a.sla_now or meta.get("slaNow", 0)
        intakes = sorted(f for f in os.listdir(a.replay) if f.startswith("intake"))
        sources = [("intake", [Source(f[:-7], path=os.path.join(a.replay, f)) for f in intakes])]
        for n in ("dispatch", "sla", "callback"):
            p = os.path.join(a.replay, n + ".ndjson")
            sources.append((n, [Source(n, path=p)] if os.path.exists(p) else []))
        a.settle = 0
    else:
        if not a.intake or not a.dispatch or not a.sla or not a.acked or not a.service_token:
            ap.error("--intake, --dispatch, --sla, --acked and --service-token are required")
        urls = list(dict.fromkeys(u.rstrip("/") for u in a.intake))  # the same one twice: once
        names = ["intake"] if len(urls) == 1 else ["intake%d" % i for i in range(len(urls))]
        dumps = {}
        if a.dump:
            os.makedirs(a.dump, exist_ok=True)
            for name in names + ["dispatch", "sla", "callback"]:
                dumps[name] = open(os.path.join(a.dump, name + ".ndjson"), "w")
        sources = [("intake", [Source(n, u, a.service_token, dump=dumps.get(n))
                               for n, u in zip(names, urls)])]
        for n in ("dispatch", "sla", "callback"):
            url = getattr(a, n)
            sources.append((n, [Source(n, url, a.service_token, dump=dumps.get(n))] if url else []))
    ck = Checker(a)
    try:
        ck.read_acked(a.acked)
        if a.sample:
            ids = sorted(ck.acked)
            ck.sample = set(random.Random(a.seed).sample(ids, min(a.sample, len(ids))))
            if a.replay and os.path.exists(os.path.join(a.replay, "timelines.json")):
                ck.sample = set(json.load(open(os.path.join(a.replay, "timelines.json"))))
        deadline = time.time() + a.settle
        rounds = 0
        while True:
            rounds += 1
            ck.read_logs(sources)
            kpis, metrics, timelines = ck.fetch_analytics(sources)
            live, nlive = ck.liveness(kpis, metrics, timelines)
            if any(k in SAFETY or k == "timeline_twice" for k in ck.nv) or not nlive \
                    or time.time() >= deadline:
                break
            time.sleep(2)
    except Fatal as e:
        print(json.dumps({"ok": False, "error": str(e)}), flush=True)
        print(f"chaos_check: {e}", file=sys.stderr)
        return 2
    if a.dump:
        with open(os.path.join(a.dump, "acked"), "w") as f:
            for p in a.acked:
                f.write(open(p).read())
        json.dump(kpis, open(os.path.join(a.dump, "kpis.json"), "w"))
        with open(os.path.join(a.dump, "metrics.txt"), "w") as f:
            f.write("".join(f"{k} {v}\n" for k, v in (metrics or {}).items()))
        json.dump(timelines or {}, open(os.path.join(a.dump, "timelines.json"), "w"))
        json.dump({"slaNow": a.sla_now}, open(os.path.join(a.dump, "meta.json"), "w"))
    violations = {k: {"count": n, "examples": ck.v[k]} for k, n in ck.nv.items()}
    violations.update({k: {"count": n, "examples": live[k]} for k, n in nlive.items()})
    steps = collections.Counter()
    for (clock, step), n in ck.steps.items():
        steps[f"{clock[10:].lower()}.{step}"] += n
    planned_due = sum(1 for plan, *_ in ck.clocks.values() for at in plan
                      if at and (not a.sla_now or at <= a.sla_now))
    summary = {
        "ok": not violations,
        "acknowledged": len(ck.acked),
        "intakeLogs": [s.name for s in sources[0][1]],
        "received": sum(ck.received.values()),
        "dispatched": sum(ck.dispatched.values()),
        "clocks": len(ck.clocks),
        "clocksByKind": dict(collections.Counter(k[1][10:].lower() for k in ck.clocks)),
        "stepsFired": dict(sorted(steps.items())),
        "stepsFiredTotal": sum(steps.values()),
        "stepsPlannedDue": planned_due if a.sla_now else None,
        "slaNowMs": a.sla_now or None,
        "signed": ck.signed,
        "replies": sum(ck.replied.values()),
        "callbacksScheduled": sum(ck.scheduled.values()),
        "timelinesCompared": len(timelines or {}),
        "eventsRead": {s.name: s.events for _, ss in sources for s in ss},
        "eventKinds": {n: dict(c) for n, c in ck.kinds.items()},
        "rounds": rounds,
        "seconds": round(time.time() - t0, 1),
        **ck.figures,
        "violations": violations,
    }
    out = json.dumps(summary, indent=1, sort_keys=False)
    print(out, flush=True)
    if a.summary:
        open(a.summary, "w").write(out + "\n")
    if violations:
        print("chaos_check: VIOLATED: " + "; ".join(
            f"{k} x{v['count']} (e.g. {v['examples'][:2]})" for k, v in violations.items()),
            file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
