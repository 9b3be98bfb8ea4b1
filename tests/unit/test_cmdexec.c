/* cmdexec: a retried key gets the first answer without running again; a refusal leaves no
 * writes and is not remembered; answers come only after the commit; old keys are trimmed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cmdexec.h"
#include "hl_error.h"
#include "unit.h"

#include <stdlib.h>

typedef struct fixture {
    char *dir;
    store_t *store;
    hclock_t *clock;
    uv_loop_t loop;
    txq_t *q;
    cmdexec_t *exec;
    MDB_dbi data;
    int handled;       /* handler calls */
    int commits;
    int replies;
    Hotline__Status last_status;
    uint64_t last_seq;
    int commits_at_reply;
} fixture_t;

/* The handler writes one record per command (key = count) and answers with a counter, or
 * refuses a count of 0 after writing (the write must vanish). */
static int handler(void *ctx, MDB_txn *txn, const Hotline__Command *cmd, cmd_reply_t *reply)
{
    fixture_t *f = ctx;
    f->handled++;
    uint64_t count = cmd->test_append->count;
    uint8_t key[8];
    store_be64_put(key, count);
    int rc = store_put(txn, f->data, key, 8, "x", 1, 0);
    if (rc)
        return rc;
    if (count == 0)
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "testAppend.count", "must be > 0");
    Hotline__TestAppendResult *res = arena_alloc(reply->arena, sizeof *res);
    hotline__test_append_result__init(res);
    res->last_seq = (uint64_t)f->handled * 100;
    reply->msg->result_case = HOTLINE__COMMAND_REPLY__RESULT_TEST_APPEND;
    reply->msg->test_append = res;
    return 0;
}

static void on_commit(void *ctx)
{
    ((fixture_t *)ctx)->commits++;
}

static void on_done(void *origin, const Hotline__CommandReply *reply)
{
    fixture_t *f = origin;
    f->replies++;
    f->last_status = reply->status;
    f->last_seq = reply->result_case == HOTLINE__COMMAND_REPLY__RESULT_TEST_APPEND
                      ? reply->test_append->last_seq
                      : 0;
    f->commits_at_reply = f->commits;
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    f->dir = unit_tmpdir();
    store_opts_t o = {.path = f->dir};
    uv_loop_init(&f->loop);
    if (store_open(&f->store, &o) || store_db(f->store, "data", 0, &f->data) ||
        hclock_create(&f->clock, true) || txq_create(&f->q, &f->loop, f->store, 0) ||
        txq_on_commit(f->q, on_commit, f) ||
        cmdexec_create(&f->exec, f->store, f->q, f->clock, 1, handler, f))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    txq_destroy(&f->q);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    uv_loop_close(&f->loop);
    cmdexec_destroy(&f->exec);
    store_close(&f->store);
    hclock_destroy(&f->clock);
    unit_tmpdir_cleanup(f->dir);
    free(f);
    return 0;
}

static void submit(fixture_t *f, const char *key, uint64_t count)
{
    Hotline__Command *cmd = calloc(1, sizeof *cmd);
    hotline__command__init(cmd);
    Hotline__TestAppend *ta = calloc(1, sizeof *ta);
    hotline__test_append__init(ta);
    ta->count = count;
    cmd->body_case = HOTLINE__COMMAND__BODY_TEST_APPEND;
    cmd->test_append = ta;
    if (key)
        cmd->idempotency_key = strdup(key);
    cmdexec_submit(f->exec, cmd, on_done, f);
    uv_run(&f->loop, UV_RUN_NOWAIT);
}

static bool has_record(fixture_t *f, uint64_t count)
{
    MDB_txn *txn;
    MDB_val v;
    uint8_t key[8];
    store_be64_put(key, count);
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    int rc = store_get(txn, f->data, key, 8, &v);
    store_read_end(&txn);
    return rc == 0;
}

static void test_retry_gets_first_answer(void **state)
{
    fixture_t *f = *state;
    submit(f, "k1", 5);
    assert_int_equal(f->replies, 1);
    assert_int_equal(f->last_status, HOTLINE__STATUS__OK);
    assert_int_equal(f->last_seq, 100);
    assert_int_equal(f->commits_at_reply, 1); /* answered only after its commit */
    submit(f, "k1", 5);
    assert_int_equal(f->replies, 2);
    assert_int_equal(f->handled, 1);          /* not run again */
    assert_int_equal(f->last_seq, 100);       /* the first answer */
    assert_int_equal(cmdexec_stats(f->exec)->replayed, 1);
    submit(f, "k2", 6);
    assert_int_equal(f->handled, 2);
    assert_int_equal(f->last_seq, 200);
    submit(f, NULL, 7); /* no key: runs every time */
    submit(f, NULL, 7);
    assert_int_equal(f->handled, 4);
}

static void test_refusal_leaves_nothing(void **state)
{
    fixture_t *f = *state;
    submit(f, "bad", 0);
    assert_int_equal(f->last_status, HOTLINE__STATUS__INVALID);
    assert_false(has_record(f, 0));
    /* A refusal is not remembered: the retry runs the handler again. */
    submit(f, "bad", 0);
    assert_int_equal(f->handled, 2);
    assert_int_equal(cmdexec_stats(f->exec)->refused, 2);
}

static void test_overlong_key_refused(void **state)
{
    fixture_t *f = *state;
    char key[200];
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    submit(f, key, 1);
    assert_int_equal(f->last_status, HOTLINE__STATUS__INVALID);
    assert_int_equal(f->handled, 0);
}

static void test_old_keys_trimmed(void **state)
{
    fixture_t *f = *state;
    submit(f, "old", 1);
    hclock_advance_ms(f->clock, 2 * 3600 * 1000); /* the window is 1 hour */
    submit(f, "new", 2);
    MDB_txn *txn;
    unsigned deleted;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(cmdexec_trim(f->exec, txn, 100, &deleted), 0);
    assert_int_equal(store_write_commit(f->store, &txn), 0);
    assert_int_equal(deleted, 1);
    submit(f, "old", 1); /* forgotten: runs again */
    assert_int_equal(f->handled, 3);
    submit(f, "new", 2); /* still remembered */
    assert_int_equal(f->handled, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_retry_gets_first_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusal_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overlong_key_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_keys_trimmed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
