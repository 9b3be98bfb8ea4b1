/* sla clocks (sla_fixture.h drives sla in-process): due times for each limit unit, stops on
 * time and late, warnings and breaches fired by the shared scheduler exactly once at their
 * instants (not before, not after a stop, not twice after a replay or a restart; a commit or
 * a start alone fires what is already due), rework rounds, the gauges and the JSON views.
 * Pauses (incidents, extensions, terminations): test_sla_pauses.c. */
#include "sla_fixture.h"

/* ---- due times ---- */

static void test_working_days_across_spring_festival(void **state)
{
    fx_t *f = *state;
    /* Sat 2026-02-14 16:00, a make-up working day before the 15-23 Feb holiday. */
    int64_t t0 = local_ms(f, 2026, 2, 14, 16, 0);
    dispatched(f, "20260214-1-000001", "W06", HOTLINE__URGENCY__URGENCY_NORMAL, 0, t0);
    collected_t c;
    collect(f, 0, &c);
    assert_int_equal(c.n, 2);
    const Hotline__SlaClockStarted *s = c.ev[0]->sla_clock_started;
    assert_int_equal(c.ev[0]->body_case, K_STARTED);
    assert_string_equal(c.ev[0]->ticket_id, "20260214-1-000001");
    assert_int_equal(s->clock, SIGN);
    expect_local(f, s->due_ms, "2026-02-24 23:59 +08:00"); /* the next working day */
    expect_local(f, s->warn_ms, "2026-02-14 23:59 +08:00"); /* end of the day before it */
    assert_string_equal(s->policy, "default");
    assert_string_equal(s->limit, "1 working day");
    assert_string_equal(s->unit, "water-north");
    assert_string_equal(s->category_code, "W06");
    assert_int_equal(s->round, 0);
    s = c.ev[1]->sla_clock_started;
    assert_int_equal(s->clock, REPLY);
    expect_local(f, s->due_ms, "2026-02-28 23:59 +08:00"); /* the brief's case */
    expect_local(f, s->warn_ms, "2026-02-27 23:59 +08:00");
    assert_string_equal(s->limit, "5 working days");
    collected_free(&c);
    /* The stored clock agrees, and is running. */
    sla_clock_t r = get_clock(f, "20260214-1-000001", 0, REPLY);
    assert_int_equal(r.start_ms, t0);
    assert_false(r.stopped);
    expect_local(f, r.due_ms, "2026-02-28 23:59 +08:00");
    assert_int_equal(running(f, SIGN), 1);
    assert_int_equal(running(f, REPLY), 1);
    /* W08 complaints take 15 working days: 24-28 Feb (28th a make-up day), 2-6, 9-13 Mar. */
    dispatched(f, "20260214-1-000002", "W08", HOTLINE__URGENCY__URGENCY_NORMAL, 0, t0);
    r = get_clock(f, "20260214-1-000002", 0, REPLY);
    assert_string_equal(r.policy, "water-service-complaint");
    expect_local(f, r.due_ms, "2026-03-13 23:59 +08:00");
}

static void test_minutes_and_hours(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 11, 25, 10, 0);
    dispatched(f, "T-VERY", "W0402", HOTLINE__URGENCY__URGENCY_VERY_URGENT, 0, t0);
    sla_clock_t s = get_clock(f, "T-VERY", 0, SIGN), r = get_clock(f, "T-VERY", 0, REPLY);
    assert_string_equal(s.policy, "water-very-urgent");
    assert_int_equal(s.due_ms, t0 + 20 * MIN_MS);
    assert_int_equal(s.warn_ms, t0 + 10 * MIN_MS);
    assert_string_equal(s.limit, "20 minutes");
    assert_int_equal(r.due_ms, t0 + 24 * HOUR_MS);
    assert_int_equal(r.warn_ms, t0 + 24 * HOUR_MS - 10 * MIN_MS);
    assert_string_equal(r.limit, "24 hours");
    dispatched(f, "T-URG", "W01", HOTLINE__URGENCY__URGENCY_URGENT, 0, t0);
    s = get_clock(f, "T-URG", 0, SIGN);
    assert_string_equal(s.policy, "water-urgent");
    assert_int_equal(s.due_ms, t0 + HOUR_MS);
    assert_int_equal(s.warn_ms, t0 + 30 * MIN_MS);
    assert_string_equal(s.limit, "1 hour");
}

static int setup_natural(void **state)
{
    return setup_with(state, "{\"policies\": [{\"name\": \"nd\","
                             " \"sign\": {\"value\": 2, \"unit\": \"DURATION_HOURS\"},"
                             " \"reply\": {\"value\": 3, \"unit\": \"DURATION_NATURAL_DAYS\"},"
                             " \"warnBefore\": {\"value\": 1, \"unit\": "
                             "\"DURATION_NATURAL_DAYS\"}}]}");
}

static void test_natural_days_and_dropped_warning(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 11, 28, 9, 30); /* a Saturday: natural days ignore it */
    dispatched(f, "T-ND", "X", HOTLINE__URGENCY__URGENCY_UNSPECIFIED, 0, t0);
    sla_clock_t r = get_clock(f, "T-ND", 0, REPLY), s = get_clock(f, "T-ND", 0, SIGN);
    assert_int_equal(r.due_ms, t0 + 3 * 24 * HOUR_MS);
    assert_int_equal(r.warn_ms, t0 + 2 * 24 * HOUR_MS);
    assert_string_equal(r.limit, "3 natural days");
    /* Warned a day before a 2-hour limit would be before the start: no warning at all. */
    assert_int_equal(s.due_ms, t0 + 2 * HOUR_MS);
    assert_int_equal(s.warn_ms, 0);
    /* The ladder without a yellow card: the reminder at half the limit, then overdue. */
    assert_int_equal(fire(f, t0 + 2 * HOUR_MS), 2);
    assert_int_equal(count_kind(f, K_WARNING), 0);
    assert_int_equal(count_kind(f, K_BREACHED), 1);
    assert_int_equal(count_kind(f, K_ESCALATED), 1);
    assert_true(get_clock(f, "T-ND", 0, SIGN).reminded);
    assert_false(get_clock(f, "T-ND", 0, REPLY).reminded); /* due at 1.5 days */
}

static void test_weekend_sign_has_no_warning(void **state)
{
    fx_t *f = *state;
    /* Sun 2026-11-29 10:00: sign-for by the end of Mon 30 Nov; "1 working day before" is the
     * end of Fri 27 Nov, before the start: no yellow card, the red one still fires. */
    int64_t t0 = local_ms(f, 2026, 11, 29, 10, 0);
    dispatched(f, "T-SUN", "W06", HOTLINE__URGENCY__URGENCY_NORMAL, 0, t0);
    sla_clock_t s = get_clock(f, "T-SUN", 0, SIGN), r = get_clock(f, "T-SUN", 0, REPLY);
    expect_local(f, s.due_ms, "2026-11-30 23:59 +08:00");
    assert_int_equal(s.warn_ms, 0);
    expect_local(f, r.due_ms, "2026-12-04 23:59 +08:00");
    expect_local(f, r.warn_ms, "2026-12-03 23:59 +08:00");
}

/* ---- stops ---- */

static void test_stop_on_time_and_late(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 11, 25, 10, 0);
    dispatched(f, "T1", "W06", HOTLINE__URGENCY__URGENCY_NORMAL, 0, t0);
    sla_clock_t s = get_clock(f, "T1", 0, SIGN), r = get_clock(f, "T1", 0, REPLY);
    uint64_t h = head(f);
    signed_(f, "T1", 0, s.due_ms); /* at the very last millisecond: on time */
    replied(f, "T1", 0, r.due_ms + 1);
    collected_t c;
    collect(f, h, &c);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.ev[0]->body_case, K_STOPPED);
    assert_int_equal(c.ev[0]->sla_clock_stopped->clock, SIGN);
    /* The reply starts the callback clock: 1 working day (the default policy). */
    assert_int_equal(c.ev[2]->body_case, K_STARTED);
    assert_int_equal(c.ev[2]->sla_clock_started->clock, CALLBACK);
    /* (replied at 00:00 on 3 Dec, a millisecond late: due the end of 4 Dec) */
    expect_local(f, c.ev[2]->sla_clock_started->due_ms, "2026-12-04 23:59 +08:00");
    assert_true(c.ev[0]->sla_clock_stopped->on_time);
    assert_int_equal(c.ev[0]->sla_clock_stopped->due_ms, s.due_ms);
    assert_int_equal(c.ev[1]->sla_clock_stopped->clock, REPLY);
    assert_false(c.ev[1]->sla_clock_stopped->on_time);
    assert_int_equal(c.ev[1]->sla_clock_stopped->round, 0);
    collected_free(&c);
    s = get_clock(f, "T1", 0, SIGN);
    assert_true(s.stopped && s.on_time);
    assert_int_equal(s.stopped_ms, s.due_ms);
    r = get_clock(f, "T1", 0, REPLY);
    assert_true(r.stopped && !r.on_time);
    assert_int_equal(running(f, SIGN), 0);
    assert_int_equal(running(f, REPLY), 0);
    assert_int_equal(running(f, CALLBACK), 1);
    /* callback's outcome stops the callback clock, on time. */
    rated(f, "T1", 0, r.due_ms + 2 * HOUR_MS);
    assert_true(get_clock(f, "T1", 0, CALLBACK).on_time);
    assert_int_equal(running(f, CALLBACK), 0);
    /* Stopped clocks left nothing to fire: their steps were cancelled with the stop. */
    assert_int_equal(next_step(f), INT64_MAX);
    /* Sign and reply again (a replay): nothing changes, nothing is appended. */
    h = head(f);
    signed_(f, "T1", 0, s.due_ms + HOUR_MS);
    replied(f, "T1", 0, r.due_ms);
    assert_int_equal(head(f), h);
    /* A sign for a round or ticket sla never saw: ignored. */
    signed_(f, "T1", 7, t0);
    signed_(f, "NOPE", 0, t0);
    assert_int_equal(head(f), h);
}

static void test_reply_without_sign_stops_both(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 11, 25, 10, 0);
    dispatched(f, "T2", "W04", HOTLINE__URGENCY__URGENCY_URGENT, 0, t0);
    replied(f, "T2", 0, t0 + 2 * HOUR_MS);
    assert_true(get_clock(f, "T2", 0, SIGN).stopped);
    assert_false(get_clock(f, "T2", 0, SIGN).on_time); /* 1 hour limit, replied at 2 */
    assert_true(get_clock(f, "T2", 0, REPLY).on_time);
    assert_int_equal(count_kind(f, K_STOPPED), 2);
    assert_int_equal(fire(f, t0 + 1000 * HOUR_MS), 0);
}

/* ---- warnings and breaches ---- */

static void test_fire_exactly_once_at_instants(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 11, 25, 10, 0);
    dispatched(f, "T3", "W0402", HOTLINE__URGENCY__URGENCY_VERY_URGENT, 0, t0);
    /* Not early (the test clock runs on in real time: a second's margin). */
    assert_int_equal(fire(f, t0 + 10 * MIN_MS - 1000), 0);
    assert_int_equal(count_kind(f, K_WARNING), 0);
    uint64_t h = head(f);
    assert_int_equal(fire(f, t0 + 10 * MIN_MS), 1);
    collected_t c;
    collect(f, h, &c);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.ev[0]->body_case, K_WARNING);
    assert_string_equal(c.ev[0]->ticket_id, "T3");
    assert_int_equal(c.ev[0]->sla_warning->clock, SIGN);
    assert_int_equal(c.ev[0]->sla_warning->due_ms, t0 + 20 * MIN_MS);
    assert_string_equal(c.ev[0]->sla_warning->unit, "water-north");
    collected_free(&c);
    /* The same instant again, or later, fires nothing more. */
    assert_int_equal(fire(f, t0 + 10 * MIN_MS), 0);
    assert_int_equal(fire(f, t0 + 20 * MIN_MS - 1000), 0);
    h = head(f);
    assert_int_equal(fire(f, t0 + 20 * MIN_MS), 1);
    collect(f, h, &c);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.ev[0]->body_case, K_BREACHED);
    assert_int_equal(c.ev[0]->sla_breached->clock, SIGN);
    assert_int_equal(c.ev[0]->sla_breached->round, 0);
    collected_free(&c);
    sla_clock_t s = get_clock(f, "T3", 0, SIGN);
    assert_true(s.warned && s.breached && !s.stopped);
    /* A breached clock keeps running until the unit signs; then it stops, late. */
    assert_int_equal(running(f, SIGN), 1);
    signed_(f, "T3", 0, t0 + 30 * MIN_MS);
    assert_false(get_clock(f, "T3", 0, SIGN).on_time);
    /* The sign clock's ladder ended with the signature: no red card for it. The reply
     * clock's whole ladder at once when the clock jumps past it, in order: reminder at half
     * the 24 hours, yellow card, overdue, red card 1 hour after, supervision 1 hour later. */
    h = head(f);
    assert_int_equal(fire(f, t0 + 48 * HOUR_MS), 5);
    collect(f, h, &c);
    assert_int_equal(c.n, 5);
    assert_int_equal(c.ev[0]->body_case, K_ESCALATED);
    assert_int_equal(c.ev[0]->sla_escalated->step, HOTLINE__SLA_STEP__SLA_STEP_REMINDER);
    assert_int_equal(c.ev[0]->sla_escalated->at_ms, t0 + 12 * HOUR_MS);
    assert_int_equal(c.ev[0]->sla_escalated->clock, REPLY);
    assert_int_equal(c.ev[1]->body_case, K_WARNING);
    assert_int_equal(c.ev[1]->sla_warning->clock, REPLY);
    assert_int_equal(c.ev[2]->body_case, K_BREACHED);
    assert_int_equal(c.ev[2]->sla_breached->clock, REPLY);
    assert_int_equal(c.ev[3]->body_case, K_ESCALATED);
    assert_int_equal(c.ev[3]->sla_escalated->step, HOTLINE__SLA_STEP__SLA_STEP_RED_CARD);
    assert_int_equal(c.ev[3]->sla_escalated->at_ms, t0 + 25 * HOUR_MS);
    assert_int_equal(c.ev[4]->sla_escalated->step, HOTLINE__SLA_STEP__SLA_STEP_SUPERVISION);
    assert_int_equal(c.ev[4]->sla_escalated->at_ms, t0 + 26 * HOUR_MS);
    assert_string_equal(c.ev[4]->sla_escalated->policy, "water-very-urgent");
    assert_string_equal(c.ev[4]->sla_escalated->unit, "water-north");
    collected_free(&c);
    assert_int_equal(fire(f, t0 + 480 * HOUR_MS), 0);
    assert_int_equal(count_kind(f, K_WARNING), 2);
    assert_int_equal(count_kind(f, K_BREACHED), 2);
    assert_int_equal(count_kind(f, K_ESCALATED), 3);
    sla_clock_t r = get_clock(f, "T3", 0, REPLY);
    assert_true(r.reminded && r.warned && r.breached && r.red && r.supervised && !r.stopped);
    assert_int_equal(r.pending, 0); /* the ladder is climbed: nothing left on the scheduler */
}

static void test_no_fire_after_stop(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 11, 25, 10, 0);
    dispatched(f, "T4", "W0402", HOTLINE__URGENCY__URGENCY_VERY_URGENT, 0, t0);
    /* The gauges follow each commit: two clocks running, the round's one entry (their
     * earliest next step) on the scheduler. */
    assert_int_equal(gauge(f, "hotline_sla_running_clocks", "sign"), 1);
    assert_int_equal(gauge(f, "hotline_sla_pending_timers", NULL), 1);
    signed_(f, "T4", 0, t0 + 5 * MIN_MS); /* before the sign warning */
    assert_int_equal(gauge(f, "hotline_sla_running_clocks", "sign"), 0);
    assert_int_equal(gauge(f, "hotline_sla_pending_timers", NULL), 1);
    assert_int_equal(fire(f, t0 + HOUR_MS), 0);
    /* Reminded and warned on the reply clock, then replied before the breach. */
    assert_int_equal(fire(f, t0 + 24 * HOUR_MS - 10 * MIN_MS), 2);
    assert_int_equal(gauge(f, "hotline_sla_pending_timers", NULL), 1);
    replied(f, "T4", 0, t0 + 24 * HOUR_MS - 1);
    assert_int_equal(gauge(f, "hotline_sla_running_clocks", "reply"), 0);
    assert_int_equal(gauge(f, "hotline_sla_pending_timers", NULL), 0);
    assert_int_equal(fire(f, t0 + 100 * HOUR_MS), 0);
    assert_int_equal(count_kind(f, K_WARNING), 1);
    assert_int_equal(count_kind(f, K_BREACHED), 0);
    assert_true(get_clock(f, "T4", 0, REPLY).on_time);
}

static void test_replayed_dispatch_starts_nothing_twice(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 11, 25, 10, 0);
    dispatched(f, "T5", "W01", HOTLINE__URGENCY__URGENCY_URGENT, 0, t0);
    uint64_t h = head(f);
    /* The same dispatch again, even at another time (a re-dispatch within the round). */
    dispatched(f, "T5", "W01", HOTLINE__URGENCY__URGENCY_URGENT, 0, t0);
    dispatched(f, "T5", "W01", HOTLINE__URGENCY__URGENCY_URGENT, 0, t0 + HOUR_MS);
    assert_int_equal(head(f), h);
    assert_int_equal(count_kind(f, K_STARTED), 2);
    assert_int_equal(running(f, SIGN), 1);
    assert_int_equal(get_clock(f, "T5", 0, SIGN).due_ms, t0 + HOUR_MS);
    /* Each step fires once however many passes run: sign (1 h) has yellow (no reminder: half
     * the hour is the yellow card's instant), overdue, red, supervision; reply (24 h) all
     * five. */
    assert_int_equal(fire(f, t0 + 100 * HOUR_MS), 9);
    dispatched(f, "T5", "W01", HOTLINE__URGENCY__URGENCY_URGENT, 0, t0);
    assert_int_equal(fire(f, t0 + 100 * HOUR_MS), 0);
    assert_int_equal(count_kind(f, K_WARNING), 2);
    assert_int_equal(count_kind(f, K_BREACHED), 2);
    assert_int_equal(count_kind(f, K_ESCALATED), 5);
}

static void test_restart_keeps_pending(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 11, 25, 10, 0);
    dispatched(f, "T6", "W0402", HOTLINE__URGENCY__URGENCY_VERY_URGENT, 0, t0);
    assert_int_equal(fire(f, t0 + 10 * MIN_MS), 1);
    /* A crash (nothing in memory survives), and a restart on the same store after the sign
     * breach's instant. */
    fx_close(f);
    assert_int_equal(hclock_set_ms(f->clock, t0 + 25 * MIN_MS), 0);
    fx_open(f);
    assert_int_equal(next_step(f), t0 + 20 * MIN_MS); /* the sign breach, the warning is gone */
    /* The start alone fires it: no commit, no clock move. */
    settle(f);
    assert_int_equal(next_step(f), t0 + 80 * MIN_MS); /* the sign's red card, 1 h after due */
    assert_int_equal(count_kind(f, K_WARNING), 1);
    assert_int_equal(count_kind(f, K_BREACHED), 1);
    assert_int_equal(running(f, SIGN), 1); /* counts survive too */
}

static void test_due_at_commit_fires_by_itself(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 11, 25, 10, 0);
    assert_int_equal(hclock_set_ms(f->clock, t0), 0);
    /* A dispatch read 15 minutes late (a backlog): its sign warning (+10 min) is already due
     * when the clocks commit. Nothing moves the clock: the commit alone arms the scheduler. */
    dispatched(f, "LATE-1", "W0402", HOTLINE__URGENCY__URGENCY_VERY_URGENT, 0, t0 - 15 * MIN_MS);
    settle(f);
    assert_int_equal(count_kind(f, K_WARNING), 1);
    assert_int_equal(count_kind(f, K_BREACHED), 0); /* due at t0 + 5 min */
    /* A burst: 30 tickets' sign warnings and breaches due at once, each fired once. */
    char id[32];
    for (int i = 0; i < 30; i++) {
        snprintf(id, sizeof id, "BURST-%02d", i);
        dispatched(f, id, "W04", HOTLINE__URGENCY__URGENCY_VERY_URGENT, 0, t0 + i);
    }
    assert_int_equal(fire(f, t0 + HOUR_MS), 61);
    assert_int_equal(fire(f, t0 + HOUR_MS), 0);
    assert_int_equal(count_kind(f, K_WARNING), 31);
    assert_int_equal(count_kind(f, K_BREACHED), 31);
}

/* ---- rework ---- */

static void test_rework_starts_new_round(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 11, 25, 10, 0);
    dispatched(f, "T7", "W0402", HOTLINE__URGENCY__URGENCY_VERY_URGENT, 0, t0);
    signed_(f, "T7", 0, t0 + MIN_MS);
    replied(f, "T7", 0, t0 + HOUR_MS);
    int64_t t1 = t0 + 3 * 24 * HOUR_MS;
    uint64_t h = head(f);
    reopened(f, "T7", "water-south", 1, t1);
    collected_t c;
    collect(f, h, &c);
    assert_int_equal(c.n, 2);
    const Hotline__SlaClockStarted *s = c.ev[0]->sla_clock_started;
    assert_int_equal(s->clock, SIGN);
    assert_int_equal(s->round, 1);
    assert_int_equal(s->due_ms, t1 + 20 * MIN_MS); /* same policy, from the reopen time */
    assert_string_equal(s->policy, "water-very-urgent");
    assert_string_equal(s->unit, "water-south");
    assert_string_equal(s->category_code, "W0402");
    assert_int_equal(c.ev[1]->sla_clock_started->round, 1);
    collected_free(&c);
    /* Reopened twice, or a dispatch for round 1 after it: still one set for the round. */
    reopened(f, "T7", "water-south", 1, t1 + 5);
    dispatched(f, "T7", "W0402", HOTLINE__URGENCY__URGENCY_VERY_URGENT, 1, t1 + 9);
    assert_int_equal(count_kind(f, K_STARTED), 4);
    signed_(f, "T7", 1, t1 + MIN_MS);
    assert_true(get_clock(f, "T7", 1, SIGN).stopped);
    assert_false(get_clock(f, "T7", 1, REPLY).stopped);
    assert_true(get_clock(f, "T7", 0, REPLY).stopped);
    /* Round 1's reply clock breaches on its own; round 0's never again. */
    /* (its ladder up to the red card, 1 hour after due: reminder, yellow, overdue, red) */
    assert_int_equal(fire(f, t1 + 25 * HOUR_MS), 4);
    /* A reopen for a ticket never seen: clocks anyway, from the catch-all. */
    reopened(f, "T-UNSEEN", "u9", 1, t1);
    sla_clock_t u = get_clock(f, "T-UNSEEN", 1, REPLY);
    assert_string_equal(u.policy, "default");
    assert_string_equal(u.unit, "u9");
}

/* ---- malformed input ---- */

static void test_bad_events_skipped(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 11, 25, 10, 0);
    dispatched(f, "", "W01", HOTLINE__URGENCY__URGENCY_URGENT, 0, t0);
    char long_id[SLA_TICKET_ID_MAX + 2];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    dispatched(f, long_id, "W01", HOTLINE__URGENCY__URGENCY_URGENT, 0, t0);
    assert_int_equal(head(f), 0);
    /* Events that are not about deadlines are ignored. */
    Hotline__TicketReceived tr = HOTLINE__TICKET_RECEIVED__INIT;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.ticket_id = "T8";
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_RECEIVED;
    ev.ticket_received = &tr;
    apply(f, &ev);
    assert_int_equal(head(f), 0);
    /* An over-long unit is kept, cut to its bound. */
    char long_unit[300];
    memset(long_unit, 'u', sizeof long_unit - 1);
    long_unit[sizeof long_unit - 1] = '\0';
    reopened(f, "T8", long_unit, 0, t0);
    assert_int_equal(strlen(get_clock(f, "T8", 0, SIGN).unit), 128);
}

/* ---- views ---- */

static void test_views(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 2, 14, 16, 0);
    dispatched(f, "V1", "W06", HOTLINE__URGENCY__URGENCY_NORMAL, 0, t0);
    dispatched(f, "V2", "W04", HOTLINE__URGENCY__URGENCY_VERY_URGENT, 0, t0);
    signed_(f, "V1", 0, t0 + HOUR_MS);
    MDB_txn *txn;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    json_t *j = NULL;
    assert_int_equal(sla_clocks_json(f->sla, txn, "V1", &j), 0);
    assert_string_equal(json_string_value(json_object_get(j, "ticketId")), "V1");
    json_t *clocks = json_object_get(j, "clocks");
    assert_int_equal(json_array_size(clocks), 2);
    json_t *sign = json_array_get(clocks, 0), *reply = json_array_get(clocks, 1);
    assert_string_equal(json_string_value(json_object_get(sign, "clock")), "SLA_CLOCK_SIGN");
    assert_false(json_is_true(json_object_get(sign, "running")));
    assert_true(json_is_true(json_object_get(sign, "onTime")));
    assert_string_equal(json_string_value(json_object_get(reply, "dueLocal")),
                        "2026-02-28 23:59 +08:00");
    char want[24];
    snprintf(want, sizeof want, "%lld", (long long)get_clock(f, "V1", 0, REPLY).due_ms);
    assert_string_equal(json_string_value(json_object_get(reply, "dueMs")), want);
    assert_string_equal(json_string_value(json_object_get(reply, "warnLocal")),
                        "2026-02-27 23:59 +08:00");
    assert_true(json_is_true(json_object_get(reply, "running")));
    assert_null(json_object_get(reply, "onTime"));
    assert_null(json_object_get(reply, "stoppedMs"));
    json_decref(j);
    assert_int_equal(sla_clocks_json(f->sla, txn, "V9", &j), HL_ENOTFOUND);
    assert_int_equal(sla_clocks_json(f->sla, txn, "V", &j), HL_ENOTFOUND); /* not a prefix */
    /* Running clocks due before a day later: V2's sign (20 min) then reply (24 h); V1's
     * reply is due on the 28th. */
    assert_int_equal(sla_due_json(f->sla, txn, t0 + 24 * HOUR_MS + 1, 100, &j), 0);
    clocks = json_object_get(j, "clocks");
    assert_int_equal(json_array_size(clocks), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(clocks, 0), "clock")),
                        "SLA_CLOCK_SIGN");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(clocks, 1), "ticketId")), "V2");
    assert_false(json_is_true(json_object_get(j, "more")));
    json_decref(j);
    assert_int_equal(sla_due_json(f->sla, txn, INT64_MAX, 2, &j), 0);
    assert_int_equal(json_array_size(json_object_get(j, "clocks")), 2);
    assert_true(json_is_true(json_object_get(j, "more")));
    json_decref(j);
    store_read_end(&txn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_working_days_across_spring_festival, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_minutes_and_hours, setup, teardown),
        cmocka_unit_test_setup_teardown(test_natural_days_and_dropped_warning, setup_natural,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_weekend_sign_has_no_warning, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_on_time_and_late, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_without_sign_stops_both, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fire_exactly_once_at_instants, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_fire_after_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replayed_dispatch_starts_nothing_twice, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_restart_keeps_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_due_at_commit_fires_by_itself, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rework_starts_new_round, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_events_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_views, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
