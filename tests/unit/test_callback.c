/* callback: scheduling on the working day after a reply (across weekends, holidays and make-up
 * days), no double scheduling on replay, tasks held on the shared scheduler until their instant
 * (never handed out early, cancelled with the task, kept across a restart), the agents' queue
 * of due tasks (earliest due first, claims that keep a task from a second agent until they
 * lapse, contacts arriving after the reply), recorded outcomes (satisfied closes, dissatisfied
 * sends back for rework, "basically satisfied" under both policies, unreachable retried after
 * its delay then closed), cancellation by a newer round, refusals naming the field, and the
 * masked views. In-process: a temporary store, the real event log, the scheduler on a loop
 * with the group commit, and a settable clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "callback.h"
#include "hl_error.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

typedef struct fixture {
    char *dir;
    store_t *store;
    hclock_t *clock;
    evlog_t *log;
    callback_t *cb;
    uv_loop_t loop;
    uv_timer_t keep; /* the scheduler's timer is unref'd: this keeps UV_RUN_ONCE polling */
    txq_t *txq;
    scheduler_t *sched;
    arena_t *arena;
    bool basically_counts;
    Hotline__CommandReply *reply; /* the last command's, in arena */
} fixture_t;

/* 2026-11-25 (Wednesday) 10:00 +08:00. */
#define T0 1795572000000LL
#define MIN_MS 60000LL
#define HOUR_MS 3600000LL

/* Local (UTC+8) wall time to UTC ms. */
static int64_t local_ms(int y, int m, int d, int hh, int mm)
{
    return (calendar_day_from_ymd(y, m, d) * 86400000LL) - 8 * HOUR_MS + hh * HOUR_MS + mm * MIN_MS;
}

static void keepalive_cb(uv_timer_t *h)
{
    (void)h;
}

/* Open the store, the logic and its scheduler on a loop with the group commit, as the
 * skeleton does (again after close_all: a restart). */
static int open_all(fixture_t *f)
{
    store_opts_t so = {.path = f->dir};
    evlog_opts_t lo = {.source = "callback", .retention_ms = 24 * HOUR_MS};
    char err[256];
    calendar_t *cal = NULL;
    callback_settings_t s = {.call_hour = 9,
                             .retry_minutes = 120,
                             .max_attempts = 3,
                             .claim_minutes = 15,
                             .basically_satisfied_counts = f->basically_counts};
    MDB_txn *txn;
    if (store_open(&f->store, &so) || evlog_open(&f->log, f->store, f->clock, &lo) ||
        calendar_load(&cal, NULL, err, sizeof err) ||
        callback_create(&f->cb, f->store, f->log, f->clock, &cal, &s))
        return -1;
    uv_loop_init(&f->loop);
    uv_timer_init(&f->loop, &f->keep);
    uv_timer_start(&f->keep, keepalive_cb, 5, 5);
    scheduler_opts_t o = callback_scheduler_opts(f->cb);
    if (txq_create(&f->txq, &f->loop, f->store, 0) ||
        scheduler_create(&f->sched, &f->loop, f->store, f->txq, f->clock, &o) ||
        store_write_begin(f->store, &txn) || callback_attach(f->cb, f->sched, txn) ||
        store_write_commit(f->store, &txn) || scheduler_start(f->sched))
        return -1;
    return 0;
}

static void close_all(fixture_t *f)
{
    scheduler_stop(f->sched);
    txq_destroy(&f->txq);
    uv_close((uv_handle_t *)&f->keep, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    scheduler_destroy(&f->sched);
    callback_destroy(&f->cb);
    evlog_close(&f->log);
    store_close(&f->store);
}

static int setup_policy(void **state, bool basically_counts)
{
    fixture_t *f = calloc(1, sizeof *f);
    f->dir = unit_tmpdir();
    f->basically_counts = basically_counts;
    if (hclock_create(&f->clock, true) || hclock_set_ms(f->clock, T0) || open_all(f) ||
        arena_create(&f->arena))
        return -1;
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_policy(state, true);
}

static int setup_strict(void **state)
{
    return setup_policy(state, false);
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    close_all(f);
    hclock_destroy(&f->clock);
    arena_destroy(&f->arena);
    unit_tmpdir_cleanup(f->dir);
    free(f);
    return 0;
}

/* Entries on the scheduler, and whether one of them is due by now. */
static uint64_t scheduled(fixture_t *f, bool *due_left)
{
    MDB_txn *txn;
    uint64_t n = 0;
    int64_t next_ms = 0;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(scheduler_count(f->sched, txn, &n), 0);
    int rc = scheduler_next(f->sched, txn, &next_ms);
    store_read_end(&txn);
    if (due_left)
        *due_left = rc == 0 && next_ms <= hclock_now_ms(f->clock);
    return n;
}

/* Run the loop until the scheduler has fired everything due by now. Commits made outside the
 * group commit (as these tests make them) are announced to it the way a clock move is. */
static void settle(fixture_t *f)
{
    hclock_advance_ms(f->clock, 0);
    for (int turn = 0; turn < 2000; turn++) {
        bool due_left;
        scheduled(f, &due_left);
        if (!due_left && txq_waiting(f->txq) == 0)
            return;
        uv_run(&f->loop, UV_RUN_ONCE);
    }
    fail_msg("the scheduler did not fire what is due");
}

/* The clock at ms, and whatever is due by then fired. */
static void clock_at(fixture_t *f, int64_t ms)
{
    hclock_set_ms(f->clock, ms);
    settle(f);
}

static void clock_advance(fixture_t *f, int64_t ms)
{
    hclock_advance_ms(f->clock, ms);
    settle(f);
}

/* ---- driving the logic the way the skeleton does ---- */

/* One feed event in its own transaction (the feed client commits event and cursor so). */
static void apply(fixture_t *f, Hotline__Event *ev)
{
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(callback_apply(f->cb, txn, ev), 0);
    assert_int_equal(store_write_commit(f->store, &txn), 0);
    evlog_committed(f->log);
    settle(f);
}

static void received(fixture_t *f, const char *id, const char *phone, const char *name,
                     bool anonymous)
{
    Hotline__Contact c = HOTLINE__CONTACT__INIT;
    c.phone = (char *)phone;
    c.name = (char *)name;
    c.anonymous = anonymous;
    Hotline__Ticket t = HOTLINE__TICKET__INIT;
    t.id = (char *)id;
    t.contact = &c;
    t.category_code = "W01";
    t.description = "no water since this morning";
    Hotline__TicketReceived tr = HOTLINE__TICKET_RECEIVED__INIT;
    tr.ticket = &t;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.source = "intake";
    ev.ticket_id = (char *)id;
    ev.time_ms = T0 - HOUR_MS;
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_RECEIVED;
    ev.ticket_received = &tr;
    apply(f, &ev);
}

static void replied(fixture_t *f, const char *id, uint32_t round, int64_t at_ms)
{
    Hotline__TicketReplied r = HOTLINE__TICKET_REPLIED__INIT;
    r.unit = "water-north";
    r.result = "main repaired, supply restored at 16:40";
    r.resolved = true;
    r.round = round;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.source = "dispatch";
    ev.ticket_id = (char *)id;
    ev.time_ms = at_ms;
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_REPLIED;
    ev.ticket_replied = &r;
    apply(f, &ev);
}

static void reopened(fixture_t *f, const char *id, uint32_t round)
{
    Hotline__TicketReopened r = HOTLINE__TICKET_REOPENED__INIT;
    r.unit = "water-north";
    r.round = round;
    r.reason = "rated dissatisfied at callback";
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.ticket_id = (char *)id;
    ev.time_ms = hclock_now_ms(f->clock);
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_REOPENED;
    ev.ticket_reopened = &r;
    apply(f, &ev);
}

/* Run a command as cmdexec does: commit when it answers OK, roll back otherwise. */
static Hotline__Status run(fixture_t *f, Hotline__Command *cmd)
{
    arena_reset(f->arena);
    f->reply = arena_alloc(f->arena, sizeof *f->reply);
    hotline__command_reply__init(f->reply);
    cmd_reply_t r = {f->reply, f->arena};
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(callback_command(f->cb, txn, cmd, &r), 0);
    if (f->reply->status == HOTLINE__STATUS__OK)
        assert_int_equal(store_write_commit(f->store, &txn), 0);
    else
        store_write_abort(&txn);
    evlog_committed(f->log);
    settle(f);
    return f->reply->status;
}

static Hotline__Status next(fixture_t *f, const char *agent)
{
    Hotline__NextCallback nc = HOTLINE__NEXT_CALLBACK__INIT;
    nc.agent = (char *)agent;
    Hotline__Command cmd = HOTLINE__COMMAND__INIT;
    cmd.body_case = HOTLINE__COMMAND__BODY_NEXT_CALLBACK;
    cmd.next_callback = &nc;
    return run(f, &cmd);
}

/* NextCallback that must hand out a task: its ticket id. */
static const char *next_id(fixture_t *f, const char *agent)
{
    assert_int_equal(next(f, agent), HOTLINE__STATUS__OK);
    assert_int_equal(f->reply->result_case, HOTLINE__COMMAND_REPLY__RESULT_CALLBACK_TASK);
    return f->reply->callback_task->ticket_id;
}

static Hotline__Status record(fixture_t *f, const char *id, Hotline__CallbackOutcome outcome,
                              Hotline__Rating rating, const char *comment, const char *agent)
{
    Hotline__RecordCallback rc = HOTLINE__RECORD_CALLBACK__INIT;
    rc.ticket_id = (char *)id;
    rc.outcome = outcome;
    rc.rating = rating;
    rc.resolved = true;
    rc.comment = (char *)comment;
    rc.agent = (char *)agent;
    Hotline__Command cmd = HOTLINE__COMMAND__INIT;
    cmd.body_case = HOTLINE__COMMAND__BODY_RECORD_CALLBACK;
    cmd.record_callback = &rc;
    return run(f, &cmd);
}

/* Take id from the queue as agent, as an agent does before recording a call (a recording is
 * refused otherwise). Asks at most a few times: next hands out the agent's own claim first. */
static void claim(fixture_t *f, const char *id, const char *agent)
{
    if (next(f, agent) != HOTLINE__STATUS__OK ||
        strcmp(f->reply->callback_task->ticket_id, id) != 0)
        return; /* not handed out: the recording that follows says why */
}

static Hotline__Status rate(fixture_t *f, const char *id, Hotline__Rating rating)
{
    claim(f, id, "a1");
    return record(f, id, HOTLINE__CALLBACK_OUTCOME__CALLBACK_RATED, rating, "thanks", "a1");
}

static Hotline__Status unreachable(fixture_t *f, const char *id, const char *agent)
{
    claim(f, id, agent);
    return record(f, id, HOTLINE__CALLBACK_OUTCOME__CALLBACK_UNREACHABLE,
                  HOTLINE__RATING__RATING_UNSPECIFIED, "", agent);
}

static void expect_refusal(fixture_t *f, Hotline__Status got, Hotline__Status want,
                           const char *field, const char *in_message)
{
    assert_int_equal(got, want);
    assert_string_equal(f->reply->field, field);
    if (!strstr(f->reply->message, in_message))
        fail_msg("message \"%s\" lacks \"%s\"", f->reply->message, in_message);
}

/* ---- reading the log back ---- */

static int keep_event(void *ctx, uint64_t seq, const uint8_t *bytes, size_t len)
{
    (void)seq;
    *(Hotline__Event **)ctx = hotline__event__unpack(NULL, len, bytes);
    return 1;
}

/* The event at seq (free with hotline__event__free_unpacked). */
static Hotline__Event *event_at(fixture_t *f, uint64_t seq)
{
    Hotline__Event *ev = NULL;
    MDB_txn *txn;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    evlog_read(f->log, txn, seq - 1, 1, 1 << 20, keep_event, &ev);
    store_read_end(&txn);
    assert_non_null(ev);
    assert_int_equal(ev->seq, seq);
    return ev;
}

static uint64_t head(fixture_t *f)
{
    return evlog_head(f->log);
}

static uint64_t pending(fixture_t *f)
{
    MDB_txn *txn;
    uint64_t n = 0;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(callback_pending_count(f->cb, txn, &n), 0);
    store_read_end(&txn);
    return n;
}

static json_t *list(fixture_t *f, callback_list_t which)
{
    MDB_txn *txn;
    json_t *out = NULL;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(callback_list(f->cb, txn, which, 100, &out), 0);
    store_read_end(&txn);
    return out;
}

/* ---- scheduling ---- */

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
    assert_int_equal(head(f), 1);
    /* An event with no usable ticket id is skipped, not fatal. */
    replied(f, "", 0, T0);
    assert_int_equal(head(f), 1);
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
    assert_int_equal(head(f), 3);
    Hotline__Event *ev = event_at(f, 2);
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
    ev = event_at(f, 3);
    assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_TICKET_CLOSED);
    assert_string_equal(ev->ticket_closed->reason, "rated satisfied");
    assert_int_equal(ev->ticket_closed->rating, HOTLINE__RATING__RATING_VERY_SATISFIED);
    hotline__event__free_unpacked(ev, NULL);
    assert_int_equal(pending(f), 0);

    /* Recorded once: a second recording is a conflict and writes nothing. */
    expect_refusal(f, rate(f, "T-ok", HOTLINE__RATING__RATING_SATISFIED), HOTLINE__STATUS__CONFLICT,
                   "ticketId", "already recorded");
    assert_int_equal(head(f), 3);
    expect_refusal(f, next(f, "a1"), HOTLINE__STATUS__NOT_FOUND, "", "no callbacks waiting");
    /* A replayed reply of the same round does not bring it back. */
    replied(f, "T-ok", 0, local_ms(2026, 11, 24, 15, 0));
    assert_int_equal(head(f), 3);
}

static void test_dissatisfied_requests_rework(void **state)
{
    fixture_t *f = *state;
    replied(f, "T-bad", 0, local_ms(2026, 11, 24, 15, 0));
    received(f, "T-bad", "13812345678", "Li", false);
    assert_int_equal(rate(f, "T-bad", HOTLINE__RATING__RATING_DISSATISFIED), HOTLINE__STATUS__OK);
    assert_int_equal(f->reply->record_callback->status, HOTLINE__TICKET_STATUS__TICKET_REWORK);
    Hotline__Event *ev = event_at(f, 2);
    assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_CALLBACK_RATED);
    assert_false(ev->callback_rated->satisfied);
    hotline__event__free_unpacked(ev, NULL);
    ev = event_at(f, 3);
    assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_REWORK_REQUESTED);
    assert_int_equal(ev->rework_requested->round, 0);
    assert_string_equal(ev->rework_requested->unit, "water-north");
    assert_string_equal(ev->rework_requested->reason, "rated dissatisfied at callback");
    hotline__event__free_unpacked(ev, NULL);
    assert_int_equal(head(f), 3);

    /* Dispatch reopens (nothing to do here) and the unit replies again: round 1's callback. */
    reopened(f, "T-bad", 1);
    assert_int_equal(head(f), 3);
    replied(f, "T-bad", 1, local_ms(2026, 11, 25, 16, 0));
    ev = event_at(f, 4);
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

/* "Basically satisfied" under the default policy (counts as satisfied)... */
static void test_basically_satisfied_counts(void **state)
{
    fixture_t *f = *state;
    replied(f, "T-b", 0, local_ms(2026, 11, 24, 15, 0));
    received(f, "T-b", "13812345678", "Li", false);
    assert_int_equal(rate(f, "T-b", HOTLINE__RATING__RATING_BASICALLY_SATISFIED),
                     HOTLINE__STATUS__OK);
    assert_int_equal(f->reply->record_callback->status, HOTLINE__TICKET_STATUS__TICKET_CLOSED);
    Hotline__Event *ev = event_at(f, 2);
    assert_true(ev->callback_rated->satisfied);
    hotline__event__free_unpacked(ev, NULL);
    ev = event_at(f, 3);
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
    Hotline__Event *ev = event_at(f, 2);
    assert_false(ev->callback_rated->satisfied);
    assert_int_equal(ev->callback_rated->rating, HOTLINE__RATING__RATING_BASICALLY_SATISFIED);
    hotline__event__free_unpacked(ev, NULL);
    ev = event_at(f, 3);
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
    assert_int_equal(head(f), seq + 2);
    Hotline__Event *ev = event_at(f, seq + 1);
    assert_int_equal(ev->callback_attempted->attempt, 3);
    assert_int_equal(ev->callback_attempted->next_due_ms, 0);
    hotline__event__free_unpacked(ev, NULL);
    ev = event_at(f, seq + 2);
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
        cmocka_unit_test_setup_teardown(test_schedule_next_working_day, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_schedules_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_due_until_its_instant, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_leaves_the_scheduler, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_keeps_the_schedule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_next_order_and_claims, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contact_arrives_after_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rated_satisfied_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dissatisfied_requests_rework, setup, teardown),
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
