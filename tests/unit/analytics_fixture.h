/* analytics_fixture: what the test_analytics* programs share: analytics in-process on a
 * store in a temporary directory with a settable clock (UTC+8), synthetic events of every
 * feed applied one per transaction, and readers for counters and KPI documents. Everything is
 * static inline so each test program compiles only what it uses. */
#ifndef HOTLINE_TESTS_UNIT_ANALYTICS_FIXTURE_H
#define HOTLINE_TESTS_UNIT_ANALYTICS_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "analytics.h"
#include "hl_error.h"
#include "mask.h"
#include "unit.h"

#include <stdio.h>
#include <string.h>

typedef struct fixture {
    char *dir;
    store_t *store;
    hclock_t *clock;
    analytics_t *an;
    bool basically;
    bool layout3; /* apply_one writes the event as analytics' layout 3 kept it, nothing else */
} fixture_t;

static inline int open_analytics(fixture_t *f)
{
    Hotline__CalendarConfig cal = HOTLINE__CALENDAR_CONFIG__INIT;
    cal.utc_offset_minutes = 480;
    analytics_opts_t o = {
        .calendar = &cal, .basically_satisfied_counts = f->basically, .clock = f->clock};
    char err[256];
    return analytics_open(&f->an, f->store, &o, err, sizeof err);
}

static inline int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    f->dir = unit_tmpdir();
    f->basically = true;
    store_opts_t o = {.path = f->dir};
    if (store_open(&f->store, &o) || hclock_create(&f->clock, true) || open_analytics(f))
        return -1;
    *state = f;
    return 0;
}

static inline int teardown(void **state)
{
    fixture_t *f = *state;
    analytics_close(&f->an);
    store_close(&f->store);
    hclock_destroy(&f->clock);
    unit_tmpdir_cleanup(f->dir);
    free(f);
    return 0;
}

/* ---- building events ---- */

static inline int64_t utc_ms(int y, int mo, int d, int h, int mi)
{
    return calendar_day_from_ymd(y, mo, d) * 86400000 + (int64_t)h * 3600000 + mi * 60000;
}

static inline int64_t day_of(int y, int mo, int d)
{
    return calendar_day_from_ymd(y, mo, d);
}

static inline Hotline__Event envelope(const char *source, uint64_t seq, int64_t time_ms,
                               const char *ticket)
{
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.source = (char *)source;
    ev.seq = seq;
    ev.time_ms = time_ms;
    ev.ticket_id = (char *)ticket;
    return ev;
}

/* ev as layout 3 kept it (analytics before the compact records): one timeline entry per
 * event, key ticket id | 0x00 | be64(time ^ sign bit) | source | 0x00 | be64 seq, value the
 * packed Event with personal data masked. */
static inline void put_layout3(fixture_t *f, const Hotline__Event *ev)
{
    MDB_dbi tl;
    assert_int_equal(store_db(f->store, "timeline", 0, &tl), 0);
    uint8_t key[160];
    size_t n = strlen(ev->ticket_id), s = strlen(ev->source), at = n + 1;
    memcpy(key, ev->ticket_id, n);
    key[n] = 0;
    store_be64_put(key + at, (uint64_t)ev->time_ms ^ ((uint64_t)1 << 63));
    at += 8;
    memcpy(key + at, ev->source, s);
    at += s;
    key[at++] = 0;
    store_be64_put(key + at, ev->seq);
    at += 8;
    size_t len = hotline__event__get_packed_size(ev);
    uint8_t *raw = malloc(len);
    hotline__event__pack(ev, raw);
    Hotline__Event *copy = hotline__event__unpack(NULL, len, raw);
    assert_non_null(copy);
    mask_message(&copy->base);
    len = hotline__event__get_packed_size(copy);
    raw = realloc(raw, len);
    hotline__event__pack(copy, raw);
    hotline__event__free_unpacked(copy, NULL);
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(store_put(txn, tl, key, at, raw, len, 0), 0);
    assert_int_equal(store_write_commit(f->store, &txn), 0);
    free(raw);
}

static inline void apply_one(fixture_t *f, const Hotline__Event *ev)
{
    if (f->layout3) {
        put_layout3(f, ev);
        return;
    }
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(analytics_apply(f->an, txn, ev), 0);
    assert_int_equal(analytics_batch_end(f->an, txn), 0); /* as the feed client does */
    assert_int_equal(store_write_commit(f->store, &txn), 0);
}

static inline void received(fixture_t *f, uint64_t seq, int64_t t, const char *id, const char *cat,
                     const char *district)
{
    Hotline__Location loc = HOTLINE__LOCATION__INIT;
    loc.district = (char *)district;
    Hotline__Contact c = HOTLINE__CONTACT__INIT;
    c.name = "Li Ming";
    c.phone = "13812345678";
    c.email = "ming@example.com";
    Hotline__Ticket tk = HOTLINE__TICKET__INIT;
    tk.id = (char *)id;
    tk.category_code = (char *)cat;
    tk.location = &loc;
    tk.contact = &c;
    tk.description = "no water since 6, call me on 13987654321";
    tk.received_ms = t;
    Hotline__TicketReceived tr = HOTLINE__TICKET_RECEIVED__INIT;
    tr.ticket = &tk;
    Hotline__Event ev = envelope("intake", seq, t, id);
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_RECEIVED;
    ev.ticket_received = &tr;
    apply_one(f, &ev);
}

static inline void dispatched(fixture_t *f, uint64_t seq, int64_t t, const char *id, const char *unit,
                       const char *cat, uint32_t round)
{
    Hotline__TicketDispatched d = HOTLINE__TICKET_DISPATCHED__INIT;
    d.unit = (char *)unit;
    d.category_code = (char *)cat;
    d.round = round;
    Hotline__Event ev = envelope("dispatch", seq, t, id);
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_DISPATCHED;
    ev.ticket_dispatched = &d;
    apply_one(f, &ev);
}

static inline void signed_(fixture_t *f, uint64_t seq, int64_t t, const char *id, const char *unit)
{
    Hotline__TicketSigned s = HOTLINE__TICKET_SIGNED__INIT;
    s.unit = (char *)unit;
    Hotline__Event ev = envelope("dispatch", seq, t, id);
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_SIGNED;
    ev.ticket_signed = &s;
    apply_one(f, &ev);
}

static inline void replied(fixture_t *f, uint64_t seq, int64_t t, const char *id, const char *unit)
{
    Hotline__TicketReplied r = HOTLINE__TICKET_REPLIED__INIT;
    r.unit = (char *)unit;
    r.result = "main repaired; call 13812345678 if it leaks again";
    Hotline__Event ev = envelope("dispatch", seq, t, id);
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_REPLIED;
    ev.ticket_replied = &r;
    apply_one(f, &ev);
}

static inline void reopened(fixture_t *f, uint64_t seq, int64_t t, const char *id, const char *unit)
{
    Hotline__TicketReopened r = HOTLINE__TICKET_REOPENED__INIT;
    r.unit = (char *)unit;
    r.round = 1;
    Hotline__Event ev = envelope("dispatch", seq, t, id);
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_REOPENED;
    ev.ticket_reopened = &r;
    apply_one(f, &ev);
}

static inline void clock_started(fixture_t *f, uint64_t seq, int64_t t, const char *id,
                          Hotline__SlaClock clock, const char *unit, const char *cat)
{
    Hotline__SlaClockStarted s = HOTLINE__SLA_CLOCK_STARTED__INIT;
    s.clock = clock;
    s.unit = (char *)unit;
    s.category_code = (char *)cat;
    s.due_ms = t + 86400000;
    Hotline__Event ev = envelope("sla", seq, t, id);
    ev.body_case = HOTLINE__EVENT__BODY_SLA_CLOCK_STARTED;
    ev.sla_clock_started = &s;
    apply_one(f, &ev);
}

static inline void clock_stopped(fixture_t *f, uint64_t seq, int64_t t, const char *id,
                          Hotline__SlaClock clock, bool on_time)
{
    Hotline__SlaClockStopped s = HOTLINE__SLA_CLOCK_STOPPED__INIT;
    s.clock = clock;
    s.on_time = on_time;
    Hotline__Event ev = envelope("sla", seq, t, id);
    ev.body_case = HOTLINE__EVENT__BODY_SLA_CLOCK_STOPPED;
    ev.sla_clock_stopped = &s;
    apply_one(f, &ev);
}

static inline void breached(fixture_t *f, uint64_t seq, int64_t t, const char *id, Hotline__SlaClock clock,
                     const char *unit)
{
    Hotline__SlaBreached s = HOTLINE__SLA_BREACHED__INIT;
    s.clock = clock;
    s.unit = (char *)unit;
    Hotline__Event ev = envelope("sla", seq, t, id);
    ev.body_case = HOTLINE__EVENT__BODY_SLA_BREACHED;
    ev.sla_breached = &s;
    apply_one(f, &ev);
}

static inline void warned(fixture_t *f, uint64_t seq, int64_t t, const char *id, Hotline__SlaClock clock,
                   const char *unit)
{
    Hotline__SlaWarning s = HOTLINE__SLA_WARNING__INIT;
    s.clock = clock;
    s.unit = (char *)unit;
    Hotline__Event ev = envelope("sla", seq, t, id);
    ev.body_case = HOTLINE__EVENT__BODY_SLA_WARNING;
    ev.sla_warning = &s;
    apply_one(f, &ev);
}

static inline void scheduled(fixture_t *f, uint64_t seq, int64_t t, const char *id, const char *unit)
{
    Hotline__CallbackScheduled s = HOTLINE__CALLBACK_SCHEDULED__INIT;
    s.unit = (char *)unit;
    s.due_ms = t + 3600000;
    Hotline__Event ev = envelope("callback", seq, t, id);
    ev.body_case = HOTLINE__EVENT__BODY_CALLBACK_SCHEDULED;
    ev.callback_scheduled = &s;
    apply_one(f, &ev);
}

static inline void attempted(fixture_t *f, uint64_t seq, int64_t t, const char *id)
{
    Hotline__CallbackAttempted a = HOTLINE__CALLBACK_ATTEMPTED__INIT;
    a.attempt = 1;
    Hotline__Event ev = envelope("callback", seq, t, id);
    ev.body_case = HOTLINE__EVENT__BODY_CALLBACK_ATTEMPTED;
    ev.callback_attempted = &a;
    apply_one(f, &ev);
}

static inline void rated(fixture_t *f, uint64_t seq, int64_t t, const char *id, const char *unit,
                  Hotline__Rating rating, bool resolved)
{
    Hotline__CallbackRated r = HOTLINE__CALLBACK_RATED__INIT;
    r.unit = (char *)unit;
    r.rating = rating;
    r.resolved = resolved;
    r.satisfied = rating <= HOTLINE__RATING__RATING_SATISFIED; /* analytics recomputes */
    Hotline__Event ev = envelope("callback", seq, t, id);
    ev.body_case = HOTLINE__EVENT__BODY_CALLBACK_RATED;
    ev.callback_rated = &r;
    apply_one(f, &ev);
}

static inline void closed(fixture_t *f, uint64_t seq, int64_t t, const char *id)
{
    Hotline__TicketClosed c = HOTLINE__TICKET_CLOSED__INIT;
    c.reason = "rated satisfied";
    Hotline__Event ev = envelope("callback", seq, t, id);
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_CLOSED;
    ev.ticket_closed = &c;
    apply_one(f, &ev);
}

/* ---- reading back ---- */

static inline uint64_t counter(fixture_t *f, int64_t day, analytics_dim_t dim, const char *value,
                        analytics_counter_t id)
{
    MDB_txn *txn;
    uint64_t n = 0;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(analytics_counter_get(f->an, txn, day, dim, value, id, &n), 0);
    store_read_end(&txn);
    return n;
}

static inline json_t *kpis(fixture_t *f, const char *query, int64_t today)
{
    analytics_query_t q;
    analytics_error_t err;
    int rc = analytics_query_parse(query, today, &q, &err);
    if (rc)
        fail_msg("query %s refused: %s: %s", query, err.field, err.message);
    MDB_txn *txn;
    json_t *doc = NULL;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(analytics_kpis(f->an, txn, &q, &doc), 0);
    store_read_end(&txn);
    assert_non_null(doc);
    return doc;
}

static inline json_int_t jint(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v))
        fail_msg("%s is not an integer", key);
    return json_integer_value(v);
}

static inline json_t *jrate(json_t *block, const char *key)
{
    json_t *v = json_object_get(json_object_get(block, "rates"), key);
    assert_non_null(v); /* present, possibly null */
    return v;
}

static inline json_t *group(json_t *doc, const char *key)
{
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(doc, "groups"), i,
                       g) if (strcmp(json_string_value(json_object_get(g, "key")), key) ==
                              0) return g;
    fail_msg("no group %s", key);
    return NULL;
}

#endif
