/* scheduler: put, reschedule and cancel by id agree with a model over 100,000 random
 * operations; on a real loop with the group commit and a settable clock, entries fire in time
 * order, each once, never before their instant, at most per_pass per transaction; an entry
 * that reschedules itself from fire() runs a ladder; a failing fire rolls the pass back and it
 * is retried; entries left by a closed store fire when it reopens; with caller_keeps_due,
 * cancels at the caller's instant and entries of an id index from before. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "hl_error.h"
#include "scheduler.h"
#include "unit.h"

#include <stdio.h>
#include <string.h>

#define T0 1796000000000LL /* 2026-11-30, any instant will do */

typedef struct fired {
    char id[32];
    int64_t due, at;
} fired_t;

typedef struct fx {
    char *dir;
    store_t *store;
    hclock_t *clock;
    uv_loop_t loop;
    uv_timer_t keep; /* the scheduler's timer is unref'd: this keeps UV_RUN_ONCE polling */
    txq_t *txq;
    scheduler_t *s;
    fired_t *fired;
    size_t nfired, cap;
    int ladder_steps;  /* ids starting "L" put themselves again this many times */
    int fail_left;     /* the next fail_left fires of id "F" fail (HL_EIO) */
    bool keeps_due;    /* open the scheduler with caller_keeps_due */
} fx_t;

static int on_fire(void *ctx, MDB_txn *txn, const scheduler_entry_t *e)
{
    fx_t *f = ctx;
    char id[32];
    snprintf(id, sizeof id, "%.*s", (int)e->id_len, (const char *)e->id);
    if (strcmp(id, "F") == 0 && f->fail_left > 0) {
        f->fail_left--;
        return HL_EIO;
    }
    if (f->nfired == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 1024;
        f->fired = realloc(f->fired, f->cap * sizeof *f->fired);
    }
    fired_t *r = &f->fired[f->nfired++];
    snprintf(r->id, sizeof r->id, "%s", id);
    r->due = e->due_ms;
    r->at = hclock_now_ms(f->clock);
    if (id[0] == 'L' && e->payload_len == 1 && ((const char *)e->payload)[0] < '0' + f->ladder_steps) {
        char next = (char)(((const char *)e->payload)[0] + 1);
        return scheduler_put(f->s, txn, e->id, e->id_len, e->due_ms + 1000, &next, 1);
    }
    return 0;
}

static void keepalive_cb(uv_timer_t *h)
{
    (void)h;
}

static void open_all(fx_t *f, unsigned per_pass)
{
    store_opts_t so = {.path = f->dir, .sync = STORE_SYNC_NOSYNC};
    assert_int_equal(store_open(&f->store, &so), 0);
    uv_loop_init(&f->loop);
    uv_timer_init(&f->loop, &f->keep);
    uv_timer_start(&f->keep, keepalive_cb, 5, 5);
    assert_int_equal(txq_create(&f->txq, &f->loop, f->store, 0), 0);
    scheduler_opts_t o = {.name = "test", .fire = on_fire, .ctx = f, .per_pass = per_pass,
                          .caller_keeps_due = f->keeps_due};
    assert_int_equal(scheduler_create(&f->s, &f->loop, f->store, f->txq, f->clock, &o), 0);
    assert_int_equal(scheduler_start(f->s), 0);
}

static void close_all(fx_t *f)
{
    scheduler_stop(f->s);
    txq_destroy(&f->txq);
    uv_close((uv_handle_t *)&f->keep, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    scheduler_destroy(&f->s);
    store_close(&f->store);
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    f->dir = unit_tmpdir();
    assert_int_equal(hclock_create(&f->clock, true), 0);
    hclock_set_ms(f->clock, T0);
    open_all(f, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    close_all(f);
    hclock_destroy(&f->clock);
    unit_tmpdir_cleanup(f->dir);
    free(f->fired);
    free(f);
    return 0;
}

/* Run the loop until nothing has fired for a few turns and no pass is waiting. */
static void settle(fx_t *f)
{
    size_t last = (size_t)-1;
    int quiet = 0;
    while (quiet < 30) {
        uv_run(&f->loop, UV_RUN_ONCE);
        quiet = f->nfired == last && txq_waiting(f->txq) == 0 ? quiet + 1 : 0;
        last = f->nfired;
    }
}

static void put(fx_t *f, const char *id, int64_t due, const char *payload)
{
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(scheduler_put(f->s, txn, id, strlen(id), due, payload,
                                   payload ? strlen(payload) : 0), 0);
    assert_int_equal(store_write_commit(f->store, &txn), 0);
    hclock_advance_ms(f->clock, 0); /* a commit outside the txq: tell the timer (a clock move) */
}

static void test_put_reschedule_cancel(void **state)
{
    fx_t *f = *state;
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    int64_t due;
    uint64_t n;
    assert_int_equal(scheduler_put(f->s, txn, "a", 1, T0 + 100, "x", 1), 0);
    assert_int_equal(scheduler_due(f->s, txn, "a", 1, &due), 0);
    assert_int_equal(due, T0 + 100);
    assert_int_equal(scheduler_put(f->s, txn, "a", 1, T0 + 50, "y", 1), 0); /* moved */
    assert_int_equal(scheduler_count(f->s, txn, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(scheduler_next(f->s, txn, &due), 0);
    assert_int_equal(due, T0 + 50);
    assert_int_equal(scheduler_cancel(f->s, txn, "a", 1), 0);
    assert_int_equal(scheduler_cancel(f->s, txn, "a", 1), HL_ENOTFOUND);
    assert_int_equal(scheduler_next(f->s, txn, &due), HL_ENOTFOUND);
    assert_int_equal(scheduler_put(f->s, txn, "", 0, T0, NULL, 0), HL_EINVAL);
    char big[SCHEDULER_ID_MAX + 1];
    memset(big, 'x', sizeof big);
    assert_int_equal(scheduler_put(f->s, txn, big, sizeof big, T0, NULL, 0), HL_EINVAL);
    store_write_abort(&txn);
}

/* 100,000 random puts, reschedules and cancels over 20,000 ids, against a model. */
static void test_random_against_model(void **state)
{
    fx_t *f = *state;
    enum { IDS = 20000, OPS = 100000 };
    int64_t *model = calloc(IDS, sizeof *model); /* 0 = not scheduled */
    unsigned seed = 42;
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    for (int op = 0; op < OPS; op++) {
        seed = seed * 1103515245u + 12345u;
        unsigned i = (seed >> 8) % IDS, kind = (seed >> 4) % 4;
        char id[16];
        int len = snprintf(id, sizeof id, "id%u", i);
        if (kind == 0) {
            int rc = scheduler_cancel(f->s, txn, id, (size_t)len);
            assert_int_equal(rc, model[i] ? 0 : HL_ENOTFOUND);
            model[i] = 0;
        } else {
            int64_t due = T0 + 1000 + (int64_t)((seed >> 12) % 1000000);
            assert_int_equal(scheduler_put(f->s, txn, id, (size_t)len, due, id, (size_t)len), 0);
            model[i] = due;
        }
        if (op % 10000 == 9999) { /* commit in chunks, as a service would */
            assert_int_equal(store_write_commit(f->store, &txn), 0);
            assert_int_equal(store_write_begin(f->store, &txn), 0);
        }
    }
    uint64_t n, want = 0;
    int64_t min = INT64_MAX, due;
    for (unsigned i = 0; i < IDS; i++) {
        char id[16];
        int len = snprintf(id, sizeof id, "id%u", i);
        int rc = scheduler_due(f->s, txn, id, (size_t)len, &due);
        if (model[i]) {
            assert_int_equal(rc, 0);
            assert_int_equal(due, model[i]);
            want++;
            min = model[i] < min ? model[i] : min;
        } else {
            assert_int_equal(rc, HL_ENOTFOUND);
        }
    }
    assert_int_equal(scheduler_count(f->s, txn, &n), 0);
    assert_int_equal(n, want);
    assert_int_equal(scheduler_next(f->s, txn, &due), 0);
    assert_int_equal(due, min);
    assert_int_equal(store_write_commit(f->store, &txn), 0);
    free(model);
}

static void test_fires_in_order_once_never_early(void **state)
{
    fx_t *f = *state;
    put(f, "c", T0 + 3000, NULL);
    put(f, "a", T0 + 1000, NULL);
    put(f, "b", T0 + 2000, NULL);
    put(f, "late", T0 + 3600000, NULL);
    settle(f);
    assert_int_equal(f->nfired, 0); /* nothing is due yet */
    hclock_set_ms(f->clock, T0 + 2500);
    settle(f);
    assert_int_equal(f->nfired, 2);
    assert_string_equal(f->fired[0].id, "a");
    assert_string_equal(f->fired[1].id, "b");
    hclock_set_ms(f->clock, T0 + 10000);
    settle(f);
    assert_int_equal(f->nfired, 3);
    assert_string_equal(f->fired[2].id, "c");
    for (size_t i = 0; i < f->nfired; i++)
        assert_true(f->fired[i].at >= f->fired[i].due);
    uint64_t n;
    MDB_txn *txn;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(scheduler_count(f->s, txn, &n), 0);
    store_read_end(&txn);
    assert_int_equal(n, 1); /* "late" still waits */
}

static void test_passes_are_bounded(void **state)
{
    fx_t *f = *state;
    close_all(f);
    open_all(f, 1000);
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    for (int i = 0; i < 5000; i++) {
        char id[16];
        int len = snprintf(id, sizeof id, "n%05d", i);
        assert_int_equal(scheduler_put(f->s, txn, id, (size_t)len, T0 - i, NULL, 0), 0);
    }
    assert_int_equal(store_write_commit(f->store, &txn), 0);
    hclock_advance_ms(f->clock, 1); /* a clock move arms the timer */
    settle(f);
    assert_int_equal(f->nfired, 5000);
    assert_int_equal(scheduler_stats(f->s)->passes, 5);
    for (size_t i = 1; i < f->nfired; i++)
        assert_true(f->fired[i].due >= f->fired[i - 1].due); /* earliest first */
}

static void test_ladder_and_failed_pass(void **state)
{
    fx_t *f = *state;
    f->ladder_steps = 3;
    put(f, "L1", T0 + 1000, "0");
    hclock_set_ms(f->clock, T0 + 10000);
    settle(f);
    assert_int_equal(f->nfired, 4); /* 0, 1, 2, 3 */
    for (int i = 0; i < 4; i++)
        assert_int_equal(f->fired[i].due, T0 + 1000 + 1000 * i);

    /* A fire that fails rolls the pass back: nothing removed, retried (after 1 s). Twice:
     * the txq applies a batch whose item failed once more, each item in a savepoint, before
     * it gives the item its failure. */
    f->fail_left = 2;
    put(f, "F", T0 + 10000, NULL);
    settle(f);
    uint64_t failed = scheduler_stats(f->s)->failed_passes;
    assert_int_equal(failed, 1);
    for (int i = 0; i < 300 && f->nfired < 5; i++)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(f->nfired, 5);
    assert_string_equal(f->fired[4].id, "F");
}

static void test_left_over_fire_at_start(void **state)
{
    fx_t *f = *state;
    put(f, "old1", T0 - 5000, NULL);
    put(f, "old2", T0 - 1000, NULL);
    close_all(f); /* as a kill would: the entries stay in the store */
    open_all(f, 0);
    settle(f);
    assert_int_equal(f->nfired, 2);
    assert_string_equal(f->fired[0].id, "old1");
}

/* caller_keeps_due: no id index, cancelled at the instant the caller gives; entries put with
 * an id index before (an older release) are still cancelled by id, and fire once. */
static void test_caller_keeps_due(void **state)
{
    fx_t *f = *state;
    put(f, "legacy-a", T0 + 100, NULL);
    put(f, "legacy-b", T0 + 150, NULL);
    close_all(f);
    f->keeps_due = true;
    open_all(f, 0);
    MDB_txn *txn;
    int64_t due;
    uint64_t n;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(scheduler_put(f->s, txn, "new", 3, T0 + 200, NULL, 0), 0);
    assert_int_equal(scheduler_due(f->s, txn, "new", 3, &due), HL_ENOTFOUND); /* no id index */
    assert_int_equal(scheduler_due(f->s, txn, "legacy-b", 8, &due), 0);
    assert_int_equal(due, T0 + 150);
    assert_int_equal(scheduler_count(f->s, txn, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(scheduler_cancel_at(f->s, txn, "new", 3, T0 + 201), HL_ENOTFOUND);
    assert_int_equal(scheduler_cancel_at(f->s, txn, "new", 3, T0 + 200), 0);
    assert_int_equal(scheduler_cancel_at(f->s, txn, "new", 3, T0 + 200), HL_ENOTFOUND);
    assert_int_equal(scheduler_cancel(f->s, txn, "legacy-b", 8), 0);
    assert_int_equal(scheduler_due(f->s, txn, "legacy-b", 8, &due), HL_ENOTFOUND);
    assert_int_equal(scheduler_put(f->s, txn, "new", 3, T0 + 200, NULL, 0), 0);
    assert_int_equal(scheduler_put(f->s, txn, "new", 3, T0 + 200, NULL, 0), 0); /* the same */
    assert_int_equal(scheduler_count(f->s, txn, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(store_write_commit(f->store, &txn), 0);
    hclock_advance_ms(f->clock, 300);
    settle(f);
    assert_int_equal(f->nfired, 2);
    assert_string_equal(f->fired[0].id, "legacy-a");
    assert_string_equal(f->fired[1].id, "new");
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(scheduler_count(f->s, txn, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(scheduler_due(f->s, txn, "legacy-a", 8, &due), HL_ENOTFOUND);
    store_read_end(&txn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_reschedule_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_against_model, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fires_in_order_once_never_early, setup, teardown),
        cmocka_unit_test_setup_teardown(test_passes_are_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ladder_and_failed_pass, setup, teardown),
        cmocka_unit_test_setup_teardown(test_left_over_fire_at_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_caller_keeps_due, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
