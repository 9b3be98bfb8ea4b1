/* callback: scheduling on the working day after a reply (across weekends, holidays and make-up
 * days), no double scheduling on replay, tasks held on the shared scheduler until their instant
 * (never handed out early, cancelled with the task, kept across a restart), and the agents'
 * queue of due tasks (earliest due first, claims that keep a task from a second agent until
 * they lapse, contacts arriving after the reply). Outcomes: test_callback_outcome.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "callback_fixture.h"

static void test_schedule_next_working_day(void **state)
{
    fixture_t *f = *state;
    /* Friday 17:00 -> Monday 09:00 local. */
    replied(f, "20261127-1-000001", 0, local_ms(2026, 11, 27, 17, 0));
    assert_int_equal(head(f), 1);
    Hotline__Event *ev = event_at(f, 1);
    assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_CALLBACK_SCHEDULED);
    assert_string_equal(ev->source, "callback");
    assert_string_equal(ev->ticket_id, "20261127-1-000001");
    assert_int_equal(ev->callback_scheduled->due_ms, local_ms(2026, 11, 30, 9, 0));
    assert_int_equal(ev->callback_scheduled->due_ms, 1796000400000LL);
    assert_int_equal(ev->callback_scheduled->round, 0);
    assert_string_equal(ev->callback_scheduled->unit, "water-north");
    hotline__event__free_unpacked(ev, NULL);

    /* Before National Day (1-7 Oct 2026 off): Wednesday 30 Sep -> Thursday 8 Oct. A reply on
     * Friday 9 Oct -> the make-up working Saturday 10 Oct. A reply at 23:30 local is still
     * that day (15:30 UTC). */
    replied(f, "20260930-1-000002", 0, local_ms(2026, 9, 30, 10, 0));
    replied(f, "20261009-1-000003", 0, local_ms(2026, 10, 9, 23, 30));
    ev = event_at(f, 2);
    assert_int_equal(ev->callback_scheduled->due_ms, local_ms(2026, 10, 8, 9, 0));
    hotline__event__free_unpacked(ev, NULL);
    ev = event_at(f, 3);
    assert_int_equal(ev->callback_scheduled->due_ms, local_ms(2026, 10, 10, 9, 0));
    hotline__event__free_unpacked(ev, NULL);
    assert_int_equal(pending(f), 3);
}

static void test_replay_schedules_once(void **state)
{
    fixture_t *f = *state;
    replied(f, "T-1", 0, local_ms(2026, 11, 25, 11, 0));
    replied(f, "T-1", 0, local_ms(2026, 11, 25, 11, 0));
    replied(f, "T-1", 0, local_ms(2026, 11, 25, 12, 0)); /* the same round, sent again */
    assert_int_equal(head(f), 1);
    assert_int_equal(pending(f), 1);
    /* Contacts replayed are harmless too. */
    received(f, "T-1", "13812345678", "Li", false);
    received(f, "T-1", "13812345678", "Li", false);
    assert_int_equal(scheduled(f, NULL), 1);
    clock_at(f, local_ms(2026, 11, 26, 9, 0));
    assert_string_equal(next_id(f, "a1"), "T-1");
    assert_int_equal(head(f), 2); /* scheduled once, and a1's claim */
    /* An event with no usable ticket id is skipped, not fatal. */
    replied(f, "", 0, T0);
    assert_int_equal(head(f), 2);
}

/* ---- the scheduler ---- */

/* A task waits on the scheduler and is handed out only once its instant has come. */
static void test_not_due_until_its_instant(void **state)
{
    fixture_t *f = *state;
    int64_t due = local_ms(2026, 11, 26, 9, 0);
    replied(f, "T-wait", 0, local_ms(2026, 11, 25, 11, 0));
    received(f, "T-wait", "13812345678", "Li", false);
    assert_int_equal(pending(f), 1);
    assert_int_equal(scheduled(f, NULL), 1);
    expect_refusal(f, next(f, "a1"), HOTLINE__STATUS__NOT_FOUND, "", "no callbacks waiting");
    assert_non_null(
        strstr(f->reply->message, "1 not yet due, the next at 2026-11-26 09:00 +08:00"));
    json_t *l = list(f, CALLBACK_LIST_DUE);
    assert_int_equal(json_integer_value(json_object_get(l, "count")), 0);
    json_decref(l);
    /* Not a rating either: nobody could have taken it. */
    expect_refusal(f,
                   record(f, "T-wait", HOTLINE__CALLBACK_OUTCOME__CALLBACK_RATED,
                          HOTLINE__RATING__RATING_SATISFIED, "", "a1"),
                   HOTLINE__STATUS__CONFLICT, "ticketId", "not claimed by agent a1");

    clock_at(f, due - 2000); /* the settable clock runs on meanwhile */
    expect_refusal(f, next(f, "a1"), HOTLINE__STATUS__NOT_FOUND, "", "1 not yet due");
    clock_at(f, due);
    assert_int_equal(scheduled(f, NULL), 0);
    assert_string_equal(next_id(f, "a1"), "T-wait");
    assert_true(f->reply->callback_task->due);
    assert_int_equal(f->reply->callback_task->due_ms, due);
    assert_int_equal(record(f, "T-wait", HOTLINE__CALLBACK_OUTCOME__CALLBACK_RATED,
                            HOTLINE__RATING__RATING_SATISFIED, "", "a1"),
                     HOTLINE__STATUS__OK);
    assert_int_equal(pending(f), 0);
    l = list(f, CALLBACK_LIST_DUE);
    assert_int_equal(json_integer_value(json_object_get(l, "count")), 0);
    json_decref(l);
}

/* A task that ends before it is due leaves the scheduler: nothing fires for it later. */
static void test_cancel_leaves_the_scheduler(void **state)
{
    fixture_t *f = *state;
    replied(f, "T-c", 0, local_ms(2026, 11, 25, 11, 0));
    received(f, "T-c", "13812345678", "Li", false);
    assert_int_equal(scheduled(f, NULL), 1);
    reopened(f, "T-c", 1);
    assert_int_equal(scheduled(f, NULL), 0);
    assert_int_equal(pending(f), 0);
    /* Round 1's reply schedules round 1; round 2's supersedes it before it is due. */
    replied(f, "T-c", 1, local_ms(2026, 11, 25, 12, 0));
    replied(f, "T-c", 2, local_ms(2026, 11, 26, 12, 0));
    assert_int_equal(scheduled(f, NULL), 1);
    clock_at(f, local_ms(2026, 11, 27, 9, 0));
    assert_int_equal(scheduled(f, NULL), 0);
    assert_string_equal(next_id(f, "a1"), "T-c");
    assert_int_equal(f->reply->callback_task->round, 2);
    expect_refusal(f, next(f, "a2"), HOTLINE__STATUS__NOT_FOUND, "", "1 held by other agents");
}

/* What is scheduled survives a restart (the store is all there is), and a queue that holds a
 * task before its instant (the clock was set back) gives it back to the scheduler. */
static void test_restart_keeps_the_schedule(void **state)
{
    fixture_t *f = *state;
    int64_t due = local_ms(2026, 11, 26, 9, 0);
    replied(f, "T-s", 0, local_ms(2026, 11, 25, 11, 0));
    received(f, "T-s", "13812345678", "Li", false);
    close_all(f);
    assert_int_equal(open_all(f), 0);
    assert_int_equal(scheduled(f, NULL), 1);
    expect_refusal(f, next(f, "a1"), HOTLINE__STATUS__NOT_FOUND, "", "1 not yet due");
    /* Stopped before its instant, started after it: it fires at start. */
    close_all(f);
    hclock_set_ms(f->clock, due + HOUR_MS);
    assert_int_equal(open_all(f), 0);
    settle(f);
    assert_int_equal(scheduled(f, NULL), 0);
    assert_int_equal(pending(f), 1);
    /* Started again with the clock before its instant: back to waiting. */
    close_all(f);
    hclock_set_ms(f->clock, due - HOUR_MS);
    assert_int_equal(open_all(f), 0);
    assert_int_equal(scheduled(f, NULL), 1);
    expect_refusal(f, next(f, "a1"), HOTLINE__STATUS__NOT_FOUND, "", "1 not yet due");
    clock_at(f, due);
    assert_string_equal(next_id(f, "a1"), "T-s");
    assert_int_equal(f->reply->callback_task->due_ms, due);
}

/* ---- the agents' queue ---- */

static void test_next_order_and_claims(void **state)
{
    fixture_t *f = *state;
    /* Due Thu 26, Fri 27 and Mon 30 Nov at 09:00; replied out of due order. */
    replied(f, "T-fri", 0, local_ms(2026, 11, 26, 15, 0));
    replied(f, "T-mon", 0, local_ms(2026, 11, 27, 15, 0));
    replied(f, "T-thu", 0, local_ms(2026, 11, 25, 15, 0));
    received(f, "T-thu", "13812345678", "Wang Fang", false);
    received(f, "T-fri", "13900001111", "", true);
    received(f, "T-mon", "021-5555-0101", "Zhao", false);

    /* Now is Wednesday 10:00: nothing is due yet, so nothing is handed out. */
    expect_refusal(f, next(f, "a1"), HOTLINE__STATUS__NOT_FOUND, "", "no callbacks waiting");
    assert_non_null(strstr(f->reply->message, "3 not yet due, the next at 2026-11-26 09:00"));
    assert_int_equal(scheduled(f, NULL), 3);

    /* Thursday 09:00: the first is due, and only that one. */
    clock_at(f, local_ms(2026, 11, 26, 9, 0));
    assert_int_equal(scheduled(f, NULL), 2);
    assert_string_equal(next_id(f, "a1"), "T-thu");
    Hotline__CallbackTask *ct = f->reply->callback_task;
    assert_true(ct->due);
    assert_int_equal(ct->due_ms, local_ms(2026, 11, 26, 9, 0));
    assert_string_equal(ct->phone, "13812345678"); /* the agent must dial it */
    assert_string_equal(ct->name, "Wang Fang");
    assert_string_equal(ct->unit, "water-north");
    assert_string_equal(ct->reply_text, "main repaired, supply restored at 16:40");
    assert_int_equal(ct->round, 0);
    assert_int_equal(ct->attempts, 0);
    expect_refusal(f, next(f, "a2"), HOTLINE__STATUS__NOT_FOUND, "", "1 held by other agents");

    /* Monday 09:00 (past the weekend): all three are due, earliest first. A second agent does
     * not get a claimed task; asking again returns the one held. */
    clock_at(f, local_ms(2026, 11, 30, 9, 0));
    assert_int_equal(scheduled(f, NULL), 0);
    assert_string_equal(next_id(f, "a2"), "T-thu"); /* a1's claim lapsed over the weekend */
    assert_string_equal(next_id(f, "a1"), "T-fri");
    assert_string_equal(f->reply->callback_task->name, ""); /* anonymous caller */
    assert_string_equal(next_id(f, "a2"), "T-thu");
    assert_string_equal(next_id(f, "a3"), "T-mon");
    expect_refusal(f, next(f, "a4"), HOTLINE__STATUS__NOT_FOUND, "", "no callbacks waiting");
    assert_non_null(strstr(f->reply->message, "3 held by other agents"));
    assert_non_null(strstr(f->reply->message, "0 not yet due)"));
    /* A claimed task cannot be recorded by someone else while the claim holds. */
    expect_refusal(f, rate(f, "T-thu", HOTLINE__RATING__RATING_SATISFIED),
                   HOTLINE__STATUS__CONFLICT, "agent", "another agent is calling ticket T-thu");
    json_t *l = list(f, CALLBACK_LIST_DUE);
    json_t *first = json_array_get(json_object_get(l, "callbacks"), 0);
    assert_string_equal(json_string_value(json_object_get(first, "ticketId")), "T-thu");
    assert_string_equal(json_string_value(json_object_get(first, "claimedBy")), "a2");
    json_decref(l);

    /* Claims lapse after claimMinutes: the tasks go round again, earliest first. */
    clock_advance(f, 16 * MIN_MS);
    assert_string_equal(next_id(f, "a4"), "T-thu");
    assert_string_equal(next_id(f, "a1"), "T-fri"); /* still a1's: nobody took it */
    expect_refusal(f, rate(f, "T-thu", HOTLINE__RATING__RATING_SATISFIED),
                   HOTLINE__STATUS__CONFLICT, "agent", "another agent is calling ticket T-thu");
    clock_advance(f, 14 * MIN_MS);
    assert_string_equal(next_id(f, "a2"), "T-mon"); /* a4 and a1 still hold theirs */
}

static void test_contact_arrives_after_reply(void **state)
{
    fixture_t *f = *state;
    /* The dispatch feed ran ahead of the intake feed. */
    replied(f, "T-late", 0, local_ms(2026, 11, 24, 15, 0));
    expect_refusal(f, next(f, "a1"), HOTLINE__STATUS__NOT_FOUND, "",
                   "1 waiting for the caller's contact");
    received(f, "T-late", "13700002222", "Chen", false);
    assert_string_equal(next_id(f, "a1"), "T-late");
    assert_string_equal(f->reply->callback_task->phone, "13700002222");
    assert_true(f->reply->callback_task->due); /* due Wed 25 09:00, now 10:00 */
}

/* ---- outcomes ---- */

/* One person, two agents: while an agent is calling a caller (two tickets from the same number,
 * written differently), no other agent is handed that caller's other ticket; once the call is
 * recorded, or the claim lapses, the other ticket goes out. */
static void test_one_agent_per_person(void **state)
{
    fixture_t *f = *state;
    replied(f, "P-1", 0, local_ms(2026, 11, 24, 15, 0));
    replied(f, "P-2", 0, local_ms(2026, 11, 24, 16, 0));
    replied(f, "Q-1", 0, local_ms(2026, 11, 24, 17, 0));
    received(f, "P-1", "13812340001", "Zhao", false);
    received(f, "P-2", "+86 138-1234-0001", "Zhao", false); /* the same person */
    received(f, "Q-1", "13912340002", "Qian", false);
    clock_at(f, local_ms(2026, 11, 25, 9, 0));
    assert_string_equal(next_id(f, "a1"), "P-1");
    /* a2 is passed over P-2 (a1 is calling Zhao) and gets Qian's. */
    assert_string_equal(next_id(f, "a2"), "Q-1");
    expect_refusal(f, next(f, "a3"), HOTLINE__STATUS__NOT_FOUND, "",
                   "1 for a caller another agent is calling");
    /* a1 records the call: Zhao is free again, and P-2 goes to a3. */
    assert_int_equal(record(f, "P-1", HOTLINE__CALLBACK_OUTCOME__CALLBACK_RATED,
                            HOTLINE__RATING__RATING_SATISFIED, "ok", "a1"),
                     HOTLINE__STATUS__OK);
    assert_string_equal(next_id(f, "a3"), "P-2");
    /* A lapsed claim frees the person as well: a4 gets nothing while a3 holds Zhao... */
    replied(f, "P-3", 0, local_ms(2026, 11, 24, 18, 0));
    received(f, "P-3", "13812340001", "Zhao", false);
    clock_at(f, local_ms(2026, 11, 25, 9, 1));
    expect_refusal(f, next(f, "a4"), HOTLINE__STATUS__NOT_FOUND, "",
                   "for a caller another agent is calling");
    /* ...and once a3's claim has lapsed (claimMinutes), P-2 or P-3 goes to a4. */
    clock_at(f, local_ms(2026, 11, 25, 10, 0));
    const char *got = next_id(f, "a4");
    assert_true(strcmp(got, "P-2") == 0 || strcmp(got, "P-3") == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_schedule_next_working_day, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_schedules_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_due_until_its_instant, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_leaves_the_scheduler, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_keeps_the_schedule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_next_order_and_claims, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contact_arrives_after_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_agent_per_person, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
