/* scheduler: durable scheduled work, fired inside the group commit. Loop thread. */
#include "scheduler.h"

#include "hl_error.h"
#include "slog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PER_PASS_DEFAULT 2000
#define ARM_MAX_DEFAULT 60000
#define RETRY_MS 1000 /* after a failed pass or read */

static const double LATENESS_BUCKETS[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                          0.25,  0.5,   1,    5,     30,   300};

struct scheduler {
    uv_loop_t *loop;
    store_t *store;
    txq_t *txq;
    hclock_t *clock;
    scheduler_opts_t opts;
    char name[64];
    MDB_dbi due; /* be64 due_ms + id -> payload */
    MDB_dbi ids; /* id -> be64 due_ms */
    uv_timer_t timer;
    bool timer_open;
    bool stopped; /* scheduler_stop ran: listeners removed */
    bool pass_busy;     /* a pass is in the txq */
    bool pass_more;     /* the last pass hit per_pass: go on at once */
    int64_t put_min_ms; /* earliest due put since the last commit (INT64_MAX: none) */
    txq_item_t item;
    uint8_t *batch; /* the entries of the pass being applied (copied out of LMDB) */
    size_t batch_cap;
    scheduler_stats_t stats;
    uint64_t pending_fired; /* fired by the pass being committed */
    metric_t *m_fired, *m_lateness, *m_pending;
    double *late_s; /* lateness of the pass being committed, observed on commit */
    size_t nlate;
};

static int64_t now_ms(const scheduler_t *self)
{
    return hclock_now_ms(self->clock);
}

/* ---- the indexes ---- */

static size_t due_key(uint8_t *out, int64_t due_ms, const void *id, size_t id_len)
{
    /* Offset so that instants before 1970 (never used) still sort below later ones. */
    store_be64_put(out, (uint64_t)due_ms ^ (UINT64_C(1) << 63));
    memcpy(out + 8, id, id_len);
    return 8 + id_len;
}

static int64_t due_of_key(const void *key)
{
    return (int64_t)(store_be64_get(key) ^ (UINT64_C(1) << 63));
}

static bool id_ok(size_t id_len)
{
    return id_len >= 1 && id_len <= SCHEDULER_ID_MAX;
}

int scheduler_due(scheduler_t *self, MDB_txn *txn, const void *id, size_t id_len, int64_t *due_ms)
{
    if (!id_ok(id_len))
        return HL_EINVAL;
    MDB_val v;
    int rc = store_get(txn, self->ids, id, id_len, &v);
    if (rc)
        return rc;
    if (v.mv_size != 8)
        return HL_ECORRUPT;
    *due_ms = due_of_key(v.mv_data);
    return 0;
}

/* Remove id from both indexes, given its due time. With caller_keeps_due the id index holds
 * only what an older release put: its entry may be absent. */
static int unlink_entry(scheduler_t *self, MDB_txn *txn, const void *id, size_t id_len,
                        int64_t due_ms)
{
    uint8_t key[8 + SCHEDULER_ID_MAX];
    size_t klen = due_key(key, due_ms, id, id_len);
    int rc = store_del(txn, self->due, key, klen);
    if (self->opts.caller_keeps_due) {
        if (rc)
            return rc;
        rc = store_del(txn, self->ids, id, id_len);
        return rc == HL_ENOTFOUND ? 0 : rc;
    }
    if (rc == 0 || rc == HL_ENOTFOUND)
        rc = store_del(txn, self->ids, id, id_len);
    return rc;
}

int scheduler_cancel(scheduler_t *self, MDB_txn *txn, const void *id, size_t id_len)
{
    int64_t due;
    int rc = scheduler_due(self, txn, id, id_len, &due);
    return rc ? rc : unlink_entry(self, txn, id, id_len, due);
}

int scheduler_cancel_at(scheduler_t *self, MDB_txn *txn, const void *id, size_t id_len,
                        int64_t due_ms)
{
    return id_ok(id_len) ? unlink_entry(self, txn, id, id_len, due_ms) : HL_EINVAL;
}

int scheduler_put(scheduler_t *self, MDB_txn *txn, const void *id, size_t id_len, int64_t due_ms,
                  const void *payload, size_t payload_len)
{
    if (!id_ok(id_len))
        return HL_EINVAL;
    int rc = 0;
    if (!self->opts.caller_keeps_due) {
        int64_t old;
        rc = scheduler_due(self, txn, id, id_len, &old);
        if (rc == 0)
            rc = unlink_entry(self, txn, id, id_len, old);
        else if (rc == HL_ENOTFOUND)
            rc = 0;
        if (rc)
            return rc;
    }
    uint8_t key[8 + SCHEDULER_ID_MAX], when[8];
    size_t klen = due_key(key, due_ms, id, id_len);
    memcpy(when, key, 8);
    rc = store_put(txn, self->due, key, klen, payload_len ? payload : "", payload_len, 0);
    if (!rc && !self->opts.caller_keeps_due)
        rc = store_put(txn, self->ids, id, id_len, when, 8, 0);
    if (!rc && due_ms < self->put_min_ms)
        self->put_min_ms = due_ms; /* after the commit the timer may need to come earlier */
    return rc;
}

int scheduler_count(scheduler_t *self, MDB_txn *txn, uint64_t *n)
{
    MDB_stat st; /* the time index holds every entry (the id index not, caller_keeps_due) */
    int mrc = mdb_stat(txn, self->due, &st);
    if (mrc)
        return hl_error_from_mdb(mrc);
    *n = st.ms_entries;
    return 0;
}

int scheduler_next(scheduler_t *self, MDB_txn *txn, int64_t *due_ms)
{
    MDB_cursor *cur;
    int mrc = mdb_cursor_open(txn, self->due, &cur);
    if (mrc)
        return hl_error_from_mdb(mrc);
    MDB_val k, v;
    mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    mdb_cursor_close(cur);
    if (mrc == MDB_NOTFOUND)
        return HL_ENOTFOUND;
    if (mrc)
        return hl_error_from_mdb(mrc);
    if (k.mv_size < 9)
        return HL_ECORRUPT;
    *due_ms = due_of_key(k.mv_data);
    return 0;
}

/* ---- the timer ---- */

static void on_timer(uv_timer_t *h);

static void start_timer(scheduler_t *self, int64_t at_ms, uint64_t delay_ms)
{
    if (!self->timer_open)
        return;
    self->stats.armed_for_ms = at_ms;
    uv_timer_start(&self->timer, on_timer, delay_ms, 0);
}

/* Arm for instant at_ms (capped, so a stepped real clock is noticed). */
static void arm_at(scheduler_t *self, int64_t at_ms)
{
    int64_t delay = at_ms - now_ms(self);
    uint64_t d = delay <= 0                      ? 0
                 : delay > self->opts.arm_max_ms ? self->opts.arm_max_ms
                                                 : (uint64_t)delay;
    start_timer(self, at_ms, d);
}

/* Arm from the store's earliest entry. */
static void arm(scheduler_t *self)
{
    if (!self->timer_open || self->pass_busy)
        return; /* a pass in flight re-arms when it is done */
    MDB_txn *txn;
    int64_t next = 0;
    int rc = store_read_begin(self->store, &txn);
    if (!rc) {
        rc = scheduler_next(self, txn, &next);
        store_read_end(&txn);
    }
    if (rc == HL_ENOTFOUND) {
        uv_timer_stop(&self->timer);
        self->stats.armed_for_ms = 0;
        return;
    }
    if (rc) {
        SLOG_WARN("sched_read_failed", "sched=%s reason=\"%s\" next=\"retry in %d ms\"", self->name,
                  hl_strerror(rc), RETRY_MS);
        start_timer(self, now_ms(self) + RETRY_MS, RETRY_MS);
        return;
    }
    arm_at(self, next);
}

/* ---- a pass ---- */

/* Copy the due entries (at most per_pass) out of LMDB: the pass then removes and fires them
 * without a cursor open on an index that fire() may write to. The batch buffer holds, per
 * entry: u16 key length, u32 payload length, key, payload. */
static int collect_due(scheduler_t *self, MDB_txn *txn, int64_t now, size_t *count, size_t *used)
{
    MDB_cursor *cur;
    int mrc = mdb_cursor_open(txn, self->due, &cur);
    if (mrc)
        return hl_error_from_mdb(mrc);
    MDB_val k, v;
    int rc = 0;
    *count = *used = 0;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0 && *count < self->opts.per_pass;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size < 9 || k.mv_size > 8 + SCHEDULER_ID_MAX) {
            rc = HL_ECORRUPT;
            break;
        }
        if (due_of_key(k.mv_data) > now)
            break; /* the index is in time order: nothing further is due */
        size_t need = 6 + k.mv_size + v.mv_size;
        if (*used + need > self->batch_cap) {
            size_t cap = (self->batch_cap ? self->batch_cap * 2 : 65536) + need;
            uint8_t *grown = realloc(self->batch, cap);
            if (!grown) {
                rc = HL_ENOMEM;
                break;
            }
            self->batch = grown;
            self->batch_cap = cap;
        }
        uint8_t *p = self->batch + *used;
        uint16_t kl = (uint16_t)k.mv_size;
        uint32_t vl = (uint32_t)v.mv_size;
        memcpy(p, &kl, 2);
        memcpy(p + 2, &vl, 4);
        memcpy(p + 6, k.mv_data, k.mv_size);
        memcpy(p + 6 + k.mv_size, v.mv_data, v.mv_size);
        *used += need;
        (*count)++;
    }
    mdb_cursor_close(cur);
    if (!rc && mrc && mrc != MDB_NOTFOUND && *count < self->opts.per_pass)
        rc = hl_error_from_mdb(mrc);
    return rc;
}

static scheduler_t *of_item(txq_item_t *item)
{
    return (scheduler_t *)((char *)item - offsetof(scheduler_t, item));
}

static int pass_apply(txq_item_t *item, MDB_txn *txn)
{
    scheduler_t *self = of_item(item);
    /* "now" is read inside the transaction: a batch re-applied after map growth reads it
     * again, which only ever fires more of what is due, each entry still once. */
    int64_t now = now_ms(self);
    size_t count = 0, used = 0;
    self->pending_fired = 0;
    self->nlate = 0;
    int rc = collect_due(self, txn, now, &count, &used);
    if (rc)
        return rc;
    self->pass_more = count == self->opts.per_pass;
    if (count && !self->late_s) {
        self->late_s = malloc(self->opts.per_pass * sizeof *self->late_s);
        if (!self->late_s)
            return HL_ENOMEM;
    }
    for (size_t off = 0, i = 0; i < count; i++) {
        uint16_t kl;
        uint32_t vl;
        memcpy(&kl, self->batch + off, 2);
        memcpy(&vl, self->batch + off + 2, 4);
        const uint8_t *key = self->batch + off + 6;
        scheduler_entry_t e = {key + 8, kl - 8u, due_of_key(key), key + kl, vl};
        off += 6 + kl + vl;
        /* Removed first, in this transaction: fire() may put the same id again. */
        rc = unlink_entry(self, txn, e.id, e.id_len, e.due_ms);
        if (!rc)
            rc = self->opts.fire(self->opts.ctx, txn, &e);
        if (rc)
            return rc;
        self->late_s[self->nlate++] = (double)(now - e.due_ms) / 1000.0;
    }
    self->pending_fired = count;
    return 0;
}

static void pass_done(txq_item_t *item, int rc)
{
    scheduler_t *self = of_item(item);
    self->pass_busy = false;
    if (rc) {
        self->stats.failed_passes++;
        SLOG_WARN("sched_pass_failed", "sched=%s reason=\"%s\" next=\"retry in %d ms\"", self->name,
                  hl_strerror(rc), RETRY_MS);
        start_timer(self, now_ms(self) + RETRY_MS, RETRY_MS);
        return;
    }
    if (self->pending_fired) {
        self->stats.fired += self->pending_fired;
        self->stats.passes++;
        if (self->m_fired)
            metric_add(self->m_fired, (const char *const[]){self->name},
                       (double)self->pending_fired);
        for (size_t i = 0; self->m_lateness && i < self->nlate; i++)
            metric_observe(self->m_lateness, (const char *const[]){self->name}, self->late_s[i]);
    }
    if (self->pass_more)
        start_timer(self, now_ms(self), 0); /* more than one pass takes: next loop turn */
    else
        arm(self);
}

static void on_timer(uv_timer_t *h)
{
    scheduler_t *self = h->data;
    if (self->pass_busy || !self->timer_open)
        return;
    self->stats.armed_for_ms = 0;
    MDB_txn *txn;
    int64_t next = 0;
    int rc = store_read_begin(self->store, &txn);
    if (!rc) {
        rc = scheduler_next(self, txn, &next);
        store_read_end(&txn);
    }
    if (rc == HL_ENOTFOUND)
        return;
    if (rc == 0 && next > now_ms(self)) {
        arm(self); /* woken by the cap, or the clock went back: no empty commit */
        return;
    }
    self->pass_busy = true;
    txq_submit(self->txq, &self->item);
}

/* After every commit: an entry put earlier than the armed instant brings the timer forward.
 * (A put rolled back with its item leaves a hint that only wakes the timer early: harmless.) */
static void after_commit(void *ctx)
{
    scheduler_t *self = ctx;
    int64_t hint = self->put_min_ms;
    self->put_min_ms = INT64_MAX;
    if (hint == INT64_MAX || self->pass_busy || !self->timer_open)
        return;
    if (!self->stats.armed_for_ms || hint < self->stats.armed_for_ms)
        arm_at(self, hint);
}

static void on_clock_moved(void *ctx)
{
    arm(ctx);
}

/* ---- life cycle ---- */

static double pending_gauge(void *ctx)
{
    scheduler_t *self = ctx;
    MDB_txn *txn;
    uint64_t n = 0;
    if (store_read_begin(self->store, &txn) == 0) {
        if (self->opts.pending)
            self->opts.pending(self->opts.ctx, txn, &n);
        else
            scheduler_count(self, txn, &n);
        store_read_end(&txn);
    }
    return (double)n;
}

int scheduler_create(scheduler_t **out, uv_loop_t *loop, store_t *store, txq_t *txq,
                     hclock_t *clock, const scheduler_opts_t *opts)
{
    if (!opts || !opts->name || !*opts->name || strlen(opts->name) > 40 || !opts->fire)
        return HL_EINVAL;
    scheduler_t *self = calloc(1, sizeof *self);
    if (!self)
        return HL_ENOMEM;
    *self = (scheduler_t){.loop = loop, .store = store, .txq = txq, .clock = clock, .opts = *opts};
    snprintf(self->name, sizeof self->name, "%s", opts->name);
    self->opts.name = self->name;
    if (!self->opts.per_pass)
        self->opts.per_pass = PER_PASS_DEFAULT;
    if (!self->opts.arm_max_ms)
        self->opts.arm_max_ms = ARM_MAX_DEFAULT;
    self->put_min_ms = INT64_MAX;
    self->item.apply = pass_apply;
    self->item.done = pass_done;
    char db[80];
    snprintf(db, sizeof db, "%s.due", self->name);
    int rc = store_db(store, db, 0, &self->due);
    snprintf(db, sizeof db, "%s.ids", self->name);
    if (!rc)
        rc = store_db(store, db, 0, &self->ids);
    if (!rc)
        rc = txq_on_commit(txq, after_commit, self);
    if (!rc) {
        rc = hclock_listen(clock, on_clock_moved, self);
        if (rc)
            txq_unlisten(txq, after_commit, self);
    }
    if (rc) {
        free(self);
        return rc;
    }
    if (opts->metrics) {
        self->m_fired = metrics_counter(opts->metrics, "hotline_sched_fired_total",
                                        "Scheduled entries fired, by scheduler.", "sched");
        self->m_lateness =
            metrics_histogram(opts->metrics, "hotline_sched_lateness_seconds",
                              "How long after its instant an entry fired.", "sched",
                              LATENESS_BUCKETS, sizeof LATENESS_BUCKETS / sizeof *LATENESS_BUCKETS);
        char gname[96];
        snprintf(gname, sizeof gname, "hotline_sched_pending_%s", self->name);
        for (char *p = gname; *p; p++)
            if (*p == '.' || *p == '-')
                *p = '_';
        metrics_gauge_callback(opts->metrics, gname,
                               "Scheduled and not yet fired: entries, or the steps they stand "
                               "for.",
                               pending_gauge, self);
    }
    *out = self;
    return 0;
}

int scheduler_start(scheduler_t *self)
{
    uv_timer_init(self->loop, &self->timer);
    self->timer.data = self;
    uv_unref((uv_handle_t *)&self->timer); /* never keeps the loop alive on its own */
    self->timer_open = true;
    arm(self); /* entries left by the last run fire now if they are due */
    return 0;
}

const scheduler_stats_t *scheduler_stats(const scheduler_t *self)
{
    return &self->stats;
}

void scheduler_stop(scheduler_t *self)
{
    if (!self || self->stopped)
        return;
    self->stopped = true; /* also when never started: the listeners go either way */
    txq_unlisten(self->txq, after_commit, self);
    hclock_unlisten(self->clock, on_clock_moved, self);
    if (!self->timer_open)
        return;
    self->timer_open = false;
    uv_timer_stop(&self->timer);
    uv_close((uv_handle_t *)&self->timer, NULL);
}

void scheduler_destroy(scheduler_t **self)
{
    if (!self || !*self)
        return;
    free((*self)->batch);
    free((*self)->late_s);
    free(*self);
    *self = NULL;
}
