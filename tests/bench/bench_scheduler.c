/* bench_scheduler: the shared scheduler at size. Arms OPEN entries (default 1,000,000) with
 * random instants over the next day, in transactions of 10,000 (full sync), then times
 * 100,000 reschedules and 100,000 cancels at that size, and prints the resident memory. Then a
 * firing storm on the real clock: 100,000 entries due evenly over 2 s on top of the open ones;
 * prints the fire rate and how late entries fired (p50 / p99 / max). JSON lines.
 * Usage: bench_scheduler [DIR] [OPEN_ENTRIES]: the store goes in a new directory under DIR
 * (default /tmp), removed at the end. */
#include "hl_error.h"
#include "scheduler.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define STORM 100000
#define CHUNK 10000

typedef struct bench {
    store_t *store;
    hclock_t *clock;
    uv_loop_t loop;
    txq_t *txq;
    scheduler_t *s;
    double *late_ms;
    size_t nlate;
    int64_t first_fire_ms, last_fire_ms;
} bench_t;

static double now_s(void)
{
    return (double)hclock_mono_ns() / 1e9;
}

static int fire(void *ctx, MDB_txn *txn, const scheduler_entry_t *e)
{
    (void)txn;
    bench_t *b = ctx;
    if (e->id_len < 1 || ((const char *)e->id)[0] != 's')
        return 0; /* only the storm's entries are measured */
    int64_t now = hclock_now_ms(b->clock);
    if (!b->first_fire_ms)
        b->first_fire_ms = now;
    b->last_fire_ms = now;
    if (b->nlate < STORM)
        b->late_ms[b->nlate++] = (double)(now - e->due_ms);
    return 0;
}

/* Anonymous resident memory (heap): what the scheduler itself holds; LMDB's pages are
 * file-backed and the kernel's to drop. */
static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "RssAnon: %ld", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* n operations on ids "o<i>" in transactions of CHUNK; op 0 put, 1 reschedule, 2 cancel. */
static double timed_ops(bench_t *b, int op, unsigned n, unsigned open, int64_t base)
{
    unsigned seed = 7u + (unsigned)op;
    double t0 = now_s();
    MDB_txn *txn = NULL;
    for (unsigned i = 0; i < n; i++) {
        if (i % CHUNK == 0 && store_write_begin(b->store, &txn) != 0)
            return -1;
        seed = seed * 1103515245u + 12345u;
        unsigned k = op == 0 ? i : (seed >> 4) % open;
        char id[24];
        int len = snprintf(id, sizeof id, "o%u", k);
        int64_t due = base + (int64_t)((seed >> 2) % 86400000u);
        int rc = op == 2 ? scheduler_cancel(b->s, txn, id, (size_t)len)
                         : scheduler_put(b->s, txn, id, (size_t)len, due, NULL, 0);
        if (rc && rc != HL_ENOTFOUND) {
            fprintf(stderr, "bench_scheduler: %s\n", hl_strerror(rc));
            return -1;
        }
        if ((i + 1) % CHUNK == 0 || i + 1 == n)
            if (store_write_commit(b->store, &txn) != 0)
                return -1;
    }
    return (double)n / (now_s() - t0);
}

static void keep_cb(uv_timer_t *h)
{
    (void)h;
}

/* The store's two files and its directory (made by mkdtemp above: nothing else is in it). */
static void remove_store(const char *dir)
{
    char path[300];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/lock.mdb", dir);
    unlink(path);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    if (argc > 3 || (argc > 1 && argv[1][0] == '-')) {
        fprintf(stderr, "usage: bench_scheduler [DIR] [OPEN_ENTRIES]\n");
        return 2;
    }
    char dir[256];
    snprintf(dir, sizeof dir, "%s/hotline-bench-scheduler.XXXXXX", argc > 1 ? argv[1] : "/tmp");
    char *end = NULL;
    unsigned long arg = argc > 2 ? strtoul(argv[2], &end, 10) : 1000000;
    if ((end && *end) || arg < 1 || arg > 10000000) {
        fprintf(stderr, "bench_scheduler: OPEN_ENTRIES must be 1 to 10000000\n");
        return 2;
    }
    unsigned open = (unsigned)arg;
    if (!mkdtemp(dir)) {
        fprintf(stderr, "bench_scheduler: cannot make a directory in %s: %s\n",
                argc > 1 ? argv[1] : "/tmp", strerror(errno));
        return 1;
    }
    bench_t b = {0};
    b.late_ms = calloc(STORM, sizeof *b.late_ms);
    store_opts_t so = {.path = dir, .sync = STORE_SYNC_FULL, .map_size = (size_t)1 << 30};
    if (hclock_create(&b.clock, false) || store_open(&b.store, &so))
        return 1;
    uv_loop_init(&b.loop);
    uv_timer_t keep;
    uv_timer_init(&b.loop, &keep);
    uv_timer_start(&keep, keep_cb, 1, 1);
    scheduler_opts_t o = {.name = "bench", .fire = fire, .ctx = &b};
    if (txq_create(&b.txq, &b.loop, b.store, 0) ||
        scheduler_create(&b.s, &b.loop, b.store, b.txq, b.clock, &o))
        return 1;
    long rss0 = rss_kb();
    int64_t day = hclock_now_ms(b.clock) + 3600000; /* open entries: none due during the run */
    double arm = timed_ops(&b, 0, open, open, day);
    double resched = timed_ops(&b, 1, 100000, open, day);
    double cancel = timed_ops(&b, 2, 100000, open, day);
    printf("{\"bench\": \"scheduler_ops\", \"open_entries\": %u, \"arm_per_s\": %.0f, "
           "\"reschedule_per_s\": %.0f, \"cancel_per_s\": %.0f, \"rss_anon_kb_before\": %ld, "
           "\"rss_anon_kb_after\": %ld, \"sync\": \"full\", \"per_txn\": %d}\n",
           open, arm, resched, cancel, rss0, rss_kb(), CHUNK);
    fflush(stdout);

    /* The storm: due evenly over 2 s, starting 1 s from now. */
    int64_t start = hclock_now_ms(b.clock) + 1000;
    MDB_txn *txn;
    if (store_write_begin(b.store, &txn))
        return 1;
    for (unsigned i = 0; i < STORM; i++) {
        char id[24];
        int len = snprintf(id, sizeof id, "s%u", i);
        if (scheduler_put(b.s, txn, id, (size_t)len, start + (int64_t)i * 2000 / STORM, NULL, 0))
            return 1;
    }
    if (store_write_commit(b.store, &txn) || scheduler_start(b.s))
        return 1;
    double deadline = now_s() + 60;
    while (b.nlate < STORM && now_s() < deadline)
        uv_run(&b.loop, UV_RUN_ONCE);
    qsort(b.late_ms, b.nlate, sizeof *b.late_ms, cmp_double);
    double span = (double)(b.last_fire_ms - b.first_fire_ms) / 1000.0;
    printf("{\"bench\": \"scheduler_storm\", \"open_entries\": %u, \"storm_entries\": %d, "
           "\"fired\": %zu, \"fire_per_s\": %.0f, \"lateness_p50_ms\": %.1f, "
           "\"lateness_p99_ms\": %.1f, \"lateness_max_ms\": %.1f, \"passes\": %llu}\n",
           open, STORM, b.nlate, span > 0 ? (double)b.nlate / span : 0,
           b.nlate ? b.late_ms[b.nlate / 2] : -1, b.nlate ? b.late_ms[b.nlate * 99 / 100] : -1,
           b.nlate ? b.late_ms[b.nlate - 1] : -1,
           (unsigned long long)scheduler_stats(b.s)->passes);
    scheduler_stop(b.s);
    txq_destroy(&b.txq);
    uv_close((uv_handle_t *)&keep, NULL);
    uv_run(&b.loop, UV_RUN_DEFAULT);
    uv_loop_close(&b.loop);
    scheduler_destroy(&b.s);
    store_close(&b.store);
    hclock_destroy(&b.clock);
    free(b.late_ms);
    remove_store(dir);
    return b.nlate == STORM ? 0 : 1;
}
