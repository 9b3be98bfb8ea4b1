/* callback_fixture: what the test_callback* programs share. In-process: a temporary store, the
 * real event log, callback's scheduler on a loop with the group commit, and a settable clock;
 * events in (received, replied, reopened), commands out (next, record, rate, unreachable,
 * promise), and readers for the log, the pending and skipped counts and the views. Everything
 * is static inline so each test program compiles only what it uses. */
#ifndef HOTLINE_TESTS_UNIT_CALLBACK_FIXTURE_H
#define HOTLINE_TESTS_UNIT_CALLBACK_FIXTURE_H

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
    unsigned fatigue_max, fatigue_days; /* the anti-fatigue cap: 0 calls = none (setup) */
    Hotline__CommandReply *reply; /* the last command's, in arena */
} fixture_t;

/* 2026-11-25 (Wednesday) 10:00 +08:00. */
#define T0 1795572000000LL
#define MIN_MS 60000LL
#define HOUR_MS 3600000LL

/* Local (UTC+8) wall time to UTC ms. */
static inline int64_t local_ms(int y, int m, int d, int hh, int mm)
{
    return (calendar_day_from_ymd(y, m, d) * 86400000LL) - 8 * HOUR_MS + hh * HOUR_MS + mm * MIN_MS;
}

static inline void keepalive_cb(uv_timer_t *h)
{
    (void)h;
}

/* The exclusion list the tests' appeals cite. */
static Hotline__AppealReason fixture_remit = {
    PROTOBUF_C_MESSAGE_INIT(&hotline__appeal_reason__descriptor), "not-our-remit",
    "outside the unit's remit"};
static Hotline__AppealReason fixture_policy = {
    PROTOBUF_C_MESSAGE_INIT(&hotline__appeal_reason__descriptor), "beyond-policy",
    "beyond law or policy"};
static Hotline__AppealReason *const fixture_reasons[] = {&fixture_remit, &fixture_policy};

/* Events appended in a scheduler pass are read back once their pass commits. */
static inline void log_committed(void *ctx)
{
    evlog_committed(ctx);
}

/* Open the store, the logic and its scheduler on a loop with the group commit, as the
 * skeleton does (again after close_all: a restart). */
static inline int open_all(fixture_t *f)
{
    store_opts_t so = {.path = f->dir};
    evlog_opts_t lo = {.source = "callback", .retention_ms = 24 * HOUR_MS};
    char err[256];
    calendar_t *cal = NULL;
    callback_settings_t s = {.call_hour = 9,
                             .retry_minutes = 120,
                             .max_attempts = 3,
                             .claim_minutes = 15,
                             .basically_satisfied_counts = f->basically_counts,
                             .appeal_window_working_days = 3,
                             .appeal_reasons = fixture_reasons,
                             .n_appeal_reasons = 2,
                             .fatigue_max_calls = f->fatigue_max,
                             .fatigue_window_days = f->fatigue_days};
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
        txq_on_commit(f->txq, log_committed, f->log) ||
        scheduler_create(&f->sched, &f->loop, f->store, f->txq, f->clock, &o) ||
        store_write_begin(f->store, &txn) || callback_attach(f->cb, f->sched, txn) ||
        store_write_commit(f->store, &txn) || scheduler_start(f->sched))
        return -1;
    return 0;
}

static inline void close_all(fixture_t *f)
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

/* The fixture under a satisfaction policy and an anti-fatigue cap (fatigue_max 0: none). */
static inline int setup_with(void **state, bool basically_counts, unsigned fatigue_max,
                             unsigned fatigue_days)
{
    fixture_t *f = calloc(1, sizeof *f);
    f->dir = unit_tmpdir();
    f->basically_counts = basically_counts;
    f->fatigue_max = fatigue_max;
    f->fatigue_days = fatigue_days;
    if (hclock_create(&f->clock, true) || hclock_set_ms(f->clock, T0) || open_all(f) ||
        arena_create(&f->arena))
        return -1;
    *state = f;
    return 0;
}

static inline int setup(void **state)
{
    return setup_with(state, true, 0, 0);
}

static inline int setup_strict(void **state)
{
    return setup_with(state, false, 0, 0);
}

/* The service's default cap: 3 calls in 30 days. */
static inline int setup_capped(void **state)
{
    return setup_with(state, true, 3, 30);
}

static inline int teardown(void **state)
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
static inline uint64_t scheduled(fixture_t *f, bool *due_left)
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
static inline void settle(fixture_t *f)
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
static inline void clock_at(fixture_t *f, int64_t ms)
{
    hclock_set_ms(f->clock, ms);
    settle(f);
}

static inline void clock_advance(fixture_t *f, int64_t ms)
{
    hclock_advance_ms(f->clock, ms);
    settle(f);
}

/* ---- driving the logic the way the skeleton does ---- */

/* One feed event in its own transaction (the feed client commits event and cursor so). */
static inline void apply(fixture_t *f, Hotline__Event *ev)
{
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(callback_apply(f->cb, txn, ev), 0);
    assert_int_equal(store_write_commit(f->store, &txn), 0);
    evlog_committed(f->log);
    settle(f);
}

/* TicketReceived of a ticket from contact c, whose caller is vulnerable or not, joined to
 * incident at intake (NULL: none). */
static inline void received_contact(fixture_t *f, const char *id, Hotline__Contact *c,
                                    bool vulnerable, const char *incident)
{
    Hotline__Ticket t = HOTLINE__TICKET__INIT;
    t.id = (char *)id;
    t.contact = c;
    t.category_code = "W01";
    t.description = "no water since this morning";
    t.vulnerable_caller = vulnerable;
    if (incident)
        t.incident_id = (char *)incident;
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

static inline void received_as(fixture_t *f, const char *id, const char *phone, bool vulnerable,
                               const char *incident)
{
    Hotline__Contact c = HOTLINE__CONTACT__INIT;
    c.phone = (char *)phone;
    c.name = (char *)"Li";
    received_contact(f, id, &c, vulnerable, incident);
}

static inline void received(fixture_t *f, const char *id, const char *phone, const char *name,
                            bool anonymous)
{
    Hotline__Contact c = HOTLINE__CONTACT__INIT;
    c.phone = (char *)phone;
    c.name = (char *)name;
    c.anonymous = anonymous;
    received_contact(f, id, &c, false, NULL);
}

/* A reply saying text; with incident, one of that incident's close (one call per caller). */
static inline void replied_saying(fixture_t *f, const char *id, uint32_t round, int64_t at_ms,
                                  const char *incident, const char *text)
{
    Hotline__TicketReplied r = HOTLINE__TICKET_REPLIED__INIT;
    r.unit = "water-north";
    r.result = (char *)text;
    r.resolved = true;
    r.round = round;
    if (incident)
        r.incident_id = (char *)incident;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.source = "dispatch";
    ev.ticket_id = (char *)id;
    ev.time_ms = at_ms;
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_REPLIED;
    ev.ticket_replied = &r;
    apply(f, &ev);
}

static inline void replied_in(fixture_t *f, const char *id, uint32_t round, int64_t at_ms,
                              const char *incident)
{
    replied_saying(f, id, round, at_ms, incident, "main repaired, supply restored at 16:40");
}

static inline void replied(fixture_t *f, const char *id, uint32_t round, int64_t at_ms)
{
    replied_in(f, id, round, at_ms, NULL);
}

static inline void reopened(fixture_t *f, const char *id, uint32_t round)
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
static inline Hotline__Status run(fixture_t *f, Hotline__Command *cmd)
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

static inline Hotline__Status next(fixture_t *f, const char *agent)
{
    Hotline__NextCallback nc = HOTLINE__NEXT_CALLBACK__INIT;
    nc.agent = (char *)agent;
    Hotline__Command cmd = HOTLINE__COMMAND__INIT;
    cmd.body_case = HOTLINE__COMMAND__BODY_NEXT_CALLBACK;
    cmd.next_callback = &nc;
    return run(f, &cmd);
}

/* NextCallback that must hand out a task: its ticket id. */
static inline const char *next_id(fixture_t *f, const char *agent)
{
    assert_int_equal(next(f, agent), HOTLINE__STATUS__OK);
    assert_int_equal(f->reply->result_case, HOTLINE__COMMAND_REPLY__RESULT_CALLBACK_TASK);
    return f->reply->callback_task->ticket_id;
}

static inline Hotline__Status record(fixture_t *f, const char *id, Hotline__CallbackOutcome outcome,
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
static inline void claim(fixture_t *f, const char *id, const char *agent)
{
    if (next(f, agent) != HOTLINE__STATUS__OK ||
        strcmp(f->reply->callback_task->ticket_id, id) != 0)
        return; /* not handed out: the recording that follows says why */
}

static inline Hotline__Status rate(fixture_t *f, const char *id, Hotline__Rating rating)
{
    claim(f, id, "a1");
    return record(f, id, HOTLINE__CALLBACK_OUTCOME__CALLBACK_RATED, rating, "thanks", "a1");
}

static inline Hotline__Status unreachable(fixture_t *f, const char *id, const char *agent)
{
    claim(f, id, agent);
    return record(f, id, HOTLINE__CALLBACK_OUTCOME__CALLBACK_UNREACHABLE,
                  HOTLINE__RATING__RATING_UNSPECIFIED, "", agent);
}

/* PromiseCallback: at_ms, or at (RFC 3339) when at_text is given. */
static inline Hotline__Status promise(fixture_t *f, const char *id, int64_t at_ms,
                                      const char *at_text, const char *note)
{
    Hotline__PromiseCallback pc = HOTLINE__PROMISE_CALLBACK__INIT;
    pc.ticket_id = (char *)id;
    pc.at_ms = at_ms;
    if (at_text)
        pc.at = (char *)at_text;
    if (note)
        pc.note = (char *)note;
    Hotline__Command cmd = HOTLINE__COMMAND__INIT;
    cmd.body_case = HOTLINE__COMMAND__BODY_PROMISE_CALLBACK;
    cmd.promise_callback = &pc;
    cmd.actor = "operator:op-1";
    return run(f, &cmd);
}

static inline void expect_refusal(fixture_t *f, Hotline__Status got, Hotline__Status want,
                           const char *field, const char *in_message)
{
    assert_int_equal(got, want);
    assert_string_equal(f->reply->field, field);
    if (!strstr(f->reply->message, in_message))
        fail_msg("message \"%s\" lacks \"%s\"", f->reply->message, in_message);
}

/* ---- reading the log back ---- */

static inline int keep_event(void *ctx, uint64_t seq, const uint8_t *bytes, size_t len)
{
    (void)seq;
    *(Hotline__Event **)ctx = hotline__event__unpack(NULL, len, bytes);
    return 1;
}

/* The event at seq (free with hotline__event__free_unpacked). */
static inline Hotline__Event *event_at(fixture_t *f, uint64_t seq)
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

static inline uint64_t head(fixture_t *f)
{
    return evlog_head(f->log);
}

/* One of callback's counts (callback_pending_count, ...). */
static inline uint64_t count_of(fixture_t *f, int (*fn)(callback_t *, MDB_txn *, uint64_t *))
{
    MDB_txn *txn;
    uint64_t n = 0;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(fn(f->cb, txn, &n), 0);
    store_read_end(&txn);
    return n;
}

static inline uint64_t pending(fixture_t *f)
{
    return count_of(f, callback_pending_count);
}

static inline json_t *list(fixture_t *f, callback_list_t which)
{
    MDB_txn *txn;
    json_t *out = NULL;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(callback_list(f->cb, txn, which, 100, &out), 0);
    store_read_end(&txn);
    return out;
}

static inline uint64_t skipped(fixture_t *f)
{
    return count_of(f, callback_skipped_count);
}

/* Task i of a list view (borrowed from l), or NULL; a string field of it. */
static inline json_t *list_item(json_t *l, size_t i)
{
    return json_array_get(json_object_get(l, "callbacks"), i);
}

static inline const char *item_str(json_t *l, size_t i, const char *key)
{
    return json_string_value(json_object_get(list_item(l, i), key));
}

#endif
