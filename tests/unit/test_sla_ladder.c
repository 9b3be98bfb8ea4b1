/* The escalation ladder (sla_fixture.h drives sla in-process): reminder, yellow card, overdue,
 * red card and supervision notice, each at its instant on the working-day calendar, each once
 * per clock, in order, none after the clock stops; across holiday spans, a make-up Saturday,
 * the year end and a change of daylight saving; moved by an extension across a holiday; a
 * policy's own ladder over the service's. */
#include "sla_fixture.h"

#define STEP(s) HOTLINE__SLA_STEP__SLA_STEP_##s

/* The steps given between two log positions, as "reminder,yellow,overdue,red,supervision"
 * with the clock ("reply:red"), so one assertion shows the order. */
static void steps_since(fx_t *f, uint64_t after, char *out, size_t size)
{
    collected_t c;
    collect(f, after, &c);
    out[0] = '\0';
    for (size_t i = 0; i < c.n; i++) {
        const Hotline__Event *ev = c.ev[i];
        Hotline__SlaClock clock;
        const char *what;
        switch (ev->body_case) {
        case K_WARNING: clock = ev->sla_warning->clock; what = "yellow"; break;
        case K_BREACHED: clock = ev->sla_breached->clock; what = "overdue"; break;
        case K_ESCALATED:
            clock = ev->sla_escalated->clock;
            what = ev->sla_escalated->step == STEP(REMINDER)    ? "reminder"
                   : ev->sla_escalated->step == STEP(RED_CARD)  ? "red"
                   : ev->sla_escalated->step == STEP(SUPERVISION) ? "supervision"
                                                                 : "?";
            break;
        default: continue;
        }
        size_t n = strlen(out);
        snprintf(out + n, size - n, "%s%s:%s", n ? "," : "", sla_clock_label(clock), what);
    }
    collected_free(&c);
}

/* Move the clock to local y-m-d hh:mm and return the steps that fired. */
static const char *at(fx_t *f, int y, int m, int d, int hh, int mm)
{
    static char buf[512];
    uint64_t h = head(f);
    fire(f, local_ms(f, y, m, d, hh, mm));
    steps_since(f, h, buf, sizeof buf);
    return buf;
}

static void test_ladder_day_by_day(void **state)
{
    fx_t *f = *state;
    /* Wed 2026-11-25 10:00, W06 (billing): the catch-all, sign 1 and reply 5 working days. */
    dispatched(f, "L1", "W06", HOTLINE__URGENCY__URGENCY_NORMAL, 0, local_ms(f, 2026, 11, 25, 10, 0));
    sla_clock_t s = get_clock(f, "L1", 0, SIGN), r = get_clock(f, "L1", 0, REPLY);
    /* Sign: 1 working day has no reminder (half of it is 0 whole days). */
    assert_int_equal(s.reminder_ms, 0);
    expect_local(f, s.warn_ms, "2026-11-25 23:59 +08:00");
    expect_local(f, s.due_ms, "2026-11-26 23:59 +08:00");
    expect_local(f, s.red_ms, "2026-11-27 23:59 +08:00");
    expect_local(f, s.supervision_ms, "2026-11-30 23:59 +08:00"); /* over the weekend */
    /* Reply: reminder at the end of the 2nd working day, yellow 1 before due, red 1 after,
     * supervision 1 after the red card. */
    expect_local(f, r.reminder_ms, "2026-11-27 23:59 +08:00");
    expect_local(f, r.warn_ms, "2026-12-01 23:59 +08:00");
    expect_local(f, r.due_ms, "2026-12-02 23:59 +08:00");
    expect_local(f, r.red_ms, "2026-12-03 23:59 +08:00");
    expect_local(f, r.supervision_ms, "2026-12-04 23:59 +08:00");
    assert_int_equal(r.pending, SLA_STEP_REMIND);
    assert_int_equal(s.pending, SLA_STEP_WARN);

    /* Day by day, each step on its day, once. */
    assert_string_equal(at(f, 2026, 11, 25, 23, 58), "");
    assert_string_equal(at(f, 2026, 11, 26, 0, 0), "sign:yellow");
    assert_string_equal(at(f, 2026, 11, 26, 12, 0), "");
    assert_string_equal(at(f, 2026, 11, 27, 0, 0), "sign:overdue");
    /* Signed late, before the red card: the sign clock's ladder ends there. */
    signed_(f, "L1", 0, local_ms(f, 2026, 11, 27, 9, 0));
    assert_false(get_clock(f, "L1", 0, SIGN).on_time);
    assert_string_equal(at(f, 2026, 11, 28, 0, 0), "reply:reminder");
    assert_string_equal(at(f, 2026, 11, 30, 12, 0), "");
    assert_string_equal(at(f, 2026, 12, 2, 0, 0), "reply:yellow");
    assert_string_equal(at(f, 2026, 12, 3, 0, 0), "reply:overdue");
    assert_string_equal(at(f, 2026, 12, 4, 0, 0), "reply:red");
    assert_string_equal(at(f, 2026, 12, 5, 0, 0), "reply:supervision");
    assert_string_equal(at(f, 2026, 12, 31, 0, 0), "");
    r = get_clock(f, "L1", 0, REPLY);
    assert_true(r.reminded && r.warned && r.breached && r.red && r.supervised);
    assert_false(r.stopped); /* still running: the reply is late, not forgotten */
    assert_int_equal(next_step(f), INT64_MAX);
    /* The red card's event names its planned instant, the deadline and the policy. */
    collected_t c;
    collect(f, 0, &c);
    const Hotline__SlaEscalated *red = NULL;
    for (size_t i = 0; i < c.n; i++)
        if (c.ev[i]->body_case == K_ESCALATED && c.ev[i]->sla_escalated->step == STEP(RED_CARD))
            red = c.ev[i]->sla_escalated;
    assert_non_null(red);
    assert_int_equal(red->at_ms, r.red_ms);
    assert_int_equal(red->due_ms, r.due_ms);
    assert_string_equal(red->policy, "default");
    assert_true(c.ev[c.n - 1]->time_ms >= r.supervision_ms);
    collected_free(&c);
    /* The reply ends it, late. */
    replied(f, "L1", 0, local_ms(f, 2026, 12, 31, 9, 0));
    assert_false(get_clock(f, "L1", 0, REPLY).on_time);
}

static void test_ladder_across_national_day(void **state)
{
    fx_t *f = *state;
    /* Wed 2026-09-30 10:00: 1-7 October off, Sat 10 October a make-up working day. */
    dispatched(f, "L2", "W06", HOTLINE__URGENCY__URGENCY_NORMAL, 0, local_ms(f, 2026, 9, 30, 10, 0));
    sla_clock_t r = get_clock(f, "L2", 0, REPLY);
    expect_local(f, r.reminder_ms, "2026-10-09 23:59 +08:00"); /* 2nd working day: 8, 9 */
    expect_local(f, r.warn_ms, "2026-10-12 23:59 +08:00");
    expect_local(f, r.due_ms, "2026-10-13 23:59 +08:00");     /* 8, 9, 10 (Sat), 12, 13 */
    expect_local(f, r.red_ms, "2026-10-14 23:59 +08:00");
    expect_local(f, r.supervision_ms, "2026-10-15 23:59 +08:00");
    sla_clock_t s = get_clock(f, "L2", 0, SIGN);
    expect_local(f, s.due_ms, "2026-10-08 23:59 +08:00");
    expect_local(f, s.red_ms, "2026-10-09 23:59 +08:00");
    expect_local(f, s.supervision_ms, "2026-10-10 23:59 +08:00"); /* the make-up Saturday */
    /* Nothing during the holiday but the sign clock's yellow card, due the evening of the
     * 30th (1 working day before 8 October). A step a pass puts fires in the next pass: per
     * clock the order holds, across clocks due at one instant it is the scheduler's. */
    assert_string_equal(at(f, 2026, 10, 7, 23, 0), "sign:yellow");
    assert_string_equal(at(f, 2026, 10, 11, 12, 0),
                        "sign:overdue,reply:reminder,sign:red,sign:supervision");
}

static void test_ladder_across_year_end(void **state)
{
    fx_t *f = *state;
    /* Tue 2025-12-30: 31 Dec works, 1-3 January 2026 off, Sun 4 January works. */
    assert_int_equal(hclock_set_ms(f->clock, local_ms(f, 2025, 12, 30, 16, 0)), 0);
    dispatched(f, "L3", "W06", HOTLINE__URGENCY__URGENCY_NORMAL, 0, local_ms(f, 2025, 12, 30, 16, 0));
    sla_clock_t r = get_clock(f, "L3", 0, REPLY);
    expect_local(f, r.reminder_ms, "2026-01-04 23:59 +08:00"); /* the make-up Sunday */
    expect_local(f, r.warn_ms, "2026-01-06 23:59 +08:00");
    expect_local(f, r.due_ms, "2026-01-07 23:59 +08:00");
    expect_local(f, r.red_ms, "2026-01-08 23:59 +08:00");
    expect_local(f, r.supervision_ms, "2026-01-09 23:59 +08:00");
    signed_(f, "L3", 0, local_ms(f, 2025, 12, 31, 9, 0));
    assert_string_equal(at(f, 2026, 1, 3, 12, 0), "");
    assert_string_equal(at(f, 2026, 1, 5, 0, 0), "reply:reminder");
    replied(f, "L3", 0, local_ms(f, 2026, 1, 6, 15, 0)); /* before the yellow card */
    assert_true(get_clock(f, "L3", 0, REPLY).on_time);
    /* The callback clock (1 working day from the reply) climbs its own ladder until callback's
     * outcome comes: none here. */
    expect_local(f, get_clock(f, "L3", 0, CALLBACK).due_ms, "2026-01-07 23:59 +08:00");
    assert_string_equal(at(f, 2026, 1, 31, 0, 0),
                        "callback:yellow,callback:overdue,callback:red,callback:supervision");
}

/* An extension granted before due moves every step not yet given by the same working days,
 * here across the National Day holiday onto the make-up Saturday. */
static void test_extension_across_holiday_moves_the_ladder(void **state)
{
    fx_t *f = *state;
    /* Tue 2026-09-22: 25-27 September off (Mid-Autumn). */
    dispatched(f, "L4", "W06", HOTLINE__URGENCY__URGENCY_NORMAL, 0, local_ms(f, 2026, 9, 22, 10, 0));
    signed_(f, "L4", 0, local_ms(f, 2026, 9, 22, 11, 0));
    sla_clock_t r = get_clock(f, "L4", 0, REPLY);
    expect_local(f, r.due_ms, "2026-09-30 23:59 +08:00"); /* 23, 24, 28, 29, 30 */
    expect_local(f, r.reminder_ms, "2026-09-24 23:59 +08:00");
    assert_string_equal(at(f, 2026, 9, 25, 8, 0), "reply:reminder");
    /* 3 working days granted on the 28th. */
    Hotline__ExtensionReviewed x = HOTLINE__EXTENSION_REVIEWED__INIT;
    x.unit = "water-north";
    x.approved = true;
    x.working_days = 3;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.source = "dispatch";
    ev.seq = 7;
    ev.time_ms = local_ms(f, 2026, 9, 28, 10, 0);
    ev.ticket_id = "L4";
    ev.body_case = HOTLINE__EVENT__BODY_EXTENSION_REVIEWED;
    ev.extension_reviewed = &x;
    uint64_t h = head(f);
    apply(f, &ev);
    collected_t c;
    collect(f, h, &c);
    assert_int_equal(c.n, 1);
    const Hotline__SlaClockExtended *e = c.ev[0]->sla_clock_extended;
    assert_int_equal(e->reminder_ms, 0); /* given already: it stays given */
    r = get_clock(f, "L4", 0, REPLY);
    assert_int_equal(e->due_ms, r.due_ms);
    assert_int_equal(e->red_ms, r.red_ms);
    assert_int_equal(e->supervision_ms, r.supervision_ms);
    collected_free(&c);
    expect_local(f, r.reminder_ms, "2026-09-24 23:59 +08:00");
    expect_local(f, r.warn_ms, "2026-10-09 23:59 +08:00");
    expect_local(f, r.due_ms, "2026-10-10 23:59 +08:00"); /* 8, 9, 10: the make-up Saturday */
    expect_local(f, r.red_ms, "2026-10-12 23:59 +08:00");
    expect_local(f, r.supervision_ms, "2026-10-13 23:59 +08:00");
    /* The old instants pass quietly; the new ones fire once each. */
    assert_string_equal(at(f, 2026, 10, 8, 12, 0), "");
    assert_string_equal(at(f, 2026, 10, 14, 12, 0),
                        "reply:yellow,reply:overdue,reply:red,reply:supervision");
    assert_string_equal(at(f, 2026, 11, 14, 12, 0), "");
}

static int setup_own_ladder(void **state)
{
    return setup_with(state,
                      "{\"ladder\": {\"reminderPercent\": 80,"
                      "  \"redAfter\": {\"value\": 2, \"unit\": \"DURATION_WORKING_DAYS\"}},"
                      " \"policies\": ["
                      "  {\"name\": \"d\", \"sign\": {\"value\": 1, \"unit\": \"DURATION_HOURS\"},"
                      "   \"reply\": {\"value\": 5, \"unit\": \"DURATION_WORKING_DAYS\"}},"
                      "  {\"name\": \"fast\", \"categoryPrefix\": \"F\","
                      "   \"sign\": {\"value\": 10, \"unit\": \"DURATION_MINUTES\"},"
                      "   \"reply\": {\"value\": 4, \"unit\": \"DURATION_HOURS\"},"
                      "   \"ladder\": {\"reminderPercent\": 100,"
                      "     \"supervisionAfter\": {\"value\": 3, \"unit\": \"DURATION_HOURS\"}}}"
                      " ]}");
}

/* A policy's own ladder overrides the service's key by key; reminderPercent 100 is none. */
static void test_policy_ladder_over_service_ladder(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 11, 25, 10, 0);
    dispatched(f, "D1", "X01", HOTLINE__URGENCY__URGENCY_NORMAL, 0, t0);
    sla_clock_t r = get_clock(f, "D1", 0, REPLY);
    expect_local(f, r.reminder_ms, "2026-12-01 23:59 +08:00"); /* 80 % of 5: the 4th day */
    assert_int_equal(r.warn_ms, 0);                              /* no warnBefore */
    expect_local(f, r.red_ms, "2026-12-04 23:59 +08:00");        /* 2 working days */
    expect_local(f, r.supervision_ms, "2026-12-07 23:59 +08:00"); /* the default 1 */
    sla_clock_t s = get_clock(f, "D1", 0, SIGN);
    assert_int_equal(s.reminder_ms, t0 + 48 * MIN_MS); /* 80 % of the hour */
    dispatched(f, "F1", "F7", HOTLINE__URGENCY__URGENCY_NORMAL, 0, t0);
    sla_clock_t fr = get_clock(f, "F1", 0, REPLY);
    assert_int_equal(fr.reminder_ms, 0);
    assert_int_equal(fr.due_ms, t0 + 4 * HOUR_MS);
    expect_local(f, fr.red_ms, "2026-11-27 23:59 +08:00"); /* the service's 2 working days */
    assert_int_equal(fr.supervision_ms, fr.red_ms + 3 * HOUR_MS);
}

static int setup_berlin(void **state)
{
    return setup_with(state, "{\"calendar\": {\"zone\": \"Europe/Berlin\"}, \"policies\": ["
                             " {\"name\": \"d\", \"sign\": {\"value\": 1, \"unit\": "
                             "\"DURATION_WORKING_DAYS\"}, \"reply\": {\"value\": 2, \"unit\": "
                             "\"DURATION_WORKING_DAYS\"}, \"warnBefore\": {\"value\": 1, \"unit\": "
                             "\"DURATION_WORKING_DAYS\"}}]}");
}

/* A centre in a zone with daylight saving: the ladder of a clock started in CET before the
 * change of Sun 29 March 2026 climbs at the ends of local working days in CEST, and fires each
 * step once at those instants (an hour earlier in UTC than a fixed +01:00 would say). */
static void test_ladder_across_daylight_saving(void **state)
{
    fx_t *f = *state;
    const calendar_t *cal = sla_calendar(f->sla);
    int64_t start = calendar_day_start_ms(cal, calendar_day_from_ymd(2026, 3, 27)) + 16 * HOUR_MS;
    expect_local(f, start, "2026-03-27 16:00 +01:00");
    assert_int_equal(hclock_set_ms(f->clock, start), 0);
    dispatched(f, "B1", "X01", HOTLINE__URGENCY__URGENCY_NORMAL, 0, start);
    sla_clock_t r = get_clock(f, "B1", 0, REPLY);
    assert_int_equal(r.reminder_ms, 0); /* the end of the 1st working day: the yellow card's */
    expect_local(f, r.warn_ms, "2026-03-30 23:59 +02:00");
    expect_local(f, r.due_ms, "2026-03-31 23:59 +02:00");
    expect_local(f, r.red_ms, "2026-04-01 23:59 +02:00");
    expect_local(f, r.supervision_ms, "2026-04-02 23:59 +02:00");
    assert_int_equal(r.due_ms, 1774994399999LL); /* 2026-03-31T21:59:59.999Z */
    signed_(f, "B1", 0, start + HOUR_MS);
    uint64_t h = head(f);
    assert_int_equal(fire(f, r.due_ms - 2000), 1); /* the yellow card only (the test clock runs on) */
    assert_int_equal(fire(f, r.due_ms), 1);           /* overdue, at the CEST end of day */
    assert_int_equal(fire(f, r.supervision_ms), 2);   /* red card, supervision notice */
    assert_int_equal(fire(f, r.supervision_ms + 30 * 24 * HOUR_MS), 0);
    char steps[256];
    steps_since(f, h, steps, sizeof steps);
    assert_string_equal(steps, "reply:yellow,reply:overdue,reply:red,reply:supervision");
}

/* A clock's scheduler entries: never more than one, whatever the ladder's length. */
static void supervision_requested(fx_t *f, const char *ticket, uint32_t round, int64_t at_ms)
{
    Hotline__SupervisionRequested sv = HOTLINE__SUPERVISION_REQUESTED__INIT;
    sv.round = round;
    sv.unit = "billing";
    sv.reason = "rated dissatisfied again after rework round 1";
    sv.unsatisfied = 2;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.source = "callback";
    ev.time_ms = at_ms;
    ev.ticket_id = (char *)ticket;
    ev.body_case = HOTLINE__EVENT__BODY_SUPERVISION_REQUESTED;
    ev.supervision_requested = &sv;
    apply(f, &ev);
}

/* A second unsatisfied result (rework round 1 rated unsatisfied again) puts the ticket under
 * supervision: round 2's reply clock gets its supervision notice at once, dated the request,
 * and the ladder does not give it again; a request read before dispatch's reopening waits for
 * the round's clock; a replayed request gives nothing more. */
static void test_supervision_notice_at_once(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 11, 25, 10, 0), req = local_ms(f, 2026, 11, 26, 11, 0);
    dispatched(f, "S1", "W06", HOTLINE__URGENCY__URGENCY_NORMAL, 0, t0);
    reopened(f, "S1", "billing", 2, local_ms(f, 2026, 11, 26, 10, 0));
    uint64_t h = head(f);
    supervision_requested(f, "S1", 1, req);
    assert_int_equal(head(f), h + 1);
    collected_t c;
    collect(f, h, &c);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.ev[0]->body_case, K_ESCALATED);
    const Hotline__SlaEscalated *x = c.ev[0]->sla_escalated;
    assert_int_equal(x->step, STEP(SUPERVISION));
    assert_int_equal(x->clock, REPLY);
    assert_int_equal(x->round, 2);
    assert_int_equal(x->at_ms, req);
    collected_free(&c);
    assert_true(get_clock(f, "S1", 2, REPLY).supervised);
    supervision_requested(f, "S1", 1, req); /* read again: nothing more */
    assert_int_equal(head(f), h + 1);

    /* Read before the round's clock exists: it waits, and goes out when the clock starts. */
    supervision_requested(f, "S2", 1, req);
    assert_int_equal(head(f), h + 1);
    dispatched(f, "S2", "W06", HOTLINE__URGENCY__URGENCY_NORMAL, 0, t0);
    h = head(f);
    reopened(f, "S2", "billing", 2, local_ms(f, 2026, 11, 26, 12, 0));
    collect(f, h, &c);
    size_t notices = 0;
    for (size_t i = 0; i < c.n; i++)
        if (c.ev[i]->body_case == K_ESCALATED &&
            c.ev[i]->sla_escalated->step == STEP(SUPERVISION)) {
            notices++;
            assert_int_equal(c.ev[i]->sla_escalated->round, 2);
            assert_int_equal(c.ev[i]->sla_escalated->at_ms, req);
        }
    assert_int_equal(notices, 1);
    collected_free(&c);

    /* The reply clocks' ladders climb on, without a second supervision notice (the sign
     * clocks of round 2 keep their own). */
    h = head(f);
    fire(f, local_ms(f, 2027, 1, 31, 0, 0));
    collect(f, h, &c);
    size_t reds = 0, again = 0;
    for (size_t i = 0; i < c.n; i++) {
        const Hotline__SlaEscalated *e = c.ev[i]->body_case == K_ESCALATED
                                             ? c.ev[i]->sla_escalated : NULL;
        if (e && e->round == 2 && e->clock == REPLY) {
            reds += e->step == STEP(RED_CARD);
            again += e->step == STEP(SUPERVISION);
        }
    }
    collected_free(&c);
    assert_int_equal(reds, 2);
    assert_int_equal(again, 0);
}

/* n tickets PREFIX-00.. dispatched (W06, normal) from t0, a ms apart. */
static void dispatch_many(fx_t *f, const char *prefix, int n, int64_t t0)
{
    char id[16];
    for (int i = 0; i < n; i++) {
        snprintf(id, sizeof id, "%s-%02d", prefix, i);
        dispatched(f, id, "W06", HOTLINE__URGENCY__URGENCY_NORMAL, 0, t0 + i);
    }
}

static void test_one_entry_per_round(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 11, 25, 10, 0);
    char id[16];
    dispatch_many(f, "N", 20, t0);
    /* One entry per ticket round, at the earliest next step of its clocks; the steps waiting
     * are counted by clock. */
    assert_int_equal(gauge(f, "hotline_sla_pending_timers", NULL), 20);
    assert_int_equal(steps_waiting(f), 40);
    fire(f, local_ms(f, 2026, 11, 28, 0, 0)); /* sign: yellow, overdue; reply: reminder */
    assert_int_equal(gauge(f, "hotline_sla_pending_timers", NULL), 20);
    assert_int_equal(steps_waiting(f), 40); /* sign: supervision next; reply: yellow next */
    assert_int_equal(count_kind(f, K_WARNING), 20);
    assert_int_equal(count_kind(f, K_BREACHED), 20);
    assert_int_equal(count_kind(f, K_ESCALATED), 40); /* sign red, reply reminder */
    for (int i = 0; i < 20; i++) {
        snprintf(id, sizeof id, "N-%02d", i);
        replied(f, id, 0, local_ms(f, 2026, 11, 28, 9, 0));
    }
    /* Only the callback clocks the replies started are left, one entry each. */
    assert_int_equal(gauge(f, "hotline_sla_pending_timers", NULL), 20);
    assert_int_equal(steps_waiting(f), 20);
    for (int i = 0; i < 20; i++) {
        snprintf(id, sizeof id, "N-%02d", i);
        rated(f, id, 0, local_ms(f, 2026, 11, 30, 10, 0));
    }
    assert_int_equal(gauge(f, "hotline_sla_pending_timers", NULL), 0);
    assert_int_equal(steps_waiting(f), 0);
    assert_int_equal(fire(f, local_ms(f, 2026, 12, 31, 0, 0)), 0);
}

/* A store without the count (an earlier release's) is counted from its records at start-up;
 * the count then follows every change. */
static void test_steps_waiting_counted_at_start(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 11, 25, 10, 0);
    dispatch_many(f, "C", 5, t0);
    signed_(f, "C-00", 0, t0 + MIN_MS);
    assert_int_equal(steps_waiting(f), 9);
    MDB_dbi meta;
    MDB_txn *txn;
    assert_int_equal(store_db(f->store, "sla_meta", 0, &meta), 0);
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(store_del(txn, meta, "steps.waiting", 13), 0);
    assert_int_equal(store_write_commit(f->store, &txn), 0);
    fx_close(f);
    fx_open(f);
    assert_int_equal(steps_waiting(f), 9);
    replied(f, "C-01", 0, t0 + HOUR_MS); /* sign and reply stop, the callback clock starts */
    assert_int_equal(steps_waiting(f), 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ladder_day_by_day, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ladder_across_national_day, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ladder_across_year_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_extension_across_holiday_moves_the_ladder, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_policy_ladder_over_service_ladder, setup_own_ladder,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_one_entry_per_round, setup, teardown),
        cmocka_unit_test_setup_teardown(test_steps_waiting_counted_at_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_supervision_notice_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ladder_across_daylight_saving, setup_berlin,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
