/* sla_fixture: what the test_sla* programs share. sla in-process against a store in a
 * temporary directory, on a real libuv loop with the group commit and a settable clock; events
 * fed through the group commit as the feed client does; readers for sla's own log, its clocks
 * and gauges. Everything is static inline so each test program compiles only what it uses. */
#ifndef HOTLINE_TESTS_UNIT_SLA_FIXTURE_H
#define HOTLINE_TESTS_UNIT_SLA_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "hl_error.h"
#include "pbjson.h"
#include "sla.h"
#include "sla_record.h"
#include "unit.h"

#include <stdio.h>
#include <string.h>

#define MIN_MS 60000LL
#define HOUR_MS 3600000LL

#define T_SETUP 1767225600000LL /* 2026-01-01 00:00 UTC: before every instant used here */

typedef struct fx {
    char *dir;
    store_t *store;
    evlog_t *log;
    hclock_t *clock;
    Hotline__SlaConfig *cfg;
    sla_t *sla;
    uv_loop_t loop;
    uv_timer_t keep; /* the scheduler's timer is unref'd: this keeps UV_RUN_ONCE polling */
    txq_t *txq;
    metrics_t *metrics;
} fx_t;

static inline Hotline__SlaConfig *decode_cfg(const char *json)
{
    ProtobufCMessage *msg = NULL;
    pbjson_error_t err;
    assert_int_equal(pbjson_decode(&hotline__sla_config__descriptor, json, strlen(json), NULL,
                                   &msg, &err),
                     0);
    return (Hotline__SlaConfig *)msg;
}

static inline void on_committed(void *ctx)
{
    evlog_committed(ctx);
}

static inline void keepalive_cb(uv_timer_t *h)
{
    (void)h;
}

/* The store, sla's log, the loop with the group commit and metrics, then sla (whose own
 * scheduler is started at once: steps left due by a previous run fire on the first turns). */
static inline void fx_open(fx_t *f)
{
    store_opts_t so = {.path = f->dir, .sync = STORE_SYNC_NOSYNC};
    assert_int_equal(store_open(&f->store, &so), 0);
    evlog_opts_t lo = {.source = "sla", .retention_ms = 3600000};
    assert_int_equal(evlog_open(&f->log, f->store, f->clock, &lo), 0);
    uv_loop_init(&f->loop);
    uv_timer_init(&f->loop, &f->keep);
    uv_timer_start(&f->keep, keepalive_cb, 5, 5);
    assert_int_equal(txq_create(&f->txq, &f->loop, f->store, 0), 0);
    assert_int_equal(txq_on_commit(f->txq, on_committed, f->log), 0);
    assert_int_equal(metrics_create(&f->metrics), 0);
    sla_opts_t o = {.store = f->store, .log = f->log, .clock = f->clock, .cfg = f->cfg,
                    .txq = f->txq, .metrics = f->metrics, .loop = &f->loop};
    char err[512] = "";
    int rc = sla_create(&f->sla, &o, err, sizeof err);
    if (rc)
        fail_msg("sla_create: %s", err);
}

static inline void fx_close(fx_t *f)
{
    sla_stop(f->sla);
    txq_destroy(&f->txq);
    uv_close((uv_handle_t *)&f->keep, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    sla_destroy(&f->sla);
    metrics_destroy(&f->metrics);
    evlog_close(&f->log);
    store_close(&f->store);
}

static inline int setup_with(void **state, const char *cfg_json)
{
    fx_t *f = calloc(1, sizeof *f);
    f->dir = unit_tmpdir();
    assert_int_equal(hclock_create(&f->clock, true), 0);
    assert_int_equal(hclock_set_ms(f->clock, T_SETUP), 0);
    f->cfg = decode_cfg(cfg_json);
    fx_open(f);
    *state = f;
    return 0;
}

static inline int setup(void **state)
{
    return setup_with(state, sla_service.default_config_json);
}

static inline int teardown(void **state)
{
    fx_t *f = *state;
    fx_close(f);
    hclock_destroy(&f->clock);
    protobuf_c_message_free_unpacked(&f->cfg->base, NULL);
    unit_tmpdir_cleanup(f->dir);
    free(f);
    return 0;
}

/* Local (UTC+8) wall time to UTC ms. */
static inline int64_t local_ms(fx_t *f, int y, int m, int d, int hh, int mm)
{
    const calendar_t *cal = sla_calendar(f->sla);
    return calendar_day_start_ms(cal, calendar_day_from_ymd(y, m, d)) + hh * HOUR_MS +
           mm * MIN_MS;
}

static inline void expect_local(fx_t *f, int64_t utc_ms, const char *want)
{
    char buf[64];
    calendar_format_local(sla_calendar(f->sla), utc_ms, buf, sizeof buf);
    assert_string_equal(buf, want);
}

/* ---- feeding events through the group commit, as the feed client does ---- */

typedef struct apply_item {
    txq_item_t item; /* first: the item is the struct */
    sla_t *sla;
    const Hotline__Event *ev;
    int rc;
} apply_item_t;

static inline int ai_apply(txq_item_t *it, MDB_txn *txn)
{
    apply_item_t *a = (apply_item_t *)it;
    return sla_apply(a->sla, txn, a->ev);
}

static inline void ai_done(txq_item_t *it, int rc)
{
    ((apply_item_t *)it)->rc = rc;
}

static inline void apply(fx_t *f, const Hotline__Event *ev)
{
    apply_item_t a = {.item = {.apply = ai_apply, .done = ai_done}, .sla = f->sla, .ev = ev,
                      .rc = 1};
    txq_submit(f->txq, &a.item);
    uint64_t end = hclock_mono_ns() + 2000000000u;
    while (a.rc == 1 && hclock_mono_ns() < end)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(a.rc, 0);
}

/* A TicketDispatched with the policy keys appeal type and channel. */
static inline void dispatched_as(fx_t *f, const char *ticket, const char *cat,
                                 Hotline__Urgency u, uint32_t round, Hotline__AppealType a,
                                 Hotline__Channel ch, int64_t at)
{
    Hotline__TicketDispatched d = HOTLINE__TICKET_DISPATCHED__INIT;
    d.unit = "water-north";
    d.category_code = (char *)cat;
    d.urgency = u;
    d.round = round;
    d.appeal_type = a;
    d.channel = ch;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.source = "dispatch";
    ev.seq = 1;
    ev.time_ms = at;
    ev.ticket_id = (char *)ticket;
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_DISPATCHED;
    ev.ticket_dispatched = &d;
    apply(f, &ev);
}

static inline void dispatched(fx_t *f, const char *ticket, const char *cat, Hotline__Urgency u,
                       uint32_t round, int64_t at)
{
    dispatched_as(f, ticket, cat, u, round, 0, 0, at);
}

static inline void signed_(fx_t *f, const char *ticket, uint32_t round, int64_t at)
{
    Hotline__TicketSigned s = HOTLINE__TICKET_SIGNED__INIT;
    s.unit = "water-north";
    s.round = round;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.time_ms = at;
    ev.ticket_id = (char *)ticket;
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_SIGNED;
    ev.ticket_signed = &s;
    apply(f, &ev);
}

static inline void replied(fx_t *f, const char *ticket, uint32_t round, int64_t at)
{
    Hotline__TicketReplied r = HOTLINE__TICKET_REPLIED__INIT;
    r.unit = "water-north";
    r.result = "fixed";
    r.round = round;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.time_ms = at;
    ev.ticket_id = (char *)ticket;
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_REPLIED;
    ev.ticket_replied = &r;
    apply(f, &ev);
}

/* callback's outcome for a round (the callback feed): the callback clock stops. */
static inline void rated(fx_t *f, const char *ticket, uint32_t round, int64_t at)
{
    Hotline__CallbackRated r = HOTLINE__CALLBACK_RATED__INIT;
    r.rating = HOTLINE__RATING__RATING_SATISFIED;
    r.round = round;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.source = "callback";
    ev.time_ms = at;
    ev.ticket_id = (char *)ticket;
    ev.body_case = HOTLINE__EVENT__BODY_CALLBACK_RATED;
    ev.callback_rated = &r;
    apply(f, &ev);
}

/* The unit's first contact with the citizen in a round: the response clock stops. */
static inline void contacted(fx_t *f, const char *ticket, uint32_t round, int64_t at)
{
    Hotline__CitizenContacted c = HOTLINE__CITIZEN_CONTACTED__INIT;
    c.unit = "water-north";
    c.round = round;
    c.first = true;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.time_ms = at;
    ev.ticket_id = (char *)ticket;
    ev.body_case = HOTLINE__EVENT__BODY_CITIZEN_CONTACTED;
    ev.citizen_contacted = &c;
    apply(f, &ev);
}

static inline void reopened(fx_t *f, const char *ticket, const char *unit, uint32_t round, int64_t at)
{
    Hotline__TicketReopened r = HOTLINE__TICKET_REOPENED__INIT;
    r.unit = (char *)unit;
    r.round = round;
    r.reason = "unsatisfied";
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.time_ms = at;
    ev.ticket_id = (char *)ticket;
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_REOPENED;
    ev.ticket_reopened = &r;
    apply(f, &ev);
}

/* TicketHeld / TicketResumed from dispatch; seq is the position in dispatch's log. */
static inline void hold(fx_t *f, const char *ticket, uint64_t seq, bool resume, int64_t at)
{
    Hotline__TicketHeld h = HOTLINE__TICKET_HELD__INIT;
    Hotline__TicketResumed r = HOTLINE__TICKET_RESUMED__INIT;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.source = "dispatch";
    ev.seq = seq;
    ev.time_ms = at;
    ev.ticket_id = (char *)ticket;
    if (resume) {
        ev.body_case = HOTLINE__EVENT__BODY_TICKET_RESUMED;
        ev.ticket_resumed = &r;
    } else {
        h.reason = "waiting for the court";
        ev.body_case = HOTLINE__EVENT__BODY_TICKET_HELD;
        ev.ticket_held = &h;
    }
    apply(f, &ev);
}

/* The earliest step scheduled (committed), INT64_MAX when none. */
static inline int64_t next_step(fx_t *f)
{
    MDB_txn *txn;
    int64_t next = INT64_MAX;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    int rc = scheduler_next(sla_steps(f->sla), txn, &next);
    store_read_end(&txn);
    assert_true(rc == 0 || rc == HL_ENOTFOUND);
    return rc ? INT64_MAX : next;
}

/* Run the loop a few turns, and on until no step is due at the clock's reading now: the
 * scheduler fires the due ones by itself, in passes of the group commit. */
static inline void settle(fx_t *f)
{
    int64_t now = hclock_now_ms(f->clock);
    uint64_t end = hclock_mono_ns() + 2000000000u;
    for (int turns = 0; turns < 3 || next_step(f) <= now; turns++) {
        assert_true(hclock_mono_ns() < end);
        uv_run(&f->loop, UV_RUN_ONCE);
    }
}

static inline uint64_t head(fx_t *f)
{
    return evlog_head(f->log);
}

/* Move the clock to now and let the due steps fire. Returns the events appended. */
static inline unsigned fire(fx_t *f, int64_t now)
{
    uint64_t h = head(f);
    assert_int_equal(hclock_set_ms(f->clock, now), 0);
    settle(f);
    return (unsigned)(head(f) - h);
}

static inline double gauge(fx_t *f, const char *name, const char *clock)
{
    const char *const values[] = {clock};
    metric_t *m = metrics_gauge(f->metrics, name, NULL, clock ? "clock" : NULL);
    return metric_value(m, clock ? values : NULL);
}

/* A series as GET /metrics renders it (callback gauges too): its value, -1 when absent. */
static inline double rendered(fx_t *f, const char *series)
{
    char *text;
    size_t len, n = strlen(series);
    assert_int_equal(metrics_render(f->metrics, &text, &len), 0);
    double v = -1;
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, series, n) == 0 && p[n] == ' ') {
            v = strtod(p + n + 1, NULL);
            break;
        }
    free(text);
    return v;
}

/* hotline_sched_pending_sla_steps (the clocks with a ladder step waiting), checked against
 * the same count made from every stored record. */
static inline long steps_waiting(fx_t *f)
{
    MDB_txn *txn;
    uint64_t scanned;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(sla_waiting_scan(f->sla, txn, &scanned), 0);
    store_read_end(&txn);
    double shown = rendered(f, "hotline_sched_pending_sla_steps");
    assert_int_equal((long)shown, (long)scanned);
    return (long)shown;
}

/* ---- reading sla's own log ---- */

typedef struct collected {
    Hotline__Event *ev[256];
    size_t n;
} collected_t;

static inline int collect_one(void *ctx, uint64_t seq, const uint8_t *bytes, size_t len)
{
    (void)seq;
    collected_t *c = ctx;
    Hotline__Event *ev = hotline__event__unpack(NULL, len, bytes);
    assert_non_null(ev);
    if (c->n < 256)
        c->ev[c->n++] = ev;
    else
        hotline__event__free_unpacked(ev, NULL);
    return 0;
}

/* Events after seq `after` (1-based seqs; pass 0 for all). */
static inline void collect(fx_t *f, uint64_t after, collected_t *c)
{
    c->n = 0;
    MDB_txn *txn;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_true(evlog_read(f->log, txn, after, 256, 1u << 24, collect_one, c) >= 0);
    store_read_end(&txn);
}

static inline void collected_free(collected_t *c)
{
    for (size_t i = 0; i < c->n; i++)
        hotline__event__free_unpacked(c->ev[i], NULL);
    c->n = 0;
}

static inline size_t count_kind(fx_t *f, Hotline__Event__BodyCase kind)
{
    collected_t c;
    collect(f, 0, &c);
    size_t n = 0;
    for (size_t i = 0; i < c.n; i++)
        n += c.ev[i]->body_case == kind;
    collected_free(&c);
    return n;
}

static inline sla_clock_t get_clock(fx_t *f, const char *ticket, uint32_t round, Hotline__SlaClock c)
{
    sla_clock_t out;
    MDB_txn *txn;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(sla_clock_get(f->sla, txn, ticket, round, c, &out), 0);
    store_read_end(&txn);
    return out;
}

/* GET /v1/clocks/{ticket}'s answer (a new reference). */
static inline json_t *clocks_json(fx_t *f, const char *ticket)
{
    MDB_txn *txn;
    json_t *out = NULL;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(sla_clocks_json(f->sla, txn, ticket, &out), 0);
    store_read_end(&txn);
    return out;
}

static inline uint64_t running(fx_t *f, Hotline__SlaClock c)
{
    uint64_t n;
    MDB_txn *txn;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(sla_running_count(f->sla, txn, c, &n), 0);
    store_read_end(&txn);
    return n;
}

#define SIGN HOTLINE__SLA_CLOCK__SLA_CLOCK_SIGN
#define REPLY HOTLINE__SLA_CLOCK__SLA_CLOCK_REPLY
#define RESPONSE HOTLINE__SLA_CLOCK__SLA_CLOCK_RESPONSE
#define CALLBACK HOTLINE__SLA_CLOCK__SLA_CLOCK_CALLBACK
#define K_STARTED HOTLINE__EVENT__BODY_SLA_CLOCK_STARTED
#define K_STOPPED HOTLINE__EVENT__BODY_SLA_CLOCK_STOPPED
#define K_WARNING HOTLINE__EVENT__BODY_SLA_WARNING
#define K_BREACHED HOTLINE__EVENT__BODY_SLA_BREACHED
#define K_ESCALATED HOTLINE__EVENT__BODY_SLA_ESCALATED

#endif
