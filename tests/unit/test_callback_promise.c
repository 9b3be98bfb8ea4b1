/* callback's promised callbacks (PromiseCallback): a time agreed with the citizen moves the
 * pending callback there (out of the queue, its claim released, on the scheduler), earlier or
 * later than the policy's; given before the unit replies it is kept and applied when the reply
 * comes (unless its instant has passed by then), and handed on when a reopening cancels the
 * callback; refusals name the field. The queue by priority: test_callback_queue.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "callback_fixture.h"

/* The last event of the log, which must be a CallbackPromised (free it). */
static Hotline__Event *last_promised(fixture_t *f)
{
    Hotline__Event *ev = event_at(f, head(f));
    assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_CALLBACK_PROMISED);
    return ev;
}

/* A due callback, taken by an agent who hears "call me after 18:00": not handed out before,
 * handed out (to anyone) at 18:00 with the promise. */
static void test_promise_moves_a_due_callback(void **state)
{
    fixture_t *f = *state;
    int64_t at = local_ms(2026, 11, 25, 18, 0);
    received(f, "T-p", "13812345678", "Li", false);
    replied(f, "T-p", 0, local_ms(2026, 11, 24, 15, 0)); /* due today 09:00 */
    assert_string_equal(next_id(f, "a1"), "T-p");
    assert_int_equal(promise(f, "T-p", at, NULL, "busy at work, call 138-1234-5678 after six"),
                     HOTLINE__STATUS__OK);
    Hotline__CallbackTask *ct = f->reply->callback_task;
    assert_int_equal(ct->due_ms, at);
    assert_int_equal(ct->promised_ms, at);
    assert_false(ct->due);
    assert_false(ct->awaiting_reply);
    assert_string_equal(ct->phone, ""); /* the answer is not a hand-out: masked, no phone */
    assert_null(strstr(ct->promise_note, "1234-5678"));
    Hotline__Event *ev = last_promised(f);
    assert_string_equal(ev->ticket_id, "T-p");
    assert_int_equal(ev->callback_promised->at_ms, at);
    assert_int_equal(ev->callback_promised->round, 0);
    assert_string_equal(ev->callback_promised->by, "operator:op-1");
    assert_false(ev->callback_promised->before_reply);
    assert_null(strstr(ev->callback_promised->note, "1234-5678")); /* masked in the log */
    assert_non_null(strstr(ev->callback_promised->note, "5678 after six"));
    hotline__event__free_unpacked(ev, NULL);

    /* Out of the queue and a1's claim released: nobody is handed it before 18:00. */
    json_t *l = list(f, CALLBACK_LIST_DUE);
    assert_int_equal(json_integer_value(json_object_get(l, "count")), 0);
    json_decref(l);
    expect_refusal(f, next(f, "a1"), HOTLINE__STATUS__NOT_FOUND, "",
                   "1 not yet due, the next at 2026-11-25 18:00 +08:00");
    expect_refusal(f,
                   record(f, "T-p", HOTLINE__CALLBACK_OUTCOME__CALLBACK_RATED,
                          HOTLINE__RATING__RATING_SATISFIED, "", "a1"),
                   HOTLINE__STATUS__CONFLICT, "ticketId", "not claimed by agent a1");
    l = list(f, CALLBACK_LIST_PENDING);
    assert_string_equal(item_str(l, 0, "promisedMs"), "1795600800000");
    assert_string_equal(item_str(l, 0, "promisedBy"), "operator:op-1");
    assert_null(strstr(item_str(l, 0, "promiseNote"), "1234-5678"));
    json_decref(l);
    clock_at(f, at - 60000);
    expect_refusal(f, next(f, "a2"), HOTLINE__STATUS__NOT_FOUND, "", "1 not yet due");
    clock_at(f, at);
    assert_string_equal(next_id(f, "a2"), "T-p");
    ct = f->reply->callback_task;
    assert_true(ct->due);
    assert_int_equal(ct->promised_ms, at);
    assert_string_equal(ct->promise_note, "busy at work, call 138-1234-5678 after six");
    assert_int_equal(rate(f, "T-p", HOTLINE__RATING__RATING_SATISFIED), HOTLINE__STATUS__CONFLICT);
    assert_int_equal(record(f, "T-p", HOTLINE__CALLBACK_OUTCOME__CALLBACK_RATED,
                            HOTLINE__RATING__RATING_SATISFIED, "", "a2"),
                     HOTLINE__STATUS__OK);
}

/* The promise wins over the policy's time, also when it is earlier; at is RFC 3339 text. */
static void test_promise_earlier_than_policy(void **state)
{
    fixture_t *f = *state;
    received(f, "T-e", "13812345678", "Li", false);
    replied(f, "T-e", 0, local_ms(2026, 11, 25, 9, 30)); /* policy: tomorrow 09:00 */
    assert_int_equal(promise(f, "T-e", 0, "2026-11-25T07:30:00Z", NULL), HOTLINE__STATUS__OK);
    assert_int_equal(f->reply->callback_task->due_ms, local_ms(2026, 11, 25, 15, 30));
    clock_at(f, local_ms(2026, 11, 25, 15, 30));
    assert_string_equal(next_id(f, "a1"), "T-e");
    /* A second promise replaces the first (and another RFC 3339 spelling). */
    assert_int_equal(promise(f, "T-e", 0, "2026-11-26 08:15:30.5+08:00", "second thoughts"),
                     HOTLINE__STATUS__OK);
    assert_int_equal(f->reply->callback_task->due_ms, local_ms(2026, 11, 26, 8, 15) + 30500);
    expect_refusal(f, next(f, "a1"), HOTLINE__STATUS__NOT_FOUND, "", "1 not yet due");
}

/* Before the reply: kept, then the callback is scheduled for it. */
static void test_promise_before_reply(void **state)
{
    fixture_t *f = *state;
    int64_t at = local_ms(2026, 11, 27, 19, 0); /* Friday evening */
    received(f, "T-b", "13812345678", "Li", false);
    assert_int_equal(promise(f, "T-b", at, NULL, "after dinner"), HOTLINE__STATUS__OK);
    Hotline__CallbackTask *ct = f->reply->callback_task;
    assert_true(ct->awaiting_reply);
    assert_int_equal(ct->promised_ms, at);
    assert_int_equal(ct->due_ms, 0);
    Hotline__Event *ev = last_promised(f);
    assert_true(ev->callback_promised->before_reply);
    assert_string_equal(ev->ticket_id, "T-b");
    hotline__event__free_unpacked(ev, NULL);
    assert_int_equal(pending(f), 0);

    replied(f, "T-b", 0, local_ms(2026, 11, 25, 11, 0)); /* policy: Thursday 09:00 */
    ev = event_at(f, head(f));
    assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_CALLBACK_SCHEDULED);
    assert_int_equal(ev->callback_scheduled->due_ms, at);
    hotline__event__free_unpacked(ev, NULL);
    clock_at(f, local_ms(2026, 11, 26, 9, 0));
    expect_refusal(f, next(f, "a1"), HOTLINE__STATUS__NOT_FOUND, "", "1 not yet due");
    clock_at(f, at);
    assert_string_equal(next_id(f, "a1"), "T-b");
    assert_int_equal(f->reply->callback_task->promised_ms, at);
    assert_string_equal(f->reply->callback_task->promise_note, "after dinner");
}

/* Promised for Thursday 08:00, replied Thursday 10:00: the policy's Friday 09:00 (the
 * citizen's "after" has passed); the promise is used up either way. */
static void test_promise_passed_before_reply(void **state)
{
    fixture_t *f = *state;
    received(f, "T-late", "13912345678", "Wang", false);
    assert_int_equal(promise(f, "T-late", local_ms(2026, 11, 26, 8, 0), NULL, ""),
                     HOTLINE__STATUS__OK);
    replied(f, "T-late", 0, local_ms(2026, 11, 26, 10, 0));
    Hotline__Event *ev = event_at(f, head(f));
    assert_int_equal(ev->callback_scheduled->due_ms, local_ms(2026, 11, 27, 9, 0));
    hotline__event__free_unpacked(ev, NULL);
    reopened(f, "T-late", 1);
    replied(f, "T-late", 1, local_ms(2026, 11, 30, 10, 0));
    ev = event_at(f, head(f));
    assert_int_equal(ev->callback_scheduled->due_ms, local_ms(2026, 12, 1, 9, 0));
    hotline__event__free_unpacked(ev, NULL);
}

/* A reopening cancels the promised callback: the promise goes on to the next round's. */
static void test_promise_survives_reopen(void **state)
{
    fixture_t *f = *state;
    int64_t at = local_ms(2026, 11, 28, 10, 0);
    received(f, "T-r", "13812345678", "Li", false);
    replied(f, "T-r", 0, local_ms(2026, 11, 25, 11, 0));
    assert_int_equal(promise(f, "T-r", at, NULL, "Saturday morning"), HOTLINE__STATUS__OK);
    reopened(f, "T-r", 1);
    assert_int_equal(pending(f), 0);
    replied(f, "T-r", 1, local_ms(2026, 11, 26, 11, 0));
    Hotline__Event *ev = event_at(f, head(f));
    assert_int_equal(ev->callback_scheduled->round, 1);
    assert_int_equal(ev->callback_scheduled->due_ms, at);
    hotline__event__free_unpacked(ev, NULL);
}

static void test_promise_refusals(void **state)
{
    fixture_t *f = *state;
    int64_t tomorrow = T0 + 24 * HOUR_MS;
    received(f, "T-x", "13812345678", "Li", false);
    expect_refusal(f, promise(f, "", tomorrow, NULL, NULL), HOTLINE__STATUS__INVALID, "ticketId",
                   "the ticket id is required");
    expect_refusal(f, promise(f, "T-x", 0, NULL, NULL), HOTLINE__STATUS__INVALID, "atMs",
                   "the time agreed with the citizen is required");
    expect_refusal(f, promise(f, "T-x", tomorrow, "2026-11-26T10:00:00+08:00", NULL),
                   HOTLINE__STATUS__INVALID, "at", "not both");
    const char *bad[] = {"tomorrow",
                         "2026-11-26",
                         "2026-11-26T10:00",
                         "2026-02-30T10:00:00Z",
                         "2026-11-26T24:00:00Z",
                         "2026-11-26T10:00:00+8",
                         "2026-11-26T10:00:00Zx"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        expect_refusal(f, promise(f, "T-x", 0, bad[i], NULL), HOTLINE__STATUS__INVALID, "at",
                       "is not an RFC 3339 time");
    expect_refusal(f, promise(f, "T-x", T0 - 60000, NULL, NULL), HOTLINE__STATUS__INVALID, "atMs",
                   "2026-11-25 09:59 +08:00 is in the past");
    expect_refusal(f, promise(f, "T-x", 0, "2026-11-25T01:00:00Z", NULL), HOTLINE__STATUS__INVALID,
                   "at", "is in the past");
    expect_refusal(f, promise(f, "T-x", T0 + 31 * 24 * HOUR_MS, NULL, NULL),
                   HOTLINE__STATUS__INVALID, "atMs", "more than 30 days ahead");
    received(f, "T-y", "13712345678", "Zhao", false);
    assert_int_equal(promise(f, "T-y", T0 + 30 * 24 * HOUR_MS, NULL, NULL), HOTLINE__STATUS__OK);
    char long_note[CALLBACK_NOTE_MAX + 2];
    memset(long_note, 'x', sizeof long_note - 1);
    long_note[sizeof long_note - 1] = '\0';
    expect_refusal(f, promise(f, "T-x", tomorrow, NULL, long_note), HOTLINE__STATUS__INVALID,
                   "note", "at most 500 characters (got 501)");
    expect_refusal(f, promise(f, "T-x", tomorrow, NULL, "\xff"), HOTLINE__STATUS__INVALID, "note",
                   "valid UTF-8");
    expect_refusal(f, promise(f, "T-nobody", tomorrow, NULL, NULL), HOTLINE__STATUS__NOT_FOUND,
                   "ticketId", "callback knows no ticket T-nobody");
    /* A ticket closed with its callback has nothing left to promise. */
    replied(f, "T-x", 0, local_ms(2026, 11, 24, 15, 0));
    assert_int_equal(rate(f, "T-x", HOTLINE__RATING__RATING_SATISFIED), HOTLINE__STATUS__OK);
    uint64_t before = head(f);
    expect_refusal(f, promise(f, "T-x", tomorrow, NULL, NULL), HOTLINE__STATUS__CONFLICT,
                   "ticketId", "ticket T-x is closed (rated satisfied: closed)");
    assert_int_equal(head(f), before); /* nothing written */
    /* Sent back for rework: the promise waits for the next round's reply. */
    received(f, "T-w", "13912345678", "Wang", false);
    replied(f, "T-w", 0, local_ms(2026, 11, 24, 15, 0));
    assert_int_equal(rate(f, "T-w", HOTLINE__RATING__RATING_DISSATISFIED), HOTLINE__STATUS__OK);
    assert_int_equal(promise(f, "T-w", tomorrow, NULL, NULL), HOTLINE__STATUS__OK);
    assert_true(f->reply->callback_task->awaiting_reply);
    assert_int_equal(f->reply->callback_task->round, 1);
}

/* The incident's one call per caller: a promise on any of the caller's tickets moves that
 * call, given before the replies (kept for the ticket, moved onto the call it joins) or
 * after. */
static void test_promise_on_a_covered_ticket(void **state)
{
    fixture_t *f = *state;
    int64_t before = local_ms(2026, 11, 25, 20, 0), at = local_ms(2026, 11, 26, 14, 0);
    received(f, "T1", "13812345678", "Li", false);
    received(f, "T2", "138 1234 5678", "Li", false);
    assert_int_equal(promise(f, "T2", before, NULL, "evening"), HOTLINE__STATUS__OK);
    assert_true(f->reply->callback_task->awaiting_reply);
    replied_in(f, "T1", 0, local_ms(2026, 11, 24, 15, 0), "INC-1");
    replied_in(f, "T2", 0, local_ms(2026, 11, 24, 15, 0), "INC-1"); /* joins T1's call */
    Hotline__Event *ev = last_promised(f);
    assert_string_equal(ev->ticket_id, "T1");
    assert_int_equal(ev->callback_promised->at_ms, before);
    hotline__event__free_unpacked(ev, NULL);
    json_t *l = list(f, CALLBACK_LIST_PENDING);
    assert_int_equal(json_integer_value(json_object_get(l, "count")), 1);
    assert_string_equal(item_str(l, 0, "ticketId"), "T1");
    assert_string_equal(item_str(l, 0, "promiseNote"), "evening");
    json_decref(l);
    expect_refusal(f, next(f, "a1"), HOTLINE__STATUS__NOT_FOUND, "", "1 not yet due");
    assert_int_equal(promise(f, "T2", at, NULL, NULL), HOTLINE__STATUS__OK);
    assert_string_equal(f->reply->callback_task->ticket_id, "T1");
    assert_int_equal(f->reply->callback_task->due_ms, at);
    clock_at(f, at);
    assert_string_equal(next_id(f, "a1"), "T1");
    assert_int_equal(rate(f, "T1", HOTLINE__RATING__RATING_SATISFIED), HOTLINE__STATUS__OK);
    expect_refusal(f, promise(f, "T2", at + HOUR_MS, NULL, NULL), HOTLINE__STATUS__CONFLICT,
                   "ticketId", "settled with the call about ticket T1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_promise_moves_a_due_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_promise_earlier_than_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_promise_before_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_promise_passed_before_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_promise_survives_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_promise_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_promise_on_a_covered_ticket, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
