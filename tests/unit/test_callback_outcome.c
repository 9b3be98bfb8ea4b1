/* callback outcomes: satisfied closes, dissatisfied sends back for rework, "basically
 * satisfied" under both policies, unreachable retried after its delay then closed,
 * cancellation by a newer round, refusals naming the field, and the masked views. Scheduling
 * and the queue: test_callback.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "callback_fixture.h"

static void test_rated_satisfied_closes(void **state)
{
    fixture_t *f = *state;
    replied(f, "T-ok", 0, local_ms(2026, 11, 24, 15, 0));
    received(f, "T-ok", "13812345678", "Li", false);
    assert_string_equal(next_id(f, "a1"), "T-ok");
    assert_int_equal(record(f, "T-ok", HOTLINE__CALLBACK_OUTCOME__CALLBACK_RATED,
                            HOTLINE__RATING__RATING_VERY_SATISFIED, "fixed quickly", "a1"),
                     HOTLINE__STATUS__OK);
    assert_int_equal(f->reply->result_case, HOTLINE__COMMAND_REPLY__RESULT_RECORD_CALLBACK);
    assert_string_equal(f->reply->record_callback->ticket_id, "T-ok");
    assert_int_equal(f->reply->record_callback->status, HOTLINE__TICKET_STATUS__TICKET_CLOSED);
    assert_int_equal(head(f), 4); /* scheduled, claimed, rated, closed */
    Hotline__Event *ev = event_at(f, 2);
    assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_CALLBACK_CLAIMED);
    assert_string_equal(ev->ticket_id, "T-ok");
    assert_string_equal(ev->callback_claimed->agent, "a1");
    assert_int_equal(ev->callback_claimed->round, 0);
    /* claimMinutes from the handing out (the log's own clock reads a moment later) */
    assert_in_range(ev->callback_claimed->until_ms - 15 * MIN_MS, ev->time_ms - 5000, ev->time_ms);
    hotline__event__free_unpacked(ev, NULL);
    ev = event_at(f, 3);
    assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_CALLBACK_RATED);
    assert_string_equal(ev->ticket_id, "T-ok");
    const Hotline__CallbackRated *cr = ev->callback_rated;
    assert_int_equal(cr->rating, HOTLINE__RATING__RATING_VERY_SATISFIED);
    assert_true(cr->resolved);
    assert_true(cr->satisfied);
    assert_string_equal(cr->comment, "fixed quickly");
    assert_string_equal(cr->agent, "a1");
    assert_string_equal(cr->unit, "water-north");
    assert_int_equal(cr->round, 0);
    hotline__event__free_unpacked(ev, NULL);
    ev = event_at(f, 4);
    assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_TICKET_CLOSED);
    assert_string_equal(ev->ticket_closed->reason, "rated satisfied");
    assert_int_equal(ev->ticket_closed->rating, HOTLINE__RATING__RATING_VERY_SATISFIED);
    hotline__event__free_unpacked(ev, NULL);
    assert_int_equal(pending(f), 0);

    /* Recorded once: a second recording is a conflict and writes nothing. */
    expect_refusal(f, rate(f, "T-ok", HOTLINE__RATING__RATING_SATISFIED), HOTLINE__STATUS__CONFLICT,
                   "ticketId", "already recorded");
    assert_int_equal(head(f), 4);
    expect_refusal(f, next(f, "a1"), HOTLINE__STATUS__NOT_FOUND, "", "no callbacks waiting");
    /* A replayed reply of the same round does not bring it back. */
    replied(f, "T-ok", 0, local_ms(2026, 11, 24, 15, 0));
    assert_int_equal(head(f), 4);
}

/* The replies of an incident's close: one call per caller (the number however written), and
 * that call's rating closes each of the caller's tickets; the others are refused pointing at
 * the call. A reply outside the incident keeps its own call. */
static void test_incident_one_call_per_caller(void **state)
{
    fixture_t *f = *state;
    received(f, "T1", "13812345678", "Li", false);
    received(f, "T2", "+86 138-1234-5678", "Li", false);
    received(f, "T3", "13900000000", "Wang", false);
    received(f, "T4", "13812345678", "Li", false);
    int64_t at = local_ms(2026, 11, 24, 15, 0);
    replied_in(f, "T1", 0, at, "INC-1");
    replied_in(f, "T2", 0, at, "INC-1");
    replied_in(f, "T3", 0, at, "INC-1");
    replied(f, "T4", 0, at);
    assert_int_equal(pending(f), 3); /* T1 (for T1 and T2), T3, T4 */
    assert_int_equal(head(f), 3);    /* three CallbackScheduled */
    claim(f, "T1", "a1");
    assert_int_equal(rate(f, "T1", HOTLINE__RATING__RATING_SATISFIED), HOTLINE__STATUS__OK);
    assert_int_equal(head(f), 8); /* claimed; rated + closed, for T1 and for T2 */
    Hotline__Event *ev = event_at(f, 7);
    assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_CALLBACK_RATED);
    assert_string_equal(ev->ticket_id, "T2");
    hotline__event__free_unpacked(ev, NULL);
    ev = event_at(f, 8);
    assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_TICKET_CLOSED);
    assert_string_equal(ev->ticket_id, "T2");
    hotline__event__free_unpacked(ev, NULL);
    expect_refusal(f, rate(f, "T2", HOTLINE__RATING__RATING_SATISFIED), HOTLINE__STATUS__CONFLICT,
                   "ticketId", "covered by the call about ticket T1");
    assert_int_equal(pending(f), 2);
}

static void test_dissatisfied_requests_rework(void **state)
{
    fixture_t *f = *state;
    replied(f, "T-bad", 0, local_ms(2026, 11, 24, 15, 0));
    received(f, "T-bad", "13812345678", "Li", false);
    assert_int_equal(rate(f, "T-bad", HOTLINE__RATING__RATING_DISSATISFIED), HOTLINE__STATUS__OK);
    assert_int_equal(f->reply->record_callback->status, HOTLINE__TICKET_STATUS__TICKET_REWORK);
    Hotline__Event *ev = event_at(f, 3); /* after the scheduled and the claimed */
    assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_CALLBACK_RATED);
    assert_false(ev->callback_rated->satisfied);
    hotline__event__free_unpacked(ev, NULL);
    ev = event_at(f, 4);
    assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_REWORK_REQUESTED);
    assert_int_equal(ev->rework_requested->round, 0);
    assert_string_equal(ev->rework_requested->unit, "water-north");
    assert_string_equal(ev->rework_requested->reason, "rated dissatisfied at callback");
    hotline__event__free_unpacked(ev, NULL);
    assert_int_equal(head(f), 4);

    /* Dispatch reopens (nothing to do here) and the unit replies again: round 1's callback. */
    reopened(f, "T-bad", 1);
    assert_int_equal(head(f), 4);
    replied(f, "T-bad", 1, local_ms(2026, 11, 25, 16, 0));
    ev = event_at(f, 5);
    assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_CALLBACK_SCHEDULED);
    assert_int_equal(ev->callback_scheduled->round, 1);
    assert_int_equal(ev->callback_scheduled->due_ms, local_ms(2026, 11, 26, 9, 0));
    hotline__event__free_unpacked(ev, NULL);
    expect_refusal(f, next(f, "a1"), HOTLINE__STATUS__NOT_FOUND, "", "1 not yet due");
    clock_at(f, local_ms(2026, 11, 26, 9, 0));
    assert_string_equal(next_id(f, "a1"), "T-bad");
    assert_int_equal(f->reply->callback_task->round, 1);
    assert_int_equal(rate(f, "T-bad", HOTLINE__RATING__RATING_SATISFIED), HOTLINE__STATUS__OK);
    assert_int_equal(f->reply->record_callback->status, HOTLINE__TICKET_STATUS__TICKET_CLOSED);
}

/* A second unsatisfied result (round 1 rated unsatisfied again): rework, and supervision. */
static void test_second_unsatisfied_goes_to_supervision(void **state)
{
    fixture_t *f = *state;
    replied(f, "T-twice", 0, local_ms(2026, 11, 24, 15, 0));
    received(f, "T-twice", "13812345679", "Wang", false);
    assert_int_equal(rate(f, "T-twice", HOTLINE__RATING__RATING_DISSATISFIED), HOTLINE__STATUS__OK);
    assert_int_equal(head(f), 4); /* scheduled, claimed, rated, rework: no supervision yet */
    reopened(f, "T-twice", 1);
    replied(f, "T-twice", 1, local_ms(2026, 11, 25, 16, 0));
    clock_at(f, local_ms(2026, 11, 26, 9, 0));
    assert_string_equal(next_id(f, "a1"), "T-twice");
    assert_int_equal(rate(f, "T-twice", HOTLINE__RATING__RATING_VERY_DISSATISFIED),
                     HOTLINE__STATUS__OK);
    assert_int_equal(f->reply->record_callback->status, HOTLINE__TICKET_STATUS__TICKET_REWORK);
    /* 5 scheduled, 6 claimed (once: a1 asking again gets its own claim back), 7 rated */
    Hotline__Event *ev = event_at(f, 8);
    assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_REWORK_REQUESTED);
    assert_int_equal(ev->rework_requested->round, 1);
    hotline__event__free_unpacked(ev, NULL);
    ev = event_at(f, 9);
    assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_SUPERVISION_REQUESTED);
    assert_int_equal(ev->supervision_requested->round, 1);
    assert_int_equal(ev->supervision_requested->unsatisfied, 2);
    assert_string_equal(ev->supervision_requested->unit, "water-north");
    assert_string_equal(ev->supervision_requested->reason,
                        "rated very dissatisfied again after rework round 1");
    hotline__event__free_unpacked(ev, NULL);
    assert_int_equal(head(f), 9);
}

/* "Basically satisfied" under the default policy (counts as satisfied)... */
static void test_basically_satisfied_counts(void **state)
{
    fixture_t *f = *state;
    replied(f, "T-b", 0, local_ms(2026, 11, 24, 15, 0));
    received(f, "T-b", "13812345678", "Li", false);
    assert_int_equal(rate(f, "T-b", HOTLINE__RATING__RATING_BASICALLY_SATISFIED),
                     HOTLINE__STATUS__OK);
    assert_int_equal(f->reply->record_callback->status, HOTLINE__TICKET_STATUS__TICKET_CLOSED);
    Hotline__Event *ev = event_at(f, 3);
    assert_true(ev->callback_rated->satisfied);
    hotline__event__free_unpacked(ev, NULL);
    ev = event_at(f, 4);
    assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_TICKET_CLOSED);
    hotline__event__free_unpacked(ev, NULL);
}

/* ...and under the strict one (it does not, so the ticket goes back). */
static void test_basically_satisfied_strict(void **state)
{
    fixture_t *f = *state;
    replied(f, "T-b", 0, local_ms(2026, 11, 24, 15, 0));
    received(f, "T-b", "13812345678", "Li", false);
    assert_int_equal(rate(f, "T-b", HOTLINE__RATING__RATING_BASICALLY_SATISFIED),
                     HOTLINE__STATUS__OK);
    assert_int_equal(f->reply->record_callback->status, HOTLINE__TICKET_STATUS__TICKET_REWORK);
    Hotline__Event *ev = event_at(f, 3);
    assert_false(ev->callback_rated->satisfied);
    assert_int_equal(ev->callback_rated->rating, HOTLINE__RATING__RATING_BASICALLY_SATISFIED);
    hotline__event__free_unpacked(ev, NULL);
    ev = event_at(f, 4);
    assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_REWORK_REQUESTED);
    assert_string_equal(ev->rework_requested->reason, "rated basically satisfied at callback");
    hotline__event__free_unpacked(ev, NULL);
}

static void test_rating_policy_table(void **state)
{
    (void)state;
    static const struct {
        Hotline__Rating r;
        bool lenient, strict;
    } rows[] = {
        {HOTLINE__RATING__RATING_VERY_SATISFIED, true, true},
        {HOTLINE__RATING__RATING_SATISFIED, true, true},
        {HOTLINE__RATING__RATING_BASICALLY_SATISFIED, true, false},
        {HOTLINE__RATING__RATING_DISSATISFIED, false, false},
        {HOTLINE__RATING__RATING_VERY_DISSATISFIED, false, false},
        {HOTLINE__RATING__RATING_UNSPECIFIED, false, false},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        assert_int_equal(callback_rating_satisfied(rows[i].r, true), rows[i].lenient);
        assert_int_equal(callback_rating_satisfied(rows[i].r, false), rows[i].strict);
    }
    assert_string_equal(callback_rating_words(HOTLINE__RATING__RATING_VERY_DISSATISFIED),
                        "very dissatisfied");
}

static void test_unreachable_retried_then_closed(void **state)
{
    fixture_t *f = *state;
    replied(f, "T-away", 0, local_ms(2026, 11, 24, 15, 0));
    received(f, "T-away", "13812345678", "Li", false);
    for (uint32_t attempt = 1; attempt <= 2; attempt++) {
        assert_string_equal(next_id(f, "a1"), "T-away");
        assert_int_equal(f->reply->callback_task->attempts, attempt - 1);
        int64_t before = hclock_now_ms(f->clock);
        assert_int_equal(unreachable(f, "T-away", "a1"), HOTLINE__STATUS__OK);
        const Hotline__RecordCallbackResult *res = f->reply->record_callback;
        assert_int_equal(res->status, HOTLINE__TICKET_STATUS__TICKET_REPLIED);
        /* now + retryMinutes (the settable clock runs on in real time meanwhile) */
        assert_in_range(res->next_due_ms, before + 120 * MIN_MS, before + 120 * MIN_MS + 5000);
        int64_t next_due = res->next_due_ms;
        Hotline__Event *ev = event_at(f, head(f));
        assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_CALLBACK_ATTEMPTED);
        assert_int_equal(ev->callback_attempted->attempt, attempt);
        assert_string_equal(ev->callback_attempted->agent, "a1");
        assert_int_equal(ev->callback_attempted->next_due_ms, next_due);
        hotline__event__free_unpacked(ev, NULL);
        assert_int_equal(pending(f), 1);
        /* Back on the scheduler: nobody gets it before the retry delay is over... */
        assert_int_equal(scheduled(f, NULL), 1);
        expect_refusal(f, next(f, "a2"), HOTLINE__STATUS__NOT_FOUND, "", "1 not yet due");
        clock_at(f, next_due - 2000);
        expect_refusal(f, next(f, "a1"), HOTLINE__STATUS__NOT_FOUND, "", "1 not yet due");
        /* ...and then the claim is released: it is for whoever is free. */
        clock_at(f, next_due);
        assert_int_equal(scheduled(f, NULL), 0);
        assert_string_equal(next_id(f, "a2"), "T-away");
        assert_int_equal(f->reply->callback_task->due_ms, next_due);
        assert_true(f->reply->callback_task->due);
        clock_advance(f, 16 * MIN_MS); /* a2's claim lapses */
    }
    uint64_t seq = head(f);
    assert_int_equal(unreachable(f, "T-away", "a3"), HOTLINE__STATUS__OK);
    assert_int_equal(f->reply->record_callback->status, HOTLINE__TICKET_STATUS__TICKET_CLOSED);
    assert_int_equal(f->reply->record_callback->next_due_ms, 0);
    assert_int_equal(head(f), seq + 3);
    Hotline__Event *ev = event_at(f, seq + 1); /* a2's claim lapsed: a3's is new */
    assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_CALLBACK_CLAIMED);
    assert_string_equal(ev->callback_claimed->agent, "a3");
    hotline__event__free_unpacked(ev, NULL);
    ev = event_at(f, seq + 2);
    assert_int_equal(ev->callback_attempted->attempt, 3);
    assert_int_equal(ev->callback_attempted->next_due_ms, 0);
    hotline__event__free_unpacked(ev, NULL);
    ev = event_at(f, seq + 3);
    assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_TICKET_CLOSED);
    assert_string_equal(ev->ticket_closed->reason, "unreachable after 3 attempts");
    assert_int_equal(ev->ticket_closed->rating, HOTLINE__RATING__RATING_UNSPECIFIED);
    hotline__event__free_unpacked(ev, NULL);
    assert_int_equal(pending(f), 0);
    expect_refusal(f, unreachable(f, "T-away", "a1"), HOTLINE__STATUS__CONFLICT, "ticketId",
                   "unreachable after 3 attempts");
}

/* ---- newer rounds ---- */

static void test_reopen_cancels_older_round(void **state)
{
    fixture_t *f = *state;
    replied(f, "T-r", 0, local_ms(2026, 11, 24, 15, 0));
    received(f, "T-r", "13812345678", "Li", false);
    /* Dispatch reopened the ticket for another reason before anyone called. */
    reopened(f, "T-r", 1);
    assert_int_equal(pending(f), 0);
    expect_refusal(f, rate(f, "T-r", HOTLINE__RATING__RATING_SATISFIED), HOTLINE__STATUS__CONFLICT,
                   "ticketId", "was cancelled");
    expect_refusal(f, next(f, "a1"), HOTLINE__STATUS__NOT_FOUND, "", "no callbacks waiting");
    /* A reply of a newer round supersedes a pending older one directly too. */
    replied(f, "T-r", 1, local_ms(2026, 11, 24, 16, 0));
    replied(f, "T-r", 2, local_ms(2026, 11, 24, 17, 0));
    replied(f, "T-r", 1, local_ms(2026, 11, 24, 16, 0)); /* stale: ignored */
    assert_int_equal(pending(f), 1);
    assert_string_equal(next_id(f, "a1"), "T-r");
    assert_int_equal(f->reply->callback_task->round, 2);
    MDB_txn *txn;
    json_t *view = NULL;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(callback_ticket_view(f->cb, txn, "T-r", &view), 0);
    store_read_end(&txn);
    json_t *cbs = json_object_get(view, "callbacks");
    assert_int_equal(json_array_size(cbs), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(cbs, 0), "state")),
                        "cancelled");
    assert_string_equal(json_string_value(json_object_get(json_array_get(cbs, 1), "note")),
                        "superseded by the reply of round 2");
    assert_string_equal(json_string_value(json_object_get(json_array_get(cbs, 2), "state")),
                        "pending");
    json_decref(view);
}

/* ---- refusals ---- */

static void test_refusals_name_the_field(void **state)
{
    fixture_t *f = *state;
    replied(f, "T-x", 0, local_ms(2026, 11, 24, 15, 0));
    received(f, "T-x", "13812345678", "Li", false);
    uint64_t seq = head(f);
    const Hotline__CallbackOutcome RATED = HOTLINE__CALLBACK_OUTCOME__CALLBACK_RATED;
    const Hotline__CallbackOutcome AWAY = HOTLINE__CALLBACK_OUTCOME__CALLBACK_UNREACHABLE;

    expect_refusal(f, next(f, ""), HOTLINE__STATUS__INVALID, "agent", "required");
    expect_refusal(f, next(f, NULL), HOTLINE__STATUS__INVALID, "agent", "required");
    expect_refusal(f, next(f, "a\tb"), HOTLINE__STATUS__INVALID, "agent", "control");
    expect_refusal(f, record(f, "", RATED, 2, "", "a1"), HOTLINE__STATUS__INVALID, "ticketId",
                   "required");
    expect_refusal(f, record(f, "T-x", RATED, 2, "", ""), HOTLINE__STATUS__INVALID, "agent",
                   "required");
    expect_refusal(f, record(f, "T-x", 0, 2, "", "a1"), HOTLINE__STATUS__INVALID, "outcome",
                   "CALLBACK_RATED, CALLBACK_UNREACHABLE");
    expect_refusal(f, record(f, "T-x", 7, 2, "", "a1"), HOTLINE__STATUS__INVALID, "outcome",
                   "one of");
    expect_refusal(f, record(f, "T-x", RATED, 0, "", "a1"), HOTLINE__STATUS__INVALID, "rating",
                   "RATING_VERY_SATISFIED, RATING_SATISFIED, RATING_BASICALLY_SATISFIED, "
                   "RATING_DISSATISFIED, RATING_VERY_DISSATISFIED");
    expect_refusal(f, record(f, "T-x", RATED, 6, "", "a1"), HOTLINE__STATUS__INVALID, "rating",
                   "needs the citizen's rating");
    expect_refusal(f, record(f, "T-x", AWAY, 2, "", "a1"), HOTLINE__STATUS__INVALID, "rating",
                   "has no rating");

    char long_comment[CALLBACK_COMMENT_MAX * 3 + 4];
    memset(long_comment, 'x', CALLBACK_COMMENT_MAX + 1);
    long_comment[CALLBACK_COMMENT_MAX + 1] = '\0';
    expect_refusal(f, record(f, "T-x", RATED, 2, long_comment, "a1"), HOTLINE__STATUS__INVALID,
                   "comment", "at most 1000 characters (got 1001)");
    expect_refusal(f, record(f, "T-x", RATED, 2, "bad \xC3\x28 byte", "a1"),
                   HOTLINE__STATUS__INVALID, "comment", "UTF-8");
    expect_refusal(f, record(f, "T-nope", RATED, 2, "", "a1"), HOTLINE__STATUS__NOT_FOUND,
                   "ticketId", "no callback is scheduled for ticket T-nope");
    Hotline__Command other = HOTLINE__COMMAND__INIT;
    Hotline__SignTicket st = HOTLINE__SIGN_TICKET__INIT;
    other.body_case = HOTLINE__COMMAND__BODY_SIGN_TICKET;
    other.sign_ticket = &st;
    expect_refusal(f, run(f, &other), HOTLINE__STATUS__NOT_FOUND, "body", "nextCallback");
    assert_int_equal(head(f), seq); /* refusals wrote nothing */
    assert_int_equal(pending(f), 1);

    /* 1000 characters of three-byte UTF-8 are within the limit. */
    long_comment[0] = '\0';
    for (int i = 0; i < CALLBACK_COMMENT_MAX; i++)
        strcat(long_comment, "\xE6\xB0\xB4"); /* 水 */
    /* No rating for a call nobody took from the queue: made-up ratings are refused. */
    expect_refusal(f, record(f, "T-x", RATED, 1, "", "a1"), HOTLINE__STATUS__CONFLICT, "ticketId",
                   "not claimed by agent a1");
    claim(f, "T-x", "a1");
    assert_int_equal(record(f, "T-x", RATED, 2, long_comment, "a1"), HOTLINE__STATUS__OK);
}

/* ---- views ---- */

static void test_views_mask_phones(void **state)
{
    fixture_t *f = *state;
    replied(f, "T-1", 0, local_ms(2026, 11, 24, 15, 0));
    replied(f, "T-2", 0, local_ms(2026, 11, 25, 15, 0));
    received(f, "T-1", "13812345678", "Li Lei", false);
    json_t *l = list(f, CALLBACK_LIST_PENDING);
    char *text = json_dumps(l, JSON_COMPACT);
    assert_null(strstr(text, "13812345678"));
    assert_null(strstr(text, "Li Lei"));
    free(text);
    assert_int_equal(json_integer_value(json_object_get(l, "count")), 2);
    json_t *first = json_array_get(json_object_get(l, "callbacks"), 0);
    assert_string_equal(json_string_value(json_object_get(first, "ticketId")), "T-1");
    assert_string_equal(json_string_value(json_object_get(first, "phone")), "138****5678");
    assert_true(json_is_true(json_object_get(first, "due")));
    assert_string_equal(json_string_value(json_object_get(first, "dueMs")), "1795568400000");
    json_t *second = json_array_get(json_object_get(l, "callbacks"), 1);
    assert_true(json_is_false(json_object_get(second, "contactKnown")));
    assert_true(json_is_false(json_object_get(second, "due"))); /* not before Thursday 09:00 */
    json_decref(l);
    l = list(f, CALLBACK_LIST_DUE);
    assert_int_equal(json_integer_value(json_object_get(l, "count")), 1);
    assert_string_equal(json_string_value(json_object_get(l, "state")), "due");
    json_decref(l);

    /* Thursday: a2 takes T-1; a1 then gets T-2 (its contact has arrived) and rates it first. */
    received(f, "T-2", "13900000000", "Wang", false);
    clock_at(f, local_ms(2026, 11, 26, 9, 0));
    claim(f, "T-1", "a2");
    assert_int_equal(rate(f, "T-2", HOTLINE__RATING__RATING_SATISFIED), HOTLINE__STATUS__OK);
    hclock_advance_ms(f->clock, 1000);
    assert_int_equal(record(f, "T-1", HOTLINE__CALLBACK_OUTCOME__CALLBACK_RATED,
                            HOTLINE__RATING__RATING_VERY_DISSATISFIED, "", "a2"),
                     HOTLINE__STATUS__OK);
    l = list(f, CALLBACK_LIST_DONE);
    json_t *cbs = json_object_get(l, "callbacks");
    assert_int_equal(json_array_size(cbs), 2);
    first = json_array_get(cbs, 0); /* latest first */
    assert_string_equal(json_string_value(json_object_get(first, "ticketId")), "T-1");
    assert_string_equal(json_string_value(json_object_get(first, "rating")),
                        "RATING_VERY_DISSATISFIED");
    assert_string_equal(json_string_value(json_object_get(first, "note")),
                        "rated very dissatisfied: rework requested");
    assert_true(json_is_false(json_object_get(first, "satisfied")));
    json_decref(l);
    l = list(f, CALLBACK_LIST_PENDING);
    assert_int_equal(json_integer_value(json_object_get(l, "count")), 0);
    json_decref(l);

    MDB_txn *txn;
    json_t *view = NULL;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(callback_ticket_view(f->cb, txn, "T-3", &view), HL_ENOTFOUND);
    assert_int_equal(callback_ticket_view(f->cb, txn, "T-", &view), HL_ENOTFOUND);
    assert_int_equal(callback_ticket_view(f->cb, txn, "T-2", &view), 0);
    store_read_end(&txn);
    assert_int_equal(json_array_size(json_object_get(view, "callbacks")), 1);
    json_decref(view);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rated_satisfied_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dissatisfied_requests_rework, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_unsatisfied_goes_to_supervision, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_incident_one_call_per_caller, setup, teardown),
        cmocka_unit_test_setup_teardown(test_basically_satisfied_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_basically_satisfied_strict, setup_strict, teardown),
        cmocka_unit_test(test_rating_policy_table),
        cmocka_unit_test_setup_teardown(test_unreachable_retried_then_closed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_cancels_older_round, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals_name_the_field, setup, teardown),
        cmocka_unit_test_setup_teardown(test_views_mask_phones, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
