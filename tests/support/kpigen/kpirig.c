/* kpirig: analytics fed from a kpigen stream (kpirig.h). */
#include "kpirig.h"

#include "hl_error.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int kpirig_open(kpirig_t *self, const char *dir, store_sync_t sync)
{
    memset(self, 0, sizeof *self);
    /* A month is a few GB at most: mapped large at once, grown if not. */
    store_opts_t so = {.path = dir, .sync = sync, .map_size = (size_t)1 << 30};
    Hotline__CalendarConfig cal = HOTLINE__CALENDAR_CONFIG__INIT;
    cal.utc_offset_minutes = 480;
    int rc = store_open(&self->store, &so);
    if (!rc)
        rc = hclock_create(&self->clock, true);
    if (!rc) {
        analytics_opts_t o = {
            .calendar = &cal, .basically_satisfied_counts = true, .clock = self->clock};
        char err[256] = "";
        rc = analytics_open(&self->an, self->store, &o, err, sizeof err);
        if (rc)
            fprintf(stderr, "kpirig: analytics_open: %s %s\n", hl_strerror(rc), err);
    }
    if (rc)
        kpirig_close(self);
    return rc;
}

void kpirig_close(kpirig_t *self)
{
    analytics_close(&self->an);
    store_close(&self->store);
    hclock_destroy(&self->clock);
}

/* One batch [from, to): applied and committed, or nothing (*done tells how far visit got). */
static int one_batch(kpirig_t *self, kpigen_t *g, size_t from, size_t to, size_t *visited,
                     kpirig_visit_fn visit, void *ctx)
{
    MDB_txn *txn;
    int rc = store_write_begin(self->store, &txn);
    for (size_t i = from; !rc && i < to; i++) {
        const Hotline__Event *ev = kpigen_event(g, i);
        rc = analytics_apply(self->an, txn, ev);
        if (!rc && visit && i >= *visited) {
            rc = visit(ctx, i, ev);
            *visited = i + 1;
        }
    }
    if (!rc)
        rc = analytics_batch_end(self->an, txn); /* as the feed client does, before the commit */
    else
        analytics_batch_drop(self->an);
    if (!rc)
        return store_write_commit(self->store, &txn);
    if (txn)
        store_write_abort(&txn);
    return rc;
}

int kpirig_feed(kpirig_t *self, kpigen_t *g, size_t from, size_t to, size_t batch,
                kpirig_visit_fn visit, void *ctx)
{
    size_t visited = from;
    for (size_t at = from; at < to;) {
        size_t end = to - at < batch ? to : at + batch;
        int rc = one_batch(self, g, at, end, &visited, visit, ctx);
        if (rc == HL_EFULL || rc == HL_ETXNFULL) {
            if ((rc = store_grow(self->store)) != 0)
                return rc;
            continue; /* the same batch again, in a bigger map */
        }
        if (rc)
            return rc;
        at = end;
    }
    return 0;
}

int kpirig_kpis(kpirig_t *self, const char *query, json_t **out, analytics_error_t *err)
{
    *out = NULL;
    analytics_query_t q;
    int rc = analytics_query_parse(query, analytics_today(self->an), &q, err);
    if (rc)
        return rc;
    MDB_txn *txn;
    if ((rc = store_read_begin(self->store, &txn)) != 0)
        return rc;
    rc = analytics_kpis(self->an, txn, &q, out);
    store_read_end(&txn);
    return rc;
}

void kpirig_iso_week(int64_t day, char *out, size_t size)
{
    int64_t thursday = day - (calendar_weekday(day) + 6) % 7 + 3;
    int y, m, d;
    calendar_ymd_from_day(thursday, &y, &m, &d);
    snprintf(out, size, "%04d-W%02d", y, (int)((thursday - calendar_day_from_ymd(y, 1, 1)) / 7 + 1));
}

void kpirig_range(int64_t from, int64_t to, char *out, size_t size)
{
    char f[16], t[16];
    calendar_date_format(from, f, sizeof f);
    calendar_date_format(to, t, sizeof t);
    snprintf(out, size, "from=%s&to=%s", f, t);
}

long long kpirig_data_bytes(const char *dir, long long *allocated)
{
    char path[512];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    struct stat st;
    bool ok = stat(path, &st) == 0;
    if (allocated)
        *allocated = ok ? (long long)st.st_blocks * 512 : 0;
    return ok ? (long long)st.st_size : 0;
}

void kpirig_remove(const char *dir)
{
    static const char *const FILES[] = {"data.mdb", "lock.mdb"};
    char path[512];
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, FILES[i]);
        unlink(path);
    }
    rmdir(dir);
}
