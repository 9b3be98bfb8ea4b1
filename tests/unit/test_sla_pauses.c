/* sla's pauses and moves (sla_fixture.h drives sla in-process): a ticket linked to an
 * incident has its clocks suspended and restarted on unlink; an approved extension moves the
 * running reply clock by working days exactly once, however often its event is read; a
 * rejected one, or one for a stopped clock, moves nothing; an approved termination ends the
 * round's clocks without a verdict. */
#include "sla_fixture.h"

#define K_EXTENDED HOTLINE__EVENT__BODY_SLA_CLOCK_EXTENDED

static void linked(fx_t *f, const char *ticket, uint32_t round, int64_t at, bool unlink)
{
    Hotline__TicketLinked l = HOTLINE__TICKET_LINKED__INIT;
    l.incident_id = "INC-1";
    l.round = round;
    Hotline__TicketUnlinked u = HOTLINE__TICKET_UNLINKED__INIT;
    u.incident_id = "INC-1";
    u.unit = "water-south";
    u.round = round;
    u.category_code = "W0402";
    u.urgency = HOTLINE__URGENCY__URGENCY_VERY_URGENT;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.time_ms = at;
    ev.ticket_id = (char *)ticket;
    ev.body_case = unlink ? HOTLINE__EVENT__BODY_TICKET_UNLINKED : HOTLINE__EVENT__BODY_TICKET_LINKED;
    ev.ticket_linked = unlink ? NULL : &l;
    if (unlink)
        ev.ticket_unlinked = &u;
    apply(f, &ev);
}

/* A ticket linked to an incident follows the incident: its clocks stop without a verdict,
 * nothing warns or breaches; unlinked, the round's clocks start afresh from the unlink. */
static void test_linked_suspends_unlinked_restarts(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 11, 25, 10, 0);
    dispatched(f, "T9", "W0402", HOTLINE__URGENCY__URGENCY_VERY_URGENT, 0, t0);
    size_t stopped = count_kind(f, K_STOPPED);
    linked(f, "T9", 0, t0 + MIN_MS, false);
    assert_int_equal(running(f, SIGN), 0);
    assert_int_equal(running(f, REPLY), 0);
    assert_int_equal(gauge(f, "hotline_sla_pending_timers", NULL), 0);
    assert_int_equal(count_kind(f, K_STOPPED), stopped); /* no verdict */
    assert_true(get_clock(f, "T9", 0, SIGN).suspended);
    assert_int_equal(fire(f, t0 + 100 * HOUR_MS), 0);
    int64_t t1 = t0 + 100 * HOUR_MS;
    linked(f, "T9", 0, t1, true);
    assert_int_equal(running(f, SIGN), 1);
    sla_clock_t c = get_clock(f, "T9", 0, SIGN);
    assert_false(c.suspended);
    assert_false(c.stopped);
    assert_true(c.due_ms > t1);
    assert_string_equal(c.unit, "water-south");
    /* A late TicketReplied of the close on a still-linked ticket judges nothing. */
    linked(f, "T9", 0, t1 + MIN_MS, false);
    replied(f, "T9", 0, t1 + 2 * MIN_MS);
    assert_int_equal(count_kind(f, K_STOPPED), stopped);
}

/* A dispatch event about an extension's ruling; seq is its position in dispatch's log. */
static void extension(fx_t *f, const char *ticket, uint64_t seq, bool approved, uint32_t days,
                      int64_t at)
{
    Hotline__ExtensionReviewed x = HOTLINE__EXTENSION_REVIEWED__INIT;
    x.unit = "water-north";
    x.round = 0;
    x.approved = approved;
    x.working_days = days;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.source = "dispatch";
    ev.seq = seq;
    ev.time_ms = at;
    ev.ticket_id = (char *)ticket;
    ev.body_case = HOTLINE__EVENT__BODY_EXTENSION_REVIEWED;
    ev.extension_reviewed = &x;
    apply(f, &ev);
}

static void test_extension_moves_reply_deadline_once(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 11, 25, 10, 0); /* a Wednesday */
    dispatched(f, "E1", "W06", HOTLINE__URGENCY__URGENCY_NORMAL, 0, t0);
    signed_(f, "E1", 0, t0 + MIN_MS); /* only the reply clock is left to move */
    sla_clock_t before = get_clock(f, "E1", 0, REPLY);
    expect_local(f, before.due_ms, "2026-12-02 23:59 +08:00"); /* 5 working days */
    extension(f, "E1", 40, true, 3, t0 + HOUR_MS);
    sla_clock_t after = get_clock(f, "E1", 0, REPLY);
    expect_local(f, after.due_ms, "2026-12-07 23:59 +08:00"); /* Thu, Fri, Mon */
    expect_local(f, before.warn_ms, "2026-12-01 23:59 +08:00");
    expect_local(f, after.warn_ms, "2026-12-04 23:59 +08:00"); /* 3 working days, not a Sunday */
    assert_int_equal(count_kind(f, K_EXTENDED), 1);
    /* The same event read again (an old cursor) changes nothing; a rejected one neither. */
    extension(f, "E1", 40, true, 3, t0 + HOUR_MS);
    extension(f, "E1", 41, false, 5, t0 + 2 * HOUR_MS);
    assert_int_equal(get_clock(f, "E1", 0, REPLY).due_ms, after.due_ms);
    assert_int_equal(count_kind(f, K_EXTENDED), 1);
    /* The reminder (half of 5 working days: the end of the 2nd) moved with the deadline. */
    expect_local(f, before.reminder_ms, "2026-11-27 23:59 +08:00");
    expect_local(f, after.reminder_ms, "2026-12-02 23:59 +08:00");
    /* The old deadline passes: no breach (only the moved reminder, due at that instant); the
     * new one: exactly one, after the moved yellow card. */
    assert_int_equal(fire(f, before.due_ms + MIN_MS), 1);
    assert_int_equal(count_kind(f, K_ESCALATED), 1);
    assert_int_equal(fire(f, after.due_ms + MIN_MS), 2); /* the moved warning, the breach */
    assert_int_equal(count_kind(f, K_WARNING), 1);
    assert_int_equal(count_kind(f, K_BREACHED), 1);
    /* Once the reply stopped the clock, a later approval moves nothing. */
    dispatched(f, "E2", "W06", HOTLINE__URGENCY__URGENCY_NORMAL, 0, t0);
    replied(f, "E2", 0, t0 + HOUR_MS);
    int64_t stopped_due = get_clock(f, "E2", 0, REPLY).due_ms;
    extension(f, "E2", 42, true, 2, t0 + 2 * HOUR_MS);
    assert_int_equal(get_clock(f, "E2", 0, REPLY).due_ms, stopped_due);
    assert_int_equal(count_kind(f, K_EXTENDED), 1);
}

/* An approved termination ends the round's clocks with no verdict and nothing left to fire;
 * a rejected one leaves them running. */
static void test_termination_ends_clocks_without_verdict(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 11, 25, 10, 0);
    dispatched(f, "X1", "W06", HOTLINE__URGENCY__URGENCY_NORMAL, 0, t0);
    size_t stopped = count_kind(f, K_STOPPED);
    Hotline__TerminationReviewed r = HOTLINE__TERMINATION_REVIEWED__INIT;
    r.unit = "water-north";
    r.round = 0;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.time_ms = t0 + HOUR_MS;
    ev.ticket_id = "X1";
    ev.body_case = HOTLINE__EVENT__BODY_TERMINATION_REVIEWED;
    ev.termination_reviewed = &r;
    apply(f, &ev); /* rejected */
    assert_int_equal(running(f, REPLY), 1);
    r.approved = true;
    apply(f, &ev);
    assert_int_equal(running(f, SIGN), 0);
    assert_int_equal(running(f, REPLY), 0);
    assert_true(get_clock(f, "X1", 0, REPLY).suspended);
    assert_int_equal(count_kind(f, K_STOPPED), stopped); /* no verdict either way */
    assert_int_equal(fire(f, t0 + 30 * 24 * HOUR_MS), 0);
}

/* A hold across the yellow card's instant: nothing fires while the ticket is on hold, and on
 * resume every step not yet given moves by the working days the hold took. */
static void test_hold_across_the_warning_instant(void **state)
{
    fx_t *f = *state;
    dispatched(f, "H1", "W06", HOTLINE__URGENCY__URGENCY_NORMAL, 0, local_ms(f, 2026, 11, 25, 10, 0));
    signed_(f, "H1", 0, local_ms(f, 2026, 11, 25, 11, 0));
    assert_int_equal(fire(f, local_ms(f, 2026, 11, 28, 0, 0)), 1); /* the reminder */
    /* On hold from Mon 30 Nov 10:00. */
    hold(f, "H1", 50, false, local_ms(f, 2026, 11, 30, 10, 0));
    sla_clock_t r = get_clock(f, "H1", 0, REPLY);
    assert_true(r.paused && !r.stopped);
    assert_int_equal(r.pending, 0);
    assert_int_equal(gauge(f, "hotline_sla_pending_timers", NULL), 0);
    assert_int_equal(count_kind(f, HOTLINE__EVENT__BODY_SLA_CLOCK_PAUSED), 1);
    /* The yellow card's instant (end of Tue 1 Dec) and the deadline pass: nothing fires. */
    assert_int_equal(fire(f, local_ms(f, 2026, 12, 3, 9, 0)), 0);
    /* Resumed Thu 3 Dec 10:00: the hold took Mon, Tue and Wed, 3 working days. */
    hold(f, "H1", 51, true, local_ms(f, 2026, 12, 3, 10, 0));
    r = get_clock(f, "H1", 0, REPLY);
    assert_false(r.paused);
    expect_local(f, r.warn_ms, "2026-12-04 23:59 +08:00");
    expect_local(f, r.due_ms, "2026-12-07 23:59 +08:00");
    expect_local(f, r.red_ms, "2026-12-08 23:59 +08:00");
    expect_local(f, r.supervision_ms, "2026-12-09 23:59 +08:00");
    expect_local(f, r.reminder_ms, "2026-11-27 23:59 +08:00"); /* given: stays */
    assert_int_equal(r.pending, SLA_STEP_WARN);
    collected_t c;
    collect(f, 0, &c);
    const Hotline__SlaClockResumed *res = NULL;
    for (size_t i = 0; i < c.n; i++)
        if (c.ev[i]->body_case == HOTLINE__EVENT__BODY_SLA_CLOCK_RESUMED)
            res = c.ev[i]->sla_clock_resumed;
    assert_non_null(res);
    assert_int_equal(res->working_days, 3);
    assert_int_equal(res->due_ms, r.due_ms);
    assert_int_equal(res->paused_ms, local_ms(f, 2026, 11, 30, 10, 0));
    collected_free(&c);
    /* The held event read again (an old cursor) pauses nothing. */
    hold(f, "H1", 50, false, local_ms(f, 2026, 11, 30, 10, 0));
    assert_false(get_clock(f, "H1", 0, REPLY).paused);
    assert_int_equal(fire(f, local_ms(f, 2026, 12, 4, 12, 0)), 0);
    assert_int_equal(fire(f, local_ms(f, 2026, 12, 5, 0, 0)), 1); /* the moved yellow card */
    assert_int_equal(count_kind(f, K_WARNING), 1);
    replied(f, "H1", 0, local_ms(f, 2026, 12, 7, 18, 0));
    assert_true(get_clock(f, "H1", 0, REPLY).on_time); /* by the moved deadline */
}

/* Replied while on hold (sla applies what dispatch says): the hold ends at the reply and the
 * verdict is against the moved deadline. A limit in hours moves by the hold's length. */
static void test_stop_while_on_hold(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 11, 25, 10, 0);
    dispatched(f, "H2", "W01", HOTLINE__URGENCY__URGENCY_URGENT, 0, t0); /* 1 h / 24 h */
    hold(f, "H2", 60, false, t0 + 30 * MIN_MS);
    assert_true(get_clock(f, "H2", 0, SIGN).paused);
    assert_int_equal(fire(f, t0 + 10 * HOUR_MS), 0);
    hold(f, "H2", 61, true, t0 + 2 * HOUR_MS + 30 * MIN_MS); /* a 2-hour hold */
    sla_clock_t s = get_clock(f, "H2", 0, SIGN);
    assert_int_equal(s.due_ms, t0 + 3 * HOUR_MS);
    assert_int_equal(get_clock(f, "H2", 0, REPLY).due_ms, t0 + 26 * HOUR_MS);
    signed_(f, "H2", 0, t0 + 2 * HOUR_MS + 45 * MIN_MS);
    assert_true(get_clock(f, "H2", 0, SIGN).on_time);
    /* On hold again, replied without a resume: resumed at the reply, judged against that. */
    hold(f, "H2", 62, false, t0 + 4 * HOUR_MS);
    replied(f, "H2", 0, t0 + 40 * HOUR_MS);
    sla_clock_t r = get_clock(f, "H2", 0, REPLY);
    assert_true(r.stopped && !r.paused);
    assert_int_equal(r.due_ms, t0 + 62 * HOUR_MS); /* 26 h + the 36 h of the second hold */
    assert_true(r.on_time);
    assert_int_equal(fire(f, t0 + 200 * HOUR_MS), 0);
    assert_int_equal(gauge(f, "hotline_sla_pending_timers", NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_linked_suspends_unlinked_restarts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_extension_moves_reply_deadline_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_termination_ends_clocks_without_verdict, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_hold_across_the_warning_instant, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_while_on_hold, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
