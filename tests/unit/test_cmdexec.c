/* cmdexec: a retried key gets the first answer without running again; a refusal leaves no
 * writes and is not remembered; a command failing half-way leaves no writes and the rest of
 * its batch commits; answers come only after the commit; old keys are trimmed. */
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

#define REFUSE_FIRST 1000 /* a count the handler refuses before writing anything */
#define FAIL_HALFWAY 2000 /* a count whose write is followed by a failure (ENOMEM) */

/* The handler writes one record per command (key = count) and answers with a counter, or
 * refuses a count of 0 after writing (the write must vanish), or refuses REFUSE_FIRST before
 * writing, or fails after writing FAIL_HALFWAY (the write must vanish). */
static int handler(void *ctx, MDB_txn *txn, const Hotline__Command *cmd, cmd_reply_t *reply)
{
    fixture_t *f = ctx;
    f->handled++;
    uint64_t count = cmd->test_append->count;
    if (count == REFUSE_FIRST)
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "testAppend.count", "taken");
    uint8_t key[8];
    store_be64_put(key, count);
    int rc = store_put(txn, f->data, key, 8, "x", 1, 0);
    if (rc)
        return rc;
    if (count == FAIL_HALFWAY)
        return HL_ENOMEM;
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

static Hotline__Command *new_cmd(const char *key, uint64_t count)
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
    return cmd;
}

static void submit(fixture_t *f, const char *key, uint64_t count)
{
    cmdexec_submit(f->exec, new_cmd(key, count), on_done, f);
    uv_run(&f->loop, UV_RUN_NOWAIT);
}

/* One command's answer, for batches of several. */
typedef struct slot {
    fixture_t *f;
    int replies;
    Hotline__Status status;
    int commits_at_reply;
} slot_t;

static void on_slot_done(void *origin, const Hotline__CommandReply *reply)
{
    slot_t *s = origin;
    s->replies++;
    s->status = reply->status;
    s->commits_at_reply = s->f->commits;
}

/* Submit counts[0..n) (keyed "b<count>") without running the loop: one batch. */
static void submit_batch(fixture_t *f, slot_t *slots, const uint64_t *counts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char key[32];
        snprintf(key, sizeof key, "b%llu", (unsigned long long)counts[i]);
        slots[i] = (slot_t){.f = f};
        cmdexec_submit(f->exec, new_cmd(key, counts[i]), on_slot_done, &slots[i]);
    }
    assert_int_equal(txq_waiting(f->q), n);
}

static bool has_record(fixture_t *f, uint64_t count);

/* No savepoints when every command succeeds or refuses before writing: one pass, one commit,
 * and the refusals left nothing. */
static void test_batch_with_clean_refusal_needs_no_rerun(void **state)
{
    fixture_t *f = *state;
    const uint64_t counts[] = {1, 2, REFUSE_FIRST, 3, 4};
    slot_t slots[5];
    submit_batch(f, slots, counts, 5);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(f->commits, 1);
    assert_int_equal(txq_stats(f->q)->safe_reruns, 0);
    assert_int_equal(f->handled, 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(slots[i].replies, 1);
        assert_int_equal(slots[i].commits_at_reply, 1);
        assert_int_equal(slots[i].status,
                         counts[i] == REFUSE_FIRST ? HOTLINE__STATUS__CONFLICT
                                                   : HOTLINE__STATUS__OK);
        assert_int_equal(has_record(f, counts[i]), counts[i] != REFUSE_FIRST);
    }
    assert_int_equal(cmdexec_stats(f->exec)->ok, 4);
    assert_int_equal(cmdexec_stats(f->exec)->refused, 1);
    /* Neither is a refusal remembered: its key runs the handler again. */
    slot_t again;
    submit_batch(f, &again, (const uint64_t[]){REFUSE_FIRST}, 1);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(again.status, HOTLINE__STATUS__CONFLICT);
    assert_int_equal(f->handled, 6);
    /* The good ones were: their retries replay the first answer. */
    submit_batch(f, &again, (const uint64_t[]){2}, 1);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(again.status, HOTLINE__STATUS__OK);
    assert_int_equal(f->handled, 6);
    assert_int_equal(cmdexec_stats(f->exec)->replayed, 1);
}

/* A command that fails after writing, and one that refuses after writing, in a batch of good
 * commands: the batch runs again with savepoints; the good ones commit (once, with their
 * idempotency records), the other two leave nothing, the failed one's caller gets the error. */
static void test_batch_with_halfway_failure_rolls_back_only_it(void **state)
{
    fixture_t *f = *state;
    const uint64_t counts[] = {1, 2, FAIL_HALFWAY, 3, 0, REFUSE_FIRST, 4};
    enum { N = 7 };
    slot_t slots[N];
    submit_batch(f, slots, counts, N);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(f->commits, 1);
    assert_int_equal(txq_stats(f->q)->safe_reruns, 1);
    for (int i = 0; i < N; i++) {
        assert_int_equal(slots[i].replies, 1);
        assert_int_equal(slots[i].commits_at_reply, 1);
        Hotline__Status want = counts[i] == FAIL_HALFWAY   ? HOTLINE__STATUS__INTERNAL
                               : counts[i] == 0            ? HOTLINE__STATUS__INVALID
                               : counts[i] == REFUSE_FIRST ? HOTLINE__STATUS__CONFLICT
                                                           : HOTLINE__STATUS__OK;
        assert_int_equal(slots[i].status, want);
        assert_int_equal(has_record(f, counts[i]), want == HOTLINE__STATUS__OK);
    }
    assert_int_equal(cmdexec_stats(f->exec)->ok, 4);
    assert_int_equal(cmdexec_stats(f->exec)->refused, 2);
    assert_int_equal(cmdexec_stats(f->exec)->failed, 1);
    /* The good ones are remembered once: retries replay them, the rest run again. */
    slot_t again[N];
    submit_batch(f, again, counts, N);
    int handled = f->handled;
    uv_run(&f->loop, UV_RUN_NOWAIT);
    for (int i = 0; i < N; i++)
        assert_int_equal(again[i].status, slots[i].status);
    assert_int_equal(cmdexec_stats(f->exec)->replayed, 4);
    /* the failing one in the fast pass, then the three that are not replays, with savepoints */
    assert_int_equal(f->handled - handled, 1 + 3);
    assert_int_equal(txq_stats(f->q)->safe_reruns, 2);
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
    /* A refusal is not remembered: the retry runs the handler again. (Twice per submission:
     * a refusal after a write sends its batch round again with savepoints.) */
    submit(f, "bad", 0);
    assert_int_equal(f->handled, 4);
    assert_int_equal(txq_stats(f->q)->safe_reruns, 2);
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
        cmocka_unit_test_setup_teardown(test_batch_with_clean_refusal_needs_no_rerun, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_batch_with_halfway_failure_rolls_back_only_it,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_keys_trimmed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
