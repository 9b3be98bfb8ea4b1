/* store: open, read/write, map growth up to the limit, persistence across reopen; positions,
 * counts, reserved writes and scans (ranges, prefixes, both directions, deleting while
 * scanning). */
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
    assert_int_equal(store_max_map_size(s), 4 << 20); /* the limit it stopped at */
    assert_true(committed > 1000);
    MDB_txn *txn;
    uint64_t entries;
    assert_int_equal(store_read_begin(s, &txn), 0);
    assert_int_equal(store_count(txn, db, &entries), 0);
    assert_int_equal(entries, committed);
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

/* ---- positions, counts, reserved writes, scans ---- */

typedef struct fixture {
    char *dir;
    store_t *s;
    MDB_dbi db;
} fixture_t;

/* Keys around the prefix "b", with 0x00 and 0xFF bytes where the edge cases are. */
static const char *const KEYS[] = {"a",     "b",         "b\0x", "ba",   "bb",
                                   "b\xff", "b\xff\xff", "c",    "\xff", "\xff\xff"};
static const size_t KEY_LENS[] = {1, 1, 3, 2, 2, 2, 3, 1, 1, 2};
#define NKEYS (sizeof KEYS / sizeof *KEYS)

static void fixture_open(fixture_t *f, bool fill)
{
    f->dir = unit_tmpdir();
    store_opts_t o = {.path = f->dir};
    assert_int_equal(store_open(&f->s, &o), 0);
    assert_int_equal(store_db(f->s, "d", 0, &f->db), 0);
    if (!fill)
        return;
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->s, &txn), 0);
    for (size_t i = 0; i < NKEYS; i++) /* the value is the key's index, for the checks */
        assert_int_equal(store_put(txn, f->db, KEYS[i], KEY_LENS[i], &i, sizeof i, 0), 0);
    assert_int_equal(store_write_commit(f->s, &txn), 0);
}

static void fixture_close(fixture_t *f)
{
    store_close(&f->s);
    unit_tmpdir_cleanup(f->dir);
}

/* The KEYS index an entry's value holds. */
static size_t key_index(const MDB_val *v)
{
    assert_int_equal(v->mv_size, sizeof(size_t));
    size_t i;
    memcpy(&i, v->mv_data, sizeof i);
    assert_true(i < NKEYS);
    return i;
}

static void assert_key(const MDB_val *k, size_t want)
{
    assert_int_equal(k->mv_size, KEY_LENS[want]);
    assert_memory_equal(k->mv_data, KEYS[want], KEY_LENS[want]);
}

static void test_first_last_seek(void **state)
{
    (void)state;
    fixture_t f;
    fixture_open(&f, false);
    MDB_txn *txn;
    MDB_val k, v;
    assert_int_equal(store_read_begin(f.s, &txn), 0);
    assert_int_equal(store_first(txn, f.db, &k, &v), HL_ENOTFOUND);
    assert_int_equal(store_last(txn, f.db, &k, &v), HL_ENOTFOUND);
    assert_int_equal(store_seek(txn, f.db, "a", 1, false, &k, &v), HL_ENOTFOUND);
    assert_int_equal(store_seek(txn, f.db, "a", 1, true, &k, &v), HL_ENOTFOUND);
    store_read_end(&txn);
    fixture_close(&f);

    fixture_open(&f, true);
    assert_int_equal(store_read_begin(f.s, &txn), 0);
    assert_int_equal(store_first(txn, f.db, &k, &v), 0);
    assert_key(&k, 0);
    assert_int_equal(key_index(&v), 0);
    assert_int_equal(store_first(txn, f.db, NULL, NULL), 0);
    assert_int_equal(store_last(txn, f.db, &k, NULL), 0);
    assert_key(&k, 9);
    /* At or after. */
    assert_int_equal(store_seek(txn, f.db, "b", 1, false, &k, &v), 0);
    assert_key(&k, 1);
    assert_int_equal(key_index(&v), 1);
    assert_int_equal(store_seek(txn, f.db, "b\0", 2, false, &k, NULL), 0);
    assert_key(&k, 2); /* "b\0x" */
    assert_int_equal(store_seek(txn, f.db, "bc", 2, false, &k, NULL), 0);
    assert_key(&k, 5); /* "b\xff" */
    assert_int_equal(store_seek(txn, f.db, "\xff\xff\xff", 3, false, &k, NULL), HL_ENOTFOUND);
    /* At or before. */
    assert_int_equal(store_seek(txn, f.db, "bb", 2, true, &k, NULL), 0);
    assert_key(&k, 4);
    assert_int_equal(store_seek(txn, f.db, "bc", 2, true, &k, NULL), 0);
    assert_key(&k, 4);
    assert_int_equal(store_seek(txn, f.db, "z", 1, true, &k, NULL), 0);
    assert_key(&k, 7); /* "c" */
    assert_int_equal(store_seek(txn, f.db, "\xff\xff\xff", 3, true, &k, NULL), 0);
    assert_key(&k, 9);
    assert_int_equal(store_seek(txn, f.db, "0", 1, true, &k, NULL), HL_ENOTFOUND);
    /* No key: the first / last. */
    assert_int_equal(store_seek(txn, f.db, NULL, 0, true, &k, NULL), 0);
    assert_key(&k, 9);
    store_read_end(&txn);
    fixture_close(&f);
}

static void test_count(void **state)
{
    (void)state;
    fixture_t f;
    fixture_open(&f, false);
    MDB_txn *txn;
    uint64_t n = 99;
    assert_int_equal(store_read_begin(f.s, &txn), 0);
    assert_int_equal(store_count(txn, f.db, &n), 0);
    assert_int_equal(n, 0);
    store_read_end(&txn);
    assert_int_equal(store_write_begin(f.s, &txn), 0);
    assert_int_equal(store_put(txn, f.db, "x", 1, "", 0, 0), 0);
    assert_int_equal(store_put(txn, f.db, "y", 1, "", 0, 0), 0);
    assert_int_equal(store_count(txn, f.db, &n), 0);
    assert_int_equal(n, 2); /* the transaction's own writes */
    assert_int_equal(store_del(txn, f.db, "x", 1), 0);
    assert_int_equal(store_count(txn, f.db, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(store_write_commit(f.s, &txn), 0);
    fixture_close(&f);

    fixture_open(&f, true);
    assert_int_equal(store_read_begin(f.s, &txn), 0);
    assert_int_equal(store_count(txn, f.db, &n), 0);
    assert_int_equal(n, NKEYS);
    store_read_end(&txn);
    fixture_close(&f);
}

static void test_put_reserve(void **state)
{
    (void)state;
    fixture_t f;
    fixture_open(&f, false);
    MDB_txn *txn;
    void *at = NULL;
    assert_int_equal(store_write_begin(f.s, &txn), 0);
    assert_int_equal(store_put_reserve(txn, f.db, "k", 1, 5, 0, &at), 0);
    assert_non_null(at);
    memcpy(at, "hello", 5);
    /* Rewriting in place: the new size wins. */
    assert_int_equal(store_put_reserve(txn, f.db, "j", 1, 3, 0, &at), 0);
    memcpy(at, "abc", 3);
    assert_int_equal(store_put_reserve(txn, f.db, "k", 1, 2, MDB_NOOVERWRITE, &at), HL_EEXIST);
    assert_null(at);
    assert_int_equal(store_write_commit(f.s, &txn), 0);

    assert_int_equal(store_read_begin(f.s, &txn), 0);
    MDB_val v;
    assert_int_equal(store_get(txn, f.db, "k", 1, &v), 0);
    assert_int_equal(v.mv_size, 5);
    assert_memory_equal(v.mv_data, "hello", 5);
    assert_int_equal(store_get(txn, f.db, "j", 1, &v), 0);
    assert_int_equal(v.mv_size, 3);
    assert_memory_equal(v.mv_data, "abc", 3);
    store_read_end(&txn);
    fixture_close(&f);
}

/* What a scan showed: KEYS indexes in visit order. stop_after > 0 stops after that many;
 * fail_at > 0 aborts with HL_ECORRUPT on that visit. */
typedef struct seen {
    size_t idx[NKEYS * 2];
    size_t n;
    size_t stop_after, fail_at;
} seen_t;

static int collect(void *ctx, const store_entry_t *e)
{
    seen_t *s = ctx;
    size_t i = key_index(&e->val);
    assert_key(&e->key, i);
    assert_true(s->n < NKEYS * 2);
    s->idx[s->n++] = i;
    if (s->fail_at && s->n == s->fail_at)
        return HL_ECORRUPT;
    return s->stop_after && s->n == s->stop_after ? 1 : 0;
}

/* Scan f's keys with range r and check they came as want (KEYS indexes, -1 ends). */
static void expect_scan(fixture_t *f, const store_range_t *r, const int *want)
{
    MDB_txn *txn;
    assert_int_equal(store_read_begin(f->s, &txn), 0);
    seen_t s = {0};
    assert_int_equal(store_scan(txn, f->db, r, collect, &s), 0);
    store_read_end(&txn);
    size_t n = 0;
    while (want[n] >= 0)
        n++;
    assert_int_equal(s.n, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(s.idx[i], (size_t)want[i]);
}

static void test_scan_whole_and_from(void **state)
{
    (void)state;
    fixture_t f;
    fixture_open(&f, false);
    expect_scan(&f, NULL, (const int[]){-1}); /* empty: nothing, no error */
    expect_scan(&f, &(store_range_t){.reverse = true}, (const int[]){-1});
    fixture_close(&f);

    fixture_open(&f, true);
    expect_scan(&f, NULL, (const int[]){0, 1, 2, 3, 4, 5, 6, 7, 8, 9, -1});
    expect_scan(&f, &(store_range_t){.reverse = true},
                (const int[]){9, 8, 7, 6, 5, 4, 3, 2, 1, 0, -1});
    /* From a key that exists, and from one between two. */
    expect_scan(&f, &(store_range_t){.from = "bb", .from_len = 2},
                (const int[]){4, 5, 6, 7, 8, 9, -1});
    expect_scan(&f, &(store_range_t){.from = "bc", .from_len = 2},
                (const int[]){5, 6, 7, 8, 9, -1});
    expect_scan(&f, &(store_range_t){.from = "bb", .from_len = 2, .reverse = true},
                (const int[]){4, 3, 2, 1, 0, -1});
    expect_scan(&f, &(store_range_t){.from = "bc", .from_len = 2, .reverse = true},
                (const int[]){4, 3, 2, 1, 0, -1});
    /* Past either end. */
    expect_scan(&f, &(store_range_t){.from = "\xff\xff\xff", .from_len = 3}, (const int[]){-1});
    expect_scan(&f, &(store_range_t){.from = "0", .from_len = 1, .reverse = true},
                (const int[]){-1});
    expect_scan(&f, &(store_range_t){.from = "0", .from_len = 1},
                (const int[]){0, 1, 2, 3, 4, 5, 6, 7, 8, 9, -1});
    expect_scan(&f, &(store_range_t){.from = "\xff\xff\xff", .from_len = 3, .reverse = true},
                (const int[]){9, 8, 7, 6, 5, 4, 3, 2, 1, 0, -1});
    fixture_close(&f);
}

static void test_scan_prefix(void **state)
{
    (void)state;
    fixture_t f;
    fixture_open(&f, true);
    expect_scan(&f, &(store_range_t){.prefix = "b", .prefix_len = 1},
                (const int[]){1, 2, 3, 4, 5, 6, -1});
    expect_scan(&f, &(store_range_t){.prefix = "b", .prefix_len = 1, .reverse = true},
                (const int[]){6, 5, 4, 3, 2, 1, -1});
    /* A prefix ending in 0xFF: its keys end below "c". */
    expect_scan(&f, &(store_range_t){.prefix = "b\xff", .prefix_len = 2, .reverse = true},
                (const int[]){6, 5, -1});
    /* Only 0xFF: no key above them, the walk back starts at the last key. */
    expect_scan(&f, &(store_range_t){.prefix = "\xff", .prefix_len = 1, .reverse = true},
                (const int[]){9, 8, -1});
    expect_scan(&f, &(store_range_t){.prefix = "\xff", .prefix_len = 1}, (const int[]){8, 9, -1});
    /* A prefix no key has, and one longer than any key may be. */
    expect_scan(&f, &(store_range_t){.prefix = "bz", .prefix_len = 2}, (const int[]){-1});
    expect_scan(&f, &(store_range_t){.prefix = "bz", .prefix_len = 2, .reverse = true},
                (const int[]){-1});
    static const char long_prefix[600] = "b";
    expect_scan(&f, &(store_range_t){.prefix = long_prefix, .prefix_len = sizeof long_prefix},
                (const int[]){-1});
    /* Length 0 is no bound. */
    expect_scan(&f, &(store_range_t){.prefix = "", .prefix_len = 0, .reverse = true},
                (const int[]){9, 8, 7, 6, 5, 4, 3, 2, 1, 0, -1});
    fixture_close(&f);
}

/* from with a prefix: the keys that begin with it and are >= from (reverse: <=), wherever
 * from lies. */
static void test_scan_prefix_from(void **state)
{
    (void)state;
    fixture_t f;
    fixture_open(&f, true);
    const store_range_t b = {.prefix = "b", .prefix_len = 1};
    store_range_t r = b;
    r.from = "ba", r.from_len = 2;
    expect_scan(&f, &r, (const int[]){3, 4, 5, 6, -1});
    r.reverse = true;
    expect_scan(&f, &r, (const int[]){3, 2, 1, -1});
    r = b, r.from = "a", r.from_len = 1; /* below the prefix's keys */
    expect_scan(&f, &r, (const int[]){1, 2, 3, 4, 5, 6, -1});
    r.reverse = true;
    expect_scan(&f, &r, (const int[]){-1});
    r = b, r.from = "c", r.from_len = 1; /* above them */
    expect_scan(&f, &r, (const int[]){-1});
    r.reverse = true;
    expect_scan(&f, &r, (const int[]){6, 5, 4, 3, 2, 1, -1});
    r = b, r.from = "bz", r.from_len = 2; /* inside, between keys */
    r.reverse = true;
    expect_scan(&f, &r, (const int[]){4, 3, 2, 1, -1});
    fixture_close(&f);
}

static void test_scan_stop_and_abort(void **state)
{
    (void)state;
    fixture_t f;
    fixture_open(&f, true);
    MDB_txn *txn;
    assert_int_equal(store_read_begin(f.s, &txn), 0);
    seen_t s = {.stop_after = 3};
    assert_int_equal(store_scan(txn, f.db, NULL, collect, &s), 0);
    assert_int_equal(s.n, 3);
    s = (seen_t){.fail_at = 2};
    assert_int_equal(store_scan(txn, f.db, &(store_range_t){.reverse = true}, collect, &s),
                     HL_ECORRUPT);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.idx[1], 8);
    store_read_end(&txn);
    fixture_close(&f);
}

/* Deleting while scanning, over many pages: every entry is visited once, in order, and only
 * the deleted ones go. */
typedef struct deleter {
    uint64_t last;
    size_t visited, deleted;
    unsigned every; /* delete keys that are multiples of this */
    bool reverse;
} deleter_t;

static int delete_some(void *ctx, const store_entry_t *e)
{
    deleter_t *d = ctx;
    assert_int_equal(e->key.mv_size, 8);
    uint64_t k = store_be64_get(e->key.mv_data);
    if (d->visited)
        assert_true(d->reverse ? k < d->last : k > d->last);
    d->last = k;
    d->visited++;
    if (k % d->every)
        return 0;
    d->deleted++;
    return store_scan_del(e);
}

static void test_scan_del(void **state)
{
    (void)state;
    enum { N = 3000 };
    fixture_t f;
    fixture_open(&f, false);
    MDB_txn *txn;
    uint8_t key[8], val[100] = {0};
    assert_int_equal(store_write_begin(f.s, &txn), 0);
    for (uint64_t i = 1; i <= N; i++) {
        store_be64_put(key, i);
        assert_int_equal(store_put(txn, f.db, key, 8, val, sizeof val, 0), 0);
    }
    assert_int_equal(store_write_commit(f.s, &txn), 0);

    assert_int_equal(store_write_begin(f.s, &txn), 0);
    deleter_t d = {.every = 2};
    assert_int_equal(store_scan(txn, f.db, NULL, delete_some, &d), 0);
    assert_int_equal(d.visited, N);
    assert_int_equal(d.deleted, N / 2);
    d = (deleter_t){.every = 3, .reverse = true};
    assert_int_equal(store_scan(txn, f.db, &(store_range_t){.reverse = true}, delete_some, &d), 0);
    assert_int_equal(d.visited, N / 2);
    assert_int_equal(d.deleted, N / 6); /* odd multiples of 3 */
    assert_int_equal(store_write_commit(f.s, &txn), 0);

    assert_int_equal(store_read_begin(f.s, &txn), 0);
    uint64_t n;
    assert_int_equal(store_count(txn, f.db, &n), 0);
    assert_int_equal(n, N - N / 2 - N / 6);
    for (uint64_t i = 1; i <= N; i++) {
        store_be64_put(key, i);
        MDB_val v;
        assert_int_equal(store_get(txn, f.db, key, 8, &v),
                         i % 2 == 0 || i % 3 == 0 ? HL_ENOTFOUND : 0);
    }
    store_read_end(&txn);

    /* Deleting everything, backwards. */
    assert_int_equal(store_write_begin(f.s, &txn), 0);
    d = (deleter_t){.every = 1, .reverse = true};
    assert_int_equal(store_scan(txn, f.db, &(store_range_t){.reverse = true}, delete_some, &d), 0);
    assert_int_equal(d.deleted, n);
    assert_int_equal(store_count(txn, f.db, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_first(txn, f.db, NULL, NULL), HL_ENOTFOUND);
    store_write_abort(&txn);
    fixture_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_reopen),
        cmocka_unit_test(test_child_abort_leaves_parent),
        cmocka_unit_test(test_growth_and_limit),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_first_last_seek),
        cmocka_unit_test(test_count),
        cmocka_unit_test(test_put_reserve),
        cmocka_unit_test(test_scan_whole_and_from),
        cmocka_unit_test(test_scan_prefix),
        cmocka_unit_test(test_scan_prefix_from),
        cmocka_unit_test(test_scan_stop_and_abort),
        cmocka_unit_test(test_scan_del),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
