/* store: open, read/write, map growth up to the limit, persistence across reopen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "hl_error.h"
#include "store.h"
#include "unit.h"

static void test_put_get_reopen(void **state)
{
    (void)state;
    char *dir = unit_tmpdir();
    store_opts_t o = {.path = dir};
    store_t *s;
    assert_int_equal(store_open(&s, &o), 0);
    MDB_dbi db;
    assert_int_equal(store_db(s, "things", 0, &db), 0);
    MDB_txn *txn;
    assert_int_equal(store_write_begin(s, &txn), 0);
    assert_int_equal(store_put(txn, db, "k", 1, "value", 5, 0), 0);
    assert_int_equal(store_put(txn, db, "k", 1, "other", 5, MDB_NOOVERWRITE), HL_EEXIST);
    assert_int_equal(store_write_commit(s, &txn), 0);
    assert_null(txn);
    store_close(&s);
    assert_null(s);

    assert_int_equal(store_open(&s, &o), 0);
    assert_int_equal(store_db(s, "things", 0, &db), 0);
    assert_int_equal(store_read_begin(s, &txn), 0);
    MDB_val v;
    assert_int_equal(store_get(txn, db, "k", 1, &v), 0);
    assert_int_equal(v.mv_size, 5);
    assert_memory_equal(v.mv_data, "value", 5);
    assert_int_equal(store_get(txn, db, "missing", 7, &v), HL_ENOTFOUND);
    MDB_val lk;
    assert_int_equal(store_last(txn, db, &lk, NULL), 0);
    assert_memory_equal(lk.mv_data, "k", 1);
    store_read_end(&txn);
    store_close(&s);
    unit_tmpdir_cleanup(dir);
}

static void test_child_abort_leaves_parent(void **state)
{
    (void)state;
    char *dir = unit_tmpdir();
    store_opts_t o = {.path = dir};
    store_t *s;
    assert_int_equal(store_open(&s, &o), 0);
    MDB_dbi db;
    assert_int_equal(store_db(s, "d", 0, &db), 0);
    MDB_txn *txn, *child;
    assert_int_equal(store_write_begin(s, &txn), 0);
    assert_int_equal(store_put(txn, db, "a", 1, "1", 1, 0), 0);
    assert_int_equal(store_child_begin(s, txn, &child), 0);
    assert_int_equal(store_put(child, db, "b", 1, "2", 1, 0), 0);
    store_write_abort(&child);
    assert_int_equal(store_write_commit(s, &txn), 0);
    assert_int_equal(store_read_begin(s, &txn), 0);
    MDB_val v;
    assert_int_equal(store_get(txn, db, "a", 1, &v), 0);
    assert_int_equal(store_get(txn, db, "b", 1, &v), HL_ENOTFOUND);
    store_read_end(&txn);
    store_close(&s);
    unit_tmpdir_cleanup(dir);
}

/* Fill a 1 MiB map: HL_EFULL, grow, retry; at the 4 MiB limit growth says HL_ENOSPC, and
 * everything committed before is intact. */
static void test_growth_and_limit(void **state)
{
    (void)state;
    char *dir = unit_tmpdir();
    store_opts_t o = {.path = dir, .map_size = 1 << 20, .max_map_size = 4 << 20};
    store_t *s;
    assert_int_equal(store_open(&s, &o), 0);
    MDB_dbi db;
    assert_int_equal(store_db(s, "big", 0, &db), 0);
    char val[2000];
    memset(val, 'v', sizeof val);
    unsigned committed = 0, grows = 0;
    int final_rc = 0;
    for (unsigned i = 0; i < 100000 && !final_rc; i++) {
        for (;;) {
            MDB_txn *txn;
            assert_int_equal(store_write_begin(s, &txn), 0);
            char key[16];
            snprintf(key, sizeof key, "%08u", i);
            int rc = store_put(txn, db, key, 8, val, sizeof val, 0);
            if (rc == 0) {
                /* The commit itself may need pages (free list): HL_EFULL there too. */
                rc = store_write_commit(s, &txn);
                if (rc == 0) {
                    committed++;
                    break;
                }
            }
            store_write_abort(&txn);
            assert_int_equal(rc, HL_EFULL);
            rc = store_grow(s);
            if (rc) {
                final_rc = rc;
                break;
            }
            grows++;
        }
    }
    assert_int_equal(final_rc, HL_ENOSPC);
    assert_int_equal(grows, 2); /* 1 -> 2 -> 4 MiB */
    assert_int_equal(store_map_size(s), 4 << 20);
    assert_true(committed > 1000);
    MDB_txn *txn;
    MDB_stat st;
    assert_int_equal(store_read_begin(s, &txn), 0);
    mdb_stat(txn, db, &st);
    assert_int_equal(st.ms_entries, committed);
    store_read_end(&txn);
    store_close(&s);
    unit_tmpdir_cleanup(dir);
}

static void test_open_errors(void **state)
{
    (void)state;
    store_t *s = NULL;
    store_opts_t o = {.path = ""};
    assert_int_equal(store_open(&s, &o), HL_EINVAL);
    o.path = "/proc/hotline-cannot-create-here";
    assert_int_not_equal(store_open(&s, &o), 0);
    assert_null(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_reopen),
        cmocka_unit_test(test_child_abort_leaves_parent),
        cmocka_unit_test(test_growth_and_limit),
        cmocka_unit_test(test_open_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
