/* The clocks a policy runs beyond sign and reply (sla_fixture.h drives sla in-process): the
 * response clock (first contact) and the callback clock (reply to the callback's outcome), the
 * rework limit of a later round, policies keyed by appeal type and channel, limit anchors, and
 * the policy's return window and extension limit stamped on the reply clock for dispatch. */
#include "sla_fixture.h"

static int setup_policies(void **state)
{
    return setup_with(
        state,
        "{\"policies\": ["
        " {\"name\": \"d\", \"sign\": {\"value\": 1, \"unit\": \"DURATION_WORKING_DAYS\"},"
        "  \"reply\": {\"value\": 5, \"unit\": \"DURATION_WORKING_DAYS\"},"
        "  \"response\": {\"value\": 2, \"unit\": \"DURATION_HOURS\"},"
        "  \"rework\": {\"value\": 3, \"unit\": \"DURATION_WORKING_DAYS\"},"
        "  \"callback\": {\"value\": 1, \"unit\": \"DURATION_WORKING_DAYS\"},"
        "  \"returnWindow\": {\"value\": 2, \"unit\": \"DURATION_WORKING_DAYS\"},"
        "  \"extensionMaxWorkingDays\": 10},"
        /* Guangdong 2022, handling by type: complaints in 15 working days. */
        " {\"name\": \"complaint\", \"appealType\": \"APPEAL_COMPLAINT\","
        "  \"sign\": {\"value\": 1, \"unit\": \"DURATION_WORKING_DAYS\"},"
        "  \"reply\": {\"value\": 15, \"unit\": \"DURATION_WORKING_DAYS\"},"
        "  \"extensionMaxWorkingDays\": 5},"
        /* The provincial platform's tickets: signed for by the end of the same working day. */
        " {\"name\": \"provincial\", \"channel\": \"CHANNEL_PROVINCIAL_PLATFORM\","
        "  \"sign\": {\"value\": 2, \"unit\": \"DURATION_HOURS\","
        "            \"anchor\": \"ANCHOR_END_OF_SAME_WORKING_DAY\"},"
        "  \"reply\": {\"value\": 1, \"unit\": \"DURATION_NATURAL_DAYS\","
        "             \"anchor\": \"ANCHOR_END_OF_NEXT_WORKING_DAY\"}},"
        /* A water complaint: the prefix beats the appeal type. */
        " {\"name\": \"water\", \"categoryPrefix\": \"W\","
        "  \"sign\": {\"value\": 1, \"unit\": \"DURATION_HOURS\"},"
        "  \"reply\": {\"value\": 24, \"unit\": \"DURATION_HOURS\"}}"
        "]}");
}

/* A ticket of category cat, with an appeal type and a channel, dispatched at at. */
static void dispatched_with(fx_t *f, const char *ticket, const char *cat, Hotline__AppealType a,
                            Hotline__Channel ch, int64_t at)
{
    dispatched_as(f, ticket, cat, HOTLINE__URGENCY__URGENCY_UNSPECIFIED, 0, a, ch, at);
}

static void test_response_rework_and_callback_clocks(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 11, 25, 10, 0);
    dispatched_with(f, "C1", "X01", 0, 0, t0);
    sla_clock_t resp = get_clock(f, "C1", 0, RESPONSE);
    assert_int_equal(resp.due_ms, t0 + 2 * HOUR_MS);
    assert_string_equal(resp.policy, "d");
    assert_int_equal(running(f, RESPONSE), 1);
    /* The first contact stops it, on time; a reply stops the rest and starts the callback
     * clock from the reply. */
    contacted(f, "C1", 0, t0 + 90 * MIN_MS);
    resp = get_clock(f, "C1", 0, RESPONSE);
    assert_true(resp.stopped && resp.on_time);
    signed_(f, "C1", 0, t0 + HOUR_MS);
    replied(f, "C1", 0, local_ms(f, 2026, 11, 27, 15, 0));
    sla_clock_t cb = get_clock(f, "C1", 0, CALLBACK);
    expect_local(f, cb.due_ms, "2026-11-30 23:59 +08:00"); /* the working day after Friday */
    assert_false(cb.stopped);
    /* Rated unsatisfied after the deadline: the callback was late; rework round 1 runs on the
     * rework limit, 3 working days, not the reply's 5. */
    rated(f, "C1", 0, local_ms(f, 2026, 12, 1, 10, 0));
    cb = get_clock(f, "C1", 0, CALLBACK);
    assert_true(cb.stopped && !cb.on_time);
    reopened(f, "C1", "water-north", 1, local_ms(f, 2026, 12, 1, 11, 0));
    sla_clock_t r1 = get_clock(f, "C1", 1, REPLY);
    expect_local(f, r1.due_ms, "2026-12-04 23:59 +08:00");
    assert_string_equal(r1.limit, "3 working days");
    assert_int_equal(get_clock(f, "C1", 1, RESPONSE).due_ms,
                     local_ms(f, 2026, 12, 1, 13, 0)); /* a new response clock per round */
    /* A reply without a contact stops the response clock too (a reply is a contact). */
    replied(f, "C1", 1, local_ms(f, 2026, 12, 2, 9, 0));
    assert_true(get_clock(f, "C1", 1, RESPONSE).stopped);
    assert_false(get_clock(f, "C1", 1, RESPONSE).on_time);
    assert_int_equal(running(f, RESPONSE), 0);
    assert_int_equal(running(f, CALLBACK), 1); /* round 1's */
}

static void test_appeal_type_channel_and_anchors(void **state)
{
    fx_t *f = *state;
    int64_t fri = local_ms(f, 2026, 11, 27, 17, 0);
    /* A complaint: 15 working days, by the appeal type. */
    dispatched_with(f, "A1", "X01", HOTLINE__APPEAL_TYPE__APPEAL_COMPLAINT, 0, fri);
    sla_clock_t r = get_clock(f, "A1", 0, REPLY);
    assert_string_equal(r.policy, "complaint");
    expect_local(f, r.due_ms, "2026-12-18 23:59 +08:00");
    /* A water complaint: the longer prefix wins over the named appeal type. */
    dispatched_with(f, "A2", "W01", HOTLINE__APPEAL_TYPE__APPEAL_COMPLAINT, 0, fri);
    assert_string_equal(get_clock(f, "A2", 0, REPLY).policy, "water");
    /* From the provincial platform: 2 hours, then the end of that working day (Friday 19:00
     * -> Friday 23:59); 1 natural day, then the end of the next working day (Saturday 17:00
     * falls on a day off: Monday is "that" working day, Tuesday the next). */
    dispatched_with(f, "P1", "X01", 0, HOTLINE__CHANNEL__CHANNEL_PROVINCIAL_PLATFORM, fri);
    sla_clock_t s = get_clock(f, "P1", 0, SIGN);
    assert_string_equal(s.policy, "provincial");
    expect_local(f, s.due_ms, "2026-11-27 23:59 +08:00");
    assert_string_equal(s.limit, "2 hours, by the end of that working day");
    expect_local(f, get_clock(f, "P1", 0, REPLY).due_ms, "2026-12-01 23:59 +08:00");
    /* On a Saturday the same-day anchor is Monday's end. */
    dispatched_with(f, "P2", "X01", 0, HOTLINE__CHANNEL__CHANNEL_PROVINCIAL_PLATFORM,
                  local_ms(f, 2026, 11, 28, 10, 0));
    expect_local(f, get_clock(f, "P2", 0, SIGN).due_ms, "2026-11-30 23:59 +08:00");
}

/* The reply clock's start carries what dispatch enforces by the policy, and the policy
 * table's edition. */
static void test_reply_clock_carries_the_policy_limits(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 11, 25, 10, 0);
    uint64_t h = head(f);
    dispatched_with(f, "L1", "X01", 0, 0, t0);
    dispatched_with(f, "L2", "X01", HOTLINE__APPEAL_TYPE__APPEAL_COMPLAINT, 0, t0);
    collected_t c;
    collect(f, h, &c);
    size_t replies = 0;
    for (size_t i = 0; i < c.n; i++) {
        const Hotline__SlaClockStarted *st = c.ev[i]->sla_clock_started;
        if (c.ev[i]->body_case != K_STARTED || st->clock != REPLY)
            continue;
        replies++;
        assert_int_equal(st->policy_version, 0); /* the configuration's table */
        if (strcmp(c.ev[i]->ticket_id, "L1") == 0) {
            expect_local(f, st->return_until_ms, "2026-11-27 23:59 +08:00");
            assert_int_equal(st->extension_max_working_days, 10);
        } else {
            assert_int_equal(st->return_until_ms, 0); /* none: dispatch's own window */
            assert_int_equal(st->extension_max_working_days, 5);
        }
    }
    collected_free(&c);
    assert_int_equal(replies, 2);
}

/* Every clock of the round, the response clock included, pauses for a hold and ends without a
 * verdict on an approved termination: nothing fires for a terminated ticket. */
static void test_response_clock_pauses_and_ends_with_the_round(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 11, 25, 10, 0);
    dispatched_with(f, "R1", "X01", 0, 0, t0);
    Hotline__TicketHeld h = HOTLINE__TICKET_HELD__INIT;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.source = "dispatch";
    ev.seq = 5;
    ev.time_ms = t0 + 30 * MIN_MS;
    ev.ticket_id = "R1";
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_HELD;
    ev.ticket_held = &h;
    apply(f, &ev);
    assert_true(get_clock(f, "R1", 0, RESPONSE).paused);
    assert_int_equal(fire(f, t0 + 5 * HOUR_MS), 0); /* its 2 hours pass on hold */
    Hotline__TerminationReviewed r = HOTLINE__TERMINATION_REVIEWED__INIT;
    r.approved = true;
    ev.seq = 6;
    ev.time_ms = t0 + 6 * HOUR_MS;
    ev.body_case = HOTLINE__EVENT__BODY_TERMINATION_REVIEWED;
    ev.termination_reviewed = &r;
    apply(f, &ev);
    sla_clock_t c = get_clock(f, "R1", 0, RESPONSE);
    assert_true(c.stopped && c.suspended && !c.paused);
    assert_int_equal(running(f, RESPONSE), 0);
    assert_int_equal(fire(f, t0 + 30 * 24 * HOUR_MS), 0);
    assert_int_equal(count_kind(f, K_STOPPED), 0); /* no verdict for any of its clocks */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_response_rework_and_callback_clocks,
                                        setup_policies, teardown),
        cmocka_unit_test_setup_teardown(test_appeal_type_channel_and_anchors, setup_policies,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reply_clock_carries_the_policy_limits,
                                        setup_policies, teardown),
        cmocka_unit_test_setup_teardown(test_response_clock_pauses_and_ends_with_the_round,
                                        setup_policies, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
