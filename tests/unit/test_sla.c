/* sla clocks, in-process against a store in a temporary directory, on a real libuv loop with
 * the group commit and a settable clock: due times for each limit unit, stops on time and
 * late, warnings and breaches fired by the shared scheduler exactly once at their instants
 * (not before, not after a stop, not twice after a replay or a restart; a commit or a start
 * alone fires what is already due), rework rounds, the gauges and the JSON views. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "hl_error.h"
#include "pbjson.h"
#include "sla.h"
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

static Hotline__SlaConfig *decode_cfg(const char *json)
{
    ProtobufCMessage *msg = NULL;
    pbjson_error_t err;
    assert_int_equal(pbjson_decode(&hotline__sla_config__descriptor, json, strlen(json), NULL,
                                   &msg, &err),
                     0);
    return (Hotline__SlaConfig *)msg;
}

static void on_committed(void *ctx)
{
    evlog_committed(ctx);
}

static void keepalive_cb(uv_timer_t *h)
{
    (void)h;
}

/* The store, sla's log, the loop with the group commit and metrics, then sla (whose own
 * scheduler is started at once: steps left due by a previous run fire on the first turns). */
static void fx_open(fx_t *f)
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

static void fx_close(fx_t *f)
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

static int setup_with(void **state, const char *cfg_json)
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

static int setup(void **state)
{
    return setup_with(state, sla_service.default_config_json);
}

static int teardown(void **state)
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
static int64_t local_ms(fx_t *f, int y, int m, int d, int hh, int mm)
{
    const calendar_t *cal = sla_calendar(f->sla);
    return calendar_day_start_ms(cal, calendar_day_from_ymd(y, m, d)) + hh * HOUR_MS +
           mm * MIN_MS;
}

static void expect_local(fx_t *f, int64_t utc_ms, const char *want)
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

static int ai_apply(txq_item_t *it, MDB_txn *txn)
{
    apply_item_t *a = (apply_item_t *)it;
    return sla_apply(a->sla, txn, a->ev);
}

static void ai_done(txq_item_t *it, int rc)
{
    ((apply_item_t *)it)->rc = rc;
}

static void apply(fx_t *f, const Hotline__Event *ev)
{
    apply_item_t a = {.item = {.apply = ai_apply, .done = ai_done}, .sla = f->sla, .ev = ev,
                      .rc = 1};
    txq_submit(f->txq, &a.item);
    uint64_t end = hclock_mono_ns() + 2000000000u;
    while (a.rc == 1 && hclock_mono_ns() < end)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(a.rc, 0);
}

static void dispatched(fx_t *f, const char *ticket, const char *cat, Hotline__Urgency u,
                       uint32_t round, int64_t at)
{
    Hotline__TicketDispatched d = HOTLINE__TICKET_DISPATCHED__INIT;
    d.unit = "water-north";
    d.category_code = (char *)cat;
    d.urgency = u;
    d.round = round;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.source = "dispatch";
    ev.seq = 1;
    ev.time_ms = at;
    ev.ticket_id = (char *)ticket;
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_DISPATCHED;
    ev.ticket_dispatched = &d;
    apply(f, &ev);
}

static void signed_(fx_t *f, const char *ticket, uint32_t round, int64_t at)
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

static void replied(fx_t *f, const char *ticket, uint32_t round, int64_t at)
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

static void reopened(fx_t *f, const char *ticket, const char *unit, uint32_t round, int64_t at)
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

/* The earliest step scheduled (committed), INT64_MAX when none. */
static int64_t next_step(fx_t *f)
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
static void settle(fx_t *f)
{
    int64_t now = hclock_now_ms(f->clock);
    uint64_t end = hclock_mono_ns() + 2000000000u;
    for (int turns = 0; turns < 3 || next_step(f) <= now; turns++) {
        assert_true(hclock_mono_ns() < end);
        uv_run(&f->loop, UV_RUN_ONCE);
    }
}

static uint64_t head(fx_t *f)
{
    return evlog_head(f->log);
}

/* Move the clock to now and let the due steps fire. Returns the events appended. */
static unsigned fire(fx_t *f, int64_t now)
{
    uint64_t h = head(f);
    assert_int_equal(hclock_set_ms(f->clock, now), 0);
    settle(f);
    return (unsigned)(head(f) - h);
}

static double gauge(fx_t *f, const char *name, const char *clock)
{
    const char *const values[] = {clock};
    metric_t *m = metrics_gauge(f->metrics, name, NULL, clock ? "clock" : NULL);
    return metric_value(m, clock ? values : NULL);
}

/* ---- reading sla's own log ---- */

typedef struct collected {
    Hotline__Event *ev[256];
    size_t n;
} collected_t;

static int collect_one(void *ctx, uint64_t seq, const uint8_t *bytes, size_t len)
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
static void collect(fx_t *f, uint64_t after, collected_t *c)
{
    c->n = 0;
    MDB_txn *txn;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_true(evlog_read(f->log, txn, after, 256, 1u << 24, collect_one, c) >= 0);
    store_read_end(&txn);
}

static void collected_free(collected_t *c)
{
    for (size_t i = 0; i < c->n; i++)
        hotline__event__free_unpacked(c->ev[i], NULL);
    c->n = 0;
}

static size_t count_kind(fx_t *f, Hotline__Event__BodyCase kind)
{
    collected_t c;
    collect(f, 0, &c);
    size_t n = 0;
    for (size_t i = 0; i < c.n; i++)
        n += c.ev[i]->body_case == kind;
    collected_free(&c);
    return n;
}

static sla_clock_t get_clock(fx_t *f, const char *ticket, uint32_t round, Hotline__SlaClock c)
{
    sla_clock_t out;
    MDB_txn *txn;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(sla_clock_get(f->sla, txn, ticket, round, c, &out), 0);
    store_read_end(&txn);
    return out;
}

static uint64_t running(fx_t *f, Hotline__SlaClock c)
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
#define K_STARTED HOTLINE__EVENT__BODY_SLA_CLOCK_STARTED
#define K_STOPPED HOTLINE__EVENT__BODY_SLA_CLOCK_STOPPED
#define K_WARNING HOTLINE__EVENT__BODY_SLA_WARNING
#define K_BREACHED HOTLINE__EVENT__BODY_SLA_BREACHED

/* ---- due times ---- */

static void test_working_days_across_spring_festival(void **state)
{
    fx_t *f = *state;
    /* Sat 2026-02-14 16:00, a make-up working day before the 15-23 Feb holiday. */
    int64_t t0 = local_ms(f, 2026, 2, 14, 16, 0);
    dispatched(f, "20260214-1-000001", "W06", HOTLINE__URGENCY__URGENCY_NORMAL, 0, t0);
    collected_t c;
    collect(f, 0, &c);
    assert_int_equal(c.n, 2);
    const Hotline__SlaClockStarted *s = c.ev[0]->sla_clock_started;
    assert_int_equal(c.ev[0]->body_case, K_STARTED);
    assert_string_equal(c.ev[0]->ticket_id, "20260214-1-000001");
    assert_int_equal(s->clock, SIGN);
    expect_local(f, s->due_ms, "2026-02-24 23:59 +08:00"); /* the next working day */
    expect_local(f, s->warn_ms, "2026-02-14 23:59 +08:00"); /* end of the day before it */
    assert_string_equal(s->policy, "default");
    assert_string_equal(s->limit, "1 working day");
    assert_string_equal(s->unit, "water-north");
    assert_string_equal(s->category_code, "W06");
    assert_int_equal(s->round, 0);
    s = c.ev[1]->sla_clock_started;
    assert_int_equal(s->clock, REPLY);
    expect_local(f, s->due_ms, "2026-02-28 23:59 +08:00"); /* the brief's case */
    expect_local(f, s->warn_ms, "2026-02-27 23:59 +08:00");
    assert_string_equal(s->limit, "5 working days");
    collected_free(&c);
    /* The stored clock agrees, and is running. */
    sla_clock_t r = get_clock(f, "20260214-1-000001", 0, REPLY);
    assert_int_equal(r.start_ms, t0);
    assert_false(r.stopped);
    expect_local(f, r.due_ms, "2026-02-28 23:59 +08:00");
    assert_int_equal(running(f, SIGN), 1);
    assert_int_equal(running(f, REPLY), 1);
    /* W08 complaints take 15 working days: 24-28 Feb (28th a make-up day), 2-6, 9-13 Mar. */
    dispatched(f, "20260214-1-000002", "W08", HOTLINE__URGENCY__URGENCY_NORMAL, 0, t0);
    r = get_clock(f, "20260214-1-000002", 0, REPLY);
    assert_string_equal(r.policy, "water-service-complaint");
    expect_local(f, r.due_ms, "2026-03-13 23:59 +08:00");
}

static void test_minutes_and_hours(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 11, 25, 10, 0);
    dispatched(f, "T-VERY", "W0402", HOTLINE__URGENCY__URGENCY_VERY_URGENT, 0, t0);
    sla_clock_t s = get_clock(f, "T-VERY", 0, SIGN), r = get_clock(f, "T-VERY", 0, REPLY);
    assert_string_equal(s.policy, "water-very-urgent");
    assert_int_equal(s.due_ms, t0 + 20 * MIN_MS);
    assert_int_equal(s.warn_ms, t0 + 10 * MIN_MS);
    assert_string_equal(s.limit, "20 minutes");
    assert_int_equal(r.due_ms, t0 + 24 * HOUR_MS);
    assert_int_equal(r.warn_ms, t0 + 24 * HOUR_MS - 10 * MIN_MS);
    assert_string_equal(r.limit, "24 hours");
    dispatched(f, "T-URG", "W01", HOTLINE__URGENCY__URGENCY_URGENT, 0, t0);
    s = get_clock(f, "T-URG", 0, SIGN);
    assert_string_equal(s.policy, "water-urgent");
    assert_int_equal(s.due_ms, t0 + HOUR_MS);
    assert_int_equal(s.warn_ms, t0 + 30 * MIN_MS);
    assert_string_equal(s.limit, "1 hour");
}

static int setup_natural(void **state)
{
    return setup_with(state, "{\"policies\": [{\"name\": \"nd\","
                             " \"sign\": {\"value\": 2, \"unit\": \"DURATION_HOURS\"},"
                             " \"reply\": {\"value\": 3, \"unit\": \"DURATION_NATURAL_DAYS\"},"
                             " \"warnBefore\": {\"value\": 1, \"unit\": "
                             "\"DURATION_NATURAL_DAYS\"}}]}");
}

static void test_natural_days_and_dropped_warning(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 11, 28, 9, 30); /* a Saturday: natural days ignore it */
    dispatched(f, "T-ND", "X", HOTLINE__URGENCY__URGENCY_UNSPECIFIED, 0, t0);
    sla_clock_t r = get_clock(f, "T-ND", 0, REPLY), s = get_clock(f, "T-ND", 0, SIGN);
    assert_int_equal(r.due_ms, t0 + 3 * 24 * HOUR_MS);
    assert_int_equal(r.warn_ms, t0 + 2 * 24 * HOUR_MS);
    assert_string_equal(r.limit, "3 natural days");
    /* Warned a day before a 2-hour limit would be before the start: no warning at all. */
    assert_int_equal(s.due_ms, t0 + 2 * HOUR_MS);
    assert_int_equal(s.warn_ms, 0);
    assert_int_equal(fire(f, t0 + 2 * HOUR_MS), 1); /* only the breach */
    assert_int_equal(count_kind(f, K_WARNING), 0);
    assert_int_equal(count_kind(f, K_BREACHED), 1);
}

static void test_weekend_sign_has_no_warning(void **state)
{
    fx_t *f = *state;
    /* Sun 2026-11-29 10:00: sign-for by the end of Mon 30 Nov; "1 working day before" is the
     * end of Fri 27 Nov, before the start: no yellow card, the red one still fires. */
    int64_t t0 = local_ms(f, 2026, 11, 29, 10, 0);
    dispatched(f, "T-SUN", "W06", HOTLINE__URGENCY__URGENCY_NORMAL, 0, t0);
    sla_clock_t s = get_clock(f, "T-SUN", 0, SIGN), r = get_clock(f, "T-SUN", 0, REPLY);
    expect_local(f, s.due_ms, "2026-11-30 23:59 +08:00");
    assert_int_equal(s.warn_ms, 0);
    expect_local(f, r.due_ms, "2026-12-04 23:59 +08:00");
    expect_local(f, r.warn_ms, "2026-12-03 23:59 +08:00");
}

/* ---- stops ---- */

static void test_stop_on_time_and_late(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 11, 25, 10, 0);
    dispatched(f, "T1", "W06", HOTLINE__URGENCY__URGENCY_NORMAL, 0, t0);
    sla_clock_t s = get_clock(f, "T1", 0, SIGN), r = get_clock(f, "T1", 0, REPLY);
    uint64_t h = head(f);
    signed_(f, "T1", 0, s.due_ms); /* at the very last millisecond: on time */
    replied(f, "T1", 0, r.due_ms + 1);
    collected_t c;
    collect(f, h, &c);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.ev[0]->body_case, K_STOPPED);
    assert_int_equal(c.ev[0]->sla_clock_stopped->clock, SIGN);
    assert_true(c.ev[0]->sla_clock_stopped->on_time);
    assert_int_equal(c.ev[0]->sla_clock_stopped->due_ms, s.due_ms);
    assert_int_equal(c.ev[1]->sla_clock_stopped->clock, REPLY);
    assert_false(c.ev[1]->sla_clock_stopped->on_time);
    assert_int_equal(c.ev[1]->sla_clock_stopped->round, 0);
    collected_free(&c);
    s = get_clock(f, "T1", 0, SIGN);
    assert_true(s.stopped && s.on_time);
    assert_int_equal(s.stopped_ms, s.due_ms);
    r = get_clock(f, "T1", 0, REPLY);
    assert_true(r.stopped && !r.on_time);
    assert_int_equal(running(f, SIGN), 0);
    assert_int_equal(running(f, REPLY), 0);
    /* Stopped clocks left nothing to fire: their steps were cancelled with the stop. */
    assert_int_equal(next_step(f), INT64_MAX);
    /* Sign and reply again (a replay): nothing changes, nothing is appended. */
    h = head(f);
    signed_(f, "T1", 0, s.due_ms + HOUR_MS);
    replied(f, "T1", 0, r.due_ms);
    assert_int_equal(head(f), h);
    /* A sign for a round or ticket sla never saw: ignored. */
    signed_(f, "T1", 7, t0);
    signed_(f, "NOPE", 0, t0);
    assert_int_equal(head(f), h);
}

static void test_reply_without_sign_stops_both(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 11, 25, 10, 0);
    dispatched(f, "T2", "W04", HOTLINE__URGENCY__URGENCY_URGENT, 0, t0);
    replied(f, "T2", 0, t0 + 2 * HOUR_MS);
    assert_true(get_clock(f, "T2", 0, SIGN).stopped);
    assert_false(get_clock(f, "T2", 0, SIGN).on_time); /* 1 hour limit, replied at 2 */
    assert_true(get_clock(f, "T2", 0, REPLY).on_time);
    assert_int_equal(count_kind(f, K_STOPPED), 2);
    assert_int_equal(fire(f, t0 + 1000 * HOUR_MS), 0);
}

/* ---- warnings and breaches ---- */

static void test_fire_exactly_once_at_instants(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 11, 25, 10, 0);
    dispatched(f, "T3", "W0402", HOTLINE__URGENCY__URGENCY_VERY_URGENT, 0, t0);
    /* Not early (the test clock runs on in real time: a second's margin). */
    assert_int_equal(fire(f, t0 + 10 * MIN_MS - 1000), 0);
    assert_int_equal(count_kind(f, K_WARNING), 0);
    uint64_t h = head(f);
    assert_int_equal(fire(f, t0 + 10 * MIN_MS), 1);
    collected_t c;
    collect(f, h, &c);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.ev[0]->body_case, K_WARNING);
    assert_string_equal(c.ev[0]->ticket_id, "T3");
    assert_int_equal(c.ev[0]->sla_warning->clock, SIGN);
    assert_int_equal(c.ev[0]->sla_warning->due_ms, t0 + 20 * MIN_MS);
    assert_string_equal(c.ev[0]->sla_warning->unit, "water-north");
    collected_free(&c);
    /* The same instant again, or later, fires nothing more. */
    assert_int_equal(fire(f, t0 + 10 * MIN_MS), 0);
    assert_int_equal(fire(f, t0 + 20 * MIN_MS - 1000), 0);
    h = head(f);
    assert_int_equal(fire(f, t0 + 20 * MIN_MS), 1);
    collect(f, h, &c);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.ev[0]->body_case, K_BREACHED);
    assert_int_equal(c.ev[0]->sla_breached->clock, SIGN);
    assert_int_equal(c.ev[0]->sla_breached->round, 0);
    collected_free(&c);
    sla_clock_t s = get_clock(f, "T3", 0, SIGN);
    assert_true(s.warned && s.breached && !s.stopped);
    /* A breached clock keeps running until the unit signs; then it stops, late. */
    assert_int_equal(running(f, SIGN), 1);
    signed_(f, "T3", 0, t0 + 30 * MIN_MS);
    assert_false(get_clock(f, "T3", 0, SIGN).on_time);
    /* The reply clock's turn: both at once when the clock jumps past both. */
    h = head(f);
    assert_int_equal(fire(f, t0 + 48 * HOUR_MS), 2);
    collect(f, h, &c);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.ev[0]->body_case, K_WARNING); /* earlier instant first */
    assert_int_equal(c.ev[0]->sla_warning->clock, REPLY);
    assert_int_equal(c.ev[1]->body_case, K_BREACHED);
    assert_int_equal(c.ev[1]->sla_breached->clock, REPLY);
    collected_free(&c);
    assert_int_equal(fire(f, t0 + 480 * HOUR_MS), 0);
    assert_int_equal(count_kind(f, K_WARNING), 2);
    assert_int_equal(count_kind(f, K_BREACHED), 2);
}

static void test_no_fire_after_stop(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 11, 25, 10, 0);
    dispatched(f, "T4", "W0402", HOTLINE__URGENCY__URGENCY_VERY_URGENT, 0, t0);
    /* The gauges follow each commit: two clocks running, a warning and a breach each. */
    assert_int_equal(gauge(f, "hotline_sla_running_clocks", "sign"), 1);
    assert_int_equal(gauge(f, "hotline_sla_pending_timers", NULL), 4);
    signed_(f, "T4", 0, t0 + 5 * MIN_MS); /* before the sign warning */
    assert_int_equal(gauge(f, "hotline_sla_running_clocks", "sign"), 0);
    assert_int_equal(gauge(f, "hotline_sla_pending_timers", NULL), 2);
    assert_int_equal(fire(f, t0 + HOUR_MS), 0);
    /* Warned on the reply clock, then replied before the breach. */
    assert_int_equal(fire(f, t0 + 24 * HOUR_MS - 10 * MIN_MS), 1);
    assert_int_equal(gauge(f, "hotline_sla_pending_timers", NULL), 1);
    replied(f, "T4", 0, t0 + 24 * HOUR_MS - 1);
    assert_int_equal(gauge(f, "hotline_sla_running_clocks", "reply"), 0);
    assert_int_equal(gauge(f, "hotline_sla_pending_timers", NULL), 0);
    assert_int_equal(fire(f, t0 + 100 * HOUR_MS), 0);
    assert_int_equal(count_kind(f, K_WARNING), 1);
    assert_int_equal(count_kind(f, K_BREACHED), 0);
    assert_true(get_clock(f, "T4", 0, REPLY).on_time);
}

static void linked(fx_t *f, const char *ticket, uint32_t round, int64_t at, bool unlink)
{
    Hotline__TicketLinked l = HOTLINE__TICKET_LINKED__INIT;
    l.incident_id = "INC-1";
    l.round = round;
    Hotline__TicketUnlinked u = HOTLINE__TICKET_UNLINKED__INIT;
    u.incident_id = "INC-1";
    u.unit = "water-south";
    u.round = round;
    u.category_code = "W0402";
    u.urgency = HOTLINE__URGENCY__URGENCY_VERY_URGENT;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.time_ms = at;
    ev.ticket_id = (char *)ticket;
    ev.body_case = unlink ? HOTLINE__EVENT__BODY_TICKET_UNLINKED : HOTLINE__EVENT__BODY_TICKET_LINKED;
    ev.ticket_linked = unlink ? NULL : &l;
    if (unlink)
        ev.ticket_unlinked = &u;
    apply(f, &ev);
}

/* A ticket linked to an incident follows the incident: its clocks stop without a verdict,
 * nothing warns or breaches; unlinked, the round's clocks start afresh from the unlink. */
static void test_linked_suspends_unlinked_restarts(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 11, 25, 10, 0);
    dispatched(f, "T9", "W0402", HOTLINE__URGENCY__URGENCY_VERY_URGENT, 0, t0);
    size_t stopped = count_kind(f, K_STOPPED);
    linked(f, "T9", 0, t0 + MIN_MS, false);
    assert_int_equal(running(f, SIGN), 0);
    assert_int_equal(running(f, REPLY), 0);
    assert_int_equal(gauge(f, "hotline_sla_pending_timers", NULL), 0);
    assert_int_equal(count_kind(f, K_STOPPED), stopped); /* no verdict */
    assert_true(get_clock(f, "T9", 0, SIGN).suspended);
    assert_int_equal(fire(f, t0 + 100 * HOUR_MS), 0);
    int64_t t1 = t0 + 100 * HOUR_MS;
    linked(f, "T9", 0, t1, true);
    assert_int_equal(running(f, SIGN), 1);
    sla_clock_t c = get_clock(f, "T9", 0, SIGN);
    assert_false(c.suspended);
    assert_false(c.stopped);
    assert_true(c.due_ms > t1);
    assert_string_equal(c.unit, "water-south");
    /* A late TicketReplied of the close on a still-linked ticket judges nothing. */
    linked(f, "T9", 0, t1 + MIN_MS, false);
    replied(f, "T9", 0, t1 + 2 * MIN_MS);
    assert_int_equal(count_kind(f, K_STOPPED), stopped);
}

static void test_replayed_dispatch_starts_nothing_twice(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 11, 25, 10, 0);
    dispatched(f, "T5", "W01", HOTLINE__URGENCY__URGENCY_URGENT, 0, t0);
    uint64_t h = head(f);
    /* The same dispatch again, even at another time (a re-dispatch within the round). */
    dispatched(f, "T5", "W01", HOTLINE__URGENCY__URGENCY_URGENT, 0, t0);
    dispatched(f, "T5", "W01", HOTLINE__URGENCY__URGENCY_URGENT, 0, t0 + HOUR_MS);
    assert_int_equal(head(f), h);
    assert_int_equal(count_kind(f, K_STARTED), 2);
    assert_int_equal(running(f, SIGN), 1);
    assert_int_equal(get_clock(f, "T5", 0, SIGN).due_ms, t0 + HOUR_MS);
    /* Each pending entry fires once however many passes run. */
    assert_int_equal(fire(f, t0 + 100 * HOUR_MS), 4);
    dispatched(f, "T5", "W01", HOTLINE__URGENCY__URGENCY_URGENT, 0, t0);
    assert_int_equal(fire(f, t0 + 100 * HOUR_MS), 0);
    assert_int_equal(count_kind(f, K_WARNING), 2);
    assert_int_equal(count_kind(f, K_BREACHED), 2);
}

static void test_restart_keeps_pending(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 11, 25, 10, 0);
    dispatched(f, "T6", "W0402", HOTLINE__URGENCY__URGENCY_VERY_URGENT, 0, t0);
    assert_int_equal(fire(f, t0 + 10 * MIN_MS), 1);
    /* A crash (nothing in memory survives), and a restart on the same store after the sign
     * breach's instant. */
    fx_close(f);
    assert_int_equal(hclock_set_ms(f->clock, t0 + 25 * MIN_MS), 0);
    fx_open(f);
    assert_int_equal(next_step(f), t0 + 20 * MIN_MS); /* the sign breach, the warning is gone */
    /* The start alone fires it: no commit, no clock move. */
    settle(f);
    assert_int_equal(next_step(f), t0 + 24 * HOUR_MS - 10 * MIN_MS); /* the reply warning */
    assert_int_equal(count_kind(f, K_WARNING), 1);
    assert_int_equal(count_kind(f, K_BREACHED), 1);
    assert_int_equal(running(f, SIGN), 1); /* counts survive too */
}

static void test_due_at_commit_fires_by_itself(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 11, 25, 10, 0);
    assert_int_equal(hclock_set_ms(f->clock, t0), 0);
    /* A dispatch read 15 minutes late (a backlog): its sign warning (+10 min) is already due
     * when the clocks commit. Nothing moves the clock: the commit alone arms the scheduler. */
    dispatched(f, "LATE-1", "W0402", HOTLINE__URGENCY__URGENCY_VERY_URGENT, 0, t0 - 15 * MIN_MS);
    settle(f);
    assert_int_equal(count_kind(f, K_WARNING), 1);
    assert_int_equal(count_kind(f, K_BREACHED), 0); /* due at t0 + 5 min */
    /* A burst: 30 tickets' sign warnings and breaches due at once, each fired once. */
    char id[32];
    for (int i = 0; i < 30; i++) {
        snprintf(id, sizeof id, "BURST-%02d", i);
        dispatched(f, id, "W04", HOTLINE__URGENCY__URGENCY_VERY_URGENT, 0, t0 + i);
    }
    assert_int_equal(fire(f, t0 + HOUR_MS), 61);
    assert_int_equal(fire(f, t0 + HOUR_MS), 0);
    assert_int_equal(count_kind(f, K_WARNING), 31);
    assert_int_equal(count_kind(f, K_BREACHED), 31);
}

/* ---- rework ---- */

static void test_rework_starts_new_round(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 11, 25, 10, 0);
    dispatched(f, "T7", "W0402", HOTLINE__URGENCY__URGENCY_VERY_URGENT, 0, t0);
    signed_(f, "T7", 0, t0 + MIN_MS);
    replied(f, "T7", 0, t0 + HOUR_MS);
    int64_t t1 = t0 + 3 * 24 * HOUR_MS;
    uint64_t h = head(f);
    reopened(f, "T7", "water-south", 1, t1);
    collected_t c;
    collect(f, h, &c);
    assert_int_equal(c.n, 2);
    const Hotline__SlaClockStarted *s = c.ev[0]->sla_clock_started;
    assert_int_equal(s->clock, SIGN);
    assert_int_equal(s->round, 1);
    assert_int_equal(s->due_ms, t1 + 20 * MIN_MS); /* same policy, from the reopen time */
    assert_string_equal(s->policy, "water-very-urgent");
    assert_string_equal(s->unit, "water-south");
    assert_string_equal(s->category_code, "W0402");
    assert_int_equal(c.ev[1]->sla_clock_started->round, 1);
    collected_free(&c);
    /* Reopened twice, or a dispatch for round 1 after it: still one set for the round. */
    reopened(f, "T7", "water-south", 1, t1 + 5);
    dispatched(f, "T7", "W0402", HOTLINE__URGENCY__URGENCY_VERY_URGENT, 1, t1 + 9);
    assert_int_equal(count_kind(f, K_STARTED), 4);
    signed_(f, "T7", 1, t1 + MIN_MS);
    assert_true(get_clock(f, "T7", 1, SIGN).stopped);
    assert_false(get_clock(f, "T7", 1, REPLY).stopped);
    assert_true(get_clock(f, "T7", 0, REPLY).stopped);
    /* Round 1's reply clock breaches on its own; round 0's never again. */
    assert_int_equal(fire(f, t1 + 25 * HOUR_MS), 2);
    /* A reopen for a ticket never seen: clocks anyway, from the catch-all. */
    reopened(f, "T-UNSEEN", "u9", 1, t1);
    sla_clock_t u = get_clock(f, "T-UNSEEN", 1, REPLY);
    assert_string_equal(u.policy, "default");
    assert_string_equal(u.unit, "u9");
}

/* ---- malformed input ---- */

static void test_bad_events_skipped(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 11, 25, 10, 0);
    dispatched(f, "", "W01", HOTLINE__URGENCY__URGENCY_URGENT, 0, t0);
    char long_id[SLA_TICKET_ID_MAX + 2];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    dispatched(f, long_id, "W01", HOTLINE__URGENCY__URGENCY_URGENT, 0, t0);
    assert_int_equal(head(f), 0);
    /* Events that are not about deadlines are ignored. */
    Hotline__TicketReceived tr = HOTLINE__TICKET_RECEIVED__INIT;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.ticket_id = "T8";
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_RECEIVED;
    ev.ticket_received = &tr;
    apply(f, &ev);
    assert_int_equal(head(f), 0);
    /* An over-long unit is kept, cut to its bound. */
    char long_unit[300];
    memset(long_unit, 'u', sizeof long_unit - 1);
    long_unit[sizeof long_unit - 1] = '\0';
    reopened(f, "T8", long_unit, 0, t0);
    assert_int_equal(strlen(get_clock(f, "T8", 0, SIGN).unit), 128);
}

/* ---- views ---- */

static void test_views(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 2, 14, 16, 0);
    dispatched(f, "V1", "W06", HOTLINE__URGENCY__URGENCY_NORMAL, 0, t0);
    dispatched(f, "V2", "W04", HOTLINE__URGENCY__URGENCY_VERY_URGENT, 0, t0);
    signed_(f, "V1", 0, t0 + HOUR_MS);
    MDB_txn *txn;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    json_t *j = NULL;
    assert_int_equal(sla_clocks_json(f->sla, txn, "V1", &j), 0);
    assert_string_equal(json_string_value(json_object_get(j, "ticketId")), "V1");
    json_t *clocks = json_object_get(j, "clocks");
    assert_int_equal(json_array_size(clocks), 2);
    json_t *sign = json_array_get(clocks, 0), *reply = json_array_get(clocks, 1);
    assert_string_equal(json_string_value(json_object_get(sign, "clock")), "SLA_CLOCK_SIGN");
    assert_false(json_is_true(json_object_get(sign, "running")));
    assert_true(json_is_true(json_object_get(sign, "onTime")));
    assert_string_equal(json_string_value(json_object_get(reply, "dueLocal")),
                        "2026-02-28 23:59 +08:00");
    char want[24];
    snprintf(want, sizeof want, "%lld", (long long)get_clock(f, "V1", 0, REPLY).due_ms);
    assert_string_equal(json_string_value(json_object_get(reply, "dueMs")), want);
    assert_string_equal(json_string_value(json_object_get(reply, "warnLocal")),
                        "2026-02-27 23:59 +08:00");
    assert_true(json_is_true(json_object_get(reply, "running")));
    assert_null(json_object_get(reply, "onTime"));
    assert_null(json_object_get(reply, "stoppedMs"));
    json_decref(j);
    assert_int_equal(sla_clocks_json(f->sla, txn, "V9", &j), HL_ENOTFOUND);
    assert_int_equal(sla_clocks_json(f->sla, txn, "V", &j), HL_ENOTFOUND); /* not a prefix */
    /* Running clocks due before a day later: V2's sign (20 min) then reply (24 h); V1's
     * reply is due on the 28th. */
    assert_int_equal(sla_due_json(f->sla, txn, t0 + 24 * HOUR_MS + 1, 100, &j), 0);
    clocks = json_object_get(j, "clocks");
    assert_int_equal(json_array_size(clocks), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(clocks, 0), "clock")),
                        "SLA_CLOCK_SIGN");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(clocks, 1), "ticketId")), "V2");
    assert_false(json_is_true(json_object_get(j, "more")));
    json_decref(j);
    assert_int_equal(sla_due_json(f->sla, txn, INT64_MAX, 2, &j), 0);
    assert_int_equal(json_array_size(json_object_get(j, "clocks")), 2);
    assert_true(json_is_true(json_object_get(j, "more")));
    json_decref(j);
    store_read_end(&txn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_working_days_across_spring_festival, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_minutes_and_hours, setup, teardown),
        cmocka_unit_test_setup_teardown(test_natural_days_and_dropped_warning, setup_natural,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_weekend_sign_has_no_warning, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_on_time_and_late, setup, teardown),
        cmocka_unit_test_setup_teardown(test_linked_suspends_unlinked_restarts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_without_sign_stops_both, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fire_exactly_once_at_instants, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_fire_after_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replayed_dispatch_starts_nothing_twice, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_restart_keeps_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_due_at_commit_fires_by_itself, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rework_starts_new_round, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_events_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_views, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
