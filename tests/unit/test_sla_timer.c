/* sla's timer on a real libuv loop with the group commit (txq), driven by moving a settable
 * clock: nothing fires before its instant, a warning and a breach fire once each when the clock
 * is moved past them, a commit that adds an entry already due arms the timer by itself, the
 * gauges follow the commits, and entries left pending by a previous run fire at start. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "hl_error.h"
#include "pbjson.h"
#include "sla.h"
#include "unit.h"

#include <string.h>

#define MIN_MS 60000LL
#define HOUR_MS 3600000LL

typedef struct fx {
    char *dir;
    store_t *store;
    evlog_t *log;
    hclock_t *clock;
    Hotline__SlaConfig *cfg;
    sla_t *sla;
    uv_loop_t loop;
    uv_timer_t keep; /* the sla timer is unref'd: this keeps UV_RUN_ONCE polling */
    txq_t *txq;
    metrics_t *metrics;
} fx_t;

static void open_store(fx_t *f)
{
    store_opts_t so = {.path = f->dir, .sync = STORE_SYNC_NOSYNC};
    assert_int_equal(store_open(&f->store, &so), 0);
    evlog_opts_t lo = {.source = "sla", .retention_ms = 3600000};
    assert_int_equal(evlog_open(&f->log, f->store, f->clock, &lo), 0);
    sla_opts_t o = {.store = f->store, .log = f->log, .clock = f->clock, .cfg = f->cfg};
    char err[512] = "";
    assert_int_equal(sla_create(&f->sla, &o, err, sizeof err), 0);
}

static void close_store(fx_t *f)
{
    sla_destroy(&f->sla);
    evlog_close(&f->log);
    store_close(&f->store);
}

static void on_committed(void *ctx)
{
    evlog_committed(ctx);
}

static void keepalive_cb(uv_timer_t *h)
{
    (void)h;
}

/* The loop, the group commit and the metrics around an open store; then sla_start. */
static void start_loop(fx_t *f)
{
    uv_loop_init(&f->loop);
    uv_timer_init(&f->loop, &f->keep);
    uv_timer_start(&f->keep, keepalive_cb, 5, 5);
    assert_int_equal(txq_create(&f->txq, &f->loop, f->store, 0), 0);
    assert_int_equal(txq_on_commit(f->txq, on_committed, f->log), 0);
    assert_int_equal(metrics_create(&f->metrics), 0);
    assert_int_equal(sla_start(f->sla, &f->loop, NULL, f->txq, f->metrics), 0);
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    f->dir = unit_tmpdir();
    assert_int_equal(hclock_create(&f->clock, true), 0);
    const char *json = sla_service.default_config_json;
    pbjson_error_t err;
    assert_int_equal(pbjson_decode(&hotline__sla_config__descriptor, json, strlen(json), NULL,
                                   (ProtobufCMessage **)&f->cfg, &err),
                     0);
    open_store(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    sla_stop(f->sla);
    txq_destroy(&f->txq);
    uv_close((uv_handle_t *)&f->keep, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    metrics_destroy(&f->metrics);
    close_store(f);
    hclock_destroy(&f->clock);
    protobuf_c_message_free_unpacked(&f->cfg->base, NULL);
    unit_tmpdir_cleanup(f->dir);
    free(f);
    return 0;
}

/* ---- counting what sla appended (persistent per-kind counts of the log) ---- */

typedef struct kind_count {
    const char *kind;
    uint64_t n;
} kind_count_t;

static void count_cb(void *ctx, const char *kind, uint64_t count)
{
    kind_count_t *k = ctx;
    if (strcmp(kind, k->kind) == 0)
        k->n = count;
}

static uint64_t appended(fx_t *f, const char *kind)
{
    kind_count_t k = {kind, 0};
    assert_int_equal(evlog_counts(f->log, count_cb, &k), 0);
    return k.n;
}

/* Run the loop until kind has been appended n times, or about ms pass. */
static bool run_until(fx_t *f, const char *kind, uint64_t n, int ms)
{
    uint64_t end = hclock_mono_ns() + (uint64_t)ms * 1000000u;
    while (appended(f, kind) < n && hclock_mono_ns() < end)
        uv_run(&f->loop, UV_RUN_ONCE);
    return appended(f, kind) >= n;
}

static double gauge(fx_t *f, const char *name, const char *label)
{
    const char *const values[] = {label};
    metric_t *m = metrics_gauge(f->metrics, name, NULL, label ? "clock" : NULL);
    return metric_value(m, label ? values : NULL);
}

/* ---- feeding events through the group commit, as the feed client does ---- */

typedef struct apply_item {
    txq_item_t item; /* first: the item is the struct */
    sla_t *sla;
    Hotline__Event ev;
    Hotline__TicketDispatched d;
    Hotline__TicketSigned s;
    int rc;
} apply_item_t;

static int ai_apply(txq_item_t *it, MDB_txn *txn)
{
    apply_item_t *a = (apply_item_t *)it;
    return sla_apply(a->sla, txn, &a->ev);
}

static void ai_done(txq_item_t *it, int rc)
{
    ((apply_item_t *)it)->rc = rc;
}

static void init_item(apply_item_t *a, fx_t *f, const char *ticket, int64_t at)
{
    memset(a, 0, sizeof *a);
    a->item.apply = ai_apply;
    a->item.done = ai_done;
    a->sla = f->sla;
    a->rc = 1; /* until done */
    hotline__event__init(&a->ev);
    a->ev.time_ms = at;
    a->ev.ticket_id = (char *)ticket;
}

static void submit_dispatched(fx_t *f, apply_item_t *a, const char *ticket, int64_t at)
{
    init_item(a, f, ticket, at);
    hotline__ticket_dispatched__init(&a->d);
    a->d.unit = "water-north";
    a->d.category_code = "W0402";
    a->d.urgency = HOTLINE__URGENCY__URGENCY_VERY_URGENT;
    a->ev.body_case = HOTLINE__EVENT__BODY_TICKET_DISPATCHED;
    a->ev.ticket_dispatched = &a->d;
    txq_submit(f->txq, &a->item);
}

static void submit_signed(fx_t *f, apply_item_t *a, const char *ticket, int64_t at)
{
    init_item(a, f, ticket, at);
    hotline__ticket_signed__init(&a->s);
    a->ev.body_case = HOTLINE__EVENT__BODY_TICKET_SIGNED;
    a->ev.ticket_signed = &a->s;
    txq_submit(f->txq, &a->item);
}

static int64_t noon(fx_t *f)
{
    return calendar_day_start_ms(sla_calendar(f->sla), calendar_day_from_ymd(2026, 11, 25)) +
           12 * HOUR_MS;
}

static void test_timer_follows_the_clock(void **state)
{
    fx_t *f = *state;
    start_loop(f);
    int64_t t0 = noon(f);
    assert_int_equal(hclock_set_ms(f->clock, t0), 0);
    apply_item_t a;
    submit_dispatched(f, &a, "LOOP-1", t0);
    assert_true(run_until(f, "sla_clock_started", 2, 2000));
    assert_int_equal(a.rc, 0);
    assert_int_equal(gauge(f, "hotline_sla_running_clocks", "sign"), 1);
    assert_int_equal(gauge(f, "hotline_sla_pending_timers", NULL), 4);
    /* The clock stands before the warning (real time runs on, nowhere near 10 minutes). */
    assert_false(run_until(f, "sla_warning", 1, 150));
    /* Moved past the sign warning: it fires, once; the breach waits. */
    assert_int_equal(hclock_set_ms(f->clock, t0 + 10 * MIN_MS), 0);
    assert_true(run_until(f, "sla_warning", 1, 2000));
    assert_false(run_until(f, "sla_breached", 1, 150));
    assert_int_equal(appended(f, "sla_warning"), 1);
    /* Past the breach. */
    assert_int_equal(hclock_advance_ms(f->clock, 10 * MIN_MS), 0);
    assert_true(run_until(f, "sla_breached", 1, 2000));
    /* The unit signs, late; the reply clock still runs. */
    submit_signed(f, &a, "LOOP-1", t0 + 25 * MIN_MS);
    assert_true(run_until(f, "sla_clock_stopped", 1, 2000));
    assert_int_equal(gauge(f, "hotline_sla_running_clocks", "sign"), 0);
    assert_int_equal(gauge(f, "hotline_sla_running_clocks", "reply"), 1);
    assert_int_equal(gauge(f, "hotline_sla_pending_timers", NULL), 2);
    /* A day later both reply entries are overdue: one pass fires both, and nothing more. */
    assert_int_equal(hclock_advance_ms(f->clock, 24 * HOUR_MS), 0);
    assert_true(run_until(f, "sla_breached", 2, 2000));
    assert_false(run_until(f, "sla_breached", 3, 150));
    assert_int_equal(appended(f, "sla_warning"), 2);
    assert_int_equal(gauge(f, "hotline_sla_pending_timers", NULL), 0);
}

static void test_commit_arms_the_timer(void **state)
{
    fx_t *f = *state;
    start_loop(f);
    int64_t t0 = noon(f);
    assert_int_equal(hclock_set_ms(f->clock, t0), 0);
    /* A dispatch read 15 minutes late (a backlog): its sign warning (+10 min) is already due
     * when the clocks commit. Nothing moves the clock: the commit alone must arm the timer. */
    apply_item_t a;
    submit_dispatched(f, &a, "LATE-1", t0 - 15 * MIN_MS);
    assert_true(run_until(f, "sla_warning", 1, 2000));
    assert_false(run_until(f, "sla_breached", 1, 150)); /* due at t0 + 5 min */
}

static void test_pending_from_last_run_fire_at_start(void **state)
{
    fx_t *f = *state;
    /* A previous run started clocks and stopped before anything fired. */
    int64_t t0 = noon(f);
    Hotline__TicketDispatched d = HOTLINE__TICKET_DISPATCHED__INIT;
    d.unit = "water-north";
    d.category_code = "W0402";
    d.urgency = HOTLINE__URGENCY__URGENCY_VERY_URGENT;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.time_ms = t0;
    ev.ticket_id = "OLD-1";
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_DISPATCHED;
    ev.ticket_dispatched = &d;
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(sla_apply(f->sla, txn, &ev), 0);
    assert_int_equal(store_write_commit(f->store, &txn), 0);
    close_store(f);
    /* Restarted an hour later: no commit and no clock move needed, the start arms the timer
     * for what is already due (the sign warning and breach), and only that fires. */
    assert_int_equal(hclock_set_ms(f->clock, t0 + HOUR_MS), 0);
    open_store(f);
    start_loop(f);
    assert_true(run_until(f, "sla_breached", 1, 2000));
    assert_int_equal(appended(f, "sla_warning"), 1);
    assert_false(run_until(f, "sla_warning", 2, 150));
    assert_int_equal(gauge(f, "hotline_sla_pending_timers", NULL), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_timer_follows_the_clock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_arms_the_timer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_from_last_run_fire_at_start, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
