/* callback's anti-fatigue cap (3 reached calls per caller in 30 days, as the service's
 * defaults): the 4th callback falling due is skipped (CallbackSkipped, the ticket closed,
 * counted, in the done list), but not a retry after an unreachable attempt or a promised time;
 * unreachable attempts are not calls; calls older than the window stop counting (the test
 * clock moved on); an incident's one call is one call, and a skipped incident call closes
 * every ticket riding on it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "callback_fixture.h"

#define PHONE "13812345678"
#define DAY_MS (24 * HOUR_MS)

/* A ticket of the caller replied a day before now: its callback is due (or skipped). */
static void due_now(fixture_t *f, const char *id, const char *phone)
{
    received(f, id, phone, "Li", false);
    replied(f, id, 0, hclock_now_ms(f->clock) - DAY_MS);
}

/* Handed out to agent (it must be next) and rated satisfied. */
static void call(fixture_t *f, const char *id, const char *agent)
{
    assert_string_equal(next_id(f, agent), id);
    assert_int_equal(record(f, id, HOTLINE__CALLBACK_OUTCOME__CALLBACK_RATED,
                            HOTLINE__RATING__RATING_SATISFIED, "", agent),
                     HOTLINE__STATUS__OK);
}

/* T1, T2 and T3 of the caller called: the cap is reached. */
static void three_calls(fixture_t *f)
{
    const char *ids[] = {"T1", "T2", "T3"};
    for (int i = 0; i < 3; i++) {
        due_now(f, ids[i], PHONE);
        call(f, ids[i], "a1");
    }
}

/* The ticket's latest callback task is in state ("skipped", "done", ...). */
static void expect_state(fixture_t *f, const char *id, const char *state)
{
    MDB_txn *txn;
    json_t *v;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(callback_ticket_view(f->cb, txn, id, &v), 0);
    store_read_end(&txn);
    json_t *last = list_item(v, json_array_size(json_object_get(v, "callbacks")) - 1);
    assert_string_equal(json_string_value(json_object_get(last, "state")), state);
    json_decref(v);
}

static void test_fourth_callback_skipped(void **state)
{
    fixture_t *f = *state;
    /* Two calls, an unreachable attempt (not a call), a third call. */
    due_now(f, "T1", PHONE);
    call(f, "T1", "a1");
    due_now(f, "T2", "+86 138-1234-5678"); /* the same caller */
    call(f, "T2", "a1");
    due_now(f, "U1", PHONE);
    assert_string_equal(next_id(f, "a1"), "U1");
    assert_int_equal(unreachable(f, "U1", "a1"), HOTLINE__STATUS__OK);
    due_now(f, "T3", PHONE);
    call(f, "T3", "a1");
    assert_int_equal(skipped(f), 0);

    /* The fourth falls due: skipped, the ticket closed. */
    uint64_t before = head(f);
    due_now(f, "T4", PHONE);
    assert_int_equal(head(f), before + 3); /* scheduled, skipped, closed */
    Hotline__Event *ev = event_at(f, before + 2);
    assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_CALLBACK_SKIPPED);
    assert_string_equal(ev->ticket_id, "T4");
    const Hotline__CallbackSkipped *cs = ev->callback_skipped;
    assert_int_equal(cs->round, 0);
    assert_string_equal(cs->unit, "water-north");
    assert_int_equal(cs->calls_in_window, 3);
    assert_int_equal(cs->window_days, 30);
    assert_string_equal(cs->reason,
                        "the caller was reached 3 times in the last 30 days (at most 3)");
    hotline__event__free_unpacked(ev, NULL);
    ev = event_at(f, before + 3);
    assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_TICKET_CLOSED);
    assert_string_equal(ev->ticket_id, "T4");
    assert_string_equal(ev->ticket_closed->reason,
                        "callback skipped: the caller was reached 3 times in the last 30 days "
                        "(at most 3)");
    hotline__event__free_unpacked(ev, NULL);
    assert_int_equal(skipped(f), 1);
    expect_state(f, "T4", "skipped");
    json_t *l = list(f, CALLBACK_LIST_DONE);
    assert_string_equal(item_str(l, 0, "ticketId"), "T4");
    assert_string_equal(item_str(l, 0, "state"), "skipped");
    assert_non_null(strstr(item_str(l, 0, "note"), "callback skipped"));
    assert_int_equal(json_integer_value(json_object_get(l, "skippedTotal")), 1);
    json_decref(l);
    expect_refusal(f, rate(f, "T4", HOTLINE__RATING__RATING_SATISFIED), HOTLINE__STATUS__CONFLICT,
                   "ticketId", "already recorded: callback skipped");

    /* Another caller is not touched; the unreachable one's retry is not capped (it was let
     * through when it first fell due). */
    due_now(f, "Q1", "13900000000");
    call(f, "Q1", "a2");
    expect_refusal(f, next(f, "a1"), HOTLINE__STATUS__NOT_FOUND, "", "1 not yet due");
    clock_advance(f, 2 * HOUR_MS);
    call(f, "U1", "a1");
    assert_int_equal(skipped(f), 1);

    /* A time the citizen asked for is kept, whatever the count. */
    received(f, "T5", PHONE, "Li", false);
    int64_t at = hclock_now_ms(f->clock) + 3 * HOUR_MS;
    assert_int_equal(promise(f, "T5", at, NULL, "asked to be called"), HOTLINE__STATUS__OK);
    replied(f, "T5", 0, hclock_now_ms(f->clock) - DAY_MS);
    clock_at(f, at);
    call(f, "T5", "a1");
    assert_int_equal(skipped(f), 1);
}

/* Calls older than the window no longer count, and are pruned. */
static void test_window_expires(void **state)
{
    fixture_t *f = *state;
    three_calls(f);
    /* 27 days later (Tuesday 22 December): still within 30 days. */
    clock_at(f, T0 + 27 * DAY_MS);
    due_now(f, "A", PHONE);
    expect_state(f, "A", "skipped");
    /* 33 days after the calls (Monday 28 December): they have aged out. */
    clock_at(f, T0 + 33 * DAY_MS);
    due_now(f, "B", PHONE);
    call(f, "B", "a1");
    due_now(f, "C", PHONE);
    call(f, "C", "a1");
    due_now(f, "D", PHONE); /* B and C: 2 calls in the window */
    call(f, "D", "a1");
    due_now(f, "E", PHONE); /* B, C, D */
    expect_state(f, "E", "skipped");
    assert_int_equal(skipped(f), 2);
    /* The caller's history holds B, C and D only: T1..T3 were pruned when the caller was
     * next looked at. */
    close_all(f);
    store_t *st;
    store_opts_t so = {.path = f->dir};
    MDB_dbi calls;
    MDB_txn *txn;
    uint64_t n = 0;
    assert_int_equal(store_open(&st, &so), 0);
    assert_int_equal(store_db(st, "calls", 0, &calls), 0);
    assert_int_equal(store_read_begin(st, &txn), 0);
    assert_int_equal(store_count(txn, calls, &n), 0);
    store_read_end(&txn);
    store_close(&st);
    assert_int_equal(n, 3);
    assert_int_equal(open_all(f), 0);
}

/* One call that settles the caller's three tickets of an incident is one call. */
static void test_incident_call_counts_once(void **state)
{
    fixture_t *f = *state;
    const char *inc[] = {"I1", "I2", "I3"};
    for (int i = 0; i < 3; i++)
        received(f, inc[i], PHONE, "Li", false);
    for (int i = 0; i < 3; i++)
        replied_in(f, inc[i], 0, T0 - DAY_MS, "INC-1");
    assert_int_equal(pending(f), 1);
    call(f, "I1", "a1");
    due_now(f, "O1", PHONE); /* would be skipped if the call counted three times */
    call(f, "O1", "a1");
    due_now(f, "O2", PHONE);
    call(f, "O2", "a1");
    due_now(f, "O3", PHONE);
    expect_state(f, "O3", "skipped");
    assert_int_equal(skipped(f), 1);
}

/* A skipped incident call closes every ticket riding on it. */
static void test_skipped_call_closes_riders(void **state)
{
    fixture_t *f = *state;
    three_calls(f);
    received(f, "J1", PHONE, "Li", false);
    received(f, "J2", PHONE, "Li", false);
    replied_in(f, "J1", 0, T0, "INC-2"); /* due tomorrow 09:00 */
    replied_in(f, "J2", 0, T0, "INC-2"); /* rides on J1's call */
    assert_int_equal(pending(f), 1);
    uint64_t before = head(f);
    clock_at(f, local_ms(2026, 11, 26, 9, 0));
    assert_int_equal(head(f), before + 3);
    const char *who[] = {"J1", "J1", "J2"};
    Hotline__Event__BodyCase what[] = {HOTLINE__EVENT__BODY_CALLBACK_SKIPPED,
                                       HOTLINE__EVENT__BODY_TICKET_CLOSED,
                                       HOTLINE__EVENT__BODY_TICKET_CLOSED};
    for (int i = 0; i < 3; i++) {
        Hotline__Event *ev = event_at(f, before + 1 + (uint64_t)i);
        assert_int_equal(ev->body_case, what[i]);
        assert_string_equal(ev->ticket_id, who[i]);
        if (what[i] == HOTLINE__EVENT__BODY_TICKET_CLOSED)
            assert_non_null(strstr(ev->ticket_closed->reason, "callback skipped: "));
        hotline__event__free_unpacked(ev, NULL);
    }
    expect_state(f, "J1", "skipped");
    assert_int_equal(pending(f), 0);
    assert_int_equal(skipped(f), 1); /* one call skipped */
    expect_refusal(f, rate(f, "J2", HOTLINE__RATING__RATING_SATISFIED), HOTLINE__STATUS__CONFLICT,
                   "ticketId", "covered by the call about ticket J1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fourth_callback_skipped, setup_capped, teardown),
        cmocka_unit_test_setup_teardown(test_window_expires, setup_capped, teardown),
        cmocka_unit_test_setup_teardown(test_incident_call_counts_once, setup_capped, teardown),
        cmocka_unit_test_setup_teardown(test_skipped_call_closes_riders, setup_capped, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
