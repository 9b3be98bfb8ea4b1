/* analytics_rebuild: every count again, from sequence 0 of every feed.
 *
 * Analytics keeps each event it ever applied in its timeline (all four feeds, from sequence
 * 0), so a rebuild does not need the producers to still hold their logs: it empties the
 * counters and the verdicts and runs analytics_count over the
 * whole timeline, ticket by ticket, each ticket's events in time order (events of one instant
 * in pipeline order: intake, dispatch, sla, callback). It runs when the
 * counters' layout is older than this version's (ANALYTICS_LAYOUT: month buckets and pair
 * dimensions came with 2, receipts under no unit with 3, one compact record per ticket with
 * 4), at a start with rebuildOnStart, and whenever asked (analytics_rebuild). Each ticket's
 * record is written again with the dimensions its events gave; a layout-3 store's entries (one
 * packed Event each) become their ticket's record and are deleted in the same transaction, so
 * a crash midway leaves each ticket in one layout or the other, and the next start goes on.
 * Batches of about REBUILD_BATCH events per transaction; a full map grows and the batch is
 * redone. Loop thread (or a tool with the service stopped). */
#include "analytics_internal.h"

#include "hl_error.h"
#include "service.h"
#include "slog.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ANALYTICS_LAYOUT 4
#define REBUILD_BATCH 20000
#define TIMELINE_KEY_MAX (ANALYTICS_ID_MAX + ANALYTICS_SOURCE_MAX + 32)
static const char LAYOUT_KEY[] = "layout";

/* A write the batch makes once its scan is over (the timeline is not written under a scan). */
typedef struct change {
    size_t key_at, key_len; /* in the batch's out buffer */
    size_t val_at, val_len; /* val_len 0: a layout-3 entry to delete */
} change_t;

typedef struct batch {
    analytics_t *self;
    MDB_txn *txn;
    uint8_t last[TIMELINE_KEY_MAX]; /* the last key done: the next batch starts after it */
    size_t last_len;
    bool skip_first; /* the scan starts at last (inclusive): pass over it */
    unsigned n;      /* events read */
    uint64_t skipped; /* entries that are not events (corrupt): left out, counted */
    /* The current ticket's events, counted together once its last one is read. */
    Hotline__Event **evs;
    size_t nevs, cap;
    char ticket[ANALYTICS_ID_MAX + 1];
    size_t ticket_len;
    tl_rec_t *rec;   /* the ticket's record being read, then written */
    change_t *changes; /* the batch's writes, applied after its scan */
    size_t nchanges, changes_cap;
    bytebuf_t out;    /* their keys and values */
} batch_t;

/* Where a producer stands in the pipeline: events of one instant are counted in this order, as
 * they happen (a ticket is received before it is dispatched, and so on). Further instances
 * ("intake-2") stand where their service does. */
static int source_rank(const char *s)
{
    static const char *const ORDER[] = {"intake", "dispatch", "sla", "callback"};
    for (int i = 0; i < 4; i++)
        if (s && service_feed_is(s, ORDER[i]))
            return i;
    return 4;
}

static int by_time(const void *x, const void *y)
{
    const Hotline__Event *a = *(Hotline__Event *const *)x, *b = *(Hotline__Event *const *)y;
    if (a->time_ms != b->time_ms)
        return a->time_ms < b->time_ms ? -1 : 1;
    int ra = source_rank(a->source), rb = source_rank(b->source);
    if (ra != rb)
        return ra < rb ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int change_add(batch_t *b, const void *key, size_t klen, const tl_rec_t *rec)
{
    if (b->nchanges == b->changes_cap) {
        size_t cap = b->changes_cap ? 2 * b->changes_cap : 256;
        change_t *c = realloc(b->changes, cap * sizeof *c);
        if (!c)
            return HL_ENOMEM;
        b->changes = c;
        b->changes_cap = cap;
    }
    change_t *c = &b->changes[b->nchanges];
    c->key_at = b->out.n;
    c->key_len = klen;
    int rc = bytebuf_put(&b->out, key, klen);
    c->val_at = b->out.n;
    if (!rc && rec)
        rc = analytics_record_encode((tl_rec_t *)rec, &b->out);
    c->val_len = b->out.n - c->val_at;
    if (!rc)
        b->nchanges++;
    return rc;
}

static int changes_apply(batch_t *b)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < b->nchanges; i++) {
        const change_t *c = &b->changes[i];
        const uint8_t *key = b->out.p + c->key_at;
        if (c->val_len)
            rc = store_put(b->txn, b->self->timeline, key, c->key_len, b->out.p + c->val_at,
                           c->val_len, 0);
        else if ((rc = store_del(b->txn, b->self->timeline, key, c->key_len)) == HL_ENOTFOUND)
            rc = 0;
    }
    b->nchanges = 0;
    b->out.n = 0;
    return rc;
}

/* Count the held ticket's events in order from no dimensions, and write its record (layout 4,
 * the events in that order) with the dimensions they gave; let them go. */
static int flush(batch_t *b)
{
    qsort(b->evs, b->nevs, sizeof *b->evs, by_time);
    analytics_ticket_t *t = &b->rec->t;
    int rc = 0;
    tl_rec_reset(b->rec);
    for (size_t i = 0; i < b->nevs && !rc; i++) {
        rc = analytics_count(b->self, b->txn, b->evs[i], t);
        if (!rc)
            rc = tl_rec_append(b->rec, b->evs[i]);
    }
    if (!rc && b->nevs)
        rc = change_add(b, b->ticket, b->ticket_len, b->rec);
    for (size_t i = 0; i < b->nevs; i++)
        hotline__event__free_unpacked(b->evs[i], NULL);
    b->nevs = 0;
    return rc;
}

static int hold(batch_t *b, Hotline__Event *ev)
{
    if (b->nevs == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 64;
        Hotline__Event **evs = realloc(b->evs, cap * sizeof *evs);
        if (!evs) {
            hotline__event__free_unpacked(ev, NULL);
            return HL_ENOMEM;
        }
        b->evs = evs;
        b->cap = cap;
    }
    b->evs[b->nevs++] = ev;
    b->n++;
    return 0;
}

/* A layout-3 entry: one packed, masked Event, deleted once its ticket's record holds it. */
static int hold_old(batch_t *b, const store_entry_t *e, const char *id, size_t il)
{
    Hotline__Event *ev = hotline__event__unpack(NULL, e->val.mv_size, e->val.mv_data);
    if (!ev || !ev->ticket_id || !*ev->ticket_id) {
        b->skipped++;
        if (ev)
            hotline__event__free_unpacked(ev, NULL);
        return 0; /* left where it is */
    }
    /* The kept copy is masked, and a ticket id that looks like a phone number (a daily
     * sequence past 999,999) is masked with it: count it under the key's id, or tickets
     * whose masked ids meet would be counted as one. Masking keeps the length. */
    if (strlen(ev->ticket_id) == il)
        memcpy(ev->ticket_id, id, il);
    int rc = change_add(b, e->key.mv_data, e->key.mv_size, NULL);
    return rc ? rc : hold(b, ev);
}

/* A layout-4 record: its events. */
static int hold_record(batch_t *b, const store_entry_t *e)
{
    size_t at = 0;
    int rc = analytics_record_parse(b->rec, e->val.mv_data, e->val.mv_size);
    while (!rc && at < b->rec->evs.n) {
        const uint8_t *p;
        size_t n;
        Hotline__Event *ev;
        rc = tl_rec_next(b->rec, &at, &p, &n);
        if (!rc)
            rc = tl_event_decode(b->rec, p, n, b->ticket, &ev);
        if (!rc)
            rc = hold(b, ev);
    }
    if (rc == HL_ECORRUPT) { /* left out, counted; its events read so far stay held */
        b->skipped++;
        rc = 0;
    }
    return rc;
}

static int batch_visit(void *ctx, const store_entry_t *e)
{
    batch_t *b = ctx;
    if (b->skip_first) {
        b->skip_first = false;
        if (e->key.mv_size == b->last_len && memcmp(e->key.mv_data, b->last, b->last_len) == 0)
            return 0;
    }
    const char *id = e->key.mv_data;
    size_t il;
    bool old;
    if (e->key.mv_size > sizeof b->last || analytics_timeline_key(&e->key, &il, &old))
        return HL_ECORRUPT;
    if (b->ticket_len != il || memcmp(b->ticket, id, il) != 0) {
        int rc = b->nevs ? flush(b) : 0; /* the previous ticket is complete */
        if (rc)
            return rc;
        if (b->n >= REBUILD_BATCH)
            return 1; /* a batch ends between tickets */
        memcpy(b->ticket, id, il);
        b->ticket[il] = '\0';
        b->ticket_len = il;
    }
    int rc = old ? hold_old(b, e, id, il) : hold_record(b, e);
    if (rc)
        return rc;
    memcpy(b->last, e->key.mv_data, e->key.mv_size);
    b->last_len = e->key.mv_size;
    return 0;
}

/* One batch after b->last (from the start when last_len is 0), committed; a full map grows
 * and the batch is redone. *more: false when the timeline is exhausted. */
static int one_batch(analytics_t *self, batch_t *b, bool *more)
{
    for (;;) {
        batch_t try = *b;
        try.n = 0;
        try.ticket_len = 0;
        try.skip_first = b->last_len > 0;
        int rc = store_write_begin(self->store, &try.txn);
        if (rc)
            return rc;
        store_range_t r = {.from = b->last_len ? b->last : NULL, .from_len = b->last_len};
        rc = store_scan(try.txn, self->timeline, &r, batch_visit, &try);
        bool stopped = try.n >= REBUILD_BATCH && try.nevs == 0; /* ended between tickets */
        if (!rc && try.nevs)
            rc = flush(&try); /* the timeline's last ticket */
        for (size_t i = 0; rc && i < try.nevs; i++) /* a failed try: its held events go */
            hotline__event__free_unpacked(try.evs[i], NULL);
        try.nevs = 0;
        if (!rc)
            rc = changes_apply(&try);
        try.nchanges = 0;
        try.out.n = 0;
        b->evs = try.evs; /* the buffers are kept across tries and batches */
        b->cap = try.cap;
        b->changes = try.changes;
        b->changes_cap = try.changes_cap;
        b->out = try.out;
        if (!rc)
            rc = analytics_batch_end(self, try.txn); /* the batch's counts, each key once */
        else
            analytics_batch_drop(self);
        if (!rc)
            rc = store_write_commit(self->store, &try.txn);
        else
            store_write_abort(&try.txn);
        if (rc == HL_EFULL || rc == HL_ETXNFULL) {
            if ((rc = store_grow(self->store)) != 0)
                return rc;
            continue;
        }
        if (rc)
            return rc;
        *more = stopped;
        *b = try;
        return 0;
    }
}

static int put_u64(analytics_t *self, MDB_txn *txn, const char *key, uint64_t n)
{
    uint8_t v[8];
    store_be64_put(v, n);
    return store_put(txn, self->meta, key, strlen(key), v, 8, 0);
}

static int write_layout(analytics_t *self, MDB_txn *txn)
{
    return put_u64(self, txn, LAYOUT_KEY, ANALYTICS_LAYOUT);
}

/* The events kept: the count analytics keeps, or (layout 3: one entry per event) the entries. */
static int events_kept(analytics_t *self, MDB_txn *txn, uint64_t *out)
{
    int rc = store_get(txn, self->meta, ANALYTICS_EVENTS_KEY, sizeof ANALYTICS_EVENTS_KEY - 1,
                       &(MDB_val){0});
    if (rc == HL_ENOTFOUND)
        return store_count(txn, self->timeline, out);
    return rc ? rc : store_get_u64(txn, self->meta, ANALYTICS_EVENTS_KEY,
                                   sizeof ANALYTICS_EVENTS_KEY - 1, out);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

int analytics_rebuild(analytics_t *self, analytics_progress_fn progress, void *ctx,
                      analytics_rebuild_stats_t *out)
{
    analytics_rebuild_stats_t st = {0};
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    MDB_txn *txn;
    int rc = store_write_begin(self->store, &txn);
    if (rc)
        return rc;
    /* Emptied in the same transaction that drops the layout mark: a crash midway leaves an
     * old layout mark, and the next start rebuilds again. */
    if (!(rc = events_kept(self, txn, &st.total)) &&
        !(rc = store_clear(txn, self->counters)) && !(rc = store_clear(txn, self->verdicts)) &&
        !(rc = store_clear(txn, self->tickets)))
        rc = store_del(txn, self->meta, LAYOUT_KEY, sizeof LAYOUT_KEY - 1);
    if (rc == HL_ENOTFOUND)
        rc = 0;
    if (rc || (rc = store_write_commit(self->store, &txn))) {
        if (txn)
            store_write_abort(&txn);
        return rc;
    }
    tl_rec_t rec = {0};
    batch_t b = {.self = self, .rec = &rec};
    bool more = true;
    double reported = 0;
    while (more && !rc) {
        rc = one_batch(self, &b, &more);
        st.done += b.n;
        st.seconds = seconds_since(&t0);
        if (!rc && progress && (!more || st.seconds - reported >= 1.0)) {
            reported = st.seconds;
            progress(ctx, &st);
        }
    }
    st.skipped = b.skipped;
    free(b.evs);
    free(b.changes);
    free(b.out.p);
    tl_rec_fini(&rec);
    if (!rc && !(rc = store_write_begin(self->store, &txn))) {
        rc = write_layout(self, txn);
        if (!rc)
            rc = put_u64(self, txn, ANALYTICS_EVENTS_KEY, st.done);
        if (!rc)
            rc = store_write_commit(self->store, &txn);
        else
            store_write_abort(&txn);
    }
    st.seconds = seconds_since(&t0);
    if (out)
        *out = st;
    return rc;
}

static void log_progress(void *ctx, const analytics_rebuild_stats_t *st)
{
    (void)ctx;
    SLOG_INFO("analytics_rebuild_progress",
              "events_done=%llu events_total=%llu percent=%.0f events_per_second=%.0f",
              (unsigned long long)st->done, (unsigned long long)st->total,
              st->total ? 100.0 * (double)st->done / (double)st->total : 100.0,
              st->seconds > 0 ? (double)st->done / st->seconds : 0.0);
}

int analytics_layout_check(analytics_t *self, bool force)
{
    MDB_txn *txn;
    uint64_t layout = 0, events = 0;
    int rc = store_read_begin(self->store, &txn);
    if (rc)
        return rc;
    rc = store_get_u64(txn, self->meta, LAYOUT_KEY, sizeof LAYOUT_KEY - 1, &layout);
    if (!rc)
        rc = store_count(txn, self->timeline, &events);
    store_read_end(&txn);
    if (rc || (layout >= ANALYTICS_LAYOUT && !force))
        return rc;
    if (events == 0) { /* a new store: nothing to count again */
        if ((rc = store_write_begin(self->store, &txn)))
            return rc;
        if ((rc = write_layout(self, txn)))
            store_write_abort(&txn);
        return rc ? rc : store_write_commit(self->store, &txn);
    }
    if (layout >= ANALYTICS_LAYOUT)
        SLOG_INFO("analytics_rebuild_start", "reason=\"asked for (rebuildOnStart)\" "
                  "events_total=%llu", (unsigned long long)events);
    else
        SLOG_INFO("analytics_rebuild_start",
                  "reason=\"the counters' layout is %llu, this version keeps %d (month buckets, "
                  "pairs of dimensions, receipts under no unit)\" events_total=%llu",
                  (unsigned long long)layout, ANALYTICS_LAYOUT, (unsigned long long)events);
    analytics_rebuild_stats_t st;
    rc = analytics_rebuild(self, log_progress, NULL, &st);
    if (!rc)
        SLOG_INFO("analytics_rebuild_done",
                  "events=%llu not_events=%llu seconds=%.1f events_per_second=%.0f",
                  (unsigned long long)st.done, (unsigned long long)st.skipped, st.seconds,
                  st.seconds > 0 ? (double)st.done / st.seconds : 0.0);
    return rc;
}
