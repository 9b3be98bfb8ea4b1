/* names: numbers given once per distinct text, read back both ways, gone with a rolled-back
 * transaction, never reused; texts sharing a hash get their own numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "hl_error.h"
#include "names.h"
#include "unit.h"

#include <string.h>

typedef struct fixture {
    char *dir;
    store_t *store;
    MDB_dbi db;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    f->dir = unit_tmpdir();
    store_opts_t o = {.path = f->dir};
    if (store_open(&f->store, &o) || store_db(f->store, "names", 0, &f->db))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    store_close(&f->store);
    unit_tmpdir_cleanup(f->dir);
    free(f);
    return 0;
}

static uint32_t number(fixture_t *f, const char *text, bool give, bool commit)
{
    MDB_txn *txn;
    uint32_t n = 99;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(names_number(txn, f->db, text, strlen(text), give, &n), 0);
    if (commit)
        assert_int_equal(store_write_commit(f->store, &txn), 0);
    else
        store_write_abort(&txn);
    return n;
}

static int count(void *ctx, const char *text, size_t len, uint32_t n)
{
    (void)text;
    (void)len;
    (void)n;
    (*(int *)ctx)++;
    return 0;
}

static void test_numbers(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(number(f, "water-supply", false, true), 0); /* none, none given */
    assert_int_equal(number(f, "water-supply", true, false), 1); /* given, rolled back */
    assert_int_equal(number(f, "water-supply", false, true), 0);
    assert_int_equal(number(f, "water-supply", true, true), 1);
    assert_int_equal(number(f, "repair-crew-north", true, true), 2);
    assert_int_equal(number(f, "water-supply", true, true), 1); /* the one it has */
    assert_int_equal(number(f, "water", true, true), 3);        /* a prefix is another text */

    MDB_txn *txn;
    const char *text;
    size_t len;
    int n = 0;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(names_text(txn, f->db, 2, &text, &len), 0);
    assert_int_equal(len, strlen("repair-crew-north"));
    assert_string_equal(text, "repair-crew-north");
    assert_int_equal(names_text(txn, f->db, 4, &text, &len), HL_ENOTFOUND);
    assert_int_equal(names_scan(txn, f->db, count, &n), 0);
    assert_int_equal(n, 3);
    store_read_end(&txn);
}

/* Another text holding this text's hash (as a 64-bit collision would leave it: planted here,
 * none is known): the text takes the next probe, with its own number and text. */
static void test_shared_hash(void **state)
{
    fixture_t *f = *state;
    const char *t = "liquid";
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = t; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ULL;
    uint8_t key[10] = {'h'};
    store_be64_put(key + 1, h);
    key[9] = 0;
    uint8_t val[4 + 6] = {0, 0, 0, 77, 'o', 't', 'h', 'e', 'r', 0};
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(store_put(txn, f->db, key, sizeof key, val, sizeof val, 0), 0);
    assert_int_equal(store_write_commit(f->store, &txn), 0);
    assert_int_equal(number(f, t, false, true), 0);
    assert_int_equal(number(f, t, true, true), 1);
    assert_int_equal(number(f, t, false, true), 1);
    const char *text;
    size_t len;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(names_text(txn, f->db, 1, &text, &len), 0);
    assert_string_equal(text, "liquid");
    store_read_end(&txn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_hash, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
