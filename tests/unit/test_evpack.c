/* evpack: the event log's stored form gives back the very bytes it was given, for every kind
 * of event and ticket id; it is smaller where it should be; numbers given in a rolled-back
 * transaction never leak through the cache; malformed stored bytes are refused, not crashed
 * on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "evpack.h"
#include "hl_error.h"
#include "names.h"
#include "unit.h"

#include "hotline/event.pb-c.h"

#include <stdlib.h>
#include <string.h>

typedef struct fixture {
    char *dir;
    store_t *store;
    evpack_t *pack;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    f->dir = unit_tmpdir();
    store_opts_t o = {.path = f->dir};
    if (store_open(&f->store, &o) || evpack_open(&f->pack, f->store))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    evpack_close(&f->pack);
    store_close(&f->store);
    unit_tmpdir_cleanup(f->dir);
    free(f);
    return 0;
}

/* ev packed (as evlog hands it over: no source, seq, time) into buf; its length. */
static size_t pack(const Hotline__Event *ev, uint8_t *buf)
{
    size_t n = hotline__event__get_packed_size(ev);
    assert_true(n < 4096);
    return hotline__event__pack(ev, buf);
}

static void event_of(Hotline__Event *ev, const char *id, Hotline__Event__BodyCase c, void *body,
                     void **slot)
{
    hotline__event__init(ev);
    ev->ticket_id = (char *)id;
    ev->body_case = c;
    *slot = body;
}

/* Encode in a transaction (committed or not), decode in another: the same bytes. Returns the
 * stored size. */
static size_t round_trip(fixture_t *f, const uint8_t *in, size_t n, bool commit)
{
    bytebuf_t enc = {0}, dec = {0};
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(evpack_encode(f->pack, txn, in, n, &enc), 0);
    assert_int_equal(evpack_decode(f->pack, txn, enc.p, enc.n, &dec), 0); /* in the same txn */
    assert_int_equal(dec.n, n);
    assert_memory_equal(dec.p, in, n);
    if (commit) {
        assert_int_equal(store_write_commit(f->store, &txn), 0);
        assert_int_equal(store_read_begin(f->store, &txn), 0);
        evpack_committed(f->pack, txn);
        dec.n = 0;
        assert_int_equal(evpack_decode(f->pack, txn, enc.p, enc.n, &dec), 0);
        assert_int_equal(dec.n, n);
        assert_memory_equal(dec.p, in, n);
        store_read_end(&txn);
    } else {
        store_write_abort(&txn);
    }
    size_t stored = enc.n;
    free(enc.p);
    free(dec.p);
    return stored;
}

static void test_round_trip_every_shape(void **state)
{
    fixture_t *f = *state;
    uint8_t buf[4096];
    Hotline__Event ev;

    Hotline__SlaClockStarted st = HOTLINE__SLA_CLOCK_STARTED__INIT;
    st.clock = HOTLINE__SLA_CLOCK__SLA_CLOCK_REPLY;
    st.due_ms = 1765400000000;
    st.warn_ms = 1765300000000;
    st.policy = "default";
    st.limit = "5 working days";
    st.unit = "water-quality";
    st.category_code = "W03";
    st.round = 2;
    event_of(&ev, "20261208-1-000001", HOTLINE__EVENT__BODY_SLA_CLOCK_STARTED, &st,
             (void **)&ev.sla_clock_started);
    size_t n = pack(&ev, buf);
    size_t stored = round_trip(f, buf, n, true);
    /* id 19 -> 2 + 3 + 1 + 1; four texts (9, 16, 15, 5 bytes as fields) -> 2 bytes each */
    assert_int_equal(stored, n - 19 + 7 - (9 + 16 + 15 + 5) + 4 * 2);

    /* repeated texts, free text left alone, ids of other shapes kept as they are */
    char *assist[] = {"crew-north", "water-quality", "crew-north"};
    Hotline__TicketDispatched d = HOTLINE__TICKET_DISPATCHED__INIT;
    d.unit = "water-quality";
    d.category_code = "W03";
    d.district = "Cangshan";
    d.route = "catalogue 0: W03 -> water-quality";
    d.assisting_units = assist;
    d.n_assisting_units = 3;
    d.rule_line = 7;
    const char *ids[] = {"20261208-1-000002", "20261208-12-1234567", "20261208-01-000001",
                         "20261208-1-00001", "INC-42", "", "2026120x-1-000001",
                         "19991231-1-000001", "20261208-1-000001-extra",
                         "20261208-4294967296-000001"};
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++) {
        event_of(&ev, ids[i], HOTLINE__EVENT__BODY_TICKET_DISPATCHED, &d,
                 (void **)&ev.ticket_dispatched);
        n = pack(&ev, buf);
        stored = round_trip(f, buf, n, i % 2 == 0);
        assert_true(stored < n);
    }
    /* a body of more than 127 bytes stored in fewer: its length takes one byte less */
    char route[121];
    memset(route, 'r', sizeof route - 1);
    route[sizeof route - 1] = '\0';
    d.route = route;
    d.n_assisting_units = 0;
    event_of(&ev, "20261208-1-000009", HOTLINE__EVENT__BODY_TICKET_DISPATCHED, &d,
             (void **)&ev.ticket_dispatched);
    n = pack(&ev, buf);
    assert_true(hotline__ticket_dispatched__get_packed_size(&d) > 127);
    stored = round_trip(f, buf, n, true);
    assert_true(stored < n - 120);

    Hotline__TicketReplied r = HOTLINE__TICKET_REPLIED__INIT;
    r.unit = "water-quality";
    r.result = "replaced the valve on Elm and 5th; water back at 14:10";
    r.resolved = true;
    event_of(&ev, "20261208-1-000003", HOTLINE__EVENT__BODY_TICKET_REPLIED, &r,
             (void **)&ev.ticket_replied);
    n = pack(&ev, buf);
    stored = round_trip(f, buf, n, true);
    assert_int_equal(stored, n - 12 - 15 + 2); /* the id and the unit only */

    /* a text too long to number stays as it is */
    char longunit[EVPACK_TEXT_MAX + 2];
    memset(longunit, 'u', sizeof longunit - 1);
    longunit[sizeof longunit - 1] = '\0';
    r.unit = longunit;
    event_of(&ev, "", HOTLINE__EVENT__BODY_TICKET_REPLIED, &r, (void **)&ev.ticket_replied);
    n = pack(&ev, buf);
    assert_int_equal(round_trip(f, buf, n, true), n);

    /* each distinct text numbered once: 8 (policy, limit, unit, category, district, two
     * routes, crew-north; "water-quality" and "W03" shared by fields and kinds) */
    MDB_txn *txn;
    uint64_t last = 0;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    MDB_dbi db;
    assert_int_equal(store_db(f->store, "log_names", 0, &db), 0);
    assert_int_equal(names_last(txn, db, &last), 0);
    store_read_end(&txn);
    assert_int_equal(last, 8);
}

/* A number given in a rolled-back transaction is given again to another text: the cache must
 * not keep the first text for it. */
static void test_rollback_does_not_leak_numbers(void **state)
{
    fixture_t *f = *state;
    uint8_t buf[512], dec_buf[512];
    Hotline__Event ev;
    Hotline__TicketSigned s = HOTLINE__TICKET_SIGNED__INIT;
    event_of(&ev, "T-1", HOTLINE__EVENT__BODY_TICKET_SIGNED, &s, (void **)&ev.ticket_signed);

    s.unit = "alpha";
    size_t n = pack(&ev, buf);
    round_trip(f, buf, n, false); /* alpha got number 1, then rolled back */
    s.unit = "beta";
    size_t nb = pack(&ev, buf);
    bytebuf_t beta = {0}, again = {0}, alpha = {0}, dec = {0};
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(evpack_encode(f->pack, txn, buf, nb, &beta), 0);
    /* the same text twice in one transaction: the same number, looked up in the store */
    assert_int_equal(evpack_encode(f->pack, txn, buf, nb, &again), 0);
    assert_int_equal(again.n, beta.n);
    assert_memory_equal(again.p, beta.p, beta.n);
    assert_int_equal(store_write_commit(f->store, &txn), 0);
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    evpack_committed(f->pack, txn);
    store_read_end(&txn);

    s.unit = "alpha";
    n = pack(&ev, dec_buf);
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(evpack_encode(f->pack, txn, dec_buf, n, &alpha), 0);
    assert_int_equal(store_write_commit(f->store, &txn), 0);
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    evpack_committed(f->pack, txn);
    assert_int_equal(evpack_decode(f->pack, txn, alpha.p, alpha.n, &dec), 0);
    assert_int_equal(dec.n, n);
    assert_memory_equal(dec.p, dec_buf, n);
    dec.n = 0;
    assert_int_equal(evpack_decode(f->pack, txn, beta.p, beta.n, &dec), 0);
    assert_int_equal(dec.n, nb);
    assert_memory_equal(dec.p, buf, nb);
    store_read_end(&txn);
    free(alpha.p);
    free(beta.p);
    free(again.p);
    free(dec.p);
}

/* An event holding a field 5 (unknown to hotline.Event: a newer sender's, kept by protobuf-c)
 * is not put in this form: HL_EINVAL, the caller stores it as it is. */
static void test_field_5_refused(void **state)
{
    fixture_t *f = *state;
    static const uint8_t in[] = {0x22, 0x03, 'T', '-', '1', 0x2a, 0x01, 0x00};
    bytebuf_t out = {0};
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(evpack_encode(f->pack, txn, in, sizeof in, &out), HL_EINVAL);
    store_write_abort(&txn);
    free(out.p);
}

static void test_malformed_refused(void **state)
{
    fixture_t *f = *state;
    MDB_txn *txn;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    bytebuf_t out = {0};
    /* a truncated length, a group wire type, a varint without end, an unknown text number
     * (TicketSigned = Event field 21, its unit = field 1 as a varint 99), a bad packed id */
    static const uint8_t bad[][8] = {
        {0x22, 0x10, 'a'}, {0x0b, 0x00}, {0x10, 0xff, 0xff}, {0xaa, 0x01, 0x02, 0x08, 0x63},
        {0x2a, 0x02, 0x01, 0x80},
    };
    static const size_t badlen[] = {3, 2, 3, 5, 4};
    for (size_t i = 0; i < sizeof badlen / sizeof *badlen; i++) {
        out.n = 0;
        assert_int_equal(evpack_decode(f->pack, txn, bad[i], badlen[i], &out), HL_ECORRUPT);
    }
    /* random bytes: an answer, never a crash (ASan watches the reads) */
    srand(14);
    uint8_t junk[64];
    int refused = 0;
    for (int round = 0; round < 20000; round++) {
        size_t n = (size_t)(rand() % (int)sizeof junk);
        for (size_t i = 0; i < n; i++)
            junk[i] = (uint8_t)rand();
        out.n = 0;
        int rc = evpack_decode(f->pack, txn, junk, n, &out);
        assert_true(rc == 0 || rc == HL_ECORRUPT);
        refused += rc != 0;
    }
    assert_true(refused > 1000);
    store_read_end(&txn);
    free(out.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip_every_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback_does_not_leak_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_field_5_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
