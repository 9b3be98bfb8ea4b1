/* sla_timer: fires warnings and breaches at their instants on the service clock.
 *
 * The pending entries live in LMDB (sla_timers, earliest first), so nothing is held in memory
 * that a crash could lose or double: one uv timer is armed for the earliest entry relative to
 * hclock_now_ms, and when it goes off a txq item runs one pass (sla_fire_due) that handles and
 * deletes every entry due by then, in the same transaction as the events it appends. The timer
 * is re-armed after every commit that touched the index, after each pass, and whenever the
 * (test) clock is moved. Its delay is capped so that a real clock stepped by NTP is noticed.
 *
 * The timer is unref'd: it never keeps the loop alive; sla.c closes it from the skeleton's
 * stop hook, when shutdown begins. Loop thread. */
#include "sla_internal.h"

#include "hl_error.h"
#include "slog.h"

#include <stddef.h>

#define ARM_MAX_MS 60000 /* look again at least this often: the real clock may be stepped */
#define RETRY_MS 1000    /* after a failed pass or read */

static txq_t *current_txq(sla_t *self)
{
    /* The skeleton destroys its txq at shutdown (service_txq is NULL afterwards), possibly
     * while this timer is still open: never keep a copy of it. */
    return self->svc ? service_txq(self->svc) : self->txq;
}

static void on_timer(uv_timer_t *h);

static void start_timer(sla_t *self, uint64_t delay_ms)
{
    if (self->timer_open)
        uv_timer_start(&self->timer, on_timer, delay_ms, 0);
}

/* 0 and the earliest fire time, HL_ENOTFOUND when nothing is pending, or a store error. */
static int read_next(sla_t *self, int64_t *next)
{
    MDB_txn *txn;
    int rc = store_read_begin(self->store, &txn);
    if (rc)
        return rc;
    rc = sla_next_fire(self, txn, next);
    store_read_end(&txn);
    return rc;
}

void sla_arm(sla_t *self)
{
    if (!self->timer_open || self->fire_busy)
        return; /* a pass in flight re-arms when it is done */
    int64_t next;
    int rc = read_next(self, &next);
    if (rc == HL_ENOTFOUND) {
        uv_timer_stop(&self->timer);
        return;
    }
    if (rc) {
        SLOG_WARN("sla_timer_read_failed", "reason=\"%s\" next=\"retry in %d ms\"",
                  hl_strerror(rc), RETRY_MS);
        start_timer(self, RETRY_MS);
        return;
    }
    int64_t delay = next - hclock_now_ms(self->clock);
    start_timer(self, delay <= 0 ? 0 : delay > ARM_MAX_MS ? ARM_MAX_MS : (uint64_t)delay);
}

static sla_t *of_item(txq_item_t *item)
{
    return (sla_t *)((char *)item - offsetof(sla_t, fire_item));
}

static int fire_apply(txq_item_t *item, MDB_txn *txn)
{
    sla_t *self = of_item(item);
    unsigned fired;
    /* "now" is read inside the transaction: a re-applied batch (map growth) reads it again,
     * which only ever fires more of what is due, each entry still once. */
    return sla_fire_due(self, txn, hclock_now_ms(self->clock), SLA_FIRE_PER_PASS, &fired,
                        &self->fire_more);
}

static void fire_done(txq_item_t *item, int rc)
{
    sla_t *self = of_item(item);
    self->fire_busy = false;
    if (rc) {
        SLOG_WARN("sla_fire_failed", "reason=\"%s\" next=\"retry in %d ms\"", hl_strerror(rc),
                  RETRY_MS);
        start_timer(self, RETRY_MS);
    } else if (self->fire_more) {
        start_timer(self, 0); /* more than one pass takes: go on next loop turn */
    } else {
        sla_arm(self);
    }
}

static void on_timer(uv_timer_t *h)
{
    sla_t *self = h->data;
    txq_t *txq = current_txq(self);
    if (self->fire_busy || !txq)
        return;
    int64_t next;
    int rc = read_next(self, &next);
    if (rc == HL_ENOTFOUND)
        return;
    if (rc == 0 && next > hclock_now_ms(self->clock)) {
        sla_arm(self); /* woken by the cap, or the clock went back: no empty commit */
        return;
    }
    self->fire_busy = true;
    self->fire_item.apply = fire_apply;
    self->fire_item.done = fire_done;
    txq_submit(txq, &self->fire_item);
}

/* Copy the running counts and the pending entries from LMDB into the gauges. */
static void metrics_refresh(sla_t *self)
{
    if (!self->m_running)
        return;
    MDB_txn *txn;
    if (store_read_begin(self->store, &txn) != 0)
        return;
    static const Hotline__SlaClock clocks[] = {HOTLINE__SLA_CLOCK__SLA_CLOCK_SIGN,
                                               HOTLINE__SLA_CLOCK__SLA_CLOCK_REPLY};
    for (size_t i = 0; i < 2; i++) {
        uint64_t n;
        if (sla_running_count(self, txn, clocks[i], &n) == 0)
            metric_set(self->m_running, (const char *const[]){sla_clock_label(clocks[i])},
                       (double)n);
    }
    uint64_t pending;
    if (store_count(txn, self->timers, &pending) == 0)
        metric_set(self->m_pending, NULL, (double)pending);
    store_read_end(&txn);
}

/* After every commit, before the items' done(): gauges and the timer follow the store. */
static void after_commit(void *ctx)
{
    sla_t *self = ctx;
    if (self->counts_dirty || self->index_dirty)
        metrics_refresh(self);
    self->counts_dirty = false;
    if (self->index_dirty) {
        self->index_dirty = false;
        sla_arm(self);
    }
}

static void on_clock_moved(void *ctx)
{
    sla_arm(ctx);
}

int sla_start(sla_t *self, uv_loop_t *loop, service_t *svc, txq_t *txq, metrics_t *metrics)
{
    self->loop = loop;
    self->svc = svc;
    self->txq = txq;
    self->metrics = svc ? service_metrics(svc) : metrics;
    if (self->metrics) {
        /* Counts are kept in LMDB with the clocks (exact across crashes) and copied into the
         * gauges after each commit that changed them: no scan at scrape time. */
        self->m_running = metrics_gauge(self->metrics, "hotline_sla_running_clocks",
                                        "Clocks started and not yet stopped, by clock (sign, "
                                        "reply); breached ones included.", "clock");
        self->m_pending = metrics_gauge(self->metrics, "hotline_sla_pending_timers",
                                        "Warnings and breaches scheduled and not yet fired.",
                                        NULL);
    }
    /* Everything that can fail comes before the timer exists, so a failed start leaves no
     * handle behind. */
    int rc = txq_on_commit(current_txq(self), after_commit, self);
    if (!rc)
        rc = hclock_listen(self->clock, on_clock_moved, self);
    if (rc)
        return rc;
    uv_timer_init(loop, &self->timer);
    self->timer.data = self;
    uv_unref((uv_handle_t *)&self->timer);
    self->timer_open = true;
    metrics_refresh(self);
    sla_arm(self); /* entries left by the last run fire now if they are due */
    return 0;
}

void sla_stop(sla_t *self)
{
    if (!self || !self->timer_open)
        return;
    self->timer_open = false;
    uv_timer_stop(&self->timer);
    uv_close((uv_handle_t *)&self->timer, NULL);
}
