/* evlog: dense sequence numbers across commits and rolled-back children, range reads,
 * trimming bounded by consumer cursors and retention. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "evlog.h"
#include "hl_error.h"
#include "unit.h"

#include <string.h>

typedef struct fixture {
    char *dir;
    store_t *store;
    hclock_t *clock;
    evlog_t *log;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    f->dir = unit_tmpdir();
    store_opts_t o = {.path = f->dir};
    if (store_open(&f->store, &o) || hclock_create(&f->clock, true))
        return -1;
    const char *consumers[] = {"dispatch"};
    evlog_opts_t lo = {.source = "intake", .retention_ms = 3600 * 1000,
                       .consumers = consumers, .nconsumers = 1};
    if (evlog_open(&f->log, f->store, f->clock, &lo))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    evlog_close(&f->log);
    store_close(&f->store);
    hclock_destroy(&f->clock);
    unit_tmpdir_cleanup(f->dir);
    free(f);
    return 0;
}

static void append_n(fixture_t *f, unsigned n, uint64_t first_n)
{
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    for (unsigned i = 0; i < n; i++) {
        Hotline__TestEvent te = HOTLINE__TEST_EVENT__INIT;
        te.n = first_n + i;
        Hotline__Event ev = HOTLINE__EVENT__INIT;
        ev.body_case = HOTLINE__EVENT__BODY_TEST;
        ev.test = &te;
        assert_int_equal(evlog_append(f->log, txn, &ev), 0);
        assert_string_equal(ev.source, "intake");
    }
    assert_int_equal(store_write_commit(f->store, &txn), 0);
    evlog_committed(f->log);
}

typedef struct seen {
    uint64_t seqs[64];
    uint64_t ns[64];
    int n;
} seen_t;

static int visit(void *ctx, uint64_t seq, const uint8_t *bytes, size_t len)
{
    seen_t *s = ctx;
    Hotline__Event *ev = hotline__event__unpack(NULL, len, bytes);
    assert_non_null(ev);
    assert_int_equal(ev->seq, seq);
    s->seqs[s->n] = seq;
    s->ns[s->n] = ev->test->n;
    s->n++;
    hotline__event__free_unpacked(ev, NULL);
    return 0;
}

static void test_dense_sequence(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(evlog_head(f->log), 0);
    append_n(f, 3, 1);
    assert_int_equal(evlog_head(f->log), 3);
    /* A child transaction that appends and rolls back leaves no hole. */
    MDB_txn *txn, *child;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(store_child_begin(f->store, txn, &child), 0);
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    assert_int_equal(evlog_append(f->log, child, &ev), 0);
    assert_int_equal(ev.seq, 4);
    store_write_abort(&child);
    Hotline__TestEvent te = HOTLINE__TEST_EVENT__INIT;
    te.n = 4;
    ev.body_case = HOTLINE__EVENT__BODY_TEST;
    ev.test = &te;
    assert_int_equal(evlog_append(f->log, txn, &ev), 0);
    assert_int_equal(ev.seq, 4);
    assert_int_equal(store_write_commit(f->store, &txn), 0);
    evlog_committed(f->log);
    assert_int_equal(evlog_head(f->log), 4);

    seen_t s = {0};
    MDB_txn *r;
    assert_int_equal(store_read_begin(f->store, &r), 0);
    assert_int_equal(evlog_read(f->log, r, 1, 10, 1 << 20, visit, &s), 3);
    store_read_end(&r);
    assert_int_equal(s.n, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(s.seqs[i], (uint64_t)i + 2);
        assert_int_equal(s.ns[i], (uint64_t)i + 2);
    }
}

static void test_read_limits(void **state)
{
    fixture_t *f = *state;
    append_n(f, 10, 1);
    seen_t s = {0};
    MDB_txn *r;
    assert_int_equal(store_read_begin(f->store, &r), 0);
    assert_int_equal(evlog_read(f->log, r, 0, 4, 1 << 20, visit, &s), 4);
    s.n = 0;
    /* A byte limit smaller than one event still returns one. */
    assert_int_equal(evlog_read(f->log, r, 5, 10, 1, visit, &s), 1);
    assert_int_equal(s.seqs[0], 6);
    s.n = 0;
    assert_int_equal(evlog_read(f->log, r, 10, 10, 1 << 20, visit, &s), 0);
    store_read_end(&r);
}

static unsigned trim(fixture_t *f)
{
    MDB_txn *txn;
    unsigned deleted;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(evlog_trim(f->log, txn, 1000, &deleted), 0);
    assert_int_equal(store_write_commit(f->store, &txn), 0);
    evlog_committed(f->log);
    return deleted;
}

static void test_trim_respects_cursors_and_retention(void **state)
{
    fixture_t *f = *state;
    append_n(f, 20, 1);
    /* Pre-registered "dispatch" is at 0: nothing may go, however old. */
    hclock_advance_ms(f->clock, 2 * 3600 * 1000);
    assert_int_equal(trim(f), 0);
    evlog_consumer_seen(f->log, "dispatch", 15);
    evlog_consumer_seen(f->log, "sla", 12);
    assert_int_equal(evlog_min_cursor(f->log, NULL), 12);
    assert_int_equal(trim(f), 12);
    assert_int_equal(evlog_first(f->log), 13);
    /* Young events stay even when every consumer has them. */
    append_n(f, 5, 21);
    evlog_consumer_seen(f->log, "dispatch", 25);
    evlog_consumer_seen(f->log, "sla", 25);
    assert_int_equal(trim(f), 8); /* 13..20 are old; 21..25 are new */
    hclock_advance_ms(f->clock, 2 * 3600 * 1000);
    assert_int_equal(trim(f), 4); /* the last event always stays: it carries the head */
    assert_int_equal(evlog_head(f->log), 25);
    assert_int_equal(evlog_first(f->log), 25);
    /* The head survives trimming and reopening: seq is never reused. */
    evlog_close(&f->log);
    evlog_opts_t lo = {.source = "intake", .retention_ms = 3600 * 1000};
    assert_int_equal(evlog_open(&f->log, f->store, f->clock, &lo), 0);
    assert_int_equal(evlog_head(f->log), 25);
    assert_int_equal(evlog_min_cursor(f->log, NULL), 25); /* cursors were persisted */
    append_n(f, 1, 26);
    assert_int_equal(evlog_head(f->log), 26);
}

typedef struct kinds {
    uint64_t test, none;
} kinds_t;

static void count(void *ctx, const char *kind, uint64_t n)
{
    kinds_t *k = ctx;
    if (strcmp(kind, "test") == 0)
        k->test = n;
    else if (strcmp(kind, "none") == 0)
        k->none = n;
}

static void test_counts_survive_trim_and_abort(void **state)
{
    fixture_t *f = *state;
    append_n(f, 7, 1);
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    assert_int_equal(evlog_append(f->log, txn, &ev), 0);
    store_write_abort(&txn); /* not counted */
    evlog_consumer_seen(f->log, "dispatch", 7);
    hclock_advance_ms(f->clock, 2 * 3600 * 1000);
    assert_int_equal(trim(f), 6);
    kinds_t k = {0};
    assert_int_equal(evlog_counts(f->log, count, &k), 0);
    assert_int_equal(k.test, 7);
    assert_int_equal(k.none, 0);

    /* Counted at commit, once per kind: a nested transaction rolled back takes its appends'
     * counts with it, whether or not more follow it. */
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    Hotline__TestEvent te = HOTLINE__TEST_EVENT__INIT;
    Hotline__Event t1 = HOTLINE__EVENT__INIT;
    t1.body_case = HOTLINE__EVENT__BODY_TEST;
    t1.test = &te;
    assert_int_equal(evlog_append(f->log, txn, &t1), 0);
    for (int tail = 0; tail < 2; tail++) {
        MDB_txn *child;
        assert_int_equal(store_child_begin(f->store, txn, &child), 0);
        Hotline__Event none = HOTLINE__EVENT__INIT;
        assert_int_equal(evlog_append(f->log, child, &none), 0);
        assert_int_equal(evlog_append(f->log, child, &none), 0);
        store_write_abort(&child);
        if (!tail)
            assert_int_equal(evlog_append(f->log, txn, &t1), 0);
    }
    assert_int_equal(store_write_commit(f->store, &txn), 0);
    evlog_committed(f->log);
    assert_int_equal(evlog_head(f->log), 9);
    k = (kinds_t){0};
    assert_int_equal(evlog_counts(f->log, count, &k), 0);
    assert_int_equal(k.test, 9);
    assert_int_equal(k.none, 0);
    /* A nested transaction that commits is counted with its parent. */
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    MDB_txn *child;
    assert_int_equal(store_child_begin(f->store, txn, &child), 0);
    Hotline__Event none = HOTLINE__EVENT__INIT;
    assert_int_equal(evlog_append(f->log, child, &none), 0);
    assert_int_equal(store_write_commit(f->store, &child), 0);
    assert_int_equal(store_write_commit(f->store, &txn), 0);
    k = (kinds_t){0};
    assert_int_equal(evlog_counts(f->log, count, &k), 0);
    assert_int_equal(k.test, 9);
    assert_int_equal(k.none, 1);
}

typedef struct got {
    Hotline__Event *ev[4];
    size_t len[4];
    int n;
} got_t;

static int keep(void *ctx, uint64_t seq, const uint8_t *bytes, size_t len)
{
    got_t *g = ctx;
    (void)seq;
    g->ev[g->n] = hotline__event__unpack(NULL, len, bytes);
    assert_non_null(g->ev[g->n]);
    g->len[g->n++] = len;
    return 0;
}

static size_t log_value_size(fixture_t *f, MDB_dbi log, uint64_t seq)
{
    MDB_txn *r;
    uint8_t key[8];
    store_be64_put(key, seq);
    MDB_val v;
    assert_int_equal(store_read_begin(f->store, &r), 0);
    assert_int_equal(store_get(r, log, key, 8, &v), 0);
    store_read_end(&r);
    return v.mv_size;
}

/* A TicketReceived whose ticket is kept under its id is logged as a reference and read back as
 * the same event; without the record, or with more in its body, it is logged whole. Retention
 * still reads the reference's time. */
static void test_body_by_reference(void **state)
{
    fixture_t *f = *state;
    MDB_dbi recorded, log;
    assert_int_equal(store_db(f->store, "recorded", 0, &recorded), 0);
    assert_int_equal(store_db(f->store, "log", 0, &log), 0);
    assert_int_equal(evlog_body_by_ref(f->log, HOTLINE__EVENT__BODY_TICKET_RECEIVED, recorded), 0);
    assert_int_equal(evlog_body_by_ref(f->log, HOTLINE__EVENT__BODY__NOT_SET, recorded),
                     HL_EINTERNAL);

    Hotline__Ticket t = HOTLINE__TICKET__INIT;
    t.id = "20261207-1-000001";
    t.category_code = "W0402";
    t.description = "water pouring out of the road at the corner of Elm and 5th";
    t.received_ms = 1765000000000;
    uint8_t rec[512];
    size_t reclen = hotline__ticket__pack(&t, rec);
    Hotline__TicketReceived tr = HOTLINE__TICKET_RECEIVED__INIT;
    tr.ticket = &t;
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(store_put(txn, recorded, t.id, strlen(t.id), rec, reclen, 0), 0);
    assert_int_equal(evlog_append_body(f->log, txn, t.id, HOTLINE__EVENT__BODY_TICKET_RECEIVED,
                                       &tr), 0);
    /* Not recorded: logged whole. */
    Hotline__Ticket t2 = t;
    t2.id = "20261207-1-000002";
    Hotline__TicketReceived tr2 = HOTLINE__TICKET_RECEIVED__INIT;
    tr2.ticket = &t2;
    assert_int_equal(evlog_append_body(f->log, txn, t2.id, HOTLINE__EVENT__BODY_TICKET_RECEIVED,
                                       &tr2), 0);
    /* Recorded, but the event's ticket differs from the record (same size): logged whole. */
    Hotline__Ticket t3 = t;
    t3.id = "20261207-1-000003";
    uint8_t rec3[512];
    size_t rec3len = hotline__ticket__pack(&t3, rec3);
    t3.category_code = "W0403"; /* changed after recording, one byte for another */
    assert_int_equal(store_put(txn, recorded, t3.id, strlen(t3.id), rec3, rec3len, 0), 0);
    Hotline__TicketReceived tr3 = HOTLINE__TICKET_RECEIVED__INIT;
    tr3.ticket = &t3;
    assert_int_equal(evlog_append_body(f->log, txn, t3.id, HOTLINE__EVENT__BODY_TICKET_RECEIVED,
                                       &tr3), 0);
    assert_int_equal(store_write_commit(f->store, &txn), 0);
    evlog_committed(f->log);
    assert_int_equal(log_value_size(f, log, 1), 8 + strlen(t.id));
    assert_true(log_value_size(f, log, 2) > 8 + reclen);
    assert_true(log_value_size(f, log, 3) > 8 + rec3len);

    got_t g = {0};
    MDB_txn *r;
    assert_int_equal(store_read_begin(f->store, &r), 0);
    assert_int_equal(evlog_read(f->log, r, 0, 2, 1 << 20, keep, &g), 2);
    store_read_end(&r);
    for (int i = 0; i < 2; i++) {
        Hotline__Event *e = g.ev[i];
        assert_int_equal(e->seq, (uint64_t)i + 1);
        assert_string_equal(e->source, "intake");
        assert_true(e->time_ms > 0);
        assert_int_equal(e->body_case, HOTLINE__EVENT__BODY_TICKET_RECEIVED);
        assert_string_equal(e->ticket_id, i ? t2.id : t.id);
        assert_string_equal(e->ticket_received->ticket->id, i ? t2.id : t.id);
        assert_string_equal(e->ticket_received->ticket->description, t.description);
        assert_int_equal(e->ticket_received->ticket->received_ms, t.received_ms);
    }
    /* the same bytes, reassembled (the two appends' times may differ by some ms on a busy
     * machine: the clock runs; their varints are as long) */
    assert_int_equal(g.len[0], g.len[1]);
    /* The whole one is stored without its envelope's source, seq and time (put back on read),
     * its ticket id (19 bytes as a field) as three varints (2 + 3 + 1 + 1: evpack.h). */
    assert_int_equal(log_value_size(f, log, 2),
                     8 + g.len[1] - (2 + strlen("intake")) - 2 -
                         (1 + (g.ev[1]->time_ms >> 35 ? 6 : 5)) - 19 + 7);
    for (int i = 0; i < 2; i++)
        hotline__event__free_unpacked(g.ev[i], NULL);

    /* Retention reads the reference's time: young, it stays; old, it goes. */
    evlog_consumer_seen(f->log, "dispatch", 3);
    assert_int_equal(trim(f), 0);
    hclock_advance_ms(f->clock, 2 * 3600 * 1000);
    assert_int_equal(trim(f), 2);
}

/* An event read inside the transaction that appended it, which then rolls back, is not what a
 * later read of that seq gives: the seq's new event is (reads are cached by seq once
 * committed). Reading twice gives the same bytes. */
static void test_read_cache_sees_only_committed(void **state)
{
    fixture_t *f = *state;
    append_n(f, 3, 100);
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    Hotline__TestEvent te = HOTLINE__TEST_EVENT__INIT;
    te.n = 666;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.body_case = HOTLINE__EVENT__BODY_TEST;
    ev.test = &te;
    assert_int_equal(evlog_append(f->log, txn, &ev), 0);
    seen_t in = {0};
    assert_int_equal(evlog_read(f->log, txn, 0, 10, 1 << 20, visit, &in), 4);
    assert_int_equal(in.ns[3], 666);
    store_write_abort(&txn);
    append_n(f, 1, 7);
    for (int round = 0; round < 2; round++) {
        seen_t s = {0};
        MDB_txn *r;
        assert_int_equal(store_read_begin(f->store, &r), 0);
        assert_int_equal(evlog_read(f->log, r, 0, 10, 1 << 20, visit, &s), 4);
        store_read_end(&r);
        assert_int_equal(s.seqs[3], 4);
        assert_int_equal(s.ns[3], 7);
        assert_int_equal(s.ns[0], 100);
    }
}

/* An event protobuf-c unpacked with a field 5 it does not know (a newer sender's) is logged
 * and read back with it, byte for byte (stored as it is, not in evpack's form). */
static void test_unknown_field_kept(void **state)
{
    fixture_t *f = *state;
    Hotline__TestEvent te = HOTLINE__TEST_EVENT__INIT;
    te.n = 42;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.ticket_id = "20261208-1-000001";
    ev.body_case = HOTLINE__EVENT__BODY_TEST;
    ev.test = &te;
    uint8_t buf[256];
    size_t n = hotline__event__pack(&ev, buf);
    buf[n++] = 0x2a; /* field 5, length-delimited: "x" */
    buf[n++] = 0x01;
    buf[n++] = 'x';
    Hotline__Event *in = hotline__event__unpack(NULL, n, buf);
    assert_non_null(in);
    assert_int_equal(in->base.n_unknown_fields, 1);
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(evlog_append(f->log, txn, in), 0);
    assert_int_equal(store_write_commit(f->store, &txn), 0);
    evlog_committed(f->log);
    uint8_t want[256];
    size_t wn = hotline__event__pack(in, want); /* with the source, seq and time it was given */
    in->source = NULL; /* borrowed from the log: not for free_unpacked */
    hotline__event__free_unpacked(in, NULL);
    got_t g = {0};
    MDB_txn *r;
    assert_int_equal(store_read_begin(f->store, &r), 0);
    assert_int_equal(evlog_read(f->log, r, 0, 1, 1 << 20, keep, &g), 1);
    store_read_end(&r);
    assert_int_equal(g.len[0], wn);
    assert_int_equal(g.ev[0]->base.n_unknown_fields, 1);
    assert_int_equal(g.ev[0]->test->n, 42);
    uint8_t again[256];
    assert_int_equal(hotline__event__pack(g.ev[0], again), wn);
    assert_memory_equal(again, want, wn);
    hotline__event__free_unpacked(g.ev[0], NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dense_sequence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trim_respects_cursors_and_retention, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_counts_survive_trim_and_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_by_reference, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_cache_sees_only_committed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_field_kept, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
