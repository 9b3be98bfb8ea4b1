/* kpigen_life: one ticket's life as the four producers log it (kpigen.h says what happens).
 * Deadlines come from the real working-day calendar (calendar_add), as sla computes them from
 * its default policy rows: sign-for 1 working day (urgent 1 hour, very urgent 20 minutes),
 * reply 5 working days (W08 15; urgent 24 hours), the first contact (response) 1 working day
 * (urgent 30 minutes; not every category has one), the callback 1 working day after the
 * reply. Each ticket draws from its own stream, seeded by the seed and its number. */
#include "kpigen_internal.h"

#include "hl_error.h"

#include <stdlib.h>
#include <string.h>

#define MINUTE 60000LL
#define HOUR (60 * MINUTE)
#define DAY (24 * HOUR)

typedef struct life {
    kpigen_t *g;
    rng_t r;
    uint32_t id;
    gticket_t *t;
    uint8_t unit;       /* the unit holding it now */
    bool has_response;  /* its category's policy times the first contact */
    int64_t first_reply; /* repeat calls come before it */
} life_t;

typedef struct clk {
    uint8_t clock;
    int64_t start, due, warn; /* warn 0: no yellow card */
} clk_t;

static gev_t *emit(life_t *l, int kind, int64_t t, uint8_t round)
{
    gev_t *e = kpigen_emit(l->g, l->id, kind, t);
    e->round = round;
    e->unit = l->unit;
    return e;
}

static double unit(life_t *l)
{
    return kpigen_unit(&l->r);
}

/* sla (or callback) appends its reaction a moment after what it reacts to. */
static int64_t lag(life_t *l)
{
    return 5 + kpigen_below(&l->r, 1500);
}

static int64_t add_limit(const life_t *l, int64_t start, uint32_t value, int unit_)
{
    Hotline__Limit lim = HOTLINE__LIMIT__INIT;
    lim.value = value;
    lim.unit = unit_;
    int64_t due;
    return calendar_add(l->g->cal, start, &lim, &due) ? start + DAY : due;
}

static bool urgent(const life_t *l)
{
    return l->t->urgency >= HOTLINE__URGENCY__URGENCY_URGENT;
}

/* A clock started at `at` for the current unit (SlaClockStarted). */
static clk_t clock_start(life_t *l, uint8_t clock, int64_t at, uint8_t round)
{
    const int WD = HOTLINE__DURATION_UNIT__DURATION_WORKING_DAYS,
              MIN = HOTLINE__DURATION_UNIT__DURATION_MINUTES;
    bool very = l->t->urgency == HOTLINE__URGENCY__URGENCY_VERY_URGENT;
    clk_t c = {.clock = clock, .start = at};
    switch (clock) {
    case HOTLINE__SLA_CLOCK__SLA_CLOCK_SIGN:
        c.due = urgent(l) ? add_limit(l, at, very ? 20 : 60, MIN) : add_limit(l, at, 1, WD);
        break;
    case HOTLINE__SLA_CLOCK__SLA_CLOCK_REPLY:
        c.due = urgent(l) ? add_limit(l, at, 24 * 60, MIN)
                          : add_limit(l, at, strcmp(kpigen_category_codes[l->t->category],
                                                    "W08") == 0 ? 15 : 5, WD);
        break;
    case HOTLINE__SLA_CLOCK__SLA_CLOCK_RESPONSE:
        c.due = urgent(l) ? add_limit(l, at, 30, MIN) : add_limit(l, at, 1, WD);
        break;
    default: c.due = add_limit(l, at, 1, WD); break;
    }
    /* The yellow card: SIGN and REPLY 1 working day before due, half the limit for the
     * urgent rows; the others (whose cards analytics counts nowhere) at three quarters. */
    Hotline__Limit one = HOTLINE__LIMIT__INIT;
    one.value = 1;
    one.unit = WD;
    if (clock != HOTLINE__SLA_CLOCK__SLA_CLOCK_SIGN && clock != HOTLINE__SLA_CLOCK__SLA_CLOCK_REPLY)
        c.warn = c.due - (c.due - at) / 4;
    else if (urgent(l) || calendar_subtract(l->g->cal, c.due, &one, &c.warn))
        c.warn = c.due - (c.due - at) / 2;
    gev_t *e = emit(l, K_CLOCK_STARTED, at, round);
    e->clock = clock;
    e->aux_ms = c.due;
    return c;
}

/* When a clock from start to due is met: mostly well within, some near the deadline, a share
 * p_late late (a few by days). */
static int64_t stop_time(life_t *l, int64_t start, int64_t due, double p_late)
{
    int64_t span = due - start > MINUTE ? due - start : MINUTE;
    double u = unit(l);
    if (u < p_late * 0.8)
        return due + kpigen_exp_ms(&l->r, 0.25 * (double)span + HOUR);
    if (u < p_late)
        return due + kpigen_exp_ms(&l->r, 2.0 * DAY);
    if (u < p_late + 0.08)
        return due - (int64_t)(unit(l) * 0.05 * (double)span);
    double x = unit(l);
    return start + 1000 + (int64_t)(x * x * 0.7 * (double)span);
}

/* The clock's ladder up to its stop at `stop` (what triggered it: a signing, a reply...): the
 * yellow card, the breach when stop is past due (which sla sometimes misses, being behind:
 * the late stop is then the first word), and the stop itself, judged on the trigger's time. */
static void clock_run(life_t *l, const clk_t *c, uint8_t round, int64_t stop)
{
    if (c->warn > c->start && stop > c->warn) {
        gev_t *e = emit(l, K_WARNING, c->warn + lag(l), round);
        e->clock = c->clock;
        e->aux_ms = c->due;
    }
    int64_t stopped_at = stop + lag(l);
    bool late = stop > c->due;
    /* A stop in time that sla hears of only after the deadline fired: a breach, then the
     * stop in time (analytics moves the clock from late to on time). */
    bool race = !late && stopped_at > c->due && unit(l) < 0.5;
    bool breach = race || (late && unit(l) < 0.92);
    if (breach) {
        int64_t at = c->due + lag(l);
        if (!race && unit(l) < 0.03)
            at += kpigen_exp_ms(&l->r, 2.0 * HOUR); /* sla was behind */
        if (at > stopped_at)
            at = stopped_at - 1;
        gev_t *e = emit(l, K_BREACHED, at, round);
        e->clock = c->clock;
        e->aux_ms = c->due;
    }
    gev_t *e = emit(l, K_CLOCK_STOPPED, stopped_at, round);
    e->clock = c->clock;
    e->aux_ms = c->due;
    e->flags = late ? 0 : F_ON_TIME;
    if (late && !breach && kpigen_kept(l->g, e))
        l->g->stats.late_without_breach++;
}

static uint8_t draw_rating(life_t *l)
{
    static const double CUM[] = {0.42, 0.72, 0.85, 0.95, 1.0};
    double u = unit(l);
    uint8_t r = 0;
    while (r < 4 && u >= CUM[r])
        r++;
    return (uint8_t)(HOTLINE__RATING__RATING_VERY_SATISFIED + r);
}

/* The callback after the reply at t_reply: scheduled for 09:00 the next working day, tried
 * up to 3 times, rated (perhaps appealed later) or closed unreachable. A bad rating with
 * rework allowed sends the ticket back: the next round's dispatch time is returned (else 0). */
static int64_t callback_life(life_t *l, uint8_t round, int64_t t_reply, bool rework, bool timed)
{
    clk_t cb = {0};
    if (timed)
        cb = clock_start(l, HOTLINE__SLA_CLOCK__SLA_CLOCK_CALLBACK, t_reply + lag(l), round);
    int64_t due = calendar_next_working_at(l->g->cal, t_reply, 9);
    gev_t *e = emit(l, K_SCHEDULED, t_reply + lag(l), round);
    e->aux_ms = due;
    int64_t at = due + kpigen_exp_ms(&l->r, 40.0 * MINUTE);
    if (unit(l) < 0.06)
        at += kpigen_exp_ms(&l->r, 1.5 * DAY); /* the agents fell behind */
    for (uint8_t attempt = 1;; attempt++) {
        if (unit(l) < 0.14) { /* nobody answered */
            e = emit(l, K_ATTEMPTED, at, round);
            e->extra = attempt;
            e->aux_ms = attempt < 3 ? at + 2 * HOUR : 0;
            if (attempt < 3) {
                at += 2 * HOUR + kpigen_exp_ms(&l->r, 10.0 * MINUTE);
                continue;
            }
            emit(l, K_CLOSED, at + lag(l), round);
            if (timed)
                clock_run(l, &cb, round, at);
            return 0;
        }
        static const double RESOLVED[] = {0.95, 0.9, 0.75, 0.35, 0.2};
        uint8_t rating = draw_rating(l);
        uint8_t resolved = unit(l) < RESOLVED[rating - 1] ? F_RESOLVED : 0;
        e = emit(l, K_RATED, at, round);
        e->rating = rating;
        e->flags = resolved;
        if (timed)
            clock_run(l, &cb, round, at);
        bool bad = rating >= HOTLINE__RATING__RATING_DISSATISFIED;
        /* The unit appeals some ratings; upheld ones leave the KPIs, ruled days later. */
        if (unit(l) < (bad ? 0.15 : rating == HOTLINE__RATING__RATING_BASICALLY_SATISFIED ? 0.02
                                                                                         : 0)) {
            e = emit(l, K_ELIGIBILITY, at + 20 * HOUR + kpigen_below(&l->r, 6 * DAY), round);
            e->rating = rating;
            e->flags = resolved;
            e->aux_ms = at;
        }
        if (bad && rework && round < 2) {
            emit(l, K_REWORK, at + lag(l), round);
            int64_t reopened = at + 2000 + kpigen_below(&l->r, 60000);
            emit(l, K_REOPENED, reopened, (uint8_t)(round + 1));
            return reopened + 100 + kpigen_below(&l->r, 3000);
        }
        e = emit(l, K_CLOSED, at + lag(l), round);
        e->rating = rating;
        return 0;
    }
}

/* The reply clock's end: most replies in time; some after an extension approved before the
 * deadline; a few breached, then extended, then replied in time. Returns the reply's time. */
static int64_t reply_run(life_t *l, clk_t *reply, uint8_t round, int64_t not_before)
{
    double u = unit(l);
    int64_t t;
    if (u < 0.05 && !urgent(l)) { /* extended in time */
        int64_t asked = reply->start + (int64_t)((0.3 + 0.6 * unit(l)) * (double)(reply->due -
                                                                                 reply->start));
        gev_t *e = emit(l, K_EXTENDED, asked + lag(l), round);
        e->clock = reply->clock;
        reply->due = calendar_shift_working_days(l->g->cal, reply->due, 5);
        e->aux_ms = reply->due;
        if (reply->warn >= asked)
            reply->warn = 0;
        t = stop_time(l, asked, reply->due, 0.05);
    } else if (u < 0.065 && !urgent(l)) { /* breached, extended afterwards, then in time */
        int64_t breach = reply->due + lag(l), granted = breach + HOUR + kpigen_below(&l->r, 20 * HOUR);
        gev_t *e = emit(l, K_BREACHED, breach, round);
        e->clock = reply->clock;
        e->aux_ms = reply->due;
        int64_t due = calendar_shift_working_days(l->g->cal, reply->due, 5);
        e = emit(l, K_EXTENDED, granted, round);
        e->clock = reply->clock;
        e->aux_ms = due;
        t = granted + 10 * MINUTE + (int64_t)(unit(l) * 0.8 * (double)(due - granted));
        if (t < not_before)
            t = not_before;
        e = emit(l, K_REPLIED, t, round);
        e->flags = F_RESOLVED;
        e = emit(l, K_CLOCK_STOPPED, t + lag(l), round);
        e->clock = reply->clock;
        e->aux_ms = due;
        e->flags = t <= due ? F_ON_TIME : 0;
        if (kpigen_kept(l->g, e) && t <= due)
            l->g->stats.breach_extended++;
        return t;
    } else {
        t = stop_time(l, reply->start, reply->due, 0.07);
    }
    if (t < not_before)
        t = not_before;
    gev_t *e = emit(l, K_REPLIED, t, round);
    e->flags = unit(l) < 0.85 ? F_RESOLVED : 0;
    clock_run(l, reply, round, t);
    return t;
}

/* One round at the current unit from its dispatch at ts (round 0 may first go to the dispatch
 * desk and be routed by hand at reroute). Returns the next round's dispatch time, or 0. */
static int64_t round_life(life_t *l, uint8_t round, int64_t ts, int64_t reroute)
{
    const uint8_t SIGN = HOTLINE__SLA_CLOCK__SLA_CLOCK_SIGN, REPLY = HOTLINE__SLA_CLOCK__SLA_CLOCK_REPLY,
                  RESPONSE = HOTLINE__SLA_CLOCK__SLA_CLOCK_RESPONSE;
    emit(l, K_DISPATCHED, ts, round);
    if (round == 0 && !reroute && unit(l) < 0.05) { /* the unit asks to hand it back (退单) */
        emit(l, K_RETURN_ASKED, ts + 5 * MINUTE + kpigen_below(&l->r, (uint32_t)HOUR), round);
        gev_t *e = emit(l, K_RETURN_RULED, ts + 2 * HOUR + kpigen_below(&l->r, (uint32_t)HOUR),
                        round);
        e->flags = unit(l) < 0.6 ? F_APPROVED : 0;
    }
    int64_t cs = ts + lag(l);
    clk_t sign = clock_start(l, SIGN, cs, round), reply = clock_start(l, REPLY, cs, round);
    clk_t resp = {0};
    if (l->has_response)
        resp = clock_start(l, RESPONSE, cs, round);
    int64_t t_sign = stop_time(l, ts, sign.due, 0.08);
    if (reroute) { /* the desk routes it by hand; the round's clocks run on */
        l->unit = kpigen_route(l->t->category, l->t->district);
        emit(l, K_DISPATCHED, reroute, round);
        if (t_sign <= reroute)
            t_sign = reroute + kpigen_exp_ms(&l->r, 30.0 * MINUTE);
    }
    emit(l, K_SIGNED, t_sign, round);
    clock_run(l, &sign, round, t_sign);
    int64_t t_contact = t_sign + kpigen_exp_ms(&l->r, urgent(l) ? 10.0 * MINUTE : 3.0 * HOUR);
    emit(l, K_CONTACTED, t_contact, round);
    if (l->has_response)
        clock_run(l, &resp, round, t_contact);
    int64_t t_reply = reply_run(l, &reply, round, t_contact + 10 * MINUTE);
    if (!l->first_reply)
        l->first_reply = t_reply;
    return callback_life(l, round, t_reply, true, true);
}

/* When a ticket comes in: a day of the period (weekends a little quieter), an hour by the
 * daily profile (some around midnight). */
static int64_t draw_received(life_t *l)
{
    static const uint8_t HOURLY[24] = {2, 1, 1, 1, 1, 2,  4,  7, 10, 11, 10, 9,
                                       8, 9, 10, 10, 9, 8, 7,  6,  5,  4,  3, 3};
    kpigen_t *g = l->g;
    int64_t day;
    do
        day = g->first_day + kpigen_below(&l->r, (uint32_t)(g->months_end_day - g->first_day));
    while ((calendar_weekday(day) == 0 || calendar_weekday(day) == 6) && unit(l) < 0.25);
    uint32_t sum = 0, h = 0;
    for (int i = 0; i < 24; i++)
        sum += HOURLY[i];
    uint32_t pick = kpigen_below(&l->r, sum);
    while (pick >= HOURLY[h])
        pick -= HOURLY[h++];
    return calendar_day_start_ms(g->cal, day) + h * HOUR + kpigen_below(&l->r, (uint32_t)HOUR);
}

static uint8_t draw_category(life_t *l)
{
    /* Heavier at the top of each tree (W01, P01...), lighter in the subcodes. */
    double w[KPIGEN_NCATEGORIES], sum = 0;
    for (int i = 0; i < KPIGEN_NCATEGORIES; i++)
        sum += w[i] = (strlen(kpigen_category_codes[i]) == 3 ? 3.0 : 1.0) / (1.0 + 0.1 * (i % 20));
    double u = unit(l) * sum;
    uint8_t c = 0;
    while (c < KPIGEN_NCATEGORIES - 1 && u >= w[c])
        u -= w[c++];
    return c;
}

static int new_ticket(kpigen_t *g, gticket_t **out)
{
    if (kpigen_grow((void **)&g->tickets, &g->tcap, g->ntickets, sizeof *g->tickets, 4096))
        return HL_ENOMEM;
    *out = &g->tickets[g->ntickets++];
    memset(*out, 0, sizeof **out);
    return 0;
}

int kpigen_life(kpigen_t *g, uint32_t idx)
{
    life_t l = {.g = g, .r = {g->opts.seed * 0x9e3779b97f4a7c15ull + idx}, .id = idx};
    kpigen_rand(&l.r);
    int rc = new_ticket(g, &l.t);
    if (rc)
        return rc;
    gticket_t *t = l.t;
    t->received_ms = draw_received(&l);
    t->day_seq = ++g->day_seq[calendar_local_day(g->cal, t->received_ms) - g->first_day];
    t->category = draw_category(&l);
    t->district = (uint8_t)(unit(&l) < 0.4 ? kpigen_below(&l.r, 3) : kpigen_below(&l.r, 12));
    const char *code = kpigen_category_codes[t->category];
    t->urgency = HOTLINE__URGENCY__URGENCY_NORMAL;
    if (!strcmp(code, "W0402") || !strcmp(code, "W0301"))
        t->urgency = HOTLINE__URGENCY__URGENCY_VERY_URGENT;
    else if ((!strncmp(code, "W04", 3) || !strncmp(code, "P01", 3) || !strncmp(code, "P03", 3)) &&
             unit(&l) < 0.7)
        t->urgency = HOTLINE__URGENCY__URGENCY_URGENT;
    l.has_response = t->category % 4 != 3;
    double u = unit(&l);
    t->disposition = u < 0.30   ? HOTLINE__DISPOSITION__DISPOSITION_ANSWERED
                     : u < 0.33 ? HOTLINE__DISPOSITION__DISPOSITION_REFERRED
                     : u < 0.37 ? HOTLINE__DISPOSITION__DISPOSITION_NOT_ACCEPTED
                                : HOTLINE__DISPOSITION__DISPOSITION_DISPATCH;
    bool linked = u >= 0.37 && u < 0.41;
    if (linked) /* one incident per day, category and district */
        t->incident = 1 + (uint32_t)(calendar_local_day(g->cal, t->received_ms) % 1000) * 1000 +
                      t->category * KPIGEN_NDISTRICTS + t->district;
    l.unit = NO_UNIT;
    int64_t t0 = t->received_ms;
    emit(&l, K_RECEIVED, t0, 0);
    if (t->disposition != HOTLINE__DISPOSITION__DISPOSITION_DISPATCH)
        return 0;
    uint8_t routed = kpigen_route(t->category, t->district);
    if (linked) { /* closed with its incident: replied by the incident's unit, called back */
        l.unit = routed;
        l.first_reply = t0 + HOUR + kpigen_below(&l.r, 29 * HOUR);
        gev_t *e = emit(&l, K_REPLIED, l.first_reply, 0);
        e->flags = F_RESOLVED;
        callback_life(&l, 0, l.first_reply, false, false);
    } else {
        int64_t ts = t0 + 30000 + kpigen_exp_ms(&l.r, 8.0 * MINUTE), reroute = 0;
        l.unit = routed;
        if (unit(&l) < 0.04) { /* the desk first, routed by hand */
            l.unit = KPIGEN_DESK;
            reroute = ts + 15 * MINUTE + kpigen_below(&l.r, (uint32_t)(3 * HOUR));
        }
        for (uint8_t round = 0; ts && round <= 2; round++) {
            ts = round_life(&l, round, ts, round == 0 ? reroute : 0);
            if (g->oom)
                return HL_ENOMEM;
        }
    }
    /* Repeat calls while it is open (before its first reply). */
    if (unit(&l) < (linked ? 0.3 : 0.15)) {
        int64_t until = l.first_reply ? l.first_reply : t0 + 3 * DAY;
        uint8_t n = (uint8_t)(1 + kpigen_below(&l.r, 4));
        for (uint8_t i = 1; i <= n && until > t0 + 10 * MINUTE; i++) {
            double at_share = ((double)i - 1 + unit(&l)) / n; /* in order, one per n-th */
            int64_t at = t0 + 10 * MINUTE + (int64_t)(at_share * (double)(until - t0 - 10 * MINUTE));
            gev_t *e = emit(&l, K_REPEAT, at, 0);
            e->extra = i;
        }
    }
    return g->oom ? HL_ENOMEM : 0;
}
