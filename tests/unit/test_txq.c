/* txq: items queued in one loop iteration commit together; a failing item is rolled back
 * alone; a full map grows and the batch is re-applied; at the size limit every item gets
 * HL_ENOSPC and nothing is half-stored; acceptance resumes once room returns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "hl_error.h"
#include "txq.h"
#include "unit.h"

typedef struct item {
    txq_item_t base;
    MDB_dbi db;
    char key[16];
    size_t vlen;
    int fail_with;   /* returned after writing, to test rollback */
    int done_rc;
    int done_calls;
    int applies;
} item_t;

static char big[4096];

static int apply(txq_item_t *it, MDB_txn *txn)
{
    item_t *i = (item_t *)it;
    i->applies++;
    int rc = store_put(txn, i->db, i->key, strlen(i->key), big, i->vlen, 0);
    if (rc)
        return rc;
    return i->fail_with;
}

static void done(txq_item_t *it, int rc)
{
    item_t *i = (item_t *)it;
    i->done_rc = rc;
    i->done_calls++;
}

typedef struct fixture {
    char *dir;
    store_t *store;
    uv_loop_t loop;
    txq_t *q;
    MDB_dbi db;
    int commits;
} fixture_t;

static void count_commit(void *ctx)
{
    ((fixture_t *)ctx)->commits++;
}

static int setup_sized(void **state, size_t map, size_t max)
{
    fixture_t *f = calloc(1, sizeof *f);
    f->dir = unit_tmpdir();
    store_opts_t o = {.path = f->dir, .map_size = map, .max_map_size = max};
    if (store_open(&f->store, &o) || store_db(f->store, "d", 0, &f->db))
        return -1;
    uv_loop_init(&f->loop);
    if (txq_create(&f->q, &f->loop, f->store, 0) || txq_on_commit(f->q, count_commit, f))
        return -1;
    memset(big, 'b', sizeof big);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_sized(state, 0, 0);
}

static int setup_small(void **state)
{
    return setup_sized(state, 1 << 20, 2 << 20);
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    txq_destroy(&f->q);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    uv_loop_close(&f->loop);
    store_close(&f->store);
    unit_tmpdir_cleanup(f->dir);
    free(f);
    return 0;
}

static void init_item(fixture_t *f, item_t *i, const char *key, size_t vlen)
{
    memset(i, 0, sizeof *i);
    i->base.apply = apply;
    i->base.done = done;
    i->db = f->db;
    snprintf(i->key, sizeof i->key, "%s", key);
    i->vlen = vlen;
}

static bool has_key(fixture_t *f, const char *key)
{
    MDB_txn *txn;
    MDB_val v;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    int rc = store_get(txn, f->db, key, strlen(key), &v);
    store_read_end(&txn);
    return rc == 0;
}

static void test_one_commit_per_iteration(void **state)
{
    fixture_t *f = *state;
    item_t items[50];
    for (int i = 0; i < 50; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        init_item(f, &items[i], k, 10);
        txq_submit(f->q, &items[i].base);
    }
    assert_int_equal(txq_waiting(f->q), 50);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(f->commits, 1);
    assert_int_equal(txq_stats(f->q)->last_batch, 50);
    assert_int_equal(txq_stats(f->q)->safe_reruns, 0);
    assert_int_equal(items[0].applies, 1);
    for (int i = 0; i < 50; i++) {
        assert_int_equal(items[i].done_calls, 1);
        assert_int_equal(items[i].done_rc, 0);
    }
    assert_true(has_key(f, "k0") && has_key(f, "k49"));
}

static void test_failing_item_rolled_back_alone(void **state)
{
    fixture_t *f = *state;
    item_t a, b, c;
    init_item(f, &a, "a", 10);
    init_item(f, &b, "b", 10);
    init_item(f, &c, "c", 10);
    b.fail_with = HL_EINVAL;
    txq_submit(f->q, &a.base);
    txq_submit(f->q, &b.base);
    txq_submit(f->q, &c.base);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(a.done_rc, 0);
    assert_int_equal(b.done_rc, HL_EINVAL);
    assert_int_equal(c.done_rc, 0);
    assert_true(has_key(f, "a"));
    assert_false(has_key(f, "b"));
    assert_true(has_key(f, "c"));
    assert_int_equal(f->commits, 1);
    /* Straight into the batch's transaction until b failed, then all three again, each in
     * a savepoint. */
    assert_int_equal(txq_stats(f->q)->safe_reruns, 1);
    assert_int_equal(a.applies, 2);
    assert_int_equal(b.applies, 2);
    assert_int_equal(c.applies, 1);
    assert_int_equal(txq_stats(f->q)->failed_items, 1);
    assert_int_equal(txq_stats(f->q)->items, 2);
    /* The next batch, all good, takes the fast path again. */
    item_t d;
    init_item(f, &d, "d", 10);
    txq_submit(f->q, &d.base);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(d.done_rc, 0);
    assert_int_equal(d.applies, 1);
    assert_int_equal(txq_stats(f->q)->safe_reruns, 1);
}

static void test_grow_then_refuse_then_resume(void **state)
{
    fixture_t *f = *state;
    enum { N = 700, FIRST = 300 };
    item_t *items = calloc(N, sizeof *items);
    /* 1500-byte values appended in key order take a 4 KiB page each: the first 300
     * (~1.2 MB) outgrow the 1 MiB start, all 700 (~2.8 MB) outgrow the 2 MiB limit. */
    for (int i = 0; i < N; i++) {
        char k[16];
        snprintf(k, sizeof k, "g%04d", i);
        init_item(f, &items[i], k, 1500);
    }
    for (int i = 0; i < FIRST; i++)
        txq_submit(f->q, &items[i].base);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    for (int i = 0; i < FIRST; i++)
        assert_int_equal(items[i].done_rc, 0);
    assert_true(items[0].applies >= 2);
    assert_int_equal(store_map_size(f->store), 2 << 20);
    assert_false(txq_full(f->q));
    /* The next 400 cannot fit under the limit: each gets HL_ENOSPC, none is stored. */
    for (int i = FIRST; i < N; i++)
        txq_submit(f->q, &items[i].base);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    for (int i = FIRST; i < N; i++)
        assert_int_equal(items[i].done_rc, HL_ENOSPC);
    assert_true(txq_full(f->q));
    assert_false(has_key(f, "g0300"));
    assert_false(has_key(f, "g0699"));
    assert_true(has_key(f, "g0299"));
    /* Room returns (here: a small item fits); the queue accepts again. */
    item_t small;
    init_item(f, &small, "small", 1);
    txq_submit(f->q, &small.base);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(small.done_rc, 0);
    assert_false(txq_full(f->q));
    txq_destroy(&f->q); /* items live on this stack frame: flush before they go */
    free(items);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_commit_per_iteration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failing_item_rolled_back_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grow_then_refuse_then_resume, setup_small,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
