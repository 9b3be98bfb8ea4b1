/* open311_fixture: what test_open311 and test_intake_export share: intake's status views
 * and by_time index in a store in a temporary directory, with Open311's state (the embedded
 * catalogue, UTC+8) and intake's calendar; eleven tickets (ten an hour apart on 2026-11-25,
 * alternately W01 / W04, the first three received, then dispatched, the last three closed,
 * the sixth confidential; one 100 days earlier). Static inline: each program compiles only
 * what it uses. */
#ifndef HOTLINE_TESTS_UNIT_OPEN311_FIXTURE_H
#define HOTLINE_TESTS_UNIT_OPEN311_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "hl_error.h"
#include "open311/open311.h"
#include "unit.h"

#include <string.h>

#define HOUR_MS (3600LL * 1000)
#define DAY_MS (24 * HOUR_MS)
#define T0 1795536000000LL /* 2026-11-25T00:00:00+08:00 */

typedef struct query_fx {
    char *dir;
    store_t *store;
    intake_t in;
    open311_t o;
} query_fx_t;

/* A status view (and its by_time entry) of a ticket from Wang Fang, 13812345678, at 1 Gulou Rd
 * (26.08, 119.3), with description (NULL: the default one, which quotes the phone). */
static inline void put_ticket_text(query_fx_t *f, const char *id, const char *code,
                                   int64_t received, Hotline__TicketStatus status,
                                   bool confidential, const char *description)
{
    Hotline__Contact c = HOTLINE__CONTACT__INIT;
    c.name = "Wang Fang";
    c.phone = "13812345678";
    c.email = "wang@example.cn";
    Hotline__GeoPoint p = HOTLINE__GEO_POINT__INIT;
    p.lat = 26.08;
    p.long_ = 119.3;
    Hotline__Location l = HOTLINE__LOCATION__INIT;
    l.address = "1 Gulou Rd";
    l.point = &p;
    Hotline__Ticket t = HOTLINE__TICKET__INIT;
    t.id = (char *)id;
    t.category_code = (char *)code;
    t.description = description ? (char *)description : "No water; call me on 13812345678";
    t.contact = &c;
    t.location = &l;
    t.received_ms = received;
    t.confidential = confidential;
    t.channel = HOTLINE__CHANNEL__CHANNEL_PHONE;
    Hotline__TicketView v = HOTLINE__TICKET_VIEW__INIT;
    v.ticket = &t;
    v.status = status;
    v.updated_ms = received + 1000;
    v.unit = status == HOTLINE__TICKET_STATUS__TICKET_RECEIVED ? "" : "water-supply";
    v.reply_due_ms = status == HOTLINE__TICKET_STATUS__TICKET_RECEIVED ? 0 : received + DAY_MS;
    v.dispatched_ms = v.reply_due_ms ? received + 60000 : 0;
    v.repeat_count = 2;
    v.incident_id = "INC-1";
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(intake_view_put(&f->in, txn, &v), 0);
    uint8_t key[64];
    store_be64_put(key, (uint64_t)received);
    memcpy(key + 8, id, strlen(id));
    assert_int_equal(store_put(txn, f->in.by_time, key, 8 + strlen(id), "", 0, 0), 0);
    assert_int_equal(store_write_commit(f->store, &txn), 0);
}

static inline void put_ticket(query_fx_t *f, const char *id, const char *code,
                              int64_t received, Hotline__TicketStatus status, bool confidential)
{
    put_ticket_text(f, id, code, received, status, confidential, NULL);
}

static inline int query_setup(void **state)
{
    query_fx_t *f = calloc(1, sizeof *f);
    f->dir = unit_tmpdir();
    store_opts_t so = {.path = f->dir};
    char err[300];
    if (store_open(&f->store, &so) || store_db(f->store, "tickets", 0, &f->in.tickets) ||
        store_db(f->store, "recorded", 0, &f->in.recorded) ||
        store_db(f->store, "status", 0, &f->in.status) ||
        store_db(f->store, "changed", 0, &f->in.changed) ||
        store_db(f->store, "updates", 0, &f->in.updates) ||
        store_db(f->store, "by_time", 0, &f->in.by_time) || arena_create(&f->o.arena) ||
        arena_create(&f->in.scratch) || calendar_load(&f->in.cal, NULL, err, sizeof err) ||
        open311_catalog_load(&f->o.catalog, NULL, err, sizeof err))
        return -1;
    f->o.intake = &f->in;
    f->in.open311 = &f->o;
    f->o.offset_min = 480;
    /* Ten tickets an hour apart on 25 Nov, alternately W01 / W04, the last three closed,
     * ticket 5 confidential; one more 100 days earlier. */
    static char ids[11][24];
    for (int i = 0; i < 10; i++) {
        snprintf(ids[i], sizeof ids[i], "20261125-1-%06d", i + 1);
        put_ticket(f, ids[i], i % 2 ? "W04" : "W01", T0 + i * HOUR_MS,
                   i >= 7   ? HOTLINE__TICKET_STATUS__TICKET_CLOSED
                   : i >= 3 ? HOTLINE__TICKET_STATUS__TICKET_DISPATCHED
                            : HOTLINE__TICKET_STATUS__TICKET_RECEIVED,
                   i == 5);
    }
    put_ticket(f, "20260817-1-000001", "W01", T0 - 100 * DAY_MS,
               HOTLINE__TICKET_STATUS__TICKET_RECEIVED, false);
    *state = f;
    return 0;
}

static inline int query_teardown(void **state)
{
    query_fx_t *f = *state;
    open311_catalog_fini(&f->o.catalog);
    arena_destroy(&f->o.arena);
    arena_destroy(&f->in.scratch);
    calendar_destroy(&f->in.cal);
    store_close(&f->store);
    unit_tmpdir_cleanup(f->dir);
    free(f);
    return 0;
}

#endif
