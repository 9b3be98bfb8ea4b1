/* kpigen: the stream as a whole: the tables tickets are drawn from, the feeds' stalls, the
 * arrival order, and each compact record turned into a real hotline.Event (kpigen.h). One
 * ticket's life is kpigen_life.c. */
#include "kpigen_internal.h"

#include "hl_error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- tables ---- */

const char *const kpigen_unit_names[KPIGEN_NUNITS] = {
    "water-supply",     "water-quality",  "repair-crew",   "repair-crew-north",
    "repair-crew-south", "repair-crew-mains", "meter-service", "billing",
    "network-works",    "customer-service", "drainage",    "dispatch-desk",
    "power-supply",     "power-quality",  "power-repair",  "power-meter",
    "power-billing",    "power-connection", "power-safety", "power-service",
};

const char *const kpigen_category_codes[KPIGEN_NCATEGORIES] = {
    "W01",   "W0101", "W0102", "W0103", "W0104", "W02",   "W03",   "W0301", "W04",   "W0401",
    "W0402", "W05",   "W0501", "W06",   "W0601", "W07",   "W08",   "W09",   "W0901", "W0902",
    "P01",   "P0101", "P0102", "P0103", "P02",   "P0201", "P0202", "P03",   "P0301", "P0302",
    "P04",   "P0401", "P05",   "P0501", "P06",   "P0601", "P07",   "P0701", "P08",   "P0801",
};

const char *const kpigen_district_names[KPIGEN_NDISTRICTS] = {
    "Gulou",     "Taijiang", "Cangshan", "Jinan",   "Mawei",   "Changle",
    "Minhou",    "Lianjiang", "Luoyuan", "Minqing", "Yongtai", "Pingtan",
};

size_t kpigen_values(char dim, const char *const **out)
{
    switch (dim) {
    case 'u': *out = kpigen_unit_names; return KPIGEN_NUNITS;
    case 'c': *out = kpigen_category_codes; return KPIGEN_NCATEGORIES;
    case 'd': *out = kpigen_district_names; return KPIGEN_NDISTRICTS;
    default: *out = NULL; return 0;
    }
}

/* The demo catalogue (docs/domain.md "Categories"), with a power utility's tree beside it:
 * the longest prefix wins; W04 goes to the north and south crews in Gulou and Cangshan. */
uint8_t kpigen_route(uint8_t category, uint8_t district)
{
    static const struct {
        const char *prefix;
        uint8_t unit;
    } ROUTES[] = {
        {"W0402", 5}, {"W01", 0},  {"W02", 0},  {"W03", 1},  {"W04", 2},  {"W05", 6},
        {"W06", 7},   {"W07", 8},  {"W08", 9},  {"W09", 10}, {"P01", 12}, {"P02", 13},
        {"P03", 14},  {"P04", 15}, {"P05", 16}, {"P06", 17}, {"P07", 18}, {"P08", 19},
    };
    const char *code = kpigen_category_codes[category];
    for (size_t i = 0; i < sizeof ROUTES / sizeof *ROUTES; i++) {
        if (strncmp(code, ROUTES[i].prefix, strlen(ROUTES[i].prefix)) != 0)
            continue;
        if (ROUTES[i].unit == 2 && district == 0)
            return 3;
        if (ROUTES[i].unit == 2 && district == 2)
            return 4;
        return ROUTES[i].unit;
    }
    return KPIGEN_DESK;
}

/* Every message an event can be made of, filled in place by kpigen_event. */
struct scratch {
    Hotline__Event ev;
    Hotline__TicketReceived received;
    Hotline__Ticket ticket;
    Hotline__Location location;
    Hotline__Contact contact;
    Hotline__Outcome outcome;
    Hotline__RepeatContact repeat;
    Hotline__TicketDispatched dispatched;
    Hotline__TicketSigned signed_;
    Hotline__CitizenContacted contacted;
    Hotline__TicketReplied replied;
    Hotline__TicketReopened reopened;
    Hotline__SlaClockStarted started;
    Hotline__SlaClockStopped stopped;
    Hotline__SlaWarning warning;
    Hotline__SlaBreached breached;
    Hotline__SlaClockExtended extended;
    Hotline__CallbackScheduled scheduled;
    Hotline__CallbackAttempted attempted;
    Hotline__CallbackRated rated;
    Hotline__ReworkRequested rework;
    Hotline__TicketClosed closed;
    Hotline__KpiEligibilityChanged eligibility;
    Hotline__ReturnRequested return_asked;
    Hotline__ReturnReviewed return_ruled;
    char id[32], phone[16], name[24], street[40], address[64], incident[24];
};

/* ---- random numbers (splitmix64: small, and the same everywhere) ---- */

uint64_t kpigen_rand(rng_t *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double kpigen_unit(rng_t *r)
{
    return (double)(kpigen_rand(r) >> 11) / 9007199254740992.0;
}

uint32_t kpigen_below(rng_t *r, uint32_t n)
{
    return n ? (uint32_t)(kpigen_unit(r) * n) : 0;
}

int64_t kpigen_exp_ms(rng_t *r, double mean_ms)
{
    double u = kpigen_unit(r);
    double x = -mean_ms * log(1.0 - u);
    return x < 1 ? 1 : (int64_t)x;
}

int kpigen_grow(void **arr, size_t *cap, size_t n, size_t elem, size_t first_cap)
{
    if (n < *cap)
        return 0;
    size_t want = *cap ? *cap * 2 : first_cap;
    void *p = realloc(*arr, want * elem);
    if (!p)
        return HL_ENOMEM;
    *arr = p;
    *cap = want;
    return 0;
}

/* ---- records ---- */

static const uint8_t SOURCE_OF[NKINDS] = {
    [K_RECEIVED] = SRC_INTAKE,      [K_REPEAT] = SRC_INTAKE,        [K_DISPATCHED] = SRC_DISPATCH,
    [K_SIGNED] = SRC_DISPATCH,      [K_CONTACTED] = SRC_DISPATCH,   [K_REPLIED] = SRC_DISPATCH,
    [K_REOPENED] = SRC_DISPATCH,    [K_CLOCK_STARTED] = SRC_SLA,    [K_CLOCK_STOPPED] = SRC_SLA,
    [K_WARNING] = SRC_SLA,          [K_BREACHED] = SRC_SLA,         [K_EXTENDED] = SRC_SLA,
    [K_SCHEDULED] = SRC_CALLBACK,   [K_ATTEMPTED] = SRC_CALLBACK,   [K_RATED] = SRC_CALLBACK,
    [K_REWORK] = SRC_CALLBACK,      [K_CLOSED] = SRC_CALLBACK,      [K_ELIGIBILITY] = SRC_CALLBACK,
    [K_RETURN_ASKED] = SRC_DISPATCH, [K_RETURN_RULED] = SRC_DISPATCH,
};

static const char *const SOURCE_NAMES[NSRC] = {"intake", "dispatch", "sla", "callback"};

gev_t *kpigen_emit(kpigen_t *g, uint32_t ticket, int kind, int64_t t)
{
    memset(&g->sink, 0, sizeof g->sink);
    if (t >= g->horizon_ms || g->oom)
        return &g->sink;
    if (kpigen_grow((void **)&g->ev, &g->cap, g->n, sizeof *g->ev, 1u << 16)) {
        g->oom = true;
        return &g->sink;
    }
    gev_t *e = &g->ev[g->n];
    memset(e, 0, sizeof *e);
    e->time_ms = t;
    e->ticket = ticket;
    e->kind = (uint8_t)kind;
    e->unit = NO_UNIT;
    e->seq = (uint32_t)g->n++; /* the generation order, a tie-break for the sort */
    return e;
}

bool kpigen_kept(const kpigen_t *g, const gev_t *e)
{
    return e != &g->sink;
}

/* A feed stalls now and then (a mean gap apart, for min..max ms): analytics reads nothing of
 * it until it catches up. */
static int make_stalls(kpigen_t *g, int src, rng_t *r, double gap_ms, uint32_t min_ms,
                       uint32_t max_ms)
{
    size_t cap = 0;
    for (int64_t t = g->from_ms + kpigen_exp_ms(r, gap_ms); t < g->horizon_ms;
         t += kpigen_exp_ms(r, gap_ms)) {
        if (kpigen_grow((void **)&g->stalls[src], &cap, g->nstalls[src], sizeof(stall_t), 64))
            return HL_ENOMEM;
        int64_t len = min_ms + kpigen_below(r, max_ms - min_ms);
        g->stalls[src][g->nstalls[src]++] = (stall_t){t, t + len};
        t += len;
    }
    return 0;
}

static int64_t arrival(const kpigen_t *g, int src, int64_t t)
{
    const stall_t *s = g->stalls[src];
    size_t lo = 0, hi = g->nstalls[src];
    while (lo < hi) { /* the first stall ending after t */
        size_t mid = (lo + hi) / 2;
        if (s[mid].to_ms <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < g->nstalls[src] && s[lo].from_ms <= t ? s[lo].to_ms : t;
}

/* Arrival order; within one feed its log order (time, then the order events were made). */
static int by_arrival(const void *x, const void *y)
{
    const gev_t *a = x, *b = y;
    if (a->arrive_ms != b->arrive_ms)
        return a->arrive_ms < b->arrive_ms ? -1 : 1;
    if (SOURCE_OF[a->kind] != SOURCE_OF[b->kind])
        return SOURCE_OF[a->kind] < SOURCE_OF[b->kind] ? -1 : 1;
    if (a->time_ms != b->time_ms)
        return a->time_ms < b->time_ms ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* After the sort: each source's seq, the split, and the stats. */
static int settle(kpigen_t *g)
{
    uint32_t seq[NSRC] = {0};
    uint8_t *seen = calloc(g->ntickets ? g->ntickets : 1, 1);
    if (!seen)
        return HL_ENOMEM;
    static const int BODY[NKINDS] = {
        [K_RECEIVED] = HOTLINE__EVENT__BODY_TICKET_RECEIVED,
        [K_REPEAT] = HOTLINE__EVENT__BODY_REPEAT_CONTACT,
        [K_DISPATCHED] = HOTLINE__EVENT__BODY_TICKET_DISPATCHED,
        [K_SIGNED] = HOTLINE__EVENT__BODY_TICKET_SIGNED,
        [K_CONTACTED] = HOTLINE__EVENT__BODY_CITIZEN_CONTACTED,
        [K_REPLIED] = HOTLINE__EVENT__BODY_TICKET_REPLIED,
        [K_REOPENED] = HOTLINE__EVENT__BODY_TICKET_REOPENED,
        [K_CLOCK_STARTED] = HOTLINE__EVENT__BODY_SLA_CLOCK_STARTED,
        [K_CLOCK_STOPPED] = HOTLINE__EVENT__BODY_SLA_CLOCK_STOPPED,
        [K_WARNING] = HOTLINE__EVENT__BODY_SLA_WARNING,
        [K_BREACHED] = HOTLINE__EVENT__BODY_SLA_BREACHED,
        [K_EXTENDED] = HOTLINE__EVENT__BODY_SLA_CLOCK_EXTENDED,
        [K_SCHEDULED] = HOTLINE__EVENT__BODY_CALLBACK_SCHEDULED,
        [K_ATTEMPTED] = HOTLINE__EVENT__BODY_CALLBACK_ATTEMPTED,
        [K_RATED] = HOTLINE__EVENT__BODY_CALLBACK_RATED,
        [K_REWORK] = HOTLINE__EVENT__BODY_REWORK_REQUESTED,
        [K_CLOSED] = HOTLINE__EVENT__BODY_TICKET_CLOSED,
        [K_ELIGIBILITY] = HOTLINE__EVENT__BODY_KPI_ELIGIBILITY_CHANGED,
        [K_RETURN_ASKED] = HOTLINE__EVENT__BODY_RETURN_REQUESTED,
        [K_RETURN_RULED] = HOTLINE__EVENT__BODY_RETURN_REVIEWED,
    };
    g->split = g->n;
    for (size_t i = 0; i < g->n; i++) {
        gev_t *e = &g->ev[i];
        e->seq = ++seq[SOURCE_OF[e->kind]];
        g->stats.by_body[BODY[e->kind] & 127]++;
        if (e->kind == K_RECEIVED && seen[e->ticket])
            g->stats.received_late++;
        seen[e->ticket] = 1;
        bool late = e->arrive_ms >= g->months_end_ms;
        if (late && g->split == g->n)
            g->split = i;
        if (e->kind == K_ELIGIBILITY) {
            g->stats.appeals_upheld++;
            if (late && e->aux_ms < g->months_end_ms)
                g->stats.appeals_next_period++;
        }
    }
    free(seen);
    return 0;
}

int kpigen_create(kpigen_t **out, const kpigen_opts_t *opts)
{
    *out = NULL;
    if (opts->months < 1 || opts->months > 60 || opts->month < 1 || opts->month > 12 ||
        opts->year < 1971 || opts->tail_days < 0 || opts->min_events == 0)
        return HL_EINVAL;
    kpigen_t *g = calloc(1, sizeof *g);
    if (!g)
        return HL_ENOMEM;
    g->opts = *opts;
    Hotline__CalendarConfig cc = HOTLINE__CALENDAR_CONFIG__INIT;
    cc.utc_offset_minutes = 480;
    char err[256];
    int rc = calendar_load(&g->cal, &cc, err, sizeof err);
    int64_t month1 = calendar_day_from_ymd(opts->year, opts->month, 1);
    int ym = opts->year * 12 + opts->month - 1 + opts->months;
    g->first_day = month1 - 3; /* the prologue: tickets of the days before, still open */
    g->months_end_day = calendar_day_from_ymd(ym / 12, ym % 12 + 1, 1);
    if (!rc) {
        g->from_ms = calendar_day_start_ms(g->cal, g->first_day);
        g->months_end_ms = calendar_day_start_ms(g->cal, g->months_end_day);
        g->horizon_ms = calendar_day_start_ms(g->cal, g->months_end_day + opts->tail_days);
        g->day_seq = calloc((size_t)(g->months_end_day - g->first_day), sizeof *g->day_seq);
        if (!g->day_seq)
            rc = HL_ENOMEM;
    }
    if (!rc) {
        rng_t r = {opts->seed ^ 0x5354414c4cull};
        const double DAY = 86400000.0;
        /* intake's feed stalls most: some tickets' dispatch arrives before their receipt. */
        if (!(rc = make_stalls(g, SRC_INTAKE, &r, 0.4 * DAY, 180000, 1500000)) &&
            !(rc = make_stalls(g, SRC_DISPATCH, &r, 2 * DAY, 120000, 900000)) &&
            !(rc = make_stalls(g, SRC_SLA, &r, 3 * DAY, 60000, 600000)))
            rc = make_stalls(g, SRC_CALLBACK, &r, 3 * DAY, 60000, 1200000);
    }
    for (uint32_t idx = 0; !rc && g->n < opts->min_events; idx++) {
        if (idx == UINT32_MAX - 1)
            rc = HL_ETOOBIG;
        else
            rc = kpigen_life(g, idx);
        if (!rc && g->oom)
            rc = HL_ENOMEM;
    }
    if (!rc) {
        for (size_t i = 0; i < g->n; i++)
            g->ev[i].arrive_ms = arrival(g, SOURCE_OF[g->ev[i].kind], g->ev[i].time_ms);
        qsort(g->ev, g->n, sizeof *g->ev, by_arrival);
        g->stats.tickets = g->ntickets;
        rc = settle(g);
    }
    if (!rc && !(g->scratch = calloc(1, sizeof *g->scratch)))
        rc = HL_ENOMEM;
    if (rc) {
        kpigen_destroy(&g);
        return rc;
    }
    *out = g;
    return 0;
}

void kpigen_destroy(kpigen_t **self)
{
    if (!self || !*self)
        return;
    kpigen_t *g = *self;
    calendar_destroy(&g->cal);
    for (int i = 0; i < NSRC; i++)
        free(g->stalls[i]);
    free(g->ev);
    free(g->tickets);
    free(g->day_seq);
    free(g->scratch);
    free(g);
    *self = NULL;
}

size_t kpigen_count(const kpigen_t *self)
{
    return self->n;
}

size_t kpigen_split(const kpigen_t *self)
{
    return self->split;
}

const kpigen_stats_t *kpigen_stats(const kpigen_t *self)
{
    return &self->stats;
}

void kpigen_days(const kpigen_t *self, int64_t *first, int64_t *last)
{
    *first = self->first_day;
    *last = self->months_end_day + self->opts.tail_days - 1;
}

/* ---- records -> events ---- */

static const char *const DESCRIPTIONS[] = {
    "no water since this morning, the whole building",
    "low pressure on the upper floors, please call me back on 13912345678",
    "water looks brown and smells",
    "a pipe burst in the street, water everywhere",
    "the meter reads far too high this month",
    "power cut since last night, the fridge is off",
    "the lights flicker and the breaker trips",
};

static void ticket_body(struct scratch *s, const gev_t *e, const gticket_t *t)
{
    s->location = (Hotline__Location)HOTLINE__LOCATION__INIT;
    s->location.district = (char *)kpigen_district_names[t->district];
    snprintf(s->street, sizeof s->street, "%s Road", kpigen_district_names[(t->district + 5) %
                                                                          KPIGEN_NDISTRICTS]);
    s->location.street = s->street;
    snprintf(s->address, sizeof s->address, "No. %u, building %u", e->ticket % 397 + 1,
             e->ticket % 23 + 1);
    s->location.address = s->address;
    s->contact = (Hotline__Contact)HOTLINE__CONTACT__INIT;
    snprintf(s->phone, sizeof s->phone, "13%09u", (e->ticket * 2654435761u) % 1000000000u);
    snprintf(s->name, sizeof s->name, "Citizen %u", e->ticket % 9973);
    s->contact.phone = s->phone;
    s->contact.name = s->name;
    s->ticket = (Hotline__Ticket)HOTLINE__TICKET__INIT;
    s->ticket.id = s->id;
    s->ticket.category_code = (char *)kpigen_category_codes[t->category];
    s->ticket.urgency = t->urgency;
    s->ticket.channel = HOTLINE__CHANNEL__CHANNEL_PHONE + e->ticket % 4;
    s->ticket.appeal_type = HOTLINE__APPEAL_TYPE__APPEAL_HELP + e->ticket % 3;
    s->ticket.contact = &s->contact;
    s->ticket.location = &s->location;
    s->ticket.description =
        (char *)DESCRIPTIONS[(t->category < 20 ? 0 : 5) + e->ticket % (t->category < 20 ? 5 : 2)];
    s->ticket.received_ms = t->received_ms;
    if (t->incident)
        s->ticket.incident_id = s->incident;
    if (t->disposition != HOTLINE__DISPOSITION__DISPOSITION_DISPATCH) {
        s->outcome = (Hotline__Outcome)HOTLINE__OUTCOME__INIT;
        s->outcome.disposition = t->disposition;
        if (t->disposition == HOTLINE__DISPOSITION__DISPOSITION_ANSWERED)
            s->outcome.answer = "planned works, water back by 18:00";
        else if (t->disposition == HOTLINE__DISPOSITION__DISPOSITION_REFERRED)
            s->outcome.referred_to = HOTLINE__EMERGENCY_LINE__EMERGENCY_119_FIRE;
        else
            s->outcome.not_accepted_reason = HOTLINE__NOT_ACCEPTED_REASON__NOT_ACCEPTED_OUT_OF_SCOPE;
        s->ticket.outcome = &s->outcome;
    }
    s->received = (Hotline__TicketReceived)HOTLINE__TICKET_RECEIVED__INIT;
    s->received.ticket = &s->ticket;
    s->ev.body_case = HOTLINE__EVENT__BODY_TICKET_RECEIVED;
    s->ev.ticket_received = &s->received;
}

/* The body of a dispatch event (a unit and a round each). */
static void dispatch_body(struct scratch *s, const gev_t *e, const gticket_t *t, char *unit)
{
    switch (e->kind) {
    case K_DISPATCHED:
        s->dispatched = (Hotline__TicketDispatched)HOTLINE__TICKET_DISPATCHED__INIT;
        s->dispatched.unit = unit;
        s->dispatched.category_code = (char *)kpigen_category_codes[t->category];
        s->dispatched.district = (char *)kpigen_district_names[t->district];
        s->dispatched.urgency = t->urgency;
        s->dispatched.round = e->round;
        s->dispatched.route = unit;
        s->ev.body_case = HOTLINE__EVENT__BODY_TICKET_DISPATCHED;
        s->ev.ticket_dispatched = &s->dispatched;
        break;
    case K_SIGNED:
        s->signed_ = (Hotline__TicketSigned)HOTLINE__TICKET_SIGNED__INIT;
        s->signed_.unit = unit;
        s->signed_.round = e->round;
        s->ev.body_case = HOTLINE__EVENT__BODY_TICKET_SIGNED;
        s->ev.ticket_signed = &s->signed_;
        break;
    case K_CONTACTED:
        s->contacted = (Hotline__CitizenContacted)HOTLINE__CITIZEN_CONTACTED__INIT;
        s->contacted.unit = unit;
        s->contacted.round = e->round;
        s->contacted.first = true;
        s->contacted.note = "called the citizen, crew on the way";
        s->ev.body_case = HOTLINE__EVENT__BODY_CITIZEN_CONTACTED;
        s->ev.citizen_contacted = &s->contacted;
        break;
    case K_REPLIED:
        s->replied = (Hotline__TicketReplied)HOTLINE__TICKET_REPLIED__INIT;
        s->replied.unit = unit;
        s->replied.round = e->round;
        s->replied.resolved = e->flags & F_RESOLVED;
        s->replied.result = "repaired; supply restored";
        if (t->incident)
            s->replied.incident_id = s->incident;
        s->ev.body_case = HOTLINE__EVENT__BODY_TICKET_REPLIED;
        s->ev.ticket_replied = &s->replied;
        break;
    default: /* K_REOPENED */
        s->reopened = (Hotline__TicketReopened)HOTLINE__TICKET_REOPENED__INIT;
        s->reopened.unit = unit;
        s->reopened.round = e->round;
        s->reopened.reason = "rated dissatisfied";
        s->ev.body_case = HOTLINE__EVENT__BODY_TICKET_REOPENED;
        s->ev.ticket_reopened = &s->reopened;
        break;
    }
}

static void sla_body(struct scratch *s, const gev_t *e, const gticket_t *t, char *unit)
{
    switch (e->kind) {
    case K_CLOCK_STARTED:
        s->started = (Hotline__SlaClockStarted)HOTLINE__SLA_CLOCK_STARTED__INIT;
        s->started.clock = e->clock;
        s->started.due_ms = e->aux_ms;
        s->started.round = e->round;
        s->started.unit = unit;
        s->started.category_code = (char *)kpigen_category_codes[t->category];
        s->started.policy = "default";
        s->ev.body_case = HOTLINE__EVENT__BODY_SLA_CLOCK_STARTED;
        s->ev.sla_clock_started = &s->started;
        break;
    case K_CLOCK_STOPPED:
        s->stopped = (Hotline__SlaClockStopped)HOTLINE__SLA_CLOCK_STOPPED__INIT;
        s->stopped.clock = e->clock;
        s->stopped.on_time = e->flags & F_ON_TIME;
        s->stopped.due_ms = e->aux_ms;
        s->stopped.round = e->round;
        s->ev.body_case = HOTLINE__EVENT__BODY_SLA_CLOCK_STOPPED;
        s->ev.sla_clock_stopped = &s->stopped;
        break;
    case K_WARNING:
        s->warning = (Hotline__SlaWarning)HOTLINE__SLA_WARNING__INIT;
        s->warning.clock = e->clock;
        s->warning.due_ms = e->aux_ms;
        s->warning.round = e->round;
        s->warning.unit = unit;
        s->ev.body_case = HOTLINE__EVENT__BODY_SLA_WARNING;
        s->ev.sla_warning = &s->warning;
        break;
    case K_BREACHED:
        s->breached = (Hotline__SlaBreached)HOTLINE__SLA_BREACHED__INIT;
        s->breached.clock = e->clock;
        s->breached.due_ms = e->aux_ms;
        s->breached.round = e->round;
        s->breached.unit = unit;
        s->ev.body_case = HOTLINE__EVENT__BODY_SLA_BREACHED;
        s->ev.sla_breached = &s->breached;
        break;
    default: /* K_EXTENDED */
        s->extended = (Hotline__SlaClockExtended)HOTLINE__SLA_CLOCK_EXTENDED__INIT;
        s->extended.clock = e->clock;
        s->extended.round = e->round;
        s->extended.due_ms = e->aux_ms;
        s->extended.working_days = 5;
        s->extended.unit = unit;
        s->ev.body_case = HOTLINE__EVENT__BODY_SLA_CLOCK_EXTENDED;
        s->ev.sla_clock_extended = &s->extended;
        break;
    }
}

static void callback_body(struct scratch *s, const gev_t *e, char *unit)
{
    switch (e->kind) {
    case K_SCHEDULED:
        s->scheduled = (Hotline__CallbackScheduled)HOTLINE__CALLBACK_SCHEDULED__INIT;
        s->scheduled.due_ms = e->aux_ms;
        s->scheduled.round = e->round;
        s->scheduled.unit = unit;
        s->ev.body_case = HOTLINE__EVENT__BODY_CALLBACK_SCHEDULED;
        s->ev.callback_scheduled = &s->scheduled;
        break;
    case K_ATTEMPTED:
        s->attempted = (Hotline__CallbackAttempted)HOTLINE__CALLBACK_ATTEMPTED__INIT;
        s->attempted.attempt = e->extra;
        s->attempted.agent = "agent-7";
        s->attempted.next_due_ms = e->aux_ms;
        s->ev.body_case = HOTLINE__EVENT__BODY_CALLBACK_ATTEMPTED;
        s->ev.callback_attempted = &s->attempted;
        break;
    case K_RATED:
        s->rated = (Hotline__CallbackRated)HOTLINE__CALLBACK_RATED__INIT;
        s->rated.rating = e->rating;
        s->rated.resolved = e->flags & F_RESOLVED;
        s->rated.satisfied = e->rating <= HOTLINE__RATING__RATING_BASICALLY_SATISFIED;
        s->rated.agent = "agent-3";
        s->rated.round = e->round;
        s->rated.unit = unit;
        s->ev.body_case = HOTLINE__EVENT__BODY_CALLBACK_RATED;
        s->ev.callback_rated = &s->rated;
        break;
    case K_REWORK:
        s->rework = (Hotline__ReworkRequested)HOTLINE__REWORK_REQUESTED__INIT;
        s->rework.round = e->round;
        s->rework.unit = unit;
        s->rework.reason = "rated dissatisfied";
        s->ev.body_case = HOTLINE__EVENT__BODY_REWORK_REQUESTED;
        s->ev.rework_requested = &s->rework;
        break;
    case K_CLOSED:
        s->closed = (Hotline__TicketClosed)HOTLINE__TICKET_CLOSED__INIT;
        s->closed.reason = e->rating ? "rated satisfied" : "unreachable after 3 attempts";
        s->closed.rating = e->rating;
        s->ev.body_case = HOTLINE__EVENT__BODY_TICKET_CLOSED;
        s->ev.ticket_closed = &s->closed;
        break;
    case K_RETURN_ASKED:
        s->return_asked = (Hotline__ReturnRequested)HOTLINE__RETURN_REQUESTED__INIT;
        s->return_asked.unit = unit;
        s->return_asked.round = e->round;
        s->return_asked.reason = "not our remit";
        s->ev.body_case = HOTLINE__EVENT__BODY_RETURN_REQUESTED;
        s->ev.return_requested = &s->return_asked;
        break;
    case K_RETURN_RULED:
        s->return_ruled = (Hotline__ReturnReviewed)HOTLINE__RETURN_REVIEWED__INIT;
        s->return_ruled.unit = unit;
        s->return_ruled.round = e->round;
        s->return_ruled.approved = e->flags & F_APPROVED;
        s->ev.body_case = HOTLINE__EVENT__BODY_RETURN_REVIEWED;
        s->ev.return_reviewed = &s->return_ruled;
        break;
    default: /* K_ELIGIBILITY */
        s->eligibility = (Hotline__KpiEligibilityChanged)HOTLINE__KPI_ELIGIBILITY_CHANGED__INIT;
        s->eligibility.round = e->round;
        s->eligibility.eligible = false;
        s->eligibility.unit = unit;
        s->eligibility.rating = e->rating;
        s->eligibility.resolved = e->flags & F_RESOLVED;
        s->eligibility.rated_ms = e->aux_ms;
        s->eligibility.reason_code = "not-our-remit";
        s->eligibility.reason = "the matter belongs to another authority";
        s->ev.body_case = HOTLINE__EVENT__BODY_KPI_ELIGIBILITY_CHANGED;
        s->ev.kpi_eligibility_changed = &s->eligibility;
        break;
    }
}

const Hotline__Event *kpigen_event(kpigen_t *self, size_t i)
{
    struct scratch *s = self->scratch;
    const gev_t *e = &self->ev[i];
    const gticket_t *t = &self->tickets[e->ticket];
    int y, m, d;
    calendar_ymd_from_day(calendar_local_day(self->cal, t->received_ms), &y, &m, &d);
    snprintf(s->id, sizeof s->id, "%04d%02d%02d-1-%06u", y, m, d, t->day_seq);
    snprintf(s->incident, sizeof s->incident, "INC-%06u", t->incident);
    s->ev = (Hotline__Event)HOTLINE__EVENT__INIT;
    s->ev.source = (char *)SOURCE_NAMES[SOURCE_OF[e->kind]];
    s->ev.seq = e->seq;
    s->ev.time_ms = e->time_ms;
    s->ev.ticket_id = s->id;
    char *unit = e->unit == NO_UNIT ? "" : (char *)kpigen_unit_names[e->unit];
    switch (SOURCE_OF[e->kind]) {
    case SRC_INTAKE:
        if (e->kind == K_RECEIVED) {
            ticket_body(s, e, t);
        } else {
            s->repeat = (Hotline__RepeatContact)HOTLINE__REPEAT_CONTACT__INIT;
            s->repeat.channel = HOTLINE__CHANNEL__CHANNEL_PHONE;
            s->repeat.description = "calling again: still no water";
            s->repeat.repeat_count = e->extra;
            s->repeat.status = HOTLINE__TICKET_STATUS__TICKET_DISPATCHED;
            s->ev.body_case = HOTLINE__EVENT__BODY_REPEAT_CONTACT;
            s->ev.repeat_contact = &s->repeat;
        }
        break;
    case SRC_DISPATCH: dispatch_body(s, e, t, unit); break;
    case SRC_SLA: sla_body(s, e, t, unit); break;
    default: callback_body(s, e, unit); break;
    }
    return &s->ev;
}
