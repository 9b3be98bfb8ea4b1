/* bench_analytics: analytics at size (default 10,000,000 events; issue 12, must-show 2).
 * analytics runs in-process on its public API (analytics.h) against a store in a new
 * directory (full sync, as in production), fed by the seeded generator of the KPI check
 * (tests/support/kpigen: a year of tickets, January to December 2026, UTC+8, 20 units, 40
 * categories, 12 districts, every event kind analytics counts, feeds out of order):
 *   1. apply: every event in arrival order, in write transactions of 10,000 (what a feed
 *      consumer's batch does: analytics_apply, analytics_batch_end, then the commit);
 *      events per second.
 *   2. queries: 10,000 random GET /v1/kpis queries (analytics_query_parse, a read transaction,
 *      analytics_kpis: the whole document), a random period of each kind in turn (a day, an
 *      ISO week, a month, a custom range of 1 to 366 days, anywhere in the year), a random
 *      breakdown (none, unit, category, district) and, one time in two, a filter on another
 *      dimension with a random value; p50 / p99 / max overall and per kind of period.
 *   3. rebuild: analytics_rebuild from the kept timeline (progress on stderr); events per
 *      second.
 *   4. the store's size (data.mdb, apparent and allocated) after the apply and the rebuild.
 * JSON lines, then a summary (lines starting with #).
 * Usage: bench_analytics [EVENTS] [DIR] [EVENTS_PER_TXN]: the store goes in a new directory
 * under DIR (default /tmp), removed at the end; EVENTS_PER_TXN (default 10,000) sets the
 * transactions' size (a feed batch is 500 at most: 200 is closer to the pipeline). */
#include "kpigen.h"
#include "kpirig.h"

#include "hl_error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUERIES 10000
#define BATCH 10000

enum { P_DAY, P_WEEK, P_MONTH, P_CUSTOM, NKINDS };
static const char *const KIND_NAMES[NKINDS] = {"day", "week", "month", "custom"};

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_analytics: %s: %s\n", what, rc ? hl_strerror(rc) : strerror(errno));
    exit(1);
}

static double now_s(void)
{
    return (double)hclock_mono_ns() / 1e9;
}

/* xorshift64*: the queries' own random numbers, the same on every run. */
static uint32_t rnd(uint64_t *s, uint32_t n)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (uint32_t)(((*s * 0x2545f4914f6cdd1dull) >> 32) % n);
}

typedef struct progress {
    size_t n, next;
    double t0;
} progress_t;

static int apply_progress(void *ctx, size_t i, const Hotline__Event *ev)
{
    (void)ev;
    progress_t *p = ctx;
    if (i + 1 >= p->next) {
        double t = now_s() - p->t0;
        fprintf(stderr, "bench_analytics: applied %zu of %zu events, %.1f s, %.0f events/s\n",
                i + 1, p->n, t, (double)(i + 1) / t);
        p->next += p->n / 10 ? p->n / 10 : 1;
    }
    return 0;
}

static void rebuild_progress(void *ctx, const analytics_rebuild_stats_t *st)
{
    (void)ctx;
    fprintf(stderr, "bench_analytics: rebuilt %llu of %llu events, %.1f s, %.0f events/s\n",
            (unsigned long long)st->done, (unsigned long long)st->total, st->seconds,
            st->seconds > 0 ? (double)st->done / st->seconds : 0.0);
}

/* One random query: its period of the given kind within [first, last], by, a filter. */
static void random_query(uint64_t *s, int kind, int64_t first, int64_t last, char *q, size_t size)
{
    static const char *const BY[] = {"", "unit", "category", "district"};
    static const char DIM[] = {0, 'u', 'c', 'd'};
    char period[64], ds[16];
    int64_t day = first + rnd(s, (uint32_t)(last - first + 1));
    switch (kind) {
    case P_DAY:
        calendar_date_format(day, ds, sizeof ds);
        snprintf(period, sizeof period, "period=%s", ds);
        break;
    case P_WEEK:
        strcpy(period, "period=");
        kpirig_iso_week(day, period + 7, sizeof period - 7);
        break;
    case P_MONTH:
        calendar_date_format(day, ds, sizeof ds);
        snprintf(period, sizeof period, "period=%.7s", ds);
        break;
    default: kpirig_range(day, day + rnd(s, 366), period, sizeof period); break;
    }
    int by = (int)rnd(s, 4), filter = rnd(s, 2) ? 1 + (int)rnd(s, 3) : 0;
    if (filter == by)
        filter = 0;
    size_t at = (size_t)snprintf(q, size, "%s", period);
    if (by)
        at += (size_t)snprintf(q + at, size - at, "&by=%s", BY[by]);
    if (filter) {
        const char *const *values;
        size_t nv = kpigen_values(DIM[filter], &values);
        snprintf(q + at, size - at, "&%s=%s", BY[filter], values[rnd(s, (uint32_t)nv)]);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct pct {
    double p50, p99, max, mean;
} pct_t;

static pct_t percentiles(double *v, size_t n)
{
    if (!n)
        return (pct_t){-1, -1, -1, -1};
    qsort(v, n, sizeof *v, cmp_double);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    return (pct_t){v[n / 2], v[n * 99 / 100], v[n - 1], sum / (double)n};
}

int main(int argc, char **argv)
{
    char *end = NULL;
    unsigned long long n = argc > 1 ? strtoull(argv[1], &end, 10) : 10000000ull;
    char *bend = NULL;
    unsigned long long batch = argc > 3 ? strtoull(argv[3], &bend, 10) : BATCH;
    if (argc > 4 || (end && *end) || (bend && *bend) || n < 1000 || n > 100000000ull ||
        batch < 1 || batch > 1000000) {
        fprintf(stderr, "usage: bench_analytics [EVENTS (1000..100000000, default 10000000)] "
                        "[DIR (default /tmp)] [EVENTS_PER_TXN (default %d)]\n", BATCH);
        return 2;
    }
    char dir[512];
    snprintf(dir, sizeof dir, "%s/hotline-bench-analytics.XXXXXX", argc > 2 ? argv[2] : "/tmp");
    if (!mkdtemp(dir))
        die("mkdtemp", 0);

    kpigen_opts_t go = {.seed = 7, .min_events = n, .year = 2026, .month = 1, .months = 12,
                        .tail_days = 7};
    double t0 = now_s();
    kpigen_t *gen;
    int rc = kpigen_create(&gen, &go);
    if (rc)
        die("generate", rc);
    size_t count = kpigen_count(gen);
    const kpigen_stats_t *gs = kpigen_stats(gen);
    printf("{\"bench\": \"analytics_generate\", \"events\": %zu, \"tickets\": %llu, "
           "\"seconds\": %.1f, \"received_after_other_events\": %llu, \"appeals_upheld\": %llu}\n",
           count, (unsigned long long)gs->tickets, now_s() - t0,
           (unsigned long long)gs->received_late, (unsigned long long)gs->appeals_upheld);
    fflush(stdout);

    /* 1. apply */
    kpirig_t rig;
    if ((rc = kpirig_open(&rig, dir, STORE_SYNC_FULL)))
        die("open", rc);
    progress_t pr = {.n = count, .next = count / 10 ? count / 10 : 1, .t0 = now_s()};
    if ((rc = kpirig_feed(&rig, gen, 0, count, batch, apply_progress, &pr)))
        die("apply", rc);
    double apply_s = now_s() - pr.t0;
    long long alloc_apply, size_apply = kpirig_data_bytes(dir, &alloc_apply);
    printf("{\"bench\": \"analytics_apply\", \"events\": %zu, \"seconds\": %.1f, "
           "\"events_per_s\": %.0f, \"events_per_txn\": %d, \"sync\": \"full\", "
           "\"data_file_bytes\": %lld, \"data_file_allocated_bytes\": %lld}\n",
           count, apply_s, (double)count / apply_s, (int)batch, size_apply, alloc_apply);
    fflush(stdout);

    /* 2. queries */
    int64_t first, last;
    kpigen_days(gen, &first, &last);
    double *all = calloc(QUERIES, sizeof *all), *kind_ms[NKINDS];
    size_t nkind[NKINDS] = {0};
    for (int k = 0; k < NKINDS; k++)
        kind_ms[k] = calloc(QUERIES, sizeof *kind_ms[k]);
    if (!all || !kind_ms[0] || !kind_ms[1] || !kind_ms[2] || !kind_ms[3])
        die("queries", HL_ENOMEM);
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    size_t groups = 0;
    for (int i = 0; i < QUERIES; i++) {
        char q[256];
        int kind = i % NKINDS;
        random_query(&seed, kind, first, last, q, sizeof q);
        json_t *doc;
        analytics_error_t err;
        double q0 = now_s();
        rc = kpirig_kpis(&rig, q, &doc, &err);
        double ms = (now_s() - q0) * 1000.0;
        if (rc) {
            fprintf(stderr, "bench_analytics: %s: %s %s\n", q, err.message, hl_strerror(rc));
            return 1;
        }
        groups += json_array_size(json_object_get(doc, "groups"));
        json_decref(doc);
        all[i] = ms;
        kind_ms[kind][nkind[kind]++] = ms;
    }
    pct_t p = percentiles(all, QUERIES);
    printf("{\"bench\": \"analytics_query\", \"events\": %zu, \"queries\": %d, \"p50_ms\": %.3f, "
           "\"p99_ms\": %.3f, \"max_ms\": %.3f, \"mean_ms\": %.3f, \"groups_per_answer\": %.1f",
           count, QUERIES, p.p50, p.p99, p.max, p.mean, (double)groups / QUERIES);
    pct_t pk[NKINDS];
    for (int k = 0; k < NKINDS; k++) {
        pk[k] = percentiles(kind_ms[k], nkind[k]);
        printf(", \"%s_p50_ms\": %.3f, \"%s_p99_ms\": %.3f, \"%s_max_ms\": %.3f", KIND_NAMES[k],
               pk[k].p50, KIND_NAMES[k], pk[k].p99, KIND_NAMES[k], pk[k].max);
    }
    printf("}\n");
    fflush(stdout);

    /* 3. rebuild */
    analytics_rebuild_stats_t rs;
    if ((rc = analytics_rebuild(rig.an, rebuild_progress, NULL, &rs)))
        die("rebuild", rc);
    double rebuild_rate = rs.seconds > 0 ? (double)rs.done / rs.seconds : 0;
    long long alloc_rebuilt, size_rebuilt = kpirig_data_bytes(dir, &alloc_rebuilt);
    printf("{\"bench\": \"analytics_rebuild\", \"events\": %llu, \"seconds\": %.1f, "
           "\"events_per_s\": %.0f, \"not_events\": %llu, \"data_file_bytes\": %lld, "
           "\"data_file_allocated_bytes\": %lld}\n",
           (unsigned long long)rs.done, rs.seconds, rebuild_rate,
           (unsigned long long)rs.skipped, size_rebuilt, alloc_rebuilt);

    printf("# analytics at %zu events (%llu tickets, 2026 + 7 days), full sync, %d events per "
           "transaction:\n"
           "#   apply %.0f events/s (%.1f s); store %.2f GB (%.2f GB allocated)\n"
           "#   %d random queries: p50 %.3f / p99 %.3f / max %.3f ms (day p99 %.3f, week %.3f, "
           "month %.3f, custom %.3f)\n"
           "#   rebuild %.0f events/s (%.1f s); store after it %.2f GB (%.2f GB allocated)\n",
           count, (unsigned long long)gs->tickets, (int)batch, (double)count / apply_s, apply_s,
           (double)size_apply / 1e9, (double)alloc_apply / 1e9, QUERIES, p.p50, p.p99, p.max,
           pk[P_DAY].p99, pk[P_WEEK].p99, pk[P_MONTH].p99, pk[P_CUSTOM].p99, rebuild_rate,
           rs.seconds, (double)size_rebuilt / 1e9, (double)alloc_rebuilt / 1e9);
    kpirig_close(&rig);
    kpigen_destroy(&gen);
    free(all);
    for (int k = 0; k < NKINDS; k++)
        free(kind_ms[k]);
    kpirig_remove(dir);
    return 0;
}
