#!/usr/bin/env python3
"""Recompute every figure of analytics' KPI answers from the events, by brute force.

Usage: kpi_bruteforce.py EVENTS.ndjson ANSWERS.ndjson [--month YYYY-MM] [--show N]

EVENTS.ndjson holds hotline.Event objects (proto3 JSON), one a line, in the order analytics
read them. ANSWERS.ndjson holds {"phase", "events", "query", "answer"} lines: the GET /v1/kpis
document analytics gave for query after reading the first `events` events (phases "month" and
"final"), or after counting all of them again from its timeline ("rebuilt").

Written from the definitions in docs/domain.md ("KPIs") and README.md, not from analytics'
code. Python standard library only. Exit 0 when every figure of every answer agrees, 1 (naming
the first differences) when any does not, 2 on bad input.

The rules, as this script reads them:
- Periods are local days in the centre's zone, UTC+8. A period of several days is the sum of
  its days. period=YYYY-MM-DD / YYYY-MM / YYYY-Www (ISO 8601 week, Monday to Sunday).
- Every event counts on the local day it happened, except: a clock's verdict (below) and a
  rating taken out by an upheld appeal (it leaves the day it was given).
- Each count is kept by unit, category and district. An event counts under those it names
  itself (a dispatch names all three; a receipt its category and district; a clock start its
  unit and category; a signing, reply, rating, breach... its unit), and otherwise under its
  ticket's as known when the event was read: category and district from intake's receipt
  (intake's word wins over copies seen earlier), unit from the latest dispatch; until then
  from the first event naming one. A value still unknown leaves the event out of that
  breakdown; it still counts in the totals and under the values it has.
- received: a ticket's receipt, once per ticket; it and repeatCalls are the door's, counted
  under no unit (the centre's; their category and district); answeredDirectly / referred / notAccepted:
  what happened at the door; incidentLinked: sent on to dispatch but joined to an incident.
  dispatched: a ticket's first dispatch of round 0, once; redispatched: every other dispatch.
  signed, replied, reworked (TicketReopened), closed, repeatCalls (RepeatContact),
  callbacksDue (CallbackScheduled), unreachable (CallbackAttempted), reworkRequested,
  callbacksDone (CallbackRated): one each. signStarted / replyStarted: clocks started.
  signWarnings / replyWarnings / signBreached / replyBreached: SlaWarning / SlaBreached
  events of those clocks, on the event's day.
- Ratings (CallbackRated): rated, resolved, and one of the five levels, on the rating's day,
  under the rating's unit. KpiEligibilityChanged (eligible false, an upheld appeal) takes
  that rating (same ticket and round) out of rated, resolved and its level there, and counts
  it in ratingsExcluded there; eligible true puts it back.
- A clock (ticket, clock, round) is decided once: stopped in time (SlaClockStopped onTime) is
  on time, on the day of that stop; otherwise its deadline passed unstopped (SlaBreached, or
  a late SlaClockStopped when no breach was seen first) is late, on the deadline's day, once.
  A clock ever stopped in time (an extension approved after a breach) is on time, at the
  first such stop, and nowhere late. A clock still running and not yet due counts nowhere.
  xDue = on time + late, for SIGN (sign*), REPLY (reply*), RESPONSE (responded*) and
  CALLBACK (calledBack*, callbackClocksDue). It counts under the deciding event's dimensions.
- warnings = sign + reply warnings; breached = sign + reply breaches; satisfied = very
  satisfied + satisfied + basically satisfied (the policy switch's default). Rates:
  onTimeSign = signedOnTime / signDue, onTimeReply, response, onTimeCallback likewise;
  callback = callbacksDone / callbacksDue; satisfaction = satisfied / rated; resolution =
  resolved / rated; rework = reworked / replied; directAnswer = answeredDirectly / (received -
  notAccepted); repeatCall = repeatCalls / (received + repeatCalls); null without a
  denominator.
- returnRequests: ReturnRequested; returned: ReturnReviewed approved; both under the unit
  that asked, on the event's day; returnRate = returned / dispatched.
- closedOnTime: a TicketClosed when, as the events stand when it is read, no REPLY clock of
  its ticket (any round) is late (a late decision and no stop in time); onTimeClosureRate =
  closedOnTime / closed.
- "rebuilt" answers: the same rules, with each ticket's events read in time order (events of
  one instant in pipeline order: intake, dispatch, sla, callback, then by seq), as a rebuild
  from the kept timeline reads them.
"""
import datetime
import json
import sys
import urllib.parse

UTC_OFFSET_MS = 8 * 3600 * 1000
DAY_MS = 86400 * 1000
EPOCH = datetime.date(1970, 1, 1)
SOURCES = ("intake", "dispatch", "sla", "callback")

COUNTS = (
    "received", "dispatched", "redispatched", "reworked", "signed", "replied", "closed",
    "signStarted", "signedOnTime", "signedLate", "replyStarted", "repliedOnTime", "repliedLate",
    "signWarnings", "replyWarnings", "signBreached", "replyBreached", "callbacksDue",
    "callbacksDone", "unreachable", "rated", "resolved", "reworkRequested",
    "ratedVerySatisfied", "ratedSatisfied", "ratedBasicallySatisfied", "ratedDissatisfied",
    "ratedVeryDissatisfied", "answeredDirectly", "referred", "notAccepted", "repeatCalls",
    "incidentLinked", "ratingsExcluded", "signDue", "replyDue", "responseDue",
    "respondedOnTime", "respondedLate", "callbackClocksDue", "calledBackOnTime",
    "calledBackLate", "returnRequests", "returned", "closedOnTime",
)
IX = {name: i for i, name in enumerate(COUNTS)}
DERIVED = ("warnings", "breached", "satisfied")
RATES = ("onTimeSignRate", "onTimeReplyRate", "responseRate", "onTimeCallbackRate",
         "callbackRate", "satisfactionRate", "resolutionRate", "reworkRate",
         "directAnswerRate", "repeatCallRate", "returnRate", "onTimeClosureRate")
LEVELS = {"RATING_VERY_SATISFIED": "ratedVerySatisfied", "RATING_SATISFIED": "ratedSatisfied",
          "RATING_BASICALLY_SATISFIED": "ratedBasicallySatisfied",
          "RATING_DISSATISFIED": "ratedDissatisfied",
          "RATING_VERY_DISSATISFIED": "ratedVeryDissatisfied"}
# clock -> (decided, on time, late)
CLOCKS = {"SLA_CLOCK_SIGN": ("signDue", "signedOnTime", "signedLate"),
          "SLA_CLOCK_REPLY": ("replyDue", "repliedOnTime", "repliedLate"),
          "SLA_CLOCK_RESPONSE": ("responseDue", "respondedOnTime", "respondedLate"),
          "SLA_CLOCK_CALLBACK": ("callbackClocksDue", "calledBackOnTime", "calledBackLate")}
DISPOSITIONS = {"DISPOSITION_ANSWERED": "answeredDirectly", "DISPOSITION_REFERRED": "referred",
                "DISPOSITION_NOT_ACCEPTED": "notAccepted"}
PLAIN = {"ticketSigned": "signed", "ticketReplied": "replied", "ticketReopened": "reworked",
         "ticketClosed": "closed", "repeatContact": "repeatCalls",
         "callbackScheduled": "callbacksDue", "callbackAttempted": "unreachable",
         "reworkRequested": "reworkRequested"}
BODIES = ("ticketReceived", "repeatContact", "ticketDispatched", "ticketSigned",
          "ticketReplied", "ticketReopened", "slaClockStarted", "slaClockStopped", "slaWarning",
          "slaBreached", "callbackScheduled", "callbackAttempted", "callbackRated",
          "reworkRequested", "ticketClosed", "kpiEligibilityChanged", "returnRequested",
          "returnReviewed")


def local_day(ms):
    return (ms + UTC_OFFSET_MS) // DAY_MS


def day_text(day):
    return (EPOCH + datetime.timedelta(days=day)).isoformat()


def day_of_date(d):
    return (d - EPOCH).days


class Event:
    """What the rules need of one event: (ticket, source, seq, time, kind, body)."""
    __slots__ = ("n", "ticket", "source", "seq", "time", "kind", "body")

    def __init__(self, n, obj):
        self.n = n
        self.ticket = obj.get("ticketId", "")
        self.source = obj.get("source", "")
        self.seq = int(obj.get("seq", "0"))
        self.time = int(obj.get("timeMs", "0"))
        self.kind, self.body = None, None
        for k in BODIES:
            if k in obj:
                self.kind, self.body = k, obj[k]
                break
        if self.kind == "ticketReceived":  # keep what counts of the (large) ticket
            tk = self.body.get("ticket", {})
            self.body = {"categoryCode": tk.get("categoryCode", ""),
                         "district": tk.get("location", {}).get("district", ""),
                         "disposition": tk.get("outcome", {}).get("disposition", ""),
                         "incidentId": tk.get("incidentId", "")}


class Ticket:
    __slots__ = ("unit", "category", "district", "received", "dispatched")

    def __init__(self):
        self.unit = self.category = self.district = ""
        self.received = self.dispatched = False


class Model:
    """The counts of one reading of the events, per (day, unit, category, district)."""

    def __init__(self):
        self.cells = {}
        self.tickets = {}
        self.clocks = {}   # (ticket, clock, round) -> [first on-time (day, dims), first late]
        self.reply_clocks = {}  # ticket -> its REPLY clocks' entries in self.clocks
        self.ratings = {}  # (ticket, round) -> [day, dims, level, resolved, eligible, time, unit]

    def add(self, day, dims, name, delta=1):
        key = (day,) + dims
        vec = self.cells.get(key)
        if vec is None:
            vec = self.cells[key] = [0] * len(COUNTS)
        vec[IX[name]] += delta

    def read(self, ev):
        if not ev.ticket or ev.kind is None:
            return  # not about a ticket, or a kind no KPI is made of
        t = self.tickets.get(ev.ticket)
        if t is None:
            t = self.tickets[ev.ticket] = Ticket()
        b, kind = ev.body, ev.kind
        own_unit, own_cat = b.get("unit", ""), b.get("categoryCode", "")
        own_dist = b.get("district", "")  # a receipt's, a dispatch's
        if kind == "ticketReceived":  # intake's word on what and where wins
            t.category = own_cat or t.category
            t.district = own_dist or t.district
        elif kind == "ticketDispatched":
            t.unit = own_unit or t.unit  # the latest dispatch holds the ticket
        t.unit = t.unit or own_unit
        t.category = t.category or own_cat
        t.district = t.district or own_dist
        dims = (own_unit or t.unit, own_cat or t.category, own_dist or t.district)
        if kind in ("ticketReceived", "repeatContact"):  # the door's: the centre's, no unit
            dims = ("",) + dims[1:]
        day = local_day(ev.time)
        if kind == "ticketReceived":
            if not t.received:
                t.received = True
                self.add(day, dims, "received")
                disp = DISPOSITIONS.get(b["disposition"])
                if disp:
                    self.add(day, dims, disp)
                elif b["incidentId"]:
                    self.add(day, dims, "incidentLinked")
        elif kind == "ticketDispatched":
            if b.get("round", 0) == 0 and not t.dispatched:
                t.dispatched = True
                self.add(day, dims, "dispatched")
            else:
                self.add(day, dims, "redispatched")
        elif kind in PLAIN:
            self.add(day, dims, PLAIN[kind])
            if kind == "ticketClosed" and not self.reply_late(ev.ticket):
                self.add(day, dims, "closedOnTime")
        elif kind == "returnRequested":
            self.add(day, dims, "returnRequests")
        elif kind == "returnReviewed":
            if b.get("approved", False):
                self.add(day, dims, "returned")
        elif kind in ("slaClockStarted", "slaWarning", "slaBreached"):
            clock = b.get("clock", "")
            if clock in ("SLA_CLOCK_SIGN", "SLA_CLOCK_REPLY"):
                what = {"slaClockStarted": "Started", "slaWarning": "Warnings",
                        "slaBreached": "Breached"}[kind]
                self.add(day, dims, ("sign" if clock == "SLA_CLOCK_SIGN" else "reply") + what)
            if kind == "slaBreached":
                self.verdict(ev, False, b, dims)
        elif kind == "slaClockStopped":
            self.verdict(ev, bool(b.get("onTime", False)), b, dims)
        elif kind == "callbackRated":
            self.add(day, dims, "callbacksDone")
            key = (ev.ticket, b.get("round", 0))
            if key in self.ratings:
                raise ValueError("ticket %s round %s rated twice" % key)
            self.ratings[key] = [day, dims, LEVELS.get(b.get("rating", "")),
                                 bool(b.get("resolved", False)), True, ev.time, own_unit]
        elif kind == "kpiEligibilityChanged":
            r = self.ratings.get((ev.ticket, b.get("round", 0)))
            if r is None:
                raise ValueError("event %d: an appeal about a rating not seen" % ev.n)
            if (int(b.get("ratedMs", "0")) != r[5] or LEVELS.get(b.get("rating", "")) != r[2]
                    or bool(b.get("resolved", False)) != r[3] or own_unit != r[6]):
                raise ValueError("event %d: the appeal does not describe its rating" % ev.n)
            r[4] = bool(b.get("eligible", False))

    def reply_late(self, ticket):
        """Whether a REPLY clock of ticket is, as read so far, decided late."""
        return any(met is None and missed for met, missed in self.reply_clocks.get(ticket, ()))

    def verdict(self, ev, on_time, b, dims):
        clock = b.get("clock", "")
        if clock not in CLOCKS:
            return
        key = (ev.ticket, clock, b.get("round", 0))
        c = self.clocks.get(key)
        if c is None:
            c = self.clocks[key] = [None, None]
            if clock == "SLA_CLOCK_REPLY":
                self.reply_clocks.setdefault(ev.ticket, []).append(c)
        if on_time:
            if c[0] is None:
                c[0] = (local_day(ev.time), dims)
        elif c[1] is None:
            due = int(b.get("dueMs", "0"))
            c[1] = (local_day(due if due else ev.time), dims)

    def snapshot(self):
        """day -> [(unit, category, district, counts)], clocks and ratings decided as they
        stand now."""
        cells = {k: list(v) for k, v in self.cells.items()}

        def add(day, dims, name, delta=1):
            key = (day,) + dims
            vec = cells.get(key)
            if vec is None:
                vec = cells[key] = [0] * len(COUNTS)
            vec[IX[name]] += delta

        for (ticket, clock, rnd), (met, missed) in self.clocks.items():
            due_name, on_name, late_name = CLOCKS[clock]
            if met is not None:
                add(met[0], met[1], due_name)
                add(met[0], met[1], on_name)
            elif missed is not None:
                add(missed[0], missed[1], due_name)
                add(missed[0], missed[1], late_name)
        for day, dims, level, resolved, eligible, _, _ in self.ratings.values():
            if eligible:
                add(day, dims, "rated")
                if resolved:
                    add(day, dims, "resolved")
                if level:
                    add(day, dims, level)
            else:
                add(day, dims, "ratingsExcluded")
        by_day = {}
        for (day, u, c, d), vec in cells.items():
            by_day.setdefault(day, []).append((u, c, d, vec))
        return by_day


# ---- queries ----

DIM_INDEX = {"unit": 0, "category": 1, "district": 2}


def parse_query(q):
    params = dict(urllib.parse.parse_qsl(q, keep_blank_values=True))
    if "period" in params:
        p = params["period"]
        if len(p) == 10:
            first = last = day_of_date(datetime.date.fromisoformat(p))
        elif len(p) == 7:
            y, m = int(p[:4]), int(p[5:])
            first = day_of_date(datetime.date(y, m, 1))
            nxt = datetime.date(y + (m == 12), m % 12 + 1, 1)
            last = day_of_date(nxt) - 1
        else:
            first = day_of_date(datetime.date.fromisocalendar(int(p[:4]), int(p[6:]), 1))
            last = first + 6
    else:
        first = day_of_date(datetime.date.fromisoformat(params["from"]))
        last = day_of_date(datetime.date.fromisoformat(params["to"]))
    by = params.get("by")
    filt = None
    for dim in DIM_INDEX:
        if dim in params:
            filt = (dim, params[dim])
    return first, last, by, filt


def add_into(acc, vec):
    for i, v in enumerate(vec):
        acc[i] += v


def day_sums(snap, day, by, filt, cache):
    key = (day, by, filt)
    hit = cache.get(key)
    if hit is not None:
        return hit
    total, groups = [0] * len(COUNTS), {}
    fi = DIM_INDEX[filt[0]] if filt else None
    bi = DIM_INDEX[by] if by else None
    for cell in snap.get(day, ()):
        if fi is not None and cell[fi] != filt[1]:
            continue
        add_into(total, cell[3])
        if bi is not None and cell[bi]:
            g = groups.get(cell[bi])
            if g is None:
                g = groups[cell[bi]] = [0] * len(COUNTS)
            add_into(g, cell[3])
    cache[key] = (total, groups)
    return cache[key]


def figures(vec):
    c = dict(zip(COUNTS, vec))
    out = dict(c)
    out["warnings"] = c["signWarnings"] + c["replyWarnings"]
    out["breached"] = c["signBreached"] + c["replyBreached"]
    out["satisfied"] = c["ratedVerySatisfied"] + c["ratedSatisfied"] + c["ratedBasicallySatisfied"]

    def rate(num, den):
        return num / den if den else None
    out["rates"] = {
        "onTimeSignRate": rate(c["signedOnTime"], c["signDue"]),
        "onTimeReplyRate": rate(c["repliedOnTime"], c["replyDue"]),
        "responseRate": rate(c["respondedOnTime"], c["responseDue"]),
        "onTimeCallbackRate": rate(c["calledBackOnTime"], c["callbackClocksDue"]),
        "callbackRate": rate(c["callbacksDone"], c["callbacksDue"]),
        "satisfactionRate": rate(out["satisfied"], c["rated"]),
        "resolutionRate": rate(c["resolved"], c["rated"]),
        "reworkRate": rate(c["reworked"], c["replied"]),
        "directAnswerRate": rate(c["answeredDirectly"], c["received"] - c["notAccepted"]),
        "repeatCallRate": rate(c["repeatCalls"], c["received"] + c["repeatCalls"]),
        "returnRate": rate(c["returned"], c["dispatched"]),
        "onTimeClosureRate": rate(c["closedOnTime"], c["closed"]),
    }
    return out


def expected(snap, query, cache):
    first, last, by, filt = parse_query(query)
    total, groups = [0] * len(COUNTS), {}
    for day in range(first, last + 1):
        t, gs = day_sums(snap, day, by, filt, cache)
        add_into(total, t)
        for k, v in gs.items():
            add_into(groups.setdefault(k, [0] * len(COUNTS)), v)
    return first, last, by, filt, figures(total), {k: figures(v) for k, v in groups.items()}


# ---- comparing ----

class Checker:
    def __init__(self, show):
        self.show = show
        self.diffs = []
        self.answers = self.figures = self.empty_groups = 0

    def differ(self, where, name, got, want):
        self.diffs.append("%s: %s: analytics %r, brute force %r" % (where, name, got, want))

    def block(self, where, got, want):
        names = set(COUNTS) | set(DERIVED)
        extra = set(got) - names - {"rates", "key"}
        for name in sorted(extra):
            self.differ(where, name, got[name], "(no such figure)")
        for name in COUNTS + DERIVED:
            self.figures += 1
            if got.get(name) != want[name] or isinstance(got.get(name), bool):
                self.differ(where, name, got.get(name), want[name])
        rates = got.get("rates", {})
        for name in sorted(set(rates) - set(RATES)):
            self.differ(where, "rates." + name, rates[name], "(no such rate)")
        for name in RATES:
            self.figures += 1
            if name not in rates or rates[name] != want["rates"][name]:
                self.differ(where, "rates." + name, rates.get(name, "(missing)"),
                            want["rates"][name])

    def answer(self, line, snap, cache):
        self.answers += 1
        q, doc = line["query"], line["answer"]
        where = "%s %s" % (line["phase"], q)
        first, last, by, filt, total, groups = expected(snap, q, cache)
        head = {"from": day_text(first), "to": day_text(last), "utcOffsetMinutes": 480}
        if by:
            head["by"] = by
        if filt:
            head[filt[0]] = filt[1]
        for k, v in head.items():
            self.figures += 1
            if doc.get(k) != v:
                self.differ(where, k, doc.get(k), v)
        for k in ("by", "unit", "category", "district"):
            if k in doc and k not in head:
                self.differ(where, k, doc[k], "(absent)")
        self.block(where + " totals", doc.get("totals", {}), total)
        got = doc.get("groups", [])
        keys = [g.get("key") for g in got]
        if keys != sorted(keys, key=lambda k: k.encode()) or len(set(keys)) != len(keys):
            self.differ(where, "groups", keys, "(distinct keys, in byte order)")
        zero = figures([0] * len(COUNTS))
        for g in got:
            want = groups.get(g.get("key"))
            if want is None:
                if all(g.get(n) == 0 for n in COUNTS):
                    self.empty_groups += 1  # nothing left in it (a count moved away)
                want = zero
            self.block("%s group %s" % (where, g.get("key")), g, want)
        for k in sorted(set(groups) - set(keys)):
            self.differ(where, "group " + k, "(absent)", "present")


def load_events(path):
    events = []
    with open(path) as f:
        for n, line in enumerate(f):
            events.append(Event(n, json.loads(line)))
    return events


def run(events, prefixes):
    """Snapshots of the model after each prefix length (reading order)."""
    model, snaps, at = Model(), {}, 0
    for n in sorted(prefixes):
        for ev in events[at:n]:
            model.read(ev)
        at = n
        snaps[n] = model.snapshot()
    return snaps


def rebuilt(events):
    rank = {s: i for i, s in enumerate(SOURCES)}
    order = sorted(events, key=lambda e: (e.ticket, e.time, rank.get(e.source, 4), e.seq))
    model = Model()
    for ev in order:
        model.read(ev)
    return model.snapshot()


def main(argv):
    args, show, month = [], 10, None
    it = iter(argv[1:])
    for a in it:
        if a == "--show":
            show = int(next(it))
        elif a == "--month":
            month = next(it)
        else:
            args.append(a)
    if len(args) != 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    events = load_events(args[0])
    with open(args[1]) as f:
        lines = [json.loads(x) for x in f]
    prefixes = {ln["events"] for ln in lines if ln["phase"] != "rebuilt"}
    snaps = run(events, prefixes)
    if any(ln["phase"] == "rebuilt" for ln in lines):
        snaps["rebuilt"] = rebuilt(events)
    chk = Checker(show)
    caches = {}
    for ln in lines:
        key = "rebuilt" if ln["phase"] == "rebuilt" else ln["events"]
        chk.answer(ln, snaps[key], caches.setdefault(key, {}))
    phases = sorted({ln["phase"] for ln in lines})
    print("kpi_bruteforce: %d events, %d answers (%s), %d figures compared, %d differences"
          % (len(events), chk.answers, ", ".join(phases), chk.figures, len(chk.diffs)))
    if chk.empty_groups:
        print("kpi_bruteforce: %d groups analytics lists with every count 0 (a count moved "
              "to another day or unit), compared as zeros" % chk.empty_groups)
    ok = not chk.diffs
    live_vs_rebuilt(lines)
    if month:
        ok = appeal_check(events, lines, snaps, month) and ok
    for d in chk.diffs[:show]:
        print("  DIFFERENT " + d)
    if len(chk.diffs) > show:
        print("  ... and %d more" % (len(chk.diffs) - show))
    print("kpi_bruteforce: %s" % ("every figure agrees" if ok else "FAILED"))
    return 0 if ok else 1


def flat(doc, prefix=""):
    out = {}
    for k, v in (doc.items() if isinstance(doc, dict) else enumerate(doc)):
        if isinstance(v, (dict, list)):
            key = v.get("key", k) if isinstance(v, dict) else k
            out.update(flat(v, "%s%s." % (prefix, key)))
        else:
            out[prefix + str(k)] = v
    return out


def live_vs_rebuilt(lines):
    """How far the counts rebuilt from the timeline are from those counted live (each is
    checked against its own reading order above; this says how much the order matters)."""
    live = {ln["query"]: ln["answer"] for ln in lines if ln["phase"] == "final"}
    answers = figures_ = 0
    example = None
    for ln in lines:
        if ln["phase"] != "rebuilt" or ln["query"] not in live:
            continue
        a, b = flat(live[ln["query"]]), flat(ln["answer"])
        d = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        if d:
            answers += 1
            figures_ += len(d)
            if example is None:
                example = "%s: %s live %r, rebuilt %r" % (ln["query"], d[0], a.get(d[0]),
                                                          b.get(d[0]))
    if example:
        print("kpi_bruteforce: live and rebuilt answers differ in %d figures of %d answers, "
              "e.g. %s" % (figures_, answers, example))


def appeal_check(events, lines, snaps, month):
    """An upheld appeal ruled next month changes this month's figures, in both: analytics'
    month answer before and after the late events, and the brute force's."""
    q = "period=" + month
    got = {ln["phase"]: ln for ln in lines if ln["query"] == q}
    if "month" not in got or "final" not in got:
        print("kpi_bruteforce: no answers for %s in phases month and final" % q)
        return False
    first, last, _, _ = parse_query(q)
    split = got["month"]["events"]
    late = sum(1 for e in events[split:] if e.kind == "kpiEligibilityChanged"
               and first <= local_day(int(e.body.get("ratedMs", "0"))) <= last
               and not e.body.get("eligible", False))
    fig = {}
    for phase in ("month", "final"):
        key = got[phase]["events"]
        fig[phase] = expected(snaps[key], q, {})[4]
        a = got[phase]["answer"]["totals"]
        print("kpi_bruteforce: %s satisfaction %s: analytics %.6f (rated %d, excluded %d), "
              "brute force %.6f (rated %d, excluded %d)"
              % (month, "before the late events" if phase == "month" else "after them",
                 a["rates"]["satisfactionRate"], a["rated"], a["ratingsExcluded"],
                 fig[phase]["rates"]["satisfactionRate"], fig[phase]["rated"],
                 fig[phase]["ratingsExcluded"]))
    moved = [fig["final"]["ratingsExcluded"] - fig["month"]["ratingsExcluded"],
             got["final"]["answer"]["totals"]["ratingsExcluded"]
             - got["month"]["answer"]["totals"]["ratingsExcluded"]]
    print("kpi_bruteforce: appeals upheld after %s about its ratings: %d; its ratingsExcluded "
          "grew by %d (brute force) and %d (analytics)" % (month, late, moved[0], moved[1]))
    ok = late > 0 and moved == [late, late]
    for who, f in (("brute force", fig), ("analytics", {p: got[p]["answer"]["totals"]
                                                        for p in got})):
        if f["month"]["rates"]["satisfactionRate"] == f["final"]["rates"]["satisfactionRate"] \
                and f["month"]["rated"] == f["final"]["rated"]:
            print("kpi_bruteforce: %s: %s's satisfaction did not change" % (who, month))
            ok = False
    if not ok:
        print("kpi_bruteforce: the late appeals did not change %s as they should" % month)
    return ok


if __name__ == "__main__":
    sys.exit(main(sys.argv))
